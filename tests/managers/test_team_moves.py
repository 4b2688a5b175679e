"""Moving people and customers between teams (issue "Second hardening pass", findings High 1 and
Low 13). A manager is put only under a supervisor or administrator, and a supervisor only inside
their own tree, which never loses a manager or a customer to a place outside it; an administrator
moves anyone anywhere, still under a supervisor or administrator. A role a manager's customers or
territories cannot be served by, a maximum portfolio size of 0 or one below the active customers
held, is refused. Every refusal answers 400 on the field and writes nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.accounts import roles
from customers.models import Tier
from managers.models import Assignment, Manager, Role
from managers.services import assignment_move, manager_save
from tests.factories import CommunityFactory, CustomerFactory, ManagerFactory, UserFactory
from tests.managers.unassigned import assign_from_unassigned

URL = "/api/v1/managers/"
OUTSIDE = "Choose a supervisor in your own team: a manager cannot be moved out of it."
NOT_A_LEAD = "Choose a user who is a supervisor or an administrator."


@pytest.fixture
def team_lead(world):
    """A supervisor inside the supervisor's tree."""
    return UserFactory(
        username="team_lead", full_name="孙组长", supervisor=world.supervisor, role=roles.SUPERVISOR
    )


@pytest.fixture
def other_supervisor(world):
    """The supervisor of another team: manager B reports to them."""
    other = UserFactory(username="other_supervisor", full_name="周主管", role=roles.SUPERVISOR)
    world.manager_b.user.supervisor = other
    world.manager_b.user.save()
    return other


@pytest.fixture
def colleague(world):
    """A second key-account manager in the supervisor's team."""
    return ManagerFactory(
        user=UserFactory(username="colleague", supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER),
        station=world.station_a,
        role=Role.KEY_ACCOUNT_MANAGER,
    )


def _patch(client, manager, body, language="en"):
    return client.patch(f"{URL}{manager.pk}/", body, format="json", HTTP_ACCEPT_LANGUAGE=language)


def _supervisor_of(manager) -> int | None:
    return Manager.objects.select_related("user").get(pk=manager.pk).user.supervisor_id


# ---------------------------------------------------------------- managers/ PATCH supervisor
def test_supervisor_cannot_move_a_manager_under_the_supervisor_of_another_team(world, api, other_supervisor):
    # when the supervisor puts manager A under the supervisor of B's team
    response = _patch(api(world.supervisor), world.manager_a, {"supervisor": other_supervisor.pk})
    # then it is refused on the field, and A still reports to the supervisor
    assert response.status_code == 400
    assert response.json() == {"supervisor": [OUTSIDE]}
    assert _supervisor_of(world.manager_a) == world.supervisor.pk
    assert api(other_supervisor).get(f"{URL}{world.manager_a.pk}/").status_code == 404


def test_supervisor_cannot_move_a_manager_under_an_account_manager_of_another_team(world, api):
    response = _patch(api(world.supervisor), world.manager_a, {"supervisor": world.manager_b.pk})
    assert response.status_code == 400
    assert response.json() == {"supervisor": [OUTSIDE]}
    assert _supervisor_of(world.manager_a) == world.supervisor.pk
    # manager B cannot read A's customers
    assert api(world.manager_b.user).get(f"/api/v1/customers/{world.customer_a.pk}/").status_code == 404


def test_supervisor_cannot_move_a_manager_under_the_integration_client(world, api):
    response = _patch(api(world.supervisor), world.manager_a, {"supervisor": world.integration.pk})
    assert response.status_code == 400
    assert response.json() == {"supervisor": [OUTSIDE]}
    assert _supervisor_of(world.manager_a) == world.supervisor.pk


def test_supervisor_cannot_take_a_manager_out_of_every_team(world, api):
    response = _patch(api(world.supervisor), world.manager_a, {"supervisor": None})
    assert response.status_code == 400
    assert response.json() == {"supervisor": [OUTSIDE]}
    assert _supervisor_of(world.manager_a) == world.supervisor.pk


def test_supervisor_cannot_move_a_manager_under_an_account_manager_of_the_team(world, api, colleague):
    response = _patch(api(world.supervisor), world.manager_a, {"supervisor": colleague.pk})
    assert response.status_code == 400
    assert response.json() == {"supervisor": [NOT_A_LEAD]}
    assert _supervisor_of(world.manager_a) == world.supervisor.pk


def test_supervisor_moves_a_manager_under_a_supervisor_of_the_team(world, api, team_lead):
    response = _patch(api(world.supervisor), world.manager_a, {"supervisor": team_lead.pk})
    assert response.status_code == 200, response.json()
    assert response.json()["supervisor"] == team_lead.pk
    # then A is still in the supervisor's tree, now also in the team lead's
    assert api(world.supervisor).get(f"{URL}{world.manager_a.pk}/").status_code == 200
    assert api(team_lead).get(f"{URL}{world.manager_a.pk}/").status_code == 200


