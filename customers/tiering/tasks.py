"""Reclassification tasks (tiering). Both take ids only and call one service.

`reclassify_customers_task` is safe to run again at any moment: acks_late with rejection on worker
loss puts the message back when the worker dies, and the run resumes after its last committed chunk."""

import traceback

from celery import shared_task
from django.db import InterfaceError, OperationalError

from crm.common.scheduling import ScheduledTask
from customers.models import ClassificationRun
from customers.tiering.classification import (
    RunBusy,
    classification_run_execute,
    classification_run_fail,
    classification_run_start,
)

BUSY_RETRY_SECONDS = 30
TRANSIENT_RETRIES = 5


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True)
def reclassify_customers_task(self, run_id: int) -> int:
    """Run (or resume) classification run `run_id` to the end. Waits while another run is running;
    retries transient database errors; records any other failure on the run."""
    try:
        classification_run_execute(run_id=run_id)
    except RunBusy as exc:
        raise self.retry(exc=exc, countdown=BUSY_RETRY_SECONDS) from exc
    except (OperationalError, InterfaceError) as exc:
        if self.request.retries < TRANSIENT_RETRIES:
            raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
        classification_run_fail(run_id=run_id, error=traceback.format_exc())
        raise
    except Exception:
        classification_run_fail(run_id=run_id, error=traceback.format_exc())
        raise
    return run_id


@shared_task(base=ScheduledTask, ignore_result=True)
def start_scheduled_reclassification_task() -> int:
    """From beat, monthly: queue a run (the hook then enqueues the chain of steps)."""
    run, _created = classification_run_start(trigger=ClassificationRun.Trigger.SCHEDULE)
    return run.pk


__all__ = ["reclassify_customers_task", "start_scheduled_reclassification_task"]
