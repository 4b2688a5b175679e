"""Issue 22, "Done when": a REST client builds a whole county with nothing but the API (company,
branch, station, users with roles, managers, territories, customers), and the manager then sees
their customers."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from crm.accounts import roles
from customers.models import TierPolicy
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "Zx9-县公司-2026!"


def _client(username: str, password: str) -> APIClient:
    client = APIClient()
    answer = client.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def test_a_rest_client_builds_a_county_and_its_manager_sees_their_customers(
    django_capture_on_commit_callbacks,
):
    TierPolicy.objects.get_or_create(version=1, defaults={"effective_from": dt.date(2000, 1, 1)})
    # given only the first administrator (HR's system signs in as one)
    UserFactory(username="hr_system", role=roles.ADMINISTRATOR)
    hr = _client("hr_system", "correct-horse-battery")

    def post(path, body):
        with django_capture_on_commit_callbacks(execute=True):  # the assignment job runs on commit
            answer = hr.post(f"/api/v1/{path}/", body, format="json")
        assert answer.status_code == 201, (path, answer.content)
        return answer.json()["id"]

    # when it builds the county: the org tree
    company = post("companies", {"code": "SGCC-HN", "name": "国网某省电力公司"})
    branch = post("branches", {"code": "HN-XX", "name": "某县供电公司", "company": company})
    station = post("stations", {"code": "XX-01", "name": "城关供电所", "branch": branch, "area": "city"})
    # the people: a supervisor, then two users without a role who become managers
    supervisor = post(
        "users",
        {"username": "li_sup", "full_name": "李主管", "roles": ["supervisor"], "password": PASSWORD},
    )
    key_user = post(
        "users",
        {"username": "zhang", "full_name": "张经理", "supervisor": supervisor, "password": PASSWORD},
    )
    community_user = post(
        "users",
        {"username": "wang", "full_name": "王经理", "supervisor": supervisor, "password": PASSWORD},
    )
    post(
        "managers",
        {"user": key_user, "employee_no": "E001", "role": "key_account_manager", "station": station},
    )
    post(
        "managers",
        {"user": community_user, "employee_no": "E002", "role": "community_manager", "station": station},
    )
    # the territories and the customers
    community = post(
        "communities", {"code": "C-01", "name": "幸福小区", "station": station, "manager": community_user}
    )
    factory = post(
        "customers",
        {
            "account_no": "3100000001",
            "name": "甲钢铁厂",
            "category": "industrial",
            "voltage_kv": "10",
            "contracted_capacity_kva": "1250",
            "station": station,
            "address": "工业园1号",
        },
    )
    household = post(
        "customers",
        {
            "account_no": "3100000002",
            "name": "王某某",
            "category": "residential",
            "voltage_kv": "0.22",
            "contracted_capacity_kva": "8",
            "station": station,
            "community": community,
            "address": "幸福小区3栋",
        },
    )

    # then each manager, signed in with their own password, sees their own customer and only it
    zhang = _client("zhang", PASSWORD)
    roles_of_zhang = hr.get(f"/api/v1/users/{key_user}/").json()["roles"]
    assert roles_of_zhang == ["account_manager"]
    mine = zhang.get("/api/v1/customers/")
    assert mine.status_code == 200
    assert [c["id"] for c in mine.json()["results"]] == [factory]
    assert mine.json()["results"][0]["manager"] == key_user
    assert zhang.get(f"/api/v1/customers/{household}/").status_code == 404
    wang = _client("wang", PASSWORD)
    assert [c["id"] for c in wang.get("/api/v1/customers/").json()["results"]] == [household]
    # and the supervisor sees the team's both
    li = _client("li_sup", PASSWORD)
    assert {c["id"] for c in li.get("/api/v1/customers/").json()["results"]} == {factory, household}
