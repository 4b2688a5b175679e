"""/api/v1/health/: is the database answering, is the broker reachable, is a worker consuming?"""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.common.models import WorkerHeartbeat

WORKER_STALE_AFTER = timedelta(minutes=3)

HealthSerializer = inline_serializer(
    name="Health",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "degraded", "down"]),
        "database": serializers.ChoiceField(choices=["ok", "down"]),
        "broker": serializers.ChoiceField(choices=["ok", "down"]),
        "worker": serializers.ChoiceField(choices=["ok", "stale", "unknown"]),
        "worker_seen_at": serializers.DateTimeField(allow_null=True),
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
    from crm.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:
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
        if database == "ok":
            beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
            if beat is not None:
                seen_at = beat.seen_at
                worker = "ok" if timezone.now() - beat.seen_at < WORKER_STALE_AFTER else "stale"
        overall = (
            "down" if database == "down" else ("ok" if broker == "ok" and worker == "ok" else "degraded")
        )
        body = {
            "status": overall,
            "database": database,
            "broker": broker,
            "worker": worker,
            "worker_seen_at": seen_at,
        }
        if settings.DEBUG:
            body["broker_url"] = settings.CELERY_BROKER_URL.split("@")[-1]
        return Response(body, status=503 if overall == "down" else 200)
