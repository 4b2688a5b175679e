"""Departments and department staff beyond the API: the services' own refusals, the admin (role
and department chosen together), the staff user's home (their department's queue) and what a staff
user does not see (portfolios, visits, other managers)."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from crm.accounts import roles
from service.models import DepartmentKind, RequestStage, StaffProfile
from service.people import department_save, staff_home, user_save
from service.services import request_open, stage_advance
from tests.crm.test_translations import english_words_on
from tests.factories import UserFactory

User = get_user_model()
# words of the portfolios: the customers' and managers' names
PORTFOLIO_WORDS = ["甲钢铁厂", "乙水泥厂", "张经理", "赵经理"]


def _meter_fault(world):
    return request_open(
        kind="meter_fault", source="manager", by=world.manager_a.user, customer=world.customer_a
    )


def _clock(stage: RequestStage, *, warn_in: dt.timedelta, due_in: dt.timedelta) -> None:
    now = timezone.now()
    RequestStage.objects.filter(pk=stage.pk).update(warn_at=now + warn_in, due_at=now + due_in)


def _metering_queue(world):
    """Three metering stages in progress: one on time, one at warning, one breached; and a billing
    stage, of another department."""
    hour = dt.timedelta(hours=1)
    on_time, warning, breached = (_meter_fault(world).stages.get() for _ in range(3))
    _clock(on_time, warn_in=5 * hour, due_in=9 * hour)
    _clock(warning, warn_in=-hour, due_in=hour)
    _clock(breached, warn_in=-3 * hour, due_in=-hour)
    request_open(kind="billing_query", source="manager", by=world.manager_a.user, customer=world.customer_a)


# ---------------------------------------------------------------- the services refuse who may not
def test_only_an_administrator_saves_a_user(world):
    with pytest.raises(PermissionDenied):
        user_save(user=None, by=world.supervisor, username="sneaky", roles=[roles.ADMINISTRATOR])

    assert not User.objects.filter(username="sneaky").exists()


def test_only_an_administrator_saves_a_department(world):
    with pytest.raises(PermissionDenied):
        department_save(
            department=None, by=world.staff, code="X", name="X", kind="other", branch=world.station_a.branch
        )


# ---------------------------------------------------------------- the staff user's home
def test_staff_home_counts_the_departments_stages_as_of_now(world):
    # given three metering stages (on time, at warning, breached) and a billing one
    _metering_queue(world)
    # when the metering staff user's home is summed up
    home = staff_home(world.staff)
    # then it counts the metering stages only, with their states as of now
    assert (home.department, home.active, home.warning, home.breached) == (
        world.departments[DepartmentKind.METERING],
        3,
        1,
        1,
    )


def test_staff_home_leaves_out_stages_done(world):
    request = _meter_fault(world)
    stage_advance(request=request, stage_code=request.stages.get().code, by=world.staff)

    assert staff_home(world.staff).active == 0


def test_staff_home_is_for_department_staff_only(world):
    assert staff_home(world.manager_a.user) is None
    assert staff_home(world.admin) is None


def test_the_staff_home_page_shows_the_department_queue(world, client):
    # given the metering queue and the staff user signed in
    _metering_queue(world)
    client.force_login(world.staff)
    # when they open their home
    response = client.get(reverse("home"))
    # then it shows their department, the counts and the way to the queue, not the "no role" note
    assert response.status_code == 200
    page = response.content.decode()
    assert world.departments[DepartmentKind.METERING].name in page
    assert response.context["staff_home"].breached == 1
    assert reverse("service:queue") in page
    assert "summary" not in response.context


@pytest.mark.parametrize("queue_size", [1, 15])
def test_the_staff_home_page_runs_a_fixed_number_of_queries(
    world, client, queue_size, django_assert_max_num_queries
):
    for _ in range(queue_size):
        _meter_fault(world)
    client.force_login(world.staff)

    with django_assert_max_num_queries(8):
        assert client.get(reverse("home")).status_code == 200


def test_a_managers_home_is_unchanged(world, client):
    client.force_login(world.manager_a.user)

    response = client.get(reverse("home"))

    assert response.context["summary"].kind == "mine"
    assert "staff_home" not in response.context


# ---------------------------------------------------------------- what staff do not see
@pytest.mark.parametrize(
    "path",
    [
        "/customers/",
        "/customers/?q=甲",
        "/managers/",
        "/managers/unassigned/",
        "/visits/",
        "/visits/calendar/",
        "/visits/plan/",
        "/visits/team/",
    ],
)
def test_staff_see_no_portfolio_in_the_lists(world, client, path):
    # given a request of customer A in the staff user's department (their one link to a customer)
    _meter_fault(world)
    client.force_login(world.staff)
    # when they open a list of customers, managers or visits
    response = client.get(path)
    # then it is refused or empty of anyone's portfolio
    assert response.status_code in (200, 403, 404)
    if response.status_code == 200:
        page = response.content.decode()
        assert not [word for word in PORTFOLIO_WORDS if word in page]


@pytest.mark.parametrize("detail", ["customer", "manager"])
def test_staff_open_no_customer_or_manager_page(world, client, detail):
    _meter_fault(world)
    client.force_login(world.staff)
    path = (
        reverse("customers:detail", args=[world.customer_a.pk])
        if detail == "customer"
        else reverse("managers:detail", args=[world.manager_a.pk])
    )

    response = client.get(path)

    assert response.status_code in (403, 404)


# ---------------------------------------------------------------- the admin
def _user_add_form(*, groups, department=None) -> dict:
    return {
        "username": "meter_zhou",
        "usable_password": "true",
        "password1": "Blue-kettle-on-the-hill-42",
        "password2": "Blue-kettle-on-the-hill-42",
        "full_name": "计量班周工",
        "phone": "",
        "email": "",
        "supervisor": "",
        "groups": [group.pk for group in groups],
        "staff_profile-TOTAL_FORMS": "1",
        "staff_profile-INITIAL_FORMS": "0",
        "staff_profile-MIN_NUM_FORMS": "0",
        "staff_profile-MAX_NUM_FORMS": "1",
        "staff_profile-0-department": department.pk if department else "",
    }


def test_the_admin_adds_a_staff_user_with_their_department(world, client):
    # given the administrator on the admin's user page
    client.force_login(world.admin)
    metering = world.departments[DepartmentKind.METERING]
    staff_group = Group.objects.get(name=roles.DEPARTMENT_STAFF)
    # when they add a user with the staff role and the metering department
    response = client.post(
        reverse("admin:accounts_user_add"), _user_add_form(groups=[staff_group], department=metering)
    )
    # then the user is made in that department
    assert response.status_code == 302, response.context and response.context.get("errors")
    assert StaffProfile.objects.get(user__username="meter_zhou").department == metering


def test_the_admin_refuses_a_staff_user_without_a_department(world, client):
    client.force_login(world.admin)
    staff_group = Group.objects.get(name=roles.DEPARTMENT_STAFF)

    response = client.post(reverse("admin:accounts_user_add"), _user_add_form(groups=[staff_group]))

    assert response.status_code == 200
    assert "专业人员必须属于一个专业部门" in response.content.decode()
    assert not User.objects.filter(username="meter_zhou").exists()


def test_the_admin_refuses_a_department_for_a_user_who_is_not_staff(world, client):
    client.force_login(world.admin)
    manager_group = Group.objects.get(name=roles.ACCOUNT_MANAGER)
    metering = world.departments[DepartmentKind.METERING]

    response = client.post(
        reverse("admin:accounts_user_add"), _user_add_form(groups=[manager_group], department=metering)
    )

    assert response.status_code == 200
    assert "只有专业人员才属于专业部门" in response.content.decode()
    assert not User.objects.filter(username="meter_zhou").exists()


@pytest.mark.parametrize(
    "page", ["admin:service_department_changelist", "admin:service_staffprofile_changelist"]
)
def test_the_administrator_opens_the_department_and_staff_lists(world, client, page):
    client.force_login(world.admin)

    response = client.get(reverse(page), {"q": "计量"})

    assert response.status_code == 200


def test_the_administrator_opens_a_staff_users_page(world, client):
    client.force_login(world.admin)

    response = client.get(reverse("admin:accounts_user_change", args=[world.staff.pk]))

    assert response.status_code == 200
    assert world.departments[DepartmentKind.METERING].name in response.content.decode()


def test_people_outside_the_admin_role_cannot_add_users_in_the_admin(world, client):
    client.force_login(UserFactory(username="nosy", role=roles.SUPERVISOR, is_staff=True))

    response = client.get(reverse("admin:accounts_user_add"))

    assert response.status_code == 403


def test_the_staff_menu_has_no_customers_entry(world, client):
    client.force_login(world.staff)

    response = client.get(reverse("home"))

    assert f'href="{reverse("customers:list")}"' not in response.content.decode()


def test_the_staff_home_in_chinese_has_no_english_ui_words(world, client):
    _metering_queue(world)
    client.force_login(world.staff)

    response = client.get(reverse("home"))

    assert "本部门工作" in response.content.decode()
    assert english_words_on(response) == []
