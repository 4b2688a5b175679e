"""Celery tasks of the visit system: each takes ids (or nothing), calls one service of
visits.generation (a recorded run, or the tier-change handling) and is idempotent (the database's
unique constraints and `reminded_on` make a redelivered message harmless)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from crm.common.scheduling import ScheduledTask
from visits import generation
from visits.models import VisitRun

TRANSIENT = (ConnectionError, OperationalError, InterfaceError)
_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(**_OPTIONS)
def visit_run_task(run_id: int) -> dict:
    """Execute a recorded run (POST visit-runs/)."""
    return generation.visit_run_execute(run_id=run_id).counts


@shared_task(base=ScheduledTask, **_OPTIONS)
def generate_visit_tasks_task() -> dict:
    """Daily: create the scheduled tasks due (a second run the same day creates nothing)."""
    return generation.visit_run_now(job=VisitRun.Job.GENERATE).counts


@shared_task(base=ScheduledTask, **_OPTIONS)
def mark_overdue_visits_task() -> dict:
    return generation.visit_run_now(job=VisitRun.Job.OVERDUE).counts


@shared_task(base=ScheduledTask, **_OPTIONS)
def detect_care_visits_task() -> dict:
    return generation.visit_run_now(job=VisitRun.Job.CARE).counts


@shared_task(base=ScheduledTask, **_OPTIONS)
def send_visit_reminders_task() -> dict:
    return generation.visit_run_now(job=VisitRun.Job.REMINDERS).counts


@shared_task(base=ScheduledTask, **_OPTIONS)
def send_overdue_digest_task() -> dict:
    return generation.visit_run_now(job=VisitRun.Job.DIGEST).counts
