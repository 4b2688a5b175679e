"""Tasks made by hand (POST visit-tasks/, visits.services.visit_task_create): only ad hoc visits,
and only to targets in the caller's scope: customers they see, communities and transformer districts
of their stations or that they serve (security test, Low 9)."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import CommunityFactory, TransformerDistrictFactory
from visits import services
from visits.models import Kind, VisitTask

TODAY = timezone.localdate()


def _payload(world, **target):
    return {"manager": world.manager_a.pk, "due_date": f"{TODAY:%Y-%m-%d}", **target}


# ---------------------------------------------------------------- territories
def test_manager_cannot_create_a_task_for_another_stations_community(world, api):
    # given a community of station B, served by nobody
    community = CommunityFactory(station=world.station_b)
    # when manager A (station A) creates a visit to it
    response = api(world.manager_a.user).post("/api/v1/visit-tasks/", _payload(world, community=community.pk))
    # then it is refused on the field and nothing is written
    assert response.status_code == 400
    assert "community" in response.json()
    assert not VisitTask.objects.exists()


def test_manager_cannot_create_a_task_for_another_stations_transformer_district(world, api):
    # given a transformer district of station B served by manager B
    district = TransformerDistrictFactory(station=world.station_b, manager=world.manager_b.user)
    # when manager A creates a visit to it
    response = api(world.manager_a.user).post(
        "/api/v1/visit-tasks/", _payload(world, transformer_district=district.pk)
    )
    # then it is refused on the field and nothing is written
    assert response.status_code == 400
    assert "transformer_district" in response.json()
    assert not VisitTask.objects.exists()


def test_manager_creates_an_ad_hoc_task_for_a_community_of_own_station(world, api):
    # given a community of manager A's station
    community = CommunityFactory(station=world.station_a)
    # when manager A creates a visit to it
    response = api(world.manager_a.user).post("/api/v1/visit-tasks/", _payload(world, community=community.pk))
    # then the ad hoc task is created
    assert response.status_code == 201, response.json()
    assert VisitTask.objects.get().community == community


def test_manager_creates_a_task_for_a_district_they_serve_in_another_station(world, api):
    # given a district of station B that manager A serves
    district = TransformerDistrictFactory(station=world.station_b, manager=world.manager_a.user)
    # when manager A creates a visit to it
    response = api(world.manager_a.user).post(
        "/api/v1/visit-tasks/", _payload(world, transformer_district=district.pk)
    )
    # then it is accepted
    assert response.status_code == 201, response.json()


def test_supervisor_creates_a_task_for_a_community_of_the_teams_station(world, api):
    # given a community of station A, where the supervisor's manager A works
    community = CommunityFactory(station=world.station_a)
    # when the supervisor creates a visit to it for manager A
    response = api(world.supervisor).post("/api/v1/visit-tasks/", _payload(world, community=community.pk))
    # then it is accepted
    assert response.status_code == 201, response.json()


def test_supervisor_cannot_create_a_task_for_a_community_outside_the_teams_stations(world, api):
    # given a community of station B, where nobody of the supervisor's team works
    community = CommunityFactory(station=world.station_b)
    # when the supervisor creates a visit to it
    response = api(world.supervisor).post("/api/v1/visit-tasks/", _payload(world, community=community.pk))
    # then it is refused
    assert response.status_code == 400
    assert "community" in response.json()


def test_administrator_creates_a_task_for_any_community(world, api):
    # given a community of station B
    community = CommunityFactory(station=world.station_b)
    # when the administrator creates a visit to it for manager B
    payload = {**_payload(world, community=community.pk), "manager": world.manager_b.pk}
    response = api(world.admin).post("/api/v1/visit-tasks/", payload)
    # then it is accepted
    assert response.status_code == 201, response.json()


def test_the_service_refuses_a_community_outside_the_callers_scope(world):
    # given a community of station B
    community = CommunityFactory(station=world.station_b)
    # when the service is called for manager A directly (not through the API)
    with pytest.raises(ValidationError) as refused:
        services.visit_task_create(
            by=world.manager_a.user, manager=world.manager_a.user, due_date=TODAY, community=community
        )
    # then it refuses on the field
    assert "community" in refused.value.message_dict
    assert not VisitTask.objects.exists()


def test_the_service_refuses_a_customer_outside_the_callers_scope(world):
    # when the service is called by manager A for manager B's customer
    with pytest.raises(ValidationError) as refused:
        services.visit_task_create(
            by=world.manager_a.user, manager=world.manager_a.user, due_date=TODAY, customer=world.customer_b
        )
    # then it refuses on the field
    assert "customer" in refused.value.message_dict
    assert not VisitTask.objects.exists()


# ---------------------------------------------------------------- kinds
@pytest.mark.parametrize("kind", [Kind.CARE, Kind.TIER_CHANGE, Kind.SCHEDULED])
def test_a_task_of_a_job_kind_cannot_be_made_by_hand(world, api, kind):
    # when manager A asks for a care, welcome or scheduled visit to their own customer
    response = api(world.manager_a.user).post(
        "/api/v1/visit-tasks/", {**_payload(world, customer=world.customer_a.pk), "kind": kind}
    )
    # then it is refused on the kind and nothing is written
    assert response.status_code == 400
    assert "kind" in response.json()
    assert not VisitTask.objects.exists()


def test_the_service_refuses_a_care_task_even_for_an_administrator(world):
    # when the administrator calls the service for a care visit
    with pytest.raises(ValidationError) as refused:
        services.visit_task_create(
            by=world.admin,
            manager=world.manager_a.user,
            due_date=TODAY,
            customer=world.customer_a,
            kind=Kind.CARE,
        )
    # then it refuses on the kind
    assert "kind" in refused.value.message_dict
    assert not VisitTask.objects.exists()


def test_a_refusal_is_worded_in_chinese(world, api):
    # given a community of another station
    community = CommunityFactory(station=world.station_b)
    # when manager A asks in Chinese
    response = api(world.manager_a.user).post(
        "/api/v1/visit-tasks/", _payload(world, community=community.pk), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    # then the field's message is Chinese
    assert response.status_code == 400
    assert "供电所" in response.json()["community"][0]
