"""A chunk blocked by someone else's lock, with a real `celery worker` on Redis and the PostgreSQL test
database (tests/crm/test_faults.py's machinery): the test holds a row lock on a customer of the
reclassification's third chunk, as a long transaction elsewhere would. The chunk's statements are
bounded (crm.common.chunks: lock_timeout, here 1 s), so the chunk fails and is retried instead of
waiting for ever; while it cannot go on, the run is shown stalled on its page and by the health
check; once the lock is released the next retry finishes the run as an uninterrupted run ends."""

import time

import pytest
from django.urls import reverse

from crm import jobs
from crm.common.models import RunChunk
from customers.models import ClassificationRun, Customer
from tests.crm.test_faults import (  # noqa: F401 - broker, workers and population are fixtures
    CHUNK,
    _assert_no_duplicates,
    _blocked_backends,
    _chain_finished,
    _classification_state,
    _uninterrupted_classification,
    broker,
    population,
    wait_for,
    workers,
)
from tests.crm.test_faults import RowLock as HeldLock

pytestmark = [pytest.mark.worker, pytest.mark.postgres]


def test_a_chunk_blocked_by_a_lock_fails_is_retried_shown_stalled_and_finishes_once_freed(
    workers,  # noqa: F811 - the fixture imported above
    population,  # noqa: F811 - the fixture imported above
    settings,
    api,
    client,
    world,
):
    # Given a worker whose chunks wait at most 1 s for a lock, and a customer of the third chunk
    # locked by another transaction
    workers.env["CHUNK_LOCK_TIMEOUT_MS"] = "1000"
    settings.RUN_STALLED_AFTER_SECONDS = 2
    initial = dict(Customer.objects.values_list("pk", "tier"))
    lock = HeldLock(population[2 * CHUNK + 1].pk)
    worker = workers.start()
    # When a reclassification runs
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    jobs.classification_queued(run_id=run.pk)
    # Then the third chunk gives up on the lock and is retried, again and again, without moving,
    # while the worker does the other four (each chunk is a task of its own)
    wait_for(lambda: ClassificationRun.objects.get(pk=run.pk).chunks_done >= 4, "the other chunks committed")
    wait_for(lambda: workers.log(worker).count("Retry in") >= 2, "the blocked chunk to be retried twice")
    assert "lock timeout" in workers.log(worker)
    blocked = ClassificationRun.objects.get(pk=run.pk)
    assert (blocked.status, blocked.chunks_done) == (ClassificationRun.State.RUNNING, 4)
    third = RunChunk.objects.get(run_id=run.pk, index=2)
    assert third.done_at is None
    assert blocked.last_pk == third.lo  # done up to the blocked chunk, not past it
    # and the health check and the run's page say it has stalled, and for how long
    health = wait_for(lambda: _stalled_health(api), "the health check to show the run stalled")
    assert health["status"] == "degraded"
    stalled = health["stalled_runs"][0]
    assert (stalled["run"], stalled["id"]) == ("customers.classificationrun", run.pk)
    assert stalled["stalled_seconds"] >= 2
    client.force_login(world.admin)
    page = client.get(reverse("customers:tier-run", args=[run.pk])).content.decode()
    assert "停滞" in page
    # When the other transaction ends
    freed = time.monotonic()
    lock.release()
    # Then the next retry does the third chunk and the run ends as an uninterrupted one
    wait_for(lambda: _chain_finished(run.pk), "the run and its chain to finish")
    print(f"finished {time.monotonic() - freed:.1f} s after the lock was released")  # noqa: T201 - the figure
    assert _blocked_backends() == []
    done = ClassificationRun.objects.get(pk=run.pk)
    assert done.examined == Customer.objects.count()
    assert done.chunks_done == 5
    _assert_no_duplicates(run.pk)
    assert _classification_state(run.pk) == _uninterrupted_classification(initial)
    assert api().get("/api/v1/health/").json()["runs"] == "ok"


def _stalled_health(api):
    body = api().get("/api/v1/health/").json()
    return body if body["runs"] == "stalled" else None
