from celery import shared_task

from managers.services import assignments_reconcile


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def reconcile_assignments_task() -> dict[str, int]:
    """Give customers the manager the rules choose (idempotent: a second run moves nobody)."""
    return assignments_reconcile()
