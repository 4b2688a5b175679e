"""Celery tasks of the appraisal: each takes ids, calls one service and is idempotent (computing the
evidence again gives the same numbers for the same data)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from appraisal.evidence import evidence_compute
from appraisal.models import AppraisalCycle

TRANSIENT = (ConnectionError, OperationalError, InterfaceError)


@shared_task(
    acks_late=True, reject_on_worker_lost=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5
)
def compute_evidence_task(cycle_id: int, appraisal_ids: list[int] | None = None) -> int:
    """When scoring opens (every appraisal) and when one goes to review (that one)."""
    cycle = AppraisalCycle.objects.filter(pk=cycle_id).first()
    if cycle is None:  # deleted since: nothing to do
        return 0
    return evidence_compute(cycle=cycle, appraisal_ids=appraisal_ids)
