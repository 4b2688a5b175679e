"""The plumbing's own worker tasks and signals: the heartbeats by which /api/v1/health/ and the
runs' sweep know which workers are alive."""

import datetime as dt
import logging
import socket
import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection
from django.utils import timezone

from crm.common.models import NODE_PREFIX, WorkerHeartbeat

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def heartbeat_task() -> None:
    """Record that a worker is alive and consuming (read by /api/v1/health/)."""
    WorkerHeartbeat.objects.update_or_create(name=socket.gethostname(), defaults={"seen_at": timezone.now()})


@worker_ready.connect
def _heartbeat_when_ready(sender=None, **kwargs) -> None:
    """Beat sends the first heartbeat only after a minute; send one through the broker as soon as a
    worker is ready, so /api/v1/health/ says "ok" right after start-up. And start the node's own
    heartbeat."""
    heartbeat_task.delay()
    node = getattr(sender, "hostname", None)
    if node:
        NodeHeartbeat(node).start()


@worker_shutdown.connect
def _node_stopped(sender=None, **kwargs) -> None:
    """A worker that stops cleanly is no longer expected to answer the sweep's broadcast."""
    node = getattr(sender, "hostname", None)
    if node:
        WorkerHeartbeat.objects.filter(name=NODE_PREFIX + node).delete()


class NodeHeartbeat(threading.Thread):
    """A thread of the worker's main process writing `node:<name>` every
    CRM_WORKER_HEARTBEAT_SECONDS: a thread, not a task or the worker's timer, so a worker whose one
    process is busy with a long task (the solo pool) still beats; a worker that was killed stops.
    The runs' sweep compares these with the workers that answer its broadcast (crm.jobs)."""

    def __init__(self, node: str) -> None:
        super().__init__(name="crm-node-heartbeat", daemon=True)
        self.node = node
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                WorkerHeartbeat.objects.update_or_create(
                    name=NODE_PREFIX + self.node, defaults={"seen_at": timezone.now()}
                )
            except Exception as exc:  # a database restart: beat again on the next round
                logger.warning("worker heartbeat not written: %s", exc)
                connection.close()
            self.stopped.wait(settings.CRM_WORKER_HEARTBEAT_SECONDS)
        connection.close()


def fresh_nodes(*, now: dt.datetime) -> set[str]:
    """The worker nodes whose heartbeat is at most CRM_WORKER_FRESH_SECONDS old."""
    since = now - dt.timedelta(seconds=settings.CRM_WORKER_FRESH_SECONDS)
    names = WorkerHeartbeat.objects.filter(name__startswith=NODE_PREFIX, seen_at__gte=since).values_list(
        "name", flat=True
    )
    return {name.removeprefix(NODE_PREFIX) for name in names}