def test_keeping_the_same_supervisor_is_not_a_move(world, api):
    body = {"supervisor": world.supervisor.pk, "max_customers": 100}
    assert _patch(api(world.supervisor), world.manager_a, body).status_code == 200


def test_a_refused_move_writes_nothing(world, api, other_supervisor):
    body = {"supervisor": other_supervisor.pk, "max_customers": 7, "name": "改名"}
    assert _patch(api(world.supervisor), world.manager_a, body).status_code == 400
    manager = Manager.objects.select_related("user").get(pk=world.manager_a.pk)
    assert (manager.max_customers, manager.user.full_name, manager.user.supervisor_id) == (
        500,
        "张经理",
        world.supervisor.pk,
    )


def test_a_refused_move_is_explained_in_chinese(world, api, other_supervisor):
    response = _patch(api(world.supervisor), world.manager_a, {"supervisor": other_supervisor.pk}, "zh-hans")
    assert response.json() == {"supervisor": ["请选择您团队内的主管：不能把客户经理调出您的团队。"]}


def test_administrator_moves_a_manager_to_another_team_under_its_supervisor(world, api, other_supervisor):
    response = _patch(api(world.admin), world.manager_a, {"supervisor": other_supervisor.pk})
    assert response.status_code == 200, response.json()
    assert _supervisor_of(world.manager_a) == other_supervisor.pk
    assert api(other_supervisor).get(f"{URL}{world.manager_a.pk}/").status_code == 200


@pytest.mark.parametrize("target", ["manager_b", "integration"])
def test_administrator_cannot_put_a_manager_under_a_user_who_leads_no_team(world, api, target):
    user = getattr(world, target)
    response = _patch(api(world.admin), world.manager_a, {"supervisor": user.pk})
    assert response.status_code == 400
    assert response.json() == {"supervisor": [NOT_A_LEAD]}
    assert _supervisor_of(world.manager_a) == world.supervisor.pk


def test_administrator_cannot_create_a_manager_under_the_integration_client(world, api):
    payload = {
        "user": UserFactory(username="newbie").pk,
        "employee_no": "E-NEW",
        "role": Role.COMMUNITY_MANAGER,
        "station": world.station_a.pk,
        "supervisor": world.integration.pk,
    }
    response = api(world.admin).post(URL, payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json() == {"supervisor": [NOT_A_LEAD]}
    assert not Manager.objects.filter(employee_no="E-NEW").exists()


def test_the_service_refuses_an_outside_supervisor_for_every_caller(world, other_supervisor):
    # the pages and the admin save through manager_save, as the API does
    with pytest.raises(ValidationError) as refused:
        manager_save(manager=world.manager_a, by=world.supervisor, supervisor=other_supervisor)
    assert list(refused.value.message_dict) == ["supervisor"]
    assert _supervisor_of(world.manager_a) == world.supervisor.pk


# ---------------------------------------------------------------- assignments/ and the unassigned page
def test_supervisor_cannot_move_a_customer_to_a_manager_of_another_team(world, api):
    payload = {"customer": world.customer_a.pk, "manager": world.manager_b.pk, "reason": "调整"}
    response = api(world.supervisor).post("/api/v1/assignments/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["manager"]
    world.customer_a.refresh_from_db()
    assert world.customer_a.manager_id == world.manager_a.pk
    assert not Assignment.objects.exists()


def test_supervisor_moves_a_customer_to_a_manager_of_the_team(world, api, colleague):
    payload = {"customer": world.customer_a.pk, "manager": colleague.pk, "reason": "调整"}
    assert api(world.supervisor).post("/api/v1/assignments/", payload, format="json").status_code == 201
    world.customer_a.refresh_from_db()
    assert world.customer_a.manager_id == colleague.pk


def test_the_assignment_service_refuses_a_manager_outside_the_callers_team(world):
    with pytest.raises(ValidationError) as refused:
        assignment_move(
            customer=world.customer_a, manager=world.manager_b, reason="调整", by=world.supervisor
        )
    assert list(refused.value.message_dict) == ["manager"]
    world.customer_a.refresh_from_db()
    assert world.customer_a.manager_id == world.manager_a.pk
    assert not Assignment.objects.exists()


def test_unassigned_page_does_not_give_a_customer_to_a_manager_of_another_team(world, client):
    orphan = CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    response = assign_from_unassigned(client, world, orphan, world.manager_b)
    assert response.status_code == 404
    orphan.refresh_from_db()
    assert orphan.manager_id is None


def test_customer_api_never_moves_a_customer(world, api):
    # manager is read-only on customers/: a write to it is ignored, as api.md says
    response = api(world.integration).patch(
        f"/api/v1/customers/{world.customer_a.pk}/", {"manager": world.manager_b.pk}, format="json"
    )
    assert response.status_code == 200
    world.customer_a.refresh_from_db()
    assert world.customer_a.manager_id == world.manager_a.pk


# ---------------------------------------------------------------- role and portfolio size
def test_role_change_is_refused_while_the_manager_holds_customers_of_another_tier(world, api):
    # given manager A serves a key account
    response = _patch(api(world.supervisor), world.manager_a, {"role": Role.TRANSFORMER_DISTRICT_MANAGER})
    assert response.status_code == 400
    assert response.json() == {
        "role": [
            "This manager still serves 1 customers of the tier “Key account”, which a "
            "Transformer-district manager cannot serve: move them first."
        ]
    }
    assert Manager.objects.get(pk=world.manager_a.pk).role == Role.KEY_ACCOUNT_MANAGER


def test_role_change_refusal_names_the_customers_in_chinese(world, api):
    CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=world.manager_a.user)
    CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=world.manager_a.user)
    response = _patch(
        api(world.supervisor), world.manager_a, {"role": Role.TRANSFORMER_DISTRICT_MANAGER}, "zh-hans"
    )
    assert response.json() == {
        "role": [
            "该客户经理仍负责2户VIP高端客户，不能改为台区经理：请先移交客户。",
            "该客户经理仍负责1户大客户，不能改为台区经理：请先移交客户。",
        ]
    }


