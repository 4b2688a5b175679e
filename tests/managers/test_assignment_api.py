"""assignments/: the history of who served which customer; POST moves a customer by hand with a
reason. Each refusal answers 400 on the field at fault, with its message."""

import pytest

from customers.models import Status, Tier
from managers.models import Assignment, Role
from tests.factories import AssignmentFactory, CustomerFactory, ManagerFactory, UserFactory

URL = "/api/v1/assignments/"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def colleague(world):
    """A second key-account manager in manager A's team and station."""
    return ManagerFactory(
        user=UserFactory(username="colleague", full_name="钱经理", supervisor=world.supervisor),
        station=world.station_a,
        role=Role.KEY_ACCOUNT_MANAGER,
    )


def _move(client, customer, manager, reason="客户搬迁，调整服务经理"):
    payload = {"customer": customer.pk, "manager": manager.pk if manager else None, "reason": reason}
    return client.post(URL, payload, format="json")


# ---------------------------------------------------------------- history and scope
def test_manager_sees_the_history_of_own_customers_only(world, api):
    mine = AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user)
    AssignmentFactory(customer=world.customer_b, manager=world.manager_b.user)
    response = api(world.manager_a.user).get(URL)
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == [mine.pk]


def test_another_managers_assignment_answers_404(world, api):
    other = AssignmentFactory(customer=world.customer_b, manager=world.manager_b.user)
    assert api(world.manager_a.user).get(f"{URL}{other.pk}/").status_code == 404


def test_supervisor_sees_the_teams_history_and_administrator_all(world, api):
    mine = AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user)
    AssignmentFactory(customer=world.customer_b, manager=world.manager_b.user)
    assert [a["id"] for a in api(world.supervisor).get(URL).json()["results"]] == [mine.pk]
    assert api(world.admin).get(URL).json()["count"] == 2


def test_history_filters_by_customer_manager_and_current(world, api):
    customer = CustomerFactory(station=world.station_a, manager=world.manager_a.user)
    old = AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user)
    Assignment.objects.filter(pk=old.pk).update(ended_at=old.started_at)
    current = AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user)
    other = AssignmentFactory(customer=customer, manager=world.manager_a.user)
    client = api(world.admin)
    ids = lambda params: {a["id"] for a in client.get(URL, params).json()["results"]}  # noqa: E731
    assert ids({"customer": world.customer_a.pk}) == {old.pk, current.pk}
    assert ids({"manager": world.manager_a.pk}) == {old.pk, current.pk, other.pk}
    assert ids({"customer": world.customer_a.pk, "current": "true"}) == {current.pk}


def test_history_search_does_not_reach_outside_the_scope(world, api):
    AssignmentFactory(customer=world.customer_b, manager=world.manager_b.user)
    assert api(world.manager_a.user).get(URL, {"search": world.customer_b.account_no}).json()["count"] == 0


# ---------------------------------------------------------------- moving a customer
def test_supervisor_moves_a_customer_within_the_team(world, api, colleague):
    # Given A's customer and a colleague of A with room
    AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user)
    # when the supervisor moves the customer to the colleague
    response = _move(api(world.supervisor), world.customer_a, colleague)
    # then the customer has the colleague, and the history shows both periods
    assert response.status_code == 201, response.json()
    assert response.json()["manager"] == colleague.pk
    assert response.json()["by"] == world.supervisor.pk
    world.customer_a.refresh_from_db()
    assert world.customer_a.manager_id == colleague.pk
    history = Assignment.objects.filter(customer=world.customer_a)
    assert history.filter(ended_at__isnull=True).get().manager_id == colleague.pk
    assert history.filter(ended_at__isnull=False).count() == 1


def test_administrator_moves_a_customer_anywhere(world, api):
    response = _move(api(world.admin), world.customer_b, world.manager_a)
    assert response.status_code == 201
    world.customer_b.refresh_from_db()
    assert world.customer_b.manager_id == world.manager_a.pk


def test_supervisor_gives_an_unassigned_customer_of_the_station_a_manager(world, api):
    orphan = CustomerFactory(station=world.station_a, manager=None, tier=Tier.KEY_ACCOUNT)
    response = _move(api(world.supervisor), orphan, world.manager_a)
    assert response.status_code == 201
    orphan.refresh_from_db()
    assert orphan.manager_id == world.manager_a.pk


