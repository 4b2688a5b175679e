"""Redis restarted under a running task (issue 15, scenario 1), with a real prefork `celery worker`
on a private Redis server the test starts, stops and starts again, and the PostgreSQL test database.

Without the pin of crm/common/broker.py, kombu's Redis channel of the closed connection raises
AttributeError ('hostname') when it acknowledges the task that was running during the restart, and
the worker exits with "Unrecoverable error". With it, the worker reconnects and runs the next task.
And while Redis is down, the API and the pages answer: a write that must queue a job records it (the
run and its chain, crm.common.chains), is answered as usual, and the sweep sends the job once Redis
is back."""

import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import caches

from crm import jobs
from crm.common.models import ChainRun, JobRun, PendingHook
from customers.models import ClassificationRun
from tests.crm import test_faults as harness
from tests.crm.test_faults import DEADLINE, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.postgres]
ROUNDS = 4
REDIS = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own, keeping nothing on disk (as the machines' Redis)."""

    def __init__(self, tmp_path):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.tmp_path = tmp_path
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - a fixed program and arguments
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, "the private Redis to start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, *, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(timeout=DEADLINE)

    def restart(self) -> None:
        """Killed, as a crashed or OOM-killed Redis: no goodbye to its clients."""
        self.stop(kill=True)
        time.sleep(0.5)  # down for a moment, as a restart is: the worker notices
        self.start()


@pytest.fixture
def private_redis(tmp_path):
    if REDIS is None:
        pytest.fail("the broker fault test needs redis-server on PATH (the machines have it)")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def prefork(private_redis, transactional_db, tmp_path):
    """A prefork worker (one child) on the private Redis, and the test process sending through it."""
    from crm.celery import app as celery_app
    from tests.conftest import _fresh_broker_connections

    saved = {key: celery_app.conf.get(key) for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url=private_redis.url)
    _fresh_broker_connections()
    # the product's prefork pool, with the slow task of this test loaded
    options = ("--pool=prefork", "--concurrency=1", "--include=tests.crm.slow_tasks")
    workers = harness.Workers(private_redis.url, tmp_path, options)
    workers.env["CRM_WORKER_HEARTBEAT_SECONDS"] = "1"
    try:
        yield workers
    finally:
        workers.stop_all()
        celery_app.conf.update(saved)
        _fresh_broker_connections()


def _ran(mark: str) -> int:
    return JobRun.objects.filter(job=mark).count()


def test_a_worker_survives_redis_restarts_while_a_task_runs(prefork, private_redis):
    from tests.crm.slow_tasks import slow_task

    worker = prefork.start()
    timings = []
    for round_ in range(ROUNDS):
        # Given a task running on the worker, unacknowledged (acks_late)
        sent = slow_task.delay(1.5, f"during-{round_}")
        slow_task.delay(0.5, f"queued-{round_}")  # and one more behind it
        wait_for(lambda t=sent.id: f"slow_task[{t}] received" in prefork.log(worker), "the task to start")
        # When Redis restarts under it (keeping nothing: the unacknowledged message is gone)
        private_redis.restart()
        restarted = time.monotonic()
        from tests.conftest import _fresh_broker_connections

        _fresh_broker_connections()
        # Then the task finishes, the worker stays up, reconnects, and runs the next task
        wait_for(lambda r=round_: _ran(f"during-{r}") == 1, "the running task to finish")
        slow_task.delay(0.1, f"after-{round_}")
        wait_for(lambda r=round_: _ran(f"after-{r}") == 1, "the next task to run after the restart")
        timings.append(time.monotonic() - restarted)
        assert worker.poll() is None, prefork.log(worker)
    assert "Unrecoverable error" not in prefork.log(worker)
    after = ", ".join(f"{t:.1f}" for t in timings)
    print(f"\nRedis restarted {ROUNDS} times under a task: the next task ran {after} s after each restart")


def test_the_api_answers_while_redis_is_down_and_the_sweep_sends_the_job_when_it_is_back(
    prefork, private_redis, world, api, settings
):
    settings.CACHES = {
        "default": {"BACKEND": "crm.common.cache.TolerantRedisCache", "LOCATION": private_redis.url}
    }
    caches["default"].clear()
    # Given Redis down (broker and cache)
    private_redis.stop()
    # When an administrator asks for a reclassification and reads pages
    response = api(world.admin).post("/api/v1/classification-runs/")
    # Then the answer is the usual one: the run is queued, its step recorded for the sweep
    assert response.status_code == 202, response.content
    run = ClassificationRun.objects.get(pk=response.json()["id"])
    assert run.status == ClassificationRun.State.QUEUED
    # (its chain is recorded; the message of its first step could not be sent)
    chain = ChainRun.objects.get(name="classification", subject_id=run.pk)
    assert chain.done == 0
    assert not PendingHook.objects.exists()
    assert api(world.admin).get("/api/v1/customers/").status_code == 200
    assert api(world.admin).get("/api/v1/health/").json()["broker"] == "down"
    # When Redis is back, a worker runs, and the sweep comes after the grace
    private_redis.start()
    from tests.conftest import _fresh_broker_connections

    _fresh_broker_connections()
    prefork.start()
    settings.CRM_SWEEP_GRACE_SECONDS = 0
    back = time.monotonic()
    assert wait_for(lambda: jobs.runs_sweep()["chains"], "the sweep to send the chain") == [chain.pk]
    # Then the run's chain runs to its end, once
    wait_for(
        lambda: ChainRun.objects.filter(subject_id=run.pk, finished_at__isnull=False).exists(),
        "the chain to end after Redis came back",
    )
    run.refresh_from_db()
    assert run.status == ClassificationRun.State.DONE
    chain.refresh_from_db()
    assert chain.resends == 1
    print(
        f"\nreclassification asked while Redis was down: done {time.monotonic() - back:.1f} s after the sweep"
    )
