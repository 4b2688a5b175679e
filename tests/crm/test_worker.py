"""A Celery flow end to end through a real worker on the real broker (Redis when REDIS_URL is set,
as in CI; the filesystem transport otherwise), not in eager mode: the task travels through the
broker, runs in a worker thread with its own database connection, and its result comes back
through a result backend."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from kombu import pools

from crm.celery import app
from customers.models import Customer, Tier
from managers.models import Assignment, Role
from managers.tasks import reconcile_assignments_task
from tests.factories import CommunityFactory, CustomerFactory, ManagerFactory

pytestmark = [pytest.mark.worker]


def _fresh_connections() -> None:
    """Forget pooled broker connections and the result backend, so the next ones follow the
    configuration now in force. kombu keeps its pools in a registry keyed by broker URL: closing one
    without clearing the registry would hand the closed pool to the next user of the same URL."""
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None  # a thread-safe backend, shared by threads
    app._local.__dict__.pop("backend", None)  # or this thread's own


@pytest.fixture
def real_worker(transactional_db, tmp_path, monkeypatch):
    """A worker thread on the configured broker. Tasks are sent, not run in-process; results come back
    through Redis (when used) or an in-memory cache the worker thread shares with the test. Without
    Redis the filesystem broker gets folders of its own, so no message of another run is consumed."""
    keys = ("task_always_eager", "broker_transport_options", "result_backend")
    saved = {key: app.conf[key] for key in keys}
    app.conf.task_always_eager = False
    app.conf.result_backend = settings.REDIS_URL or "cache+memory://"
    if app.conf.broker_url.startswith("filesystem"):
        app.conf.broker_transport_options = {
            **saved["broker_transport_options"],
            "data_folder_in": str(tmp_path),
            "data_folder_out": str(tmp_path),
        }
    # Results are ignored in production (each job records its run in the database); this test reads one.
    monkeypatch.setattr(reconcile_assignments_task, "ignore_result", False)
    _fresh_connections()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        app.conf.update(saved)
        _fresh_connections()


def test_reconcile_assignments_runs_on_a_real_worker(world, real_worker):
    # Given an unassigned key account in station A, where manager A (key accounts, qualified) has room,
    orphan = CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    # and a community customer whose community has a community manager
    community_manager = ManagerFactory(station=world.station_a, role=Role.COMMUNITY_MANAGER)
    community = CommunityFactory(station=world.station_a, manager=community_manager.user)
    resident = CustomerFactory(
        station=world.station_a, tier=Tier.COMMUNITY, community=community, manager=None
    )

    # When the task is sent through the broker and the worker answers
    result = reconcile_assignments_task.delay()
    counts = result.get(timeout=30)

    # Then the worker ran it: the counts came back and the customers have their managers
    assert result.successful()
    assert counts == {"followed_territory": 1, "assigned": 1, "unassigned": 0}
    assert Customer.objects.get(pk=orphan.pk).manager_id == world.manager_a.pk
    assert Customer.objects.get(pk=resident.pk).manager_id == community_manager.pk
    assert Assignment.objects.filter(customer__in=[orphan, resident], ended_at__isnull=True).count() == 2


def test_a_second_run_on_the_worker_moves_nobody(world, real_worker):
    CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    reconcile_assignments_task.delay().get(timeout=30)
    assert reconcile_assignments_task.delay().get(timeout=30) == {
        "followed_territory": 0,
        "assigned": 0,
        "unassigned": 0,
    }