def test_a_customer_may_be_left_without_a_manager(world, api):
    response = _move(api(world.supervisor), world.customer_a, None)
    assert response.status_code == 201
    world.customer_a.refresh_from_db()
    assert world.customer_a.manager_id is None


def test_manager_cannot_move_customers(world, api, colleague):
    response = _move(api(world.manager_a.user), world.customer_a, colleague)
    assert response.status_code == 403
    world.customer_a.refresh_from_db()
    assert world.customer_a.manager_id == world.manager_a.pk


# ---------------------------------------------------------------- refusals
def _refused(response) -> dict:
    assert response.status_code == 400, response.json()
    return response.json()


def test_moving_to_a_manager_outside_the_scope_is_refused(world, api):
    body = _refused(_move(api(world.supervisor), world.customer_a, world.manager_b))
    assert body == {"manager": [f'Invalid pk "{world.manager_b.pk}" - object does not exist.']}


def test_moving_a_customer_outside_the_scope_is_refused_like_a_missing_one(world, api, colleague):
    body = _refused(_move(api(world.supervisor), world.customer_b, colleague))
    assert body == {"customer": [f'Invalid pk "{world.customer_b.pk}" - object does not exist.']}
    world.customer_b.refresh_from_db()
    assert world.customer_b.manager_id == world.manager_b.pk


def test_moving_to_a_manager_of_the_wrong_role_is_refused(world, api):
    vip_manager = ManagerFactory(
        user=UserFactory(username="vipm", supervisor=world.supervisor),
        station=world.station_a,
        role=Role.VIP_MANAGER,
    )
    body = _refused(_move(api(world.supervisor), world.customer_a, vip_manager))
    assert body == {"manager": ["A VIP manager cannot serve a Key account."]}


def _room_for_one(world, colleague, **customer) -> None:
    """`colleague`'s portfolio limited to one customer, and a customer of theirs (made with `customer`)."""
    colleague.max_customers = 1
    colleague.save()
    CustomerFactory(station=world.station_a, manager=colleague.user, **customer)


def test_moving_to_a_full_portfolio_is_refused(world, api, colleague):
    _room_for_one(world, colleague, tier=Tier.KEY_ACCOUNT)
    body = _refused(_move(api(world.supervisor), world.customer_a, colleague))
    assert body == {"manager": ["This manager's portfolio is full (1 customers)."]}


def test_closed_customers_do_not_fill_a_portfolio(world, api, colleague):
    _room_for_one(world, colleague, status=Status.CLOSED)
    assert _move(api(world.supervisor), world.customer_a, colleague).status_code == 201


def test_moving_to_an_inactive_manager_is_refused(world, api, colleague):
    colleague.active = False
    colleague.save()
    body = _refused(_move(api(world.supervisor), world.customer_a, colleague))
    assert body == {"manager": ["This manager is not active."]}


def test_a_move_without_a_reason_is_refused(world, api, colleague):
    body = _refused(_move(api(world.supervisor), world.customer_a, colleague, reason=""))
    assert list(body) == ["reason"]
    payload = {"customer": world.customer_a.pk, "manager": colleague.pk}
    assert list(_refused(api(world.supervisor).post(URL, payload, format="json"))) == ["reason"]


def test_a_reason_of_only_spaces_is_refused(world, api, colleague):
    body = _refused(_move(api(world.supervisor), world.customer_a, colleague, reason="   "))
    assert list(body) == ["reason"]


def test_a_user_without_a_manager_profile_is_refused_as_manager(world, api):
    body = _refused(_move(api(world.admin), world.customer_a, world.supervisor))
    assert list(body) == ["manager"]


def test_a_refused_move_changes_nothing(world, api, colleague):
    colleague.active = False
    colleague.save()
    _move(api(world.supervisor), world.customer_a, colleague)
    world.customer_a.refresh_from_db()
    assert world.customer_a.manager_id == world.manager_a.pk
    assert not Assignment.objects.exists()
