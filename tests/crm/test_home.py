"""The log-in page, the layout (language, CSRF) and the home page of each role."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from crm.accounts import roles
from customers.models import Customer, Status, Tier
from managers.selectors import tier_counts
from tests.factories import CustomerFactory, ManagerFactory, UserFactory

HOME = reverse("home")
LOGIN = reverse("login")


def summary(response):
    return response.context["summary"]


def counts(response) -> dict[str, int]:
    return {t.tier: t.count for t in summary(response).tiers}


# ---------------------------------------------------------------- log in, layout
def test_home_sends_anonymous_visitors_to_the_login_page(client, db):
    response = client.get(HOME)

    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next=/"


def test_login_page_shows_a_styled_form_with_a_csrf_token(client, db):
    html = client.get(LOGIN).content.decode()

    assert 'class="login card"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="username"' in html
    assert 'name="password"' in html


def test_login_with_the_right_password_opens_home(client, world):
    response = client.post(LOGIN, {"username": "manager_a", "password": "correct-horse-battery"})

    assert response.status_code == 302
    assert response.url == HOME


def test_login_with_a_wrong_password_shows_the_error(client, world):
    response = client.post(LOGIN, {"username": "manager_a", "password": "wrong"})

    assert response.status_code == 200
    assert 'class="errorlist nonfield"' in response.content.decode()


def test_login_refuses_a_post_without_csrf_token(world):
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN, {"username": "manager_a", "password": "correct-horse-battery"})

    assert response.status_code == 403


def test_pages_speak_simplified_chinese_by_default(client, world):
    client.force_login(world.manager_a.user)

    html = client.get(HOME).content.decode()

    assert '<html lang="zh-hans">' in html
    assert 'name="language" value="en"' in html


def test_language_switch_turns_the_pages_to_english(client, world):
    client.force_login(world.manager_a.user)

    client.post(reverse("set_language"), {"language": "en", "next": HOME})
    html = client.get(HOME).content.decode()

    assert '<html lang="en">' in html


def test_logout_is_a_post_form_with_a_csrf_token(client, world):
    client.force_login(world.manager_a.user)

    html = client.get(HOME).content.decode()

    logout = re.search(r'<form action="/logout/" method="post">.*?</form>', html, re.S).group(0)
    assert 'name="csrfmiddlewaretoken"' in logout


# ---------------------------------------------------------------- home by role
def test_account_manager_home_counts_their_active_customers_by_tier(client, world):
    user = world.manager_a.user
    CustomerFactory.create_batch(2, station=world.station_a, tier=Tier.VIP, manager=user)
    CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=user, status=Status.CLOSED)
    client.force_login(user)

    response = client.get(HOME)

    assert summary(response).kind == "mine"
    assert counts(response) == {
        Tier.VIP: 2,
        Tier.KEY_ACCOUNT: 1,
        Tier.COMMUNITY: 0,
        Tier.TRANSFORMER_DISTRICT: 0,
    }
    assert summary(response).total == 3


def test_account_manager_home_links_each_tier_to_the_filtered_list(client, world):
    client.force_login(world.manager_a.user)

    html = client.get(HOME).content.decode()

    assert f'href="{reverse("customers:list")}?tier=vip&amp;status=active"' in html


def test_supervisor_home_counts_the_team_and_its_customers(client, world):
    client.force_login(world.supervisor)

    response = client.get(HOME)

    assert summary(response).kind == "team"
    assert summary(response).team_size == 1
    assert counts(response)[Tier.KEY_ACCOUNT] == 1
    assert summary(response).total == 1


def test_supervisor_home_counts_unassigned_customers_in_the_teams_stations_only(client, world):
    CustomerFactory.create_batch(2, station=world.station_a, tier=Tier.VIP, manager=None)
    CustomerFactory(station=world.station_b, tier=Tier.VIP, manager=None)
    client.force_login(world.supervisor)

    response = client.get(HOME)

    assert summary(response).unassigned == 2


def test_supervisor_home_links_the_unassigned_count_to_the_unassigned_page(client, world):
    client.force_login(world.supervisor)

    html = client.get(HOME).content.decode()

    assert f'href="{reverse("managers:unassigned")}"' in html


def test_administrator_home_counts_the_whole_company(client, world):
    CustomerFactory(station=world.station_b, tier=Tier.VIP, manager=None)
    client.force_login(world.admin)

    response = client.get(HOME)

    assert summary(response).kind == "company"
    assert summary(response).total == 3
    assert summary(response).team_size == 2
    assert summary(response).unassigned == 1


def test_user_without_a_role_is_told_to_ask_for_one(client, db):
    client.force_login(UserFactory(username="nobody"))

    response = client.get(HOME)

    assert summary(response).kind == "none"


def test_tier_counts_take_one_query(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        tiers, total = tier_counts(Customer.objects.all())

    assert total == 2
    assert {t.tier: t.count for t in tiers}[Tier.KEY_ACCOUNT] == 2


@pytest.mark.parametrize("size", [3, 60])
@pytest.mark.parametrize("persona", ["manager", "supervisor", "admin"])
def test_home_runs_a_fixed_number_of_queries(client, world, django_assert_max_num_queries, size, persona):
    for _ in range(size):
        manager = ManagerFactory(
            user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER), station=world.station_a
        )
        CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=manager.user)
        CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user)
    user = {"manager": world.manager_a.user, "supervisor": world.supervisor, "admin": world.admin}[persona]
    client.force_login(user)

    # 11: a manager's home also lists their outage-notice calls and contacts to fix (one query)
    with django_assert_max_num_queries(11):
        response = client.get(HOME)

    assert response.status_code == 200
