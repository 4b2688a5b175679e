"""The count of a large list is kept for a while (crm.common.paging.CountKeepingPaginator); a small
one is counted every time; two scopes never share a count."""

import pytest
from django.core.cache import cache

from customers.models import Customer
from tests.factories import CustomerFactory


@pytest.fixture
def large_from_five(settings):
    """Lists of five rows or more count as large here (10,000 in production)."""
    settings.LARGE_COUNT_ROWS = 5
    settings.LARGE_COUNT_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def _count(api, user, **params) -> int:
    response = api(user).get("/api/v1/customers/", params)
    assert response.status_code == 200
    return response.json()["count"]


@pytest.mark.django_db
def test_a_large_list_counts_once_while_its_count_is_kept(
    api, world, large_from_five, django_assert_num_queries
):
    CustomerFactory.create_batch(5, station=world.station_a)
    total = Customer.objects.count()
    assert _count(api, world.admin) == total
    CustomerFactory(station=world.station_a)
    # the kept count: the new customer is listed (the rows are read) but not yet counted
    assert _count(api, world.admin) == total
    assert (
        api(world.admin).get("/api/v1/customers/", {"page_size": 500}).json()["results"].__len__()
        == total + 1
    )
    # another filter is another list, counted afresh
    assert (
        _count(api, world.admin, station=world.station_a.pk)
        == Customer.objects.filter(station=world.station_a).count()
    )
    # once the count is no longer kept, it is exact again
    cache.clear()
    assert _count(api, world.admin) == total + 1


@pytest.mark.django_db
def test_a_small_list_is_counted_every_time(api, world, settings):
    settings.LARGE_COUNT_ROWS = 10_000
    cache.clear()
    before = _count(api, world.admin)
    CustomerFactory(station=world.station_a)
    assert _count(api, world.admin) == before + 1


@pytest.mark.django_db
def test_two_scopes_do_not_share_a_kept_count(api, world, large_from_five):
    CustomerFactory.create_batch(6, station=world.station_a, manager=world.manager_a.user)
    CustomerFactory.create_batch(7, station=world.station_b)
    everyone = _count(api, world.admin)
    mine = _count(api, world.manager_a.user)
    assert everyone == Customer.objects.count()
    assert mine == Customer.objects.visible_to(world.manager_a.user).count() < everyone


@pytest.mark.django_db
def test_with_no_time_to_keep_every_list_is_counted(api, world, large_from_five, settings):
    settings.LARGE_COUNT_CACHE_SECONDS = 0
    CustomerFactory.create_batch(5, station=world.station_a)
    before = _count(api, world.admin)
    CustomerFactory(station=world.station_a)
    assert _count(api, world.admin) == before + 1
