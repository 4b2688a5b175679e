"""The request list written by hand (service/listing.py) answers exactly what the serializer
answers for the same rows: every field, in its order, the stages, the applicant, the times and the
`sla_state`s as of one `now`."""

import datetime as dt

from django.utils import timezone

from service import services
from service.api import ServiceRequestSerializer, requests_for
from service.listing import listed, requests_listed
from service.models import ServiceRequest, SlaState, Source

LIST = "/api/v1/service-requests/"


def _every_kind_of_row(world):
    """Requests that exercise every field: a customer's, an applicant's with decimals, one waiting
    for the customer, one with a stage done, one past its due instant that the job has not seen."""

    def open_for(customer, kind="meter_fault", **fields):
        return services.request_open(kind=kind, source=Source.MANAGER, by=None, customer=customer, **fields)

    plain = open_for(world.customer_a, description="电表不走字")
    services.request_open(
        kind="new_connection",
        subtype="residential",
        source=Source.MANAGER,
        by=None,
        applicant=services.Applicant(
            name="丙村民", phone="13900000000", address="河口村", capacity_kva=8, voltage_kv="0.22"
        ),
        station=world.station_a,
    )
    waiting = open_for(world.customer_a, kind="load_control_install")
    services.request_wait_customer(request=waiting, reason="客户准备场地", by=world.admin)
    done = open_for(world.customer_a, kind="fault_repair")
    services.stage_advance(request=done, stage_code=done.stages.get(position=1).code, by=world.admin)
    late = open_for(world.customer_b, kind="billing_query", external_no="95598-0001")
    past = timezone.now() - dt.timedelta(hours=1)
    ServiceRequest.objects.filter(pk=late.pk).update(warn_at=past, due_at=past, sla_state=SlaState.OK)
    late.stages.update(warn_at=past, due_at=past, sla_state=SlaState.OK)
    return plain


def test_the_hand_written_list_is_the_serializers_answer_field_by_field(world):
    # given requests of every shape
    _every_kind_of_row(world)
    now = timezone.now()
    # when both represent the same rows as of the same instant
    rows = list(listed(ServiceRequest.objects.visible_to(world.admin)))
    fast = requests_listed(rows, now=now)
    instances = requests_for(world.admin).order_by("-received_at", "-id")
    slow = ServiceRequestSerializer(instances, many=True, context={"now": now}).data
    # then every request, field and stage is the same, in the same order
    assert len(fast) == len(slow) == 5
    for mine, theirs in zip(fast, slow, strict=True):
        assert list(mine) == list(theirs)
        for name in theirs:
            if name == "stages":
                assert len(mine["stages"]) == len(theirs["stages"])
                for stage, expected in zip(mine["stages"], theirs["stages"], strict=True):
                    assert list(stage) == list(expected)
                    assert dict(stage) == dict(expected)
            else:
                assert mine[name] == theirs[name], name
    states = {row["sla_state"] for row in fast} | {s["sla_state"] for row in fast for s in row["stages"]}
    assert SlaState.BREACHED in states


def test_the_list_answers_the_same_json_as_the_detail_of_each_request(world, api):
    # given the rows, when listed and read one by one through the API
    _every_kind_of_row(world)
    client = api(world.admin)
    listed_rows = client.get(LIST).json()["results"]
    # then each row is its detail (the two answers are read moments apart: the clocks run in days)
    for row in listed_rows:
        assert row == client.get(f"{LIST}{row['id']}/").json()
