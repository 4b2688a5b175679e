"""The reconcile runs until done, chunk after chunk, and never passes a manager's maximum portfolio
size (issue 7, assignment after imports)."""

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.common.models import JobRun
from customers.models import Customer, Tier
from managers import services
from managers.models import Manager, Role
from managers.tasks import reconcile_assignments_task
from tests.factories import CommunityFactory, CustomerFactory, ManagerFactory

pytestmark = pytest.mark.django_db


def _unassigned_page(client, world) -> str:
    client.force_login(world.supervisor)
    with translation.override("zh-hans"):
        return client.get(reverse("managers:unassigned")).content.decode()


def test_reconcile_places_every_customer_over_several_chunks_in_one_run(world, monkeypatch):
    # given seven unassigned key accounts in station A, manager A qualified, and chunks of three
    Manager.objects.filter(pk=world.manager_a.pk).update(qualified=True)
    customers = CustomerFactory.create_batch(7, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    monkeypatch.setattr(services, "RECONCILE_CHUNK", 3)
    # when the job runs once
    counts = reconcile_assignments_task()
    # then all seven have manager A, and the one record adds up the chunks
    assert set(
        Customer.objects.filter(pk__in=[c.pk for c in customers]).values_list("manager_id", flat=True)
    ) == {world.manager_a.pk}
    assert counts == {"followed_territory": 0, "assigned": 7, "unassigned": 0}
    [run] = JobRun.objects.filter(job="reconcile_assignments")
    assert run.counts == counts


def test_reconcile_saves_the_counts_so_far_after_each_chunk(world, monkeypatch):
    # given five unassigned key accounts and chunks of two
    Manager.objects.filter(pk=world.manager_a.pk).update(qualified=True)
    CustomerFactory.create_batch(5, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    seen = []
    reconcile = services.assignments_reconcile

    def watched(**kwargs):
        progress = kwargs.pop("progress")

        def record(counts):
            progress(counts)
            seen.append(JobRun.objects.get(job="reconcile_assignments", finished_at__isnull=True).counts)

        return reconcile(chunk=2, progress=record, **kwargs)

    monkeypatch.setattr("managers.tasks.assignments_reconcile", watched)
    # when the job runs
    reconcile_assignments_task()
    # then the open record carried the running totals, from before the first chunk on, chunk by chunk,
    # with the candidates examined of those counted as it started
    assert [c["assigned"] for c in seen] == [0, 2, 4, 5]
    assert [(c["examined"], c["total"]) for c in seen] == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_a_full_territory_manager_gets_no_more_customers_and_the_page_says_why(world, client):
    # given a community of station A whose manager may serve two, and four new unassigned residents
    community_manager = ManagerFactory(station=world.station_a, role=Role.COMMUNITY_MANAGER, max_customers=2)
    community = CommunityFactory(station=world.station_a, manager=community_manager.user)
    CustomerFactory.create_batch(
        4, station=world.station_a, tier=Tier.COMMUNITY, community=community, manager=None
    )
    # when the reconcile runs
    counts = services.assignments_reconcile(chunk=3)
    # then the manager has two, the other two wait for the supervisor with the reason on the page
    assert counts == {"followed_territory": 2, "assigned": 0, "unassigned": 2}
    assert Customer.objects.filter(manager_id=community_manager.pk).count() == 2
    html = _unassigned_page(client, world)
    with translation.override("zh-hans"):
        assert (
            html.count(_("The manager of its territory is full (%(n)s/%(max)s).") % {"n": 2, "max": 2}) == 2
        )
    # and a second run moves nobody
    assert services.assignments_reconcile() == {"followed_territory": 0, "assigned": 0, "unassigned": 2}


def test_full_qualified_managers_get_no_more_customers_and_the_page_says_why(world, client):
    # given manager A qualified and full (one customer of at most one), and a new key account
    Manager.objects.filter(pk=world.manager_a.pk).update(qualified=True, max_customers=1)
    orphan = CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    # when the reconcile runs
    counts = services.assignments_reconcile()
    # then nobody is forced on manager A, and the page says all qualified managers are full
    assert counts["unassigned"] == 1
    assert Customer.objects.get(pk=orphan.pk).manager_id is None
    with translation.override("zh-hans"):
        assert _("All qualified managers are full.") in _unassigned_page(client, world)


def test_the_page_says_a_reconcile_is_running_with_its_counts_so_far(world, client):
    # given an unassigned key account, manager A qualified with room, and a run started not finished
    Manager.objects.filter(pk=world.manager_a.pk).update(qualified=True)
    CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    JobRun.objects.create(
        job="reconcile_assignments",
        started_at=timezone.now(),
        counts={"assigned": 5, "followed_territory": 2},
    )
    # when the supervisor opens the page
    html = _unassigned_page(client, world)
    # then it says managers are being assigned, how many so far, and the customer waits for that run
    with translation.override("zh-hans"):
        assert _("Assigning account managers…") in html
        assert _("Being assigned by the run in progress.") in html
        so_far = _("So far %(assigned)s assigned and %(followed)s given to their territory's manager.")
        assert so_far % {"assigned": 5, "followed": 2} in html


def test_the_page_says_nothing_runs_once_the_run_finished(world, client):
    # given a finished run
    now = timezone.now()
    JobRun.objects.create(job="reconcile_assignments", started_at=now, finished_at=now)
    CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    # when the supervisor opens the page, then it does not say a run is going on
    html = _unassigned_page(client, world)
    with translation.override("zh-hans"):
        assert _("Assigning account managers…") not in html
