"""The customer list and the customer page in the browser: scope, filters, pagination, contents
and a fixed number of queries whatever the data size."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from customers.models import Category, Importance, Status, Tier
from tests.factories import (
    AssignmentFactory,
    ConsumptionFactory,
    ContactFactory,
    CustomerFactory,
    VisitReportFactory,
    VisitTaskFactory,
)

LIST = reverse("customers:list")


def detail(customer) -> str:
    return reverse("customers:detail", args=[customer.pk])


def listed_names(response) -> set[str]:
    return {c.name for c in response.context["page"].object_list}


def test_customer_list_sends_anonymous_visitors_to_log_in(client, db):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_manager_lists_only_their_own_customers(client, world):
    client.force_login(world.manager_a.user)

    response = client.get(LIST)

    assert response.status_code == 200
    assert listed_names(response) == {"甲钢铁厂"}
    assert "乙水泥厂" not in response.content.decode()


def test_supervisor_lists_their_teams_customers_only(client, world):
    client.force_login(world.supervisor)

    response = client.get(LIST)

    assert listed_names(response) == {"甲钢铁厂"}


def test_administrator_lists_every_customer(client, world):
    client.force_login(world.admin)

    response = client.get(LIST)

    assert listed_names(response) == {"甲钢铁厂", "乙水泥厂"}


def test_list_filters_by_tier(client, world):
    CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=world.manager_a.user, name="丙医院")
    client.force_login(world.manager_a.user)

    response = client.get(LIST, {"tier": Tier.VIP})

    assert listed_names(response) == {"丙医院"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("category", Category.INDUSTRIAL), ("status", Status.SUSPENDED), ("importance", Importance.LEVEL_2)],
)
def test_list_filters_by_an_exact_field(client, world, field, value):
    CustomerFactory(station=world.station_a, manager=world.manager_a.user, name="丁化工", **{field: value})
    client.force_login(world.manager_a.user)

    response = client.get(LIST, {field: value})

    assert listed_names(response) == {"丁化工"}


def test_list_filters_by_station(client, world):
    client.force_login(world.admin)

    response = client.get(LIST, {"station": world.station_b.pk})

    assert listed_names(response) == {"乙水泥厂"}


@pytest.mark.parametrize("text", ["3199", "钢铁", "工业园"])
def test_list_search_matches_account_number_name_or_address(client, world, text):
    CustomerFactory(
        station=world.station_a,
        manager=world.manager_a.user,
        account_no="3199000001",
        name="钢铁二厂",
        address="城关镇工业园",
    )
    CustomerFactory(station=world.station_a, manager=world.manager_a.user, name="戊商店", address="南街")
    client.force_login(world.manager_a.user)

    response = client.get(LIST, {"q": text})

    assert "钢铁二厂" in listed_names(response)
    assert "戊商店" not in listed_names(response)


def test_list_offers_the_manager_filter_to_supervisors(client, world):
    client.force_login(world.supervisor)

    response = client.get(LIST)

    field = response.context["form"].fields["manager"]
    assert list(field.queryset) == [world.manager_a.user]


def test_list_does_not_offer_the_manager_filter_to_account_managers(client, world):
    client.force_login(world.manager_a.user)

    response = client.get(LIST)

    assert "manager" not in response.context["form"].fields
    assert 'name="manager"' not in response.content.decode()


def test_manager_filter_refuses_a_manager_outside_the_scope(client, world):
    client.force_login(world.supervisor)

    response = client.get(LIST, {"manager": world.manager_b.pk})

    assert "manager" in response.context["form"].errors
    assert listed_names(response) == {"甲钢铁厂"}


@pytest.mark.parametrize(
    "query",
    [
        {"station": "99999999999999999999999999"},
        {"station": "-1"},
        {"manager": "99999999999999999999999999"},
        {"tier": "gold"},
        {"q": "\x00"},
        {"page": "x"},
        {"page": "99999999999999999999"},
    ],
)
def test_list_answers_a_bad_filter_with_the_form_not_an_error(client, world, query):
    client.force_login(world.supervisor)

    response = client.get(LIST, query)

    assert response.status_code == 200
    assert listed_names(response) == {"甲钢铁厂"}


def test_list_says_that_a_filter_it_could_not_understand_was_left_out(client, world):
    # Given a supervisor; when they filter by a tier that does not exist and a valid status
    client.force_login(world.supervisor)
    response = client.get(LIST, {"tier": "gold", "status": Status.ACTIVE})
    # Then the page says the filter was left out, marks it, and applies the other one
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="filter-errors"' in html
    assert list(response.context["form"].errors) == ["tier"]
    assert listed_names(response) == {"甲钢铁厂"}


def test_list_without_a_bad_filter_shows_no_error_message(client, world):
    client.force_login(world.supervisor)

    response = client.get(LIST, {"tier": Tier.KEY_ACCOUNT})

    assert 'id="filter-errors"' not in response.content.decode()


def test_list_pages_by_fifty_and_page_links_keep_the_filters(client, world):
    CustomerFactory.create_batch(
        59, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user
    )
    client.force_login(world.manager_a.user)

    first = client.get(LIST, {"tier": Tier.KEY_ACCOUNT})
    second = client.get(LIST, {"tier": Tier.KEY_ACCOUNT, "page": 2})

    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 10
    assert "?tier=key_account&amp;page=2" in first.content.decode()


def test_list_stacks_its_table_with_a_label_on_every_cell(client, world):
    client.force_login(world.manager_a.user)

    html = client.get(LIST).content.decode()

    row = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    assert 'class="stack customers"' in html
    assert row.count("<td") == row.count("data-label=") == 7


def customers_with_history(manager, station, count):
    for customer in CustomerFactory.create_batch(
        count, station=station, tier=Tier.KEY_ACCOUNT, manager=manager.user
    ):
        ContactFactory(customer=customer)
        AssignmentFactory(customer=customer, manager=manager.user)


@pytest.mark.parametrize("size", [3, 60])
def test_list_runs_a_fixed_number_of_queries(client, world, django_assert_max_num_queries, size):
    customers_with_history(world.manager_a, world.station_a, size)
    client.force_login(world.supervisor)

    with django_assert_max_num_queries(10):
        response = client.get(LIST, {"tier": Tier.KEY_ACCOUNT})

    assert response.status_code == 200


# ---------------------------------------------------------------- the customer page
def test_customer_page_of_another_managers_customer_answers_404(client, world):
    client.force_login(world.manager_a.user)

    response = client.get(detail(world.customer_b))

    assert response.status_code == 404


def test_customer_page_outside_a_supervisors_team_answers_404(client, world):
    client.force_login(world.supervisor)

    response = client.get(detail(world.customer_b))

    assert response.status_code == 404


def test_customer_page_shows_profile_manager_and_contacts(client, world):
    ContactFactory(customer=world.customer_a, name="钱科长", phone="13912345678", is_primary=True)
    client.force_login(world.manager_a.user)

    html = client.get(detail(world.customer_a)).content.decode()

    assert world.customer_a.account_no in html
    assert "钱科长" in html
    assert 'href="tel:13912345678"' in html
    assert "张经理" in html
    assert world.station_a.name in html


def test_customer_page_labels_every_field_of_the_model(client, world):
    client.force_login(world.manager_a.user)

    response = client.get(detail(world.customer_a))

    names = [name for name, _label, _value in response.context["profile"]]
    assert "contracted_capacity_kva" in names
    assert "transformer_district" in names
    assert len(names) == len(world.customer_a._meta.concrete_fields) - 1  # all but the id


def test_customer_page_charts_the_latest_24_months(client, world):
    for months_ago in range(30):
        year, month = divmod(2026 * 12 + 2 - months_ago, 12)
        ConsumptionFactory(
            customer=world.customer_a, period=dt.date(year, month + 1, 1), kwh=Decimal(1000 + months_ago)
        )
    client.force_login(world.manager_a.user)

    html = client.get(detail(world.customer_a)).content.decode()

    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert svg.count("<rect") == 24
    assert "2026-03:" in svg  # the latest month
    assert "2024-04:" in svg  # the 24th latest
    assert "2024-03:" not in svg


def test_customer_page_without_consumption_says_so(client, world):
    client.force_login(world.manager_a.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    html = client.get(detail(world.customer_a)).content.decode()

    assert "<svg" not in html
    assert "No consumption recorded yet." in html


def test_customer_page_says_when_a_newer_month_waits_for_the_reclassification(client, world):
    # Given an annual figure computed up to 2026-02, and a reading for 2026-03 just imported
    world.customer_a.latest_period = dt.date(2026, 2, 1)
    world.customer_a.save()
    ConsumptionFactory(customer=world.customer_a, period=dt.date(2026, 2, 1))
    client.force_login(world.manager_a.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "annual-pending" not in client.get(detail(world.customer_a)).content.decode()

    ConsumptionFactory(customer=world.customer_a, period=dt.date(2026, 3, 1))
    html = client.get(detail(world.customer_a)).content.decode()

    assert (
        "Readings for 2026-03 have landed: the reclassification queued after them updates this figure."
        in html
    )


def test_customer_page_shows_tier_and_tier_history(client, world):
    client.force_login(world.manager_a.user)

    html = client.get(detail(world.customer_a)).content.decode()

    assert 'class="badge key_account"' in html
    assert 'id="tier-history"' in html


def test_customer_page_shows_assignment_history(client, world):
    AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user, reason="按台区调整")
    client.force_login(world.manager_a.user)

    html = client.get(detail(world.customer_a)).content.decode()

    section = re.search(r'id="assignment-history".*?</section>', html, re.S).group(0)
    assert "按台区调整" in section
    assert "张经理" in section


# Profile, consumption, contacts, tier history, visits, assignments, the audit trail and the
# customer's service requests: the same count at 3 and at 60 of each. One over the aim of 10 for a
# page since the requests joined it; one more each for the baseline with the manager's forecast
# beside the metered months and for the outage notices covering the customer
# (tests/crm/test_query_counts.py OVER_BUDGET says the same).
QUERIES_CUSTOMER_PAGE = 13


@pytest.mark.parametrize("size", [3, 60])
def test_customer_page_runs_a_fixed_number_of_queries(client, world, django_assert_max_num_queries, size):
    for months_ago in range(min(size, 30)):
        year, month = divmod(2026 * 12 - months_ago, 12)
        ConsumptionFactory(customer=world.customer_a, period=dt.date(year, month + 1, 1))
    ContactFactory.create_batch(size, customer=world.customer_a)
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    AssignmentFactory.create_batch(
        size, customer=world.customer_a, manager=world.manager_a.user, started_at=past, ended_at=past
    )
    for n in range(size):  # visits with reports, and audited changes of the master data
        VisitReportFactory(task=VisitTaskFactory(customer=world.customer_a, kind="ad_hoc", status="done"))
        world.customer_a.address = f"城关镇{n}号"
        world.customer_a.save()
    client.force_login(world.manager_a.user)
    client.get(detail(world.customer_a))  # the connection's one-time checks (SQLite's JSON support)

    with django_assert_max_num_queries(QUERIES_CUSTOMER_PAGE):
        response = client.get(detail(world.customer_a))

    assert response.status_code == 200
