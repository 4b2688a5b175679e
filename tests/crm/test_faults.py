"""Faults in the middle of a job, with real `celery worker` processes on Redis and the PostgreSQL test
database: the worker is SIGKILLed in the middle of a reclassification and of a visit generation, or
its database connection is cut; a new worker (after the runs' sweep, crm/jobs.py) finishes the work.
The end state must equal an uninterrupted run's: no lost change, no duplicate tier change, task or
assignment.

How the middle is found without sleeping: the test holds a row lock (SELECT ... FOR UPDATE) on a
customer in the job's third chunk. The worker commits the first chunks, then waits on that lock in
the third; the test polls the database (with a deadline) until it sees both, then strikes.

The workers use a Redis database of their own (FAULTS_REDIS_URL, default: REDIS_URL's server,
database 15; under pytest-xdist 15 less the worker's number, apart from the workers' own databases,
which count up from REDIS_URL's: crm/settings/test.py), emptied before and after, so that the dead
worker's unacknowledged message does not come back in another test an hour later."""

import datetime as dt
import importlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg2
import pytest
import redis
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from crm import jobs
from crm.celery import app as celery_app
from crm.common import chains
from crm.common.models import ChainRun, RunChunk
from customers.models import ClassificationRun, Customer, Tier, TierChange
from customers.tiering.classification import classification_run_execute
from managers.models import Assignment, Role
from managers.reassignment import COUNTS
from tests.conftest import _fresh_broker_connections
from tests.customers.tiering_helpers import add_consumption
from tests.factories import CustomerFactory, ManagerFactory
from visits.generation import visit_run_start, visit_tasks_generate
from visits.models import VisitRun, VisitTask

pytestmark = [pytest.mark.worker, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
CHUNK = 10
CUSTOMERS = 45  # with the world's two: five chunks
DEADLINE = 60.0  # seconds any one wait may take before the test fails


def _faults_redis_url() -> str:
    url = os.environ.get("FAULTS_REDIS_URL")
    if url:
        return url
    assert settings.REDIS_URL, "the fault tests need Redis: set REDIS_URL (CI does)"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return settings.REDIS_URL.rsplit("/", 1)[0] + f"/{15 - int(worker.removeprefix('gw'))}"


def wait_for(condition, what: str):
    """Poll `condition` until it returns something true; fail after DEADLINE seconds."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)  # a polling interval, not a wait for something to happen
    raise AssertionError(f"timed out waiting for {what}")


def _pg():
    db = connection.settings_dict
    return psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or 5432
    )


def _query(sql: str, params=()) -> list[tuple]:
    """A fresh connection for each look, so nothing of the test's own connection is in the way."""
    with _pg() as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    conn.close()
    return rows


class Workers:
    """`celery worker` processes (by default the solo pool: the process that runs the task is the
    one killed; `options` replace the pool's, e.g. a prefork pool and a module of test tasks)."""

    def __init__(self, broker: str, tmp_path: Path, options: tuple[str, ...] = ("--pool=solo",)):
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "crm.settings.test_worker",
            "DATABASE_URL": "postgres://{USER}:{pw}@{HOST}:{port}/{NAME}".format(
                **db, pw=db["PASSWORD"] or "", port=db["PORT"] or 5432
            ),
            "REDIS_URL": broker,
            "RECLASSIFY_CHUNK_SIZE": str(CHUNK),
            "VISIT_GENERATION_CHUNK_SIZE": str(CHUNK),
            "PYTHONUNBUFFERED": "1",
        }
        self.tmp_path = tmp_path
        self.options = options
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = (self.tmp_path / f"worker{len(self.processes)}.log").open("w")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "worker",
                *self.options,
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                f"--hostname=fault{len(self.processes)}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        wait_for(lambda: "ready." in self.log(process) or process.poll() is not None, "the worker to start")
        assert process.poll() is None, self.log(process)
        return process

    def log(self, process) -> str:
        return (self.tmp_path / f"worker{self.processes.index(process)}.log").read_text()

    def kill(self, process) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=DEADLINE)

    def stop(self, process) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        for process in self.processes:
            self.stop(process)


@pytest.fixture
def broker(transactional_db):
    """The test process sends through the fault tests' Redis database, not eagerly."""
    url = _faults_redis_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    keys = ("task_always_eager", "broker_url", "broker_write_url", "broker_read_url")
    saved = {key: celery_app.conf.get(key) for key in keys}
    celery_app.conf.update(
        task_always_eager=False, broker_url=url, broker_write_url=None, broker_read_url=None
    )
    _fresh_broker_connections()
    try:
        yield url
    finally:
        celery_app.conf.update(saved)
        _fresh_broker_connections()
        client.flushdb()


