"""Celery tasks of the webhooks."""

from celery import shared_task

from integrations.delivery import deliveries_send_due
from integrations.services import deliveries_fan_out


@shared_task(ignore_result=True)
def deliver_webhooks_task() -> dict[str, int]:
    """Fan the outbox out, then deliver what is due for a few seconds (beat runs it every
    WEBHOOKS_BEAT_SECONDS). Two running at once share the work: each claims rows the other does
    not hold. No run table: each delivery row and its tries are the record (the delivery log)."""
    dispatched = deliveries_fan_out()
    counts = deliveries_send_due()
    return {"dispatched": dispatched, **counts}
