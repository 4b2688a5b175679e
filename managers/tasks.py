from celery import shared_task
from django.db import InterfaceError, OperationalError

from crm.common.models import JobRun
from crm.common.runs import recorded_run
from crm.common.scheduling import ScheduledTask
from managers.services import RECONCILE_JOB, assignments_reconcile

TRANSIENT = (ConnectionError, OperationalError, InterfaceError)


# Hourly from beat (once per slot: ScheduledTask), and the last step of a classification's chain. A
# chunk that waited out its lock timeout (crm.common.chunks) is a transient error: retried.
@shared_task(base=ScheduledTask, acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def reconcile_assignments_task() -> dict[str, int]:
    """Give customers the manager the rules choose (idempotent: a second run moves nobody)."""
    return reconcile_recorded()


def reconcile_recorded() -> dict[str, int]:
    """The reconcile, leaving one record with its counts (each move is an Assignment with its
    reason); also the last step of a classification's chain (crm/jobs.py)."""
    with recorded_run(RECONCILE_JOB) as run:

        def progress(counts: dict[str, int]) -> None:
            # Saved after each chunk (each its own transaction), so the unassigned page can say a
            # run is placing customers and how many so far, instead of a wrong reason.
            JobRun.objects.filter(pk=run.pk).update(counts=counts)

        run.counts = assignments_reconcile(progress=progress)
    return run.counts
