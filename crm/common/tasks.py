import socket

from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

from crm.common.models import WorkerHeartbeat


@shared_task(ignore_result=True)
def heartbeat_task() -> None:
    """Record that a worker is alive and consuming (read by /api/v1/health/)."""
    WorkerHeartbeat.objects.update_or_create(name=socket.gethostname(), defaults={"seen_at": timezone.now()})


@worker_ready.connect
def _heartbeat_when_ready(sender=None, **kwargs) -> None:
    """Beat sends the first heartbeat only after a minute; send one through the broker as soon as a
    worker is ready, so /api/v1/health/ says "ok" right after start-up."""
    heartbeat_task.delay()
