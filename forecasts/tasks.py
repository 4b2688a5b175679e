"""Baseline tasks. They take ids only and call one service.

A run's chunks are tasks of their own (crm.common.fanout: forecasts.baselines registers them);
these tasks start a run and send its chunks. `compute_baselines_task` is safe to run again at any
moment: a run's chunks are planned once, and a chunk sent twice is done once."""

import traceback

from celery import shared_task
from django.db import InterfaceError, OperationalError

from crm.common.chains import FannedOut
from forecasts.baselines import baseline_run_dispatch, baseline_run_fail, baseline_run_start, current_month
from forecasts.models import BaselineRun

TRANSIENT_RETRIES = 5


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True)
def compute_baselines_task(self, run_id: int) -> int:
    """Start (or resume) baseline run `run_id` and send its undone chunks; retries transient database
    errors, records any other failure on the run."""
    try:
        baseline_run_dispatch(run_id=run_id)
    except (OperationalError, InterfaceError) as exc:
        if self.request.retries < TRANSIENT_RETRIES:
            raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
        baseline_run_fail(run_id=run_id, error=traceback.format_exc())
        raise
    except Exception:
        baseline_run_fail(run_id=run_id, error=traceback.format_exc())
        raise
    return run_id


def baselines_start_and_dispatch(trigger: str) -> FannedOut | None:
    """Record this month's run, then start it and send its chunks here rather than as a second
    message: this is a step of a chain (crm/jobs.py), which then waits on the chunks. The run is
    recorded before any work, so a run this process leaves behind (a transient error, a killed
    worker) is resumed by the sweep (crm/jobs.py) through compute_baselines_task."""
    run, _created = baseline_run_start(made_for=current_month(), trigger=trigger)
    try:
        return baseline_run_dispatch(run_id=run.pk)
    except (OperationalError, InterfaceError):
        raise  # left queued or running: the sweep sends compute_baselines_task for it
    except Exception:
        baseline_run_fail(run_id=run.pk, error=traceback.format_exc())
        raise


@shared_task(ignore_result=True)
def start_scheduled_baselines_task() -> int:
    """From beat, monthly, after the month's reclassification: the baselines of this month."""
    fanned = baselines_start_and_dispatch(BaselineRun.Trigger.SCHEDULE)
    return fanned.run_id if fanned else 0
