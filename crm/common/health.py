"""/api/v1/health/: is the database answering, is the broker reachable, is a worker consuming?

No authentication (a load balancer or a monitoring probe calls it). 200 while the database answers,
with `status: degraded` when the broker or the worker is not well or a run has stalled (it has not
moved for longer than its chunks take: crm/common/chunks.py); 503 when the database is down."""

from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.common.chunks import stalled_runs
from crm.common.models import NODE_PREFIX, WorkerHeartbeat

# The heartbeat task runs every minute (CELERY_BEAT_SCHEDULE); three missed beats mean trouble.
WORKER_STALE_AFTER = timedelta(minutes=3)

HealthSerializer = inline_serializer(
    name="Health",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "degraded", "down"]),
        "database": serializers.ChoiceField(choices=["ok", "down"]),
        "broker": serializers.ChoiceField(choices=["ok", "down"]),
        "worker": serializers.ChoiceField(
            choices=["ok", "stale", "unknown"],
            help_text="ok: a worker beat within the last 3 minutes; unknown: none ever did",
        ),
        "worker_seen_at": serializers.DateTimeField(allow_null=True),
        "runs": serializers.ChoiceField(
            choices=["ok", "stalled"],
            help_text="stalled: a run has not moved for longer than its chunks take",
        ),
        "stalled_runs": serializers.ListField(
            child=inline_serializer(
                name="StalledRun",
                fields={
                    "run": serializers.CharField(help_text="the run table, e.g. customers.classificationrun"),
                    "id": serializers.IntegerField(),
                    "stalled_seconds": serializers.IntegerField(help_text="seconds since the run last moved"),
                },
            )
        ),
        "broker_url": serializers.CharField(
            required=False, help_text="only with DEBUG on: the broker in use, without credentials"
        ),
    },
)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any failure means the same to the caller: the database is not answering
        return "down"
    return "ok"


def _broker() -> str:
    # The Celery app in use, whichever the project configured (crm/celery.py makes its app the
    # current one): the kernel knows no project module.
    try:
        with current_app.connection_for_write() as conn:
            # One quick attempt: a probe must answer in seconds, not wait out the retry policy.
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception:  # unreachable, refused, bad credentials: all mean "down" here
        return "down"
    return "ok"


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, auth=[])
    def get(self, request):
        database = _database()
        broker = _broker()
        seen_at = None
        worker = "unknown"
        stalled = []
        if database == "ok":
            stalled = stalled_runs()
            # the consuming heartbeat: a node's own says its process lives, not that it consumes
            beat = WorkerHeartbeat.objects.exclude(name__startswith=NODE_PREFIX).order_by("-seen_at").first()
            if beat is not None:
                seen_at = beat.seen_at
                worker = "ok" if timezone.now() - beat.seen_at < WORKER_STALE_AFTER else "stale"
        if database == "down":
            overall = "down"
        elif broker == "ok" and worker == "ok" and not stalled:
            overall = "ok"
        else:
            overall = "degraded"
        body = {
            "status": overall,
            "database": database,
            "broker": broker,
            "worker": worker,
            "worker_seen_at": seen_at,
            "runs": "stalled" if stalled else "ok",
            "stalled_runs": stalled,
        }
        if settings.DEBUG:
            body["broker_url"] = settings.CELERY_BROKER_URL.split("@")[-1]
        return Response(body, status=503 if overall == "down" else 200)