@pytest.fixture
def workers(broker, tmp_path):
    pool = Workers(broker, tmp_path)
    try:
        yield pool
    finally:
        # A test that failed while holding a row lock must not leave it: the database's teardown
        # (TRUNCATE) would wait on it for ever. Released before the workers stop, so none waits there.
        for lock in list(RowLock.held):
            lock.release()
        pool.stop_all()


@pytest.fixture
def population(world):
    """45 key accounts of manager A beside the world's two, a third of them consuming like VIPs (a
    VIP account manager has room for them), in primary-key order; the default visit policies."""
    importlib.import_module("visits.migrations.0002_default_policies").create_defaults(apps, None)
    ManagerFactory(station=world.station_a, role=Role.VIP_MANAGER)
    customers = []
    for i in range(CUSTOMERS):
        customer = CustomerFactory(
            station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user
        )
        if i % 3 == 0:
            add_consumption(customer, total="12000000")
        customers.append(customer)
    return customers


class RowLock:
    """A customer row locked FOR UPDATE by another connection until released: a reclassification
    updating it, or a visit task inserted for it (the foreign key check), waits there."""

    held: list["RowLock"] = []  # not yet released, for the `workers` fixture's teardown

    def __init__(self, customer_id: int):
        self.conn = _pg()
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT id FROM customers_customer WHERE id = %s FOR UPDATE", [customer_id])
        RowLock.held.append(self)

    def release(self) -> None:
        if self in RowLock.held:
            RowLock.held.remove(self)
            self.conn.rollback()
            self.conn.close()


def _blocked_backends() -> list[int]:
    """Server processes of the test database waiting on a row lock: the worker at our lock."""
    rows = _query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return [pid for (pid,) in rows]


def _worker_backends() -> list[int]:
    """Server processes of the test database other than the test's own connections: the workers'."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own,) = cursor.fetchone()
    rows = _query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND pid <> %s AND backend_type = 'client backend'",
        [own],
    )
    return [pid for (pid,) in rows]


def _terminate(pids) -> None:
    for pid in pids:
        _query("SELECT pg_terminate_backend(%s)", [pid])


def _chain_finished(run_id: int) -> bool:
    """The run is done and the rest of its chain (reassignment, visits, assignments) has run: its
    chain has ended and nothing waits in the queue or runs on a worker."""
    run = ClassificationRun.objects.get(pk=run_id)
    chain = ChainRun.objects.filter(name="classification", subject_id=run_id).first()
    if run.status != ClassificationRun.State.DONE or chain is None or chain.finished_at is None:
        return False
    if redis.Redis.from_url(celery_app.conf.broker_url).llen("celery"):
        return False
    active = celery_app.control.inspect(timeout=1.0).active() or {}
    return not any(active.values())


def _reassigned(run: ClassificationRun) -> int:
    return sum(run.reassignment[key] for key in COUNTS)


def _classification_state(run_id: int) -> dict:
    return {
        "tiers": dict(Customer.objects.values_list("pk", "tier")),
        "changes": sorted(
            TierChange.objects.filter(run_id=run_id).values_list(
                "customer_id", "old_tier", "new_tier", "rule"
            )
        ),
    }


def _uninterrupted_classification(initial: dict) -> dict:
    """Put the tiers back as they were and classify again in-process, without interruption."""
    for pk, tier in initial.items():
        Customer.objects.filter(pk=pk).update(tier=tier, annual_consumption_kwh=0, latest_period=None)
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    classification_run_execute(run_id=run.pk, size=CHUNK)
    return _classification_state(run.pk)


def _assert_no_duplicates(run_id: int) -> None:
    per_customer = Counter(TierChange.objects.filter(run_id=run_id).values_list("customer_id", flat=True))
    assert max(per_customer.values()) == 1
    open_assignments = Counter(
        Assignment.objects.filter(ended_at__isnull=True).values_list("customer_id", flat=True)
    )
    assert max(open_assignments.values()) == 1
    tasks = Counter(VisitTask.objects.values_list("customer_id", "kind", "period", "status"))
    assert max(tasks.values(), default=1) == 1


def _classify_until_blocked(workers, population):
    """Start a worker and a run, and return when the worker has committed two chunks and waits on
    the lock in the third."""
    initial = dict(Customer.objects.values_list("pk", "tier"))
    victim = population[2 * CHUNK + 1]  # in the third chunk, and its tier changes (i % 3 == 0)
    lock = RowLock(victim.pk)
    worker = workers.start()
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    jobs.classification_queued(run_id=run.pk)
    wait_for(lambda: ClassificationRun.objects.get(pk=run.pk).chunks_done >= 2, "two chunks committed")
    wait_for(_blocked_backends, "the worker to wait on the locked customer")
    return run, worker, lock, initial


def _kill(workers, worker, lock) -> None:
    """SIGKILL the worker; its message stays unacknowledged in Redis for the visibility timeout (an
    hour), as good as lost. Then free the lock and end the dead worker's database session."""
    workers.kill(worker)
    lock.release()
    _terminate(_worker_backends())


