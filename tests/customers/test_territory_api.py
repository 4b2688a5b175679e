"""stations/, communities/, transformer-districts/: reference data every user with the view permission
reads; only holders of the model permission (administrators) write it."""

from decimal import Decimal

from customers.models import Community, Station, TransformerDistrict
from managers.models import Role
from tests.factories import (
    BranchFactory,
    CommunityFactory,
    CustomerFactory,
    ManagerFactory,
    TransformerDistrictFactory,
)


# ---------------------------------------------------------------- stations
def test_manager_reads_every_station(world, api):
    # Reference data is shared: a manager of station A also reads station B (pickers, addresses).
    response = api(world.manager_a.user).get("/api/v1/stations/")
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert api(world.manager_a.user).get(f"/api/v1/stations/{world.station_b.pk}/").status_code == 200


def test_manager_cannot_create_a_station(world, api):
    payload = {"code": "ST-NEW", "name": "新站", "branch": BranchFactory().pk}
    assert api(world.manager_a.user).post("/api/v1/stations/", payload, format="json").status_code == 403
    assert not Station.objects.filter(code="ST-NEW").exists()


def test_supervisor_cannot_change_a_station(world, api):
    url = f"/api/v1/stations/{world.station_a.pk}/"
    assert api(world.supervisor).patch(url, {"name": "改名"}, format="json").status_code == 403


def test_administrator_creates_a_station(world, api):
    payload = {"code": "ST-NEW", "name": "新站", "branch": BranchFactory().pk}
    response = api(world.admin).post("/api/v1/stations/", payload, format="json")
    assert response.status_code == 201
    assert Station.objects.get(code="ST-NEW").name == "新站"


def test_duplicate_station_code_is_refused_on_the_field(world, api):
    payload = {"code": world.station_a.code, "name": "重复", "branch": world.station_a.branch_id}
    response = api(world.admin).post("/api/v1/stations/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["code"]


def test_deleting_a_station_in_use_answers_409(world, api):
    response = api(world.admin).delete(f"/api/v1/stations/{world.station_a.pk}/")
    assert response.status_code == 409
    assert response.json()["detail"]
    assert Station.objects.filter(pk=world.station_a.pk).exists()


def test_deleting_an_unused_station_answers_204(world, api):
    unused = Station.objects.create(code="ST-EMPTY", name="空站", branch=world.station_a.branch)
    assert api(world.admin).delete(f"/api/v1/stations/{unused.pk}/").status_code == 204


def test_stations_filter_by_code_and_search_by_name(world, api):
    client = api(world.manager_a.user)
    assert client.get("/api/v1/stations/", {"code": world.station_b.code}).json()["count"] == 1
    assert (
        client.get("/api/v1/stations/", {"search": "河口"}).json()["results"][0]["id"] == world.station_b.pk
    )


# ---------------------------------------------------------------- communities
def _community_manager(station):
    return ManagerFactory(station=station, role=Role.COMMUNITY_MANAGER)


def test_manager_reads_communities_but_cannot_create_one(world, api):
    CommunityFactory(station=world.station_b)
    client = api(world.manager_a.user)
    assert client.get("/api/v1/communities/").json()["count"] == 1
    payload = {"code": "CM-X", "name": "x", "station": world.station_a.pk}
    assert client.post("/api/v1/communities/", payload, format="json").status_code == 403


def test_administrator_creates_a_community_with_its_manager(world, api):
    manager = _community_manager(world.station_a)
    payload = {"code": "CM-NEW", "name": "新社区", "station": world.station_a.pk, "manager": manager.pk}
    response = api(world.admin).post("/api/v1/communities/", payload, format="json")
    assert response.status_code == 201
    assert Community.objects.get(code="CM-NEW").manager_id == manager.pk


def test_community_manager_of_the_wrong_role_is_refused_on_the_field(world, api):
    payload = {
        "code": "CM-NEW",
        "name": "新社区",
        "station": world.station_a.pk,
        "manager": world.manager_a.pk,  # a key-account manager
    }
    response = api(world.admin).post("/api/v1/communities/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["manager"]


def test_communities_filter_by_station_and_manager(world, api):
    manager = _community_manager(world.station_a)
    served = CommunityFactory(station=world.station_a, manager=manager.user)
    CommunityFactory(station=world.station_a)
    CommunityFactory(station=world.station_b)
    client = api(world.admin)
    assert client.get("/api/v1/communities/", {"station": world.station_a.pk}).json()["count"] == 2
    by_manager = client.get("/api/v1/communities/", {"manager": manager.pk}).json()
    assert [c["id"] for c in by_manager["results"]] == [served.pk]


def test_deleting_a_community_with_customers_answers_409(world, api):
    community = CommunityFactory(station=world.station_a)
    CustomerFactory(station=world.station_a, community=community)
    assert api(world.admin).delete(f"/api/v1/communities/{community.pk}/").status_code == 409


# ---------------------------------------------------------------- transformer districts
def test_administrator_creates_a_transformer_district(world, api):
    payload = {
        "code": "TD-NEW",
        "name": "李村1号台区",
        "station": world.station_a.pk,
        "transformer_code": "T-1",
        "rated_capacity_kva": "400",
    }
    response = api(world.admin).post("/api/v1/transformer-districts/", payload, format="json")
    assert response.status_code == 201
    assert TransformerDistrict.objects.get(code="TD-NEW").rated_capacity_kva == Decimal("400")


def test_negative_rated_capacity_is_refused_on_the_field(world, api):
    payload = {"code": "TD-NEW", "name": "x", "station": world.station_a.pk, "rated_capacity_kva": "-1"}
    response = api(world.admin).post("/api/v1/transformer-districts/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["rated_capacity_kva"]


def test_manager_cannot_change_a_transformer_district(world, api):
    district = TransformerDistrictFactory(station=world.station_a)
    url = f"/api/v1/transformer-districts/{district.pk}/"
    assert api(world.manager_a.user).patch(url, {"name": "x"}, format="json").status_code == 403


def test_transformer_districts_search_by_transformer_code(world, api):
    district = TransformerDistrictFactory(station=world.station_a, transformer_code="T-ZHANG-7")
    TransformerDistrictFactory(station=world.station_a)
    body = api(world.manager_a.user).get("/api/v1/transformer-districts/", {"search": "ZHANG-7"}).json()
    assert [d["id"] for d in body["results"]] == [district.pk]
