"""`companies/` and `branches/` (api.md): administrators write, every role reads; in use: 409."""

import pytest

from customers.models import Branch, Company

pytestmark = pytest.mark.django_db


def test_an_administrator_creates_a_company_and_its_branch(world, api):
    admin = api(world.admin)
    company = admin.post("/api/v1/companies/", {"code": "C-9", "name": "国网某市"}, format="json")
    assert company.status_code == 201
    branch = admin.post(
        "/api/v1/branches/", {"code": "B-9", "name": "某县", "company": company.json()["id"]}, format="json"
    )
    assert branch.status_code == 201
    assert Branch.objects.get(code="B-9").company.code == "C-9"


def test_a_branch_without_its_company_is_refused_on_the_field(world, api):
    response = api(world.admin).post("/api/v1/branches/", {"code": "B-9", "name": "某县"}, format="json")
    assert response.status_code == 400
    assert "company" in response.json()
    response = api(world.admin).post(
        "/api/v1/branches/", {"code": "B-9", "name": "某县", "company": 999999}, format="json"
    )
    assert response.status_code == 400


def test_a_manager_reads_but_cannot_write(world, api):
    client = api(world.manager_a.user)
    assert client.get("/api/v1/branches/").status_code == 200
    assert client.get("/api/v1/companies/").status_code == 200
    response = client.post("/api/v1/companies/", {"code": "X", "name": "X"}, format="json")
    assert response.status_code == 403
    assert not Company.objects.filter(code="X").exists()


def test_deleting_a_company_with_branches_is_a_conflict(world, api):
    company = world.customer_a.station.branch.company
    response = api(world.admin).delete(f"/api/v1/companies/{company.pk}/")
    assert response.status_code == 409
    assert Company.objects.filter(pk=company.pk).exists()


@pytest.mark.parametrize("extra", [0, 10])
def test_the_branch_list_reads_in_fixed_queries(world, api, extra, django_assert_max_num_queries):
    company = world.customer_a.station.branch.company
    Branch.objects.bulk_create([Branch(company=company, code=f"B{i}", name=f"县{i}") for i in range(extra)])
    client = api(world.admin)
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/branches/").status_code == 200


def test_a_manager_profile_made_over_the_api_gives_its_user_the_role(world, api):
    from tests.factories import UserFactory

    user = UserFactory(username="newcomer")
    response = api(world.admin).post(
        "/api/v1/managers/",
        {
            "user": user.pk,
            "employee_no": "E-77",
            "role": "key_account_manager",
            "station": world.customer_a.station_id,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert set(user.groups.values_list("name", flat=True)) == {"account_manager"}
    token_client = api(user)
    assert token_client.get("/api/v1/customers/").status_code == 200