def _restart_and_sweep(workers) -> dict:
    workers.start()
    return jobs.runs_sweep(grace_minutes=0)


def test_reclassification_killed_mid_run_ends_as_an_uninterrupted_run(workers, population):
    # Given a run whose worker committed two chunks and is in the middle of the third
    run, worker, lock, initial = _classify_until_blocked(workers, population)
    # When the worker is SIGKILLed, its database session ends, and Redis keeps no message for it
    _kill(workers, worker, lock)
    assert ClassificationRun.objects.get(pk=run.pk).status == ClassificationRun.State.RUNNING
    # and a new worker starts and the runs' sweep sends again the chunk the dead worker was doing
    # (those still waiting in the queue the new worker takes; the chain waits on its chunks, so the
    # sweep leaves it alone)
    killed = RunChunk.objects.get(run_id=run.pk, index=2)
    assert killed.done_at is None
    swept = _restart_and_sweep(workers)
    assert killed.pk in swept["chunks"]
    assert swept["chains"] == []
    wait_for(lambda: _chain_finished(run.pk), "the resumed run and its chain to finish")
    # Then it ended where an uninterrupted run ends, with nothing twice
    done = ClassificationRun.objects.get(pk=run.pk)
    assert done.examined == Customer.objects.count()
    assert done.chunks_done == 5
    _assert_no_duplicates(run.pk)
    faulted = _classification_state(run.pk)
    assert faulted == _uninterrupted_classification(initial)
    assert _reassigned(done) == len(faulted["changes"])


def test_reclassification_whose_database_connection_drops_retries_and_completes(workers, population):
    # Given a run in the middle of its third chunk
    run, worker, lock, initial = _classify_until_blocked(workers, population)
    # When the database ends the worker's session there
    _terminate(_blocked_backends())
    lock.release()
    # Then the task retries on the same worker, resumes after the second chunk and finishes
    wait_for(lambda: _chain_finished(run.pk), "the retried run and its chain to finish")
    assert "Retry in" in workers.log(worker)
    done = ClassificationRun.objects.get(pk=run.pk)
    assert done.examined == Customer.objects.count()
    _assert_no_duplicates(run.pk)
    assert _classification_state(run.pk) == _uninterrupted_classification(initial)


def _visit_tasks() -> list[tuple]:
    return sorted(
        VisitTask.objects.values_list("customer_id", "kind", "period", "due_date", "manager_id", "status")
    )


def test_visit_generation_killed_mid_run_ends_as_an_uninterrupted_run(workers, population):
    # Given a generation run whose worker committed two chunks and waits in the third
    day = timezone.localdate()
    lock = RowLock(population[2 * CHUNK + 1].pk)
    worker = workers.start()
    run = visit_run_start(job=VisitRun.Job.GENERATE, day=day)
    wait_for(lambda: VisitTask.objects.count() >= 2 * CHUNK - 2, "two chunks of tasks committed")
    wait_for(_blocked_backends, "the worker to wait on the locked customer")
    # When the worker is SIGKILLed and a new one takes the run from the sweep
    _kill(workers, worker, lock)
    assert VisitRun.objects.get(pk=run.pk).status == VisitRun.State.RUNNING
    assert _restart_and_sweep(workers)["visits"] == [run.pk]
    wait_for(
        lambda: VisitRun.objects.get(pk=run.pk).status == VisitRun.State.DONE, "the visit run to finish again"
    )
    # Then the tasks are those of an uninterrupted generation, each once
    faulted = _visit_tasks()
    assert len(faulted) == len(set(faulted)) >= len(population)
    VisitTask.objects.all().delete()
    visit_tasks_generate(day=day, size=CHUNK)
    assert _visit_tasks() == faulted


def test_the_sweep_leaves_alone_a_chain_whose_message_waits_in_redis(broker, world):
    # Given a chain recorded long ago whose message still waits in the queue (no worker is running)
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    jobs.classification_queued(run_id=run.pk)
    chain = ChainRun.objects.get(name="classification", subject_id=run.pk)
    ChainRun.objects.filter(pk=chain.pk).update(updated_at=timezone.now() - dt.timedelta(hours=1))
    ClassificationRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - dt.timedelta(hours=1))
    # When the sweep looks; then it reads the message in Redis and sends nothing again
    assert (chains.TASK, (chain.pk, 0, chain.token)) in jobs._waiting_in_broker()
    swept = jobs.runs_sweep()
    assert swept["chains"] == []
    assert swept["classification"] == []
    assert redis.Redis.from_url(broker).llen("celery") == 1
