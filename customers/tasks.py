"""Tasks of the customers app (those of tiering and imports live with their sub-packages)."""

from celery import shared_task

from crm.common.scheduling import ScheduledTask
from customers.partitions import consumption_partitions_ensure


@shared_task(base=ScheduledTask, ignore_result=True)
def ensure_consumption_partitions_task() -> list[str]:
    """From beat, monthly: make the consumption table's yearly partitions of this year and the next
    two that are missing (PostgreSQL; nothing to do on SQLite). Idempotent."""
    return consumption_partitions_ensure()


__all__ = ["ensure_consumption_partitions_task"]
