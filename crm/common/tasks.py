import socket

from celery import shared_task
from django.utils import timezone

from crm.common.models import WorkerHeartbeat


@shared_task(ignore_result=True)
def heartbeat_task() -> None:
    """Record that a worker is alive and consuming (read by /api/v1/health/)."""
    WorkerHeartbeat.objects.update_or_create(name=socket.gethostname(), defaults={"seen_at": timezone.now()})