def test_role_change_is_refused_while_the_manager_serves_a_territory(world, api):
    community_manager = ManagerFactory(
        user=UserFactory(supervisor=world.supervisor), station=world.station_a, role=Role.COMMUNITY_MANAGER
    )
    CommunityFactory(station=world.station_a, manager=community_manager.user)
    response = _patch(api(world.supervisor), community_manager, {"role": Role.VIP_MANAGER})
    assert response.status_code == 400
    assert list(response.json()) == ["role"]
    assert Manager.objects.get(pk=community_manager.pk).role == Role.COMMUNITY_MANAGER


def test_role_change_is_accepted_when_every_customer_held_fits_the_new_role(world, api, colleague):
    response = _patch(api(world.supervisor), colleague, {"role": Role.VIP_MANAGER})
    assert response.status_code == 200, response.json()
    assert Manager.objects.get(pk=colleague.pk).role == Role.VIP_MANAGER


def test_a_portfolio_limit_of_zero_is_refused(world, api, colleague):
    response = _patch(api(world.supervisor), colleague, {"max_customers": 0})
    assert response.status_code == 400
    assert list(response.json()) == ["max_customers"]
    assert Manager.objects.get(pk=colleague.pk).max_customers == 500


def test_a_portfolio_limit_below_the_customers_held_is_refused(world, api):
    CustomerFactory.create_batch(
        2, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user
    )
    response = _patch(api(world.supervisor), world.manager_a, {"max_customers": 2})
    assert response.status_code == 400
    assert response.json() == {
        "max_customers": [
            "This manager serves 3 active customers: the maximum portfolio size cannot be below that; "
            "move customers first."
        ]
    }
    assert Manager.objects.get(pk=world.manager_a.pk).max_customers == 500


def test_a_portfolio_limit_equal_to_the_customers_held_is_accepted(world, api):
    CustomerFactory.create_batch(
        2, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user
    )
    assert _patch(api(world.supervisor), world.manager_a, {"max_customers": 3}).status_code == 200
    assert Manager.objects.get(pk=world.manager_a.pk).max_customers == 3


def test_admin_form_refuses_a_role_the_customers_held_cannot_be_served_by(world, client):
    # the admin saves through manager_save too: the refusal is shown on the field, not a 500
    client.force_login(world.admin)
    url = reverse("admin:managers_manager_change", args=[world.manager_a.pk])
    body = {
        "employee_no": world.manager_a.employee_no,
        "role": Role.TRANSFORMER_DISTRICT_MANAGER,
        "station": world.station_a.pk,
        "max_customers": 500,
        "active": "on",
    }
    response = client.post(url, body)
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["role"]
    assert Manager.objects.get(pk=world.manager_a.pk).role == Role.KEY_ACCOUNT_MANAGER


def test_admin_form_refuses_a_portfolio_limit_of_zero_for_a_new_profile(world, client):
    client.force_login(world.admin)
    body = {
        "user": UserFactory(username="newbie").pk,
        "employee_no": "E-NEW",
        "role": Role.COMMUNITY_MANAGER,
        "station": world.station_a.pk,
        "max_customers": 0,
        "active": "on",
    }
    response = client.post(reverse("admin:managers_manager_add"), body)
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["max_customers"]
    assert not Manager.objects.filter(employee_no="E-NEW").exists()
