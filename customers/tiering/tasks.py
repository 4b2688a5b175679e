"""Reclassification tasks (tiering). Both take ids only and call one service.

The classification itself runs as the first step of its chain (crm.common.chains, crm/jobs.py):
recorded, resumed after its last committed chunk, and swept step by step."""

from celery import shared_task

from crm.common import hooks
from crm.common.scheduling import ScheduledTask
from customers.models import ClassificationRun
from customers.tiering.classification import classification_run_start


@shared_task(ignore_result=True)
def reclassify_customers_task(run_id: int) -> int:
    """Start the chain of run `run_id` (classify, then the steps after it: crm/jobs.py), or, when it
    has one, send its next step again: what the runs' sweep sends for a run that has no chain."""
    hooks.after_commit("classification_queued", run_id=run_id)
    return run_id


@shared_task(base=ScheduledTask, ignore_result=True)
def start_scheduled_reclassification_task() -> int:
    """From beat, monthly: queue a run (the hook then enqueues the chain of steps)."""
    run, _created = classification_run_start(trigger=ClassificationRun.Trigger.SCHEDULE)
    return run.pk


__all__ = ["reclassify_customers_task", "start_scheduled_reclassification_task"]
