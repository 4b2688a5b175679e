"""/api/v1/health/ needs no authentication and reports the database, the broker and the worker."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

import crm.common
from crm.celery import app
from crm.common.models import WorkerHeartbeat

URL = "/api/v1/health/"


def test_health_answers_without_authentication(api, db):
    response = api().get(URL)
    assert response.status_code == 200
    assert {"status", "database", "broker", "worker", "worker_seen_at"} <= set(response.json())
    assert response.json()["database"] == "ok"


def test_health_ignores_a_bad_token(api, db):
    # Given a client that sends a revoked or invented token; the probe still answers
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(URL).status_code == 200


def test_health_reports_the_configured_broker_reachable(api, db):
    assert api().get(URL).json()["broker"] == "ok"


def test_worker_is_unknown_before_any_heartbeat(api, db):
    body = api().get(URL).json()
    assert body["worker"] == "unknown"
    assert body["worker_seen_at"] is None
    assert body["status"] == "degraded"


def test_worker_is_ok_after_a_recent_heartbeat(api, db):
    WorkerHeartbeat.objects.create(name="worker-1", seen_at=timezone.now() - timedelta(seconds=30))
    body = api().get(URL).json()
    assert body["worker"] == "ok"
    assert body["status"] == "ok"


def test_worker_is_stale_when_the_last_heartbeat_is_old(api, db):
    WorkerHeartbeat.objects.create(name="worker-1", seen_at=timezone.now() - timedelta(minutes=10))
    body = api().get(URL).json()
    assert body["worker"] == "stale"
    assert body["status"] == "degraded"


def test_heartbeat_task_records_the_worker(db):
    from crm.common.tasks import heartbeat_task

    heartbeat_task.delay()
    assert WorkerHeartbeat.objects.count() == 1


@pytest.fixture
def unreachable_broker():
    # Nothing listens on port 1: the connection is refused at once. (Not monkeypatch: Celery derives
    # broker_write_url from broker_url, so restoring them one by one would keep the bad URL.)
    saved = {key: app.conf.get(key) for key in ("broker_url", "broker_write_url")}
    app.conf.update(broker_url="redis://127.0.0.1:1/0", broker_write_url=None)
    yield
    app.conf.update(saved)


def test_unreachable_broker_is_reported_down_and_the_service_degraded(api, db, unreachable_broker):
    WorkerHeartbeat.objects.create(name="worker-1", seen_at=timezone.now())
    response = api().get(URL)
    assert response.status_code == 200
    assert response.json()["broker"] == "down"
    assert response.json()["status"] == "degraded"


class _DeadDatabase:
    def cursor(self):
        raise connection.Database.OperationalError("server closed the connection unexpectedly")


def test_database_down_answers_503(api, db, monkeypatch):
    monkeypatch.setattr("crm.common.health.connection", _DeadDatabase())
    response = api().get(URL)
    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert response.json()["status"] == "down"


def test_a_ready_worker_sends_itself_a_heartbeat(db):
    # Given no heartbeat; when a `celery worker` process says it is ready (tasks run eagerly here)
    from celery.signals import worker_ready

    from crm.common.models import WorkerHeartbeat

    assert not WorkerHeartbeat.objects.exists()
    worker_ready.send(sender=None)
    # then the heartbeat task ran and /health/ can say the worker is alive
    assert WorkerHeartbeat.objects.count() == 1


def test_the_kernel_imports_nothing_of_the_projects_celery_app():
    # Given every import statement of crm.common (the kernel every app imports)
    imported = set()
    for path in Path(crm.common.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {(path.name, f"{node.module}.{alias.name}") for alias in node.names}
            elif isinstance(node, ast.Import):
                imported |= {(path.name, alias.name) for alias in node.names}
    # Then none of them is of crm.celery: the project wires the kernel, not the other way round
    assert not {(name, module) for name, module in imported if module.startswith("crm.celery")}
