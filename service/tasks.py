"""Celery tasks of one-stop service: each takes ids (or nothing), calls one service and is
idempotent (a redelivered message finds nothing left to do)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from crm.common.runs import recorded_run
from service.sla import sla_states_refresh

TRANSIENT = (ConnectionError, OperationalError, InterfaceError)
SLA_JOB = "service.sla_refresh"


@shared_task(
    acks_late=True, reject_on_worker_lost=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5
)
def sla_refresh_task() -> dict[str, int]:
    """From beat, every few minutes: the clocks that crossed 80 % or their due instant move to
    warning or breached and their people are told (service.sla.sla_states_refresh); one JobRun
    per run with the counts."""
    with recorded_run(SLA_JOB) as run:
        run.counts = sla_states_refresh()
    return run.counts
