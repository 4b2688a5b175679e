"""A whole worker killed in a middle step of a chain (issue 15, scenarios 3, 4 and 6), with real
`celery worker` processes on Redis and the PostgreSQL test database (the harness of test_faults.py).

The reclassification's chain is classify, reassign, visits, reconcile. The test holds a row lock on
an open visit task of a customer whose tier changes, so the worker finishes the classification and
the reassignment and then waits in the visits step; there the whole worker is SIGKILLed. Its message
stays unacknowledged in Redis. A new worker starts; the sweep, run every second as beat would every
minute, sees the killed worker's heartbeat go stale while the new one answers, so it uses the short
grace and sends the visits step again under a new token. The chain must end once, with the counts of
an uninterrupted run; and when Redis gives the old message back (its visibility timeout, shortened
here to seconds), that message must run nothing and be counted as ignored."""

import time

import pytest
from django.utils import timezone

from crm import jobs
from crm.common.models import ChainRun
from customers.models import ClassificationRun, TierChange
from managers.models import Assignment
from tests.crm.test_faults import (  # the harness's fixtures, used by name
    RowLock,
    _assert_no_duplicates,
    _pg,
    _reassigned,
    _terminate,
    _worker_backends,
    broker,
    population,
    wait_for,
    workers,
)
from tests.factories import VisitTaskFactory
from visits.models import Kind, TaskStatus, VisitTask

pytestmark = [pytest.mark.worker, pytest.mark.postgres]
__all__ = ["broker", "population", "workers"]  # the fixtures this module takes from the harness
HEARTBEAT_SECONDS = 1
FRESH_SECONDS = 3
VISIBILITY_SECONDS = 30


class VisitTaskLock(RowLock):
    """An open visit task row locked FOR UPDATE: the visits step's cancellation waits on it."""

    def __init__(self, task_id: int):
        self.conn = _pg()
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT id FROM visits_visittask WHERE id = %s FOR UPDATE", [task_id])
        RowLock.held.append(self)


def _blocked() -> bool:
    with _pg() as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            ["%visits_visittask%"],
        )
        (n,) = cursor.fetchone()
    conn.close()
    return n > 0


@pytest.fixture
def quick_heartbeats(workers, settings):  # noqa: F811 - the fixture
    workers.env.update(
        CRM_WORKER_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS), BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS)
    )
    settings.CRM_WORKER_FRESH_SECONDS = FRESH_SECONDS
    settings.CRM_SWEEP_GRACE_SECONDS = 1
    return workers


def test_a_worker_killed_in_a_middle_step_is_replaced_and_the_chain_ends_once(quick_heartbeats, population):  # noqa: F811
    pool = quick_heartbeats
    # Given a customer turning VIP with an open key-account visit, locked by another session
    changing = population[0]
    open_task = VisitTaskFactory(customer=changing, kind=Kind.SCHEDULED, status=TaskStatus.PLANNED)
    lock = VisitTaskLock(open_task.pk)
    worker = pool.start()
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    jobs.classification_queued(run_id=run.pk)
    chain = ChainRun.objects.get(name="classification", subject_id=run.pk)
    # and the worker has classified, reassigned, and waits in the visits step
    wait_for(lambda: ChainRun.objects.get(pk=chain.pk).done == 2 and _blocked(), "the visits step to wait")
    # When the whole worker is SIGKILLed there (its message stays unacknowledged in Redis)
    pool.kill(worker)
    killed_at = time.monotonic()
    lock.release()
    _terminate(_worker_backends())
    pool.start()

    # and beat's sweep runs (every second here): it sends the step again once the dead worker's
    # heartbeat is stale and every live worker answered, not after the ten-minute grace
    def sweep():
        return jobs.runs_sweep()["chains"]

    resent = wait_for(sweep, "the sweep to send the visits step again")
    resent_after = time.monotonic() - killed_at
    assert resent == [chain.pk]
    wait_for(lambda: ChainRun.objects.get(pk=chain.pk).finished_at is not None, "the chain to end")
    ended_after = time.monotonic() - killed_at
    # Then the chain ended once, at its last step, its visits step sent again once
    chain.refresh_from_db()
    assert chain.done == len(chain.steps) == 4
    assert chain.resends == 1
    # and the end state and counts are an uninterrupted run's
    run.refresh_from_db()
    changes = TierChange.objects.filter(run=run).count()
    assert changes > 0
    assert _reassigned(run) == changes
    assert run.reassignment["finished"] is True
    _assert_no_duplicates(run.pk)
    # a welcome visit for each changed customer that has a manager now, the old visit cancelled
    changed = TierChange.objects.filter(run=run).values("customer_id")
    with_manager = Assignment.objects.filter(
        customer__in=changed, ended_at__isnull=True, manager__isnull=False
    )
    welcomes = VisitTask.objects.filter(kind=Kind.TIER_CHANGE)
    assert welcomes.count() == with_manager.count() > 0
    assert VisitTask.objects.get(pk=open_task.pk).status == TaskStatus.CANCELLED
    # When Redis gives the killed worker's message back after its visibility timeout
    wait_for(lambda: ChainRun.objects.get(pk=chain.pk).ignored_messages == 1, "the old message to return")
    # Then it ran nothing: the same chain, the same visits
    chain.refresh_from_db()
    assert chain.done == 4
    assert chain.resends == 1
    assert VisitTask.objects.filter(kind=Kind.TIER_CHANGE).count() == welcomes.count()
    print(  # the recovery times, for the note (pytest -s)
        f"\nworker killed in the visits step at {timezone.now():%H:%M:%S}: step sent again after "
        f"{resent_after:.1f} s, chain ended after {ended_after:.1f} s"
    )
