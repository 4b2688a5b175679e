"""The `departments/` and `users/` endpoints (api.md): departments are reference data every role
reads and administrators write; users with their roles and department are for administrators only."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.accounts import roles
from service.models import DepartmentKind, StaffProfile
from service.services import request_open, stage_advance
from tests.crm.test_schema import assert_matches_schema
from tests.factories import BranchFactory, DepartmentFactory, ManagerFactory, UserFactory

User = get_user_model()
DEPARTMENTS = "/api/v1/departments/"
USERS = "/api/v1/users/"
GOOD_PASSWORD = "Blue-kettle-on-the-hill-42"


@pytest.fixture
def spec(db, api):
    return api().get("/api/v1/schema/?format=json").json()


def _meter_fault(world):
    """A request of manager A's customer whose one stage is the metering department's."""
    return request_open(
        kind="meter_fault", source="manager", by=world.manager_a.user, customer=world.customer_a
    )


def _staff_body(world, **extra):
    return {
        "username": "meter_li",
        "full_name": "计量班李工",
        "email": "li@example.com",
        "phone": "13800000001",
        "roles": ["department_staff"],
        "department": world.departments[DepartmentKind.METERING].pk,
        "password": GOOD_PASSWORD,
        **extra,
    }


# ---------------------------------------------------------------- departments
@pytest.mark.parametrize("persona", ["manager", "supervisor", "staff", "integration", "admin"])
def test_every_role_reads_the_departments(world, api, persona):
    # given any signed-in role
    user = world.manager_a.user if persona == "manager" else getattr(world, persona)
    # when they list the departments
    response = api(user).get(DEPARTMENTS)
    # then they read every department (reference data, not scoped)
    assert response.status_code == 200
    assert response.json()["count"] == len(DepartmentKind.values)


def test_an_administrator_creates_a_department(world, api, spec):
    # given the administrator and a second branch
    branch = BranchFactory(code="BR02", name="某某县供电公司")
    body = {"code": "BR02-MKT", "name": "营销部", "kind": "marketing", "branch": branch.pk}
    # when they create a department there
    response = api(world.admin).post(DEPARTMENTS, body, format="json")
    # then it is made in that branch, and the answer is the schema's
    assert response.status_code == 201, response.content
    assert response.json() | body == response.json()
    assert_matches_schema(spec, "post", DEPARTMENTS, response)


@pytest.mark.parametrize("persona", ["manager", "supervisor", "staff", "integration"])
def test_only_administrators_write_departments(world, api, persona):
    # given a role other than administrator
    user = world.manager_a.user if persona == "manager" else getattr(world, persona)
    department = world.departments[DepartmentKind.OTHER]
    # when they create, rename or delete a department
    client = api(user)
    created = client.post(
        DEPARTMENTS, {"code": "X", "name": "X", "kind": "other", "branch": 1}, format="json"
    )
    renamed = client.patch(f"{DEPARTMENTS}{department.pk}/", {"name": "改名"}, format="json")
    deleted = client.delete(f"{DEPARTMENTS}{department.pk}/")
    # then each is refused and nothing changed
    assert created.status_code == renamed.status_code == deleted.status_code == 403
    department.refresh_from_db()
    assert department.name != "改名"


def test_an_unknown_department_kind_is_refused_on_kind(world, api):
    body = {"code": "D-X", "name": "某部门", "kind": "finance", "branch": world.station_a.branch_id}

    response = api(world.admin).post(DEPARTMENTS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["kind"]


def test_a_department_code_already_taken_is_refused_on_code(world, api):
    body = {"code": "D-metering", "name": "另一个", "kind": "metering", "branch": world.station_a.branch_id}

    response = api(world.admin).post(DEPARTMENTS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["code"]


def test_deleting_a_department_with_staff_answers_409(world, api):
    # given the metering department, where the staff user works
    department = world.departments[DepartmentKind.METERING]
    # when the administrator deletes it
    response = api(world.admin).delete(f"{DEPARTMENTS}{department.pk}/")
    # then it is refused and stays
    assert response.status_code == 409
    assert StaffProfile.objects.filter(department=department).exists()


def test_deleting_a_department_used_by_a_done_stage_answers_409(world, api):
    # given a department whose only use is a stage done and closed, without staff
    request = _meter_fault(world)
    stage = request.stages.get()
    stage_advance(request=request, stage_code=stage.code, by=world.staff)
    department = stage.department
    StaffProfile.objects.filter(department=department).delete()
    # when the administrator deletes it
    response = api(world.admin).delete(f"{DEPARTMENTS}{department.pk}/")
    # then the request's record keeps it
    assert response.status_code == 409
    assert type(department).objects.filter(pk=department.pk).exists()


def test_a_department_nothing_uses_is_deleted(world, api):
    department = DepartmentFactory(branch=world.station_a.branch, kind="other", code="SPARE")

    response = api(world.admin).delete(f"{DEPARTMENTS}{department.pk}/")

    assert response.status_code == 204
    assert not type(department).objects.filter(pk=department.pk).exists()


def test_a_department_with_open_stages_keeps_its_kind(world, api):
    # given the metering department with an open stage
    _meter_fault(world)
    department = world.departments[DepartmentKind.METERING]
    # when the administrator changes its kind
    response = api(world.admin).patch(f"{DEPARTMENTS}{department.pk}/", {"kind": "billing"}, format="json")
    # then it is refused on the kind and nothing changed
    assert response.status_code == 400
    assert list(response.json()) == ["kind"]
    department.refresh_from_db()
    assert department.kind == DepartmentKind.METERING


# ---------------------------------------------------------------- users: who may
@pytest.mark.parametrize("persona", ["manager", "supervisor", "staff", "integration"])
def test_only_administrators_reach_the_users(world, api, persona):
    user = world.manager_a.user if persona == "manager" else getattr(world, persona)
    client = api(user)

    listed = client.get(USERS)
    read = client.get(f"{USERS}{user.pk}/")
    created = client.post(USERS, {"username": "x", "roles": []}, format="json")

    assert listed.status_code == read.status_code == created.status_code == 403
    assert not User.objects.filter(username="x").exists()


def test_the_users_list_shows_roles_and_department_never_the_password(world, api, spec):
    response = api(world.admin).get(USERS, {"page_size": 100})

    assert response.status_code == 200
    rows = {row["username"]: row for row in response.json()["results"]}
    assert rows["staff_metering"]["roles"] == ["department_staff"]
    assert rows["staff_metering"]["department"] == world.departments[DepartmentKind.METERING].pk
    assert rows["manager_a"]["department"] is None
    assert rows["manager_a"]["supervisor"] == world.supervisor.pk
    assert all("password" not in row for row in rows.values())
    assert_matches_schema(spec, "get", USERS, response)


@pytest.mark.parametrize("extra_users", [1, 12])
def test_the_users_list_runs_a_fixed_number_of_queries(
    world, api, extra_users, django_assert_max_num_queries
):
    for n in range(extra_users):
        UserFactory(username=f"extra{n}", role=roles.ACCOUNT_MANAGER)
    client = api(world.admin)

    with django_assert_max_num_queries(6):
        assert client.get(USERS, {"page_size": 100}).status_code == 200


def test_users_filter_by_role_and_department(world, api):
    client = api(world.admin)
    metering = world.departments[DepartmentKind.METERING].pk

    by_role = client.get(USERS, {"role": "department_staff"}).json()["results"]
    by_department = client.get(USERS, {"department": metering}).json()["results"]

    assert (
        [row["username"] for row in by_role]
        == [row["username"] for row in by_department]
        == ["staff_metering"]
    )


# ---------------------------------------------------------------- users: create
def test_an_administrator_creates_a_department_staff_user(world, api, spec):
    # given the administrator
    # when they create a staff user of the metering department with a password
    response = api(world.admin).post(USERS, _staff_body(world), format="json")
    # then the user holds the role and the department, signs in with the password, which is not answered
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["roles"] == ["department_staff"]
    assert body["department"] == world.departments[DepartmentKind.METERING].pk
    assert "password" not in body
    user = User.objects.get(username="meter_li")
    assert user.check_password(GOOD_PASSWORD)
    assert user.staff_profile.department == world.departments[DepartmentKind.METERING]
    assert_matches_schema(spec, "post", USERS, response)


def test_a_user_created_without_a_password_cannot_sign_in_until_given_one(world, api):
    body = _staff_body(world)
    del body["password"]

    response = api(world.admin).post(USERS, body, format="json")

    assert response.status_code == 201, response.content
    assert not User.objects.get(username="meter_li").has_usable_password()


def test_a_department_staff_user_without_a_department_is_refused(world, api):
    response = api(world.admin).post(USERS, _staff_body(world, department=None), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["department"]
    assert not User.objects.filter(username="meter_li").exists()


def test_a_department_for_a_user_who_is_not_department_staff_is_refused(world, api):
    response = api(world.admin).post(USERS, _staff_body(world, roles=["account_manager"]), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["department"]
    assert not User.objects.filter(username="meter_li").exists()


def test_an_unknown_role_is_refused_on_roles(world, api):
    response = api(world.admin).post(
        USERS, _staff_body(world, roles=["department_staff", "cashier"]), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["roles"]
    assert not User.objects.filter(username="meter_li").exists()


def test_a_weak_password_is_refused_in_chinese(world, api):
    # given a password the validators refuse (short and all digits)
    body = _staff_body(world, password="12345678")
    # when the administrator creates the user, in Chinese
    response = api(world.admin).post(USERS, body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then the password is refused with Chinese messages and no user is made
    assert response.status_code == 400
    messages = response.json()["password"]
    assert messages
    assert all("密码" in message for message in messages)
    assert not User.objects.filter(username="meter_li").exists()


def test_a_username_taken_is_refused_on_username(world, api):
    response = api(world.admin).post(USERS, _staff_body(world, username="manager_a"), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["username"]


def test_a_supervisor_who_leads_no_team_is_refused(world, api):
    body = _staff_body(world, supervisor=world.manager_b.user.pk)

    response = api(world.admin).post(USERS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["supervisor"]


def test_an_account_manager_needs_no_manager_profile(world, api):
    body = {
        "username": "new_manager",
        "full_name": "新经理",
        "roles": ["account_manager"],
        "password": GOOD_PASSWORD,
    }

    response = api(world.admin).post(USERS, {**body, "supervisor": world.supervisor.pk}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["roles"] == ["account_manager"]


# ---------------------------------------------------------------- users: change
def test_the_password_is_not_changed_through_the_users_endpoint(world, api):
    response = api(world.admin).patch(f"{USERS}{world.staff.pk}/", {"password": GOOD_PASSWORD}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["password"]
    world.staff.refresh_from_db()
    assert not world.staff.check_password(GOOD_PASSWORD)


def test_moving_a_staff_user_to_another_department(world, api):
    operations = world.departments[DepartmentKind.OPERATIONS]

    response = api(world.admin).patch(
        f"{USERS}{world.staff.pk}/", {"department": operations.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    assert StaffProfile.objects.get(user=world.staff).department == operations


def test_taking_the_staff_role_away_ends_the_department(world, api):
    # given the metering staff user
    # when the administrator makes them a supervisor only (and clears the department)
    response = api(world.admin).patch(
        f"{USERS}{world.staff.pk}/", {"roles": ["supervisor"], "department": None}, format="json"
    )
    # then they belong to no department any more
    assert response.status_code == 200, response.content
    assert response.json()["department"] is None
    assert not StaffProfile.objects.filter(user=world.staff).exists()


def test_a_supervisor_with_reports_keeps_a_role_that_leads_a_team(world, api):
    response = api(world.admin).patch(
        f"{USERS}{world.supervisor.pk}/", {"roles": ["account_manager"]}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["roles"]
    assert world.supervisor.groups.filter(name=roles.SUPERVISOR).exists()


def test_an_active_manager_keeps_the_account_manager_role(world, api):
    response = api(world.admin).patch(f"{USERS}{world.manager_b.pk}/", {"roles": []}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["roles"]


def test_an_administrator_cannot_take_away_their_own_role(world, api):
    response = api(world.admin).patch(f"{USERS}{world.admin.pk}/", {"roles": ["supervisor"]}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["roles"]


def test_deactivating_a_user_ends_their_token(world, api):
    # given the staff user with a token
    staff_client = api(world.staff)
    assert staff_client.get(DEPARTMENTS).status_code == 200
    # when the administrator deactivates them
    response = api(world.admin).patch(f"{USERS}{world.staff.pk}/", {"is_active": False}, format="json")
    # then their token is gone and it no longer works
    assert response.status_code == 200, response.content
    assert not Token.objects.filter(user=world.staff).exists()
    assert staff_client.get(DEPARTMENTS).status_code == 401


def test_deactivating_a_user_ends_their_session(world, api, client):
    # given the staff user signed in to the pages
    client.force_login(world.staff)
    # when the administrator deactivates them
    api(world.admin).patch(f"{USERS}{world.staff.pk}/", {"is_active": False}, format="json")
    # then their next page sends them to log in
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# ---------------------------------------------------------------- users: delete
def test_a_user_who_never_signed_in_is_deleted(world, api):
    user = UserFactory(username="mistake", role=roles.ACCOUNT_MANAGER)

    response = api(world.admin).delete(f"{USERS}{user.pk}/")

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()


def test_a_user_who_signed_in_is_deactivated_not_deleted(world, api, client):
    user = ManagerFactory(user=UserFactory(username="veteran", role=roles.ACCOUNT_MANAGER)).user
    client.force_login(user)

    response = api(world.admin).delete(f"{USERS}{user.pk}/")

    assert response.status_code == 409
    assert User.objects.filter(pk=user.pk).exists()
