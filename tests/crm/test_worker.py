"""A Celery flow end to end through a real worker on the real broker (Redis when REDIS_URL is set,
as in CI; the filesystem transport otherwise), not in eager mode: the task travels through the
broker, runs in a worker thread with its own database connection, and its result comes back
through a result backend."""

import pytest
from django.conf import settings

from crm.celery import app
from customers.models import Customer, Tier
from managers.models import Assignment, Role
from managers.tasks import reconcile_assignments_task
from tests.factories import CommunityFactory, CustomerFactory, ManagerFactory

pytestmark = [pytest.mark.worker]


@pytest.fixture(autouse=True)
def reconcile_keeps_its_result(monkeypatch):
    """Results are ignored in production (each job records its run in the database); these tests
    read one, through Redis or an in-memory cache the worker thread shares with the test."""
    monkeypatch.setattr(reconcile_assignments_task, "ignore_result", False)
    monkeypatch.setitem(app.conf, "result_backend", settings.REDIS_URL or "cache+memory://")


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
