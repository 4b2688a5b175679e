"""Baseline tasks. They take ids only and call one service.

`compute_baselines_task` is safe to run again at any moment: acks_late with rejection on worker loss
puts the message back when the worker dies, and the run resumes after its last committed chunk."""

import traceback

from celery import shared_task
from django.db import InterfaceError, OperationalError

from forecasts.baselines import baseline_run_execute, baseline_run_fail, baseline_run_start, current_month
from forecasts.models import BaselineRun

TRANSIENT_RETRIES = 5


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True)
def compute_baselines_task(self, run_id: int) -> int:
    """Run (or resume) baseline run `run_id` to the end; retries transient database errors, records
    any other failure on the run."""
    try:
        baseline_run_execute(run_id=run_id)
    except (OperationalError, InterfaceError) as exc:
        if self.request.retries < TRANSIENT_RETRIES:
            raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
        baseline_run_fail(run_id=run_id, error=traceback.format_exc())
        raise
    except Exception:
        baseline_run_fail(run_id=run_id, error=traceback.format_exc())
        raise
    return run_id


def baselines_start_and_compute(trigger: str) -> int:
    """Record this month's run, then compute it here rather than as a second message: this is a step
    of a chain (crm/jobs.py), and the run is recorded before any work, so a run this process leaves
    behind (a transient error, a killed worker) is resumed by the sweep (crm/jobs.py) through
    compute_baselines_task."""
    run, _created = baseline_run_start(made_for=current_month(), trigger=trigger)
    try:
        baseline_run_execute(run_id=run.pk)
    except (OperationalError, InterfaceError):
        raise  # left running: the sweep sends compute_baselines_task for it
    except Exception:
        baseline_run_fail(run_id=run.pk, error=traceback.format_exc())
        raise
    return run.pk


@shared_task(ignore_result=True)
def start_scheduled_baselines_task() -> int:
    """From beat, monthly, after the month's reclassification: the baselines of this month."""
    return baselines_start_and_compute(BaselineRun.Trigger.SCHEDULE)
