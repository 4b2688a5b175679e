"""The actions of service-requests/{id}/: advance, wait-customer, resume, close, cancel and the
callback (api.md): each answers the request as it now is, a state that does not allow it 409,
someone who may not act 403, a request outside the scope 404."""

import pytest

from crm.accounts import roles
from service.models import Callback, RequestStatus, StageStatus
from service.services import request_close, request_open, stage_advance
from tests.factories import StaffProfileFactory, UserFactory
from tests.service.test_api import CHINESE, LIST, open_request


def _post(client, request, action, body=None, **extra):
    return client.post(f"{LIST}{request.pk}/{action}/", body or {}, **extra)


@pytest.fixture
def fault(world):
    """Customer A's meter fault: one metering stage, `check`, in progress."""
    return open_request(world.customer_a)


@pytest.fixture
def connection_request(world):
    """Customer A's new connection: `accept` (marketing) in progress, then `connect` (metering),
    which the customer's own time pauses."""
    return open_request(world.customer_a, kind="new_connection", subtype="residential")


@pytest.fixture
def closed(world, api, fault):
    assert _post(api(world.staff), fault, "advance", {"stage": "check"}).status_code == 200
    assert _post(api(world.manager_a.user), fault, "close").status_code == 200
    return fault


# ---------------------------------------------------------------- advance
def test_staff_of_the_stages_department_complete_it(world, api, fault):
    response = _post(api(world.staff), fault, "advance", {"stage": "check", "note": "已换表"})
    assert response.status_code == 200, response.content
    stage = response.json()["stages"][0]
    assert (stage["status"], stage["done_at"] is not None) == ("done", True)
    assert response.json()["status"] == "open"  # until its owner closes it


def test_advancing_starts_the_next_stage(world, api, connection_request):
    response = _post(api(world.manager_a.user), connection_request, "advance", {"stage": "accept"})
    assert response.status_code == 200, response.content
    assert [s["status"] for s in response.json()["stages"]] == ["done", "active"]


def test_advancing_a_stage_that_is_not_the_active_one_answers_409(world, api, connection_request):
    response = _post(
        api(world.manager_a.user),
        connection_request,
        "advance",
        {"stage": "connect"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 409
    assert CHINESE.search(response.json()["detail"])
    assert connection_request.stages.get(code="connect").status == StageStatus.PENDING


def test_advancing_the_same_stage_twice_answers_409_the_second_time(world, api, fault):
    client = api(world.staff)
    assert _post(client, fault, "advance", {"stage": "check"}).status_code == 200
    assert _post(client, fault, "advance", {"stage": "check"}).status_code == 409


def test_staff_may_not_complete_another_departments_stage(world, api, connection_request):
    # the metering staff see the request (its `connect` stage is theirs) but `accept` is marketing's
    response = _post(api(world.staff), connection_request, "advance", {"stage": "accept"})
    assert response.status_code == 403
    assert connection_request.stages.get(code="accept").status == StageStatus.ACTIVE


def test_advance_without_a_stage_answers_400(world, api, fault):
    response = _post(api(world.staff), fault, "advance", {}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert CHINESE.search(response.json()["stage"][0])


# ---------------------------------------------------------------- waiting for the customer
def test_waiting_for_the_customer_pauses_the_stage_and_resume_restarts_it(world, api, connection_request):
    manager, staff = api(world.manager_a.user), api(world.staff)
    _post(manager, connection_request, "advance", {"stage": "accept"})
    waiting = _post(staff, connection_request, "wait-customer", {"reason": "客户受电工程未完工"})
    assert waiting.status_code == 200, waiting.content
    assert waiting.json()["status"] == "waiting_customer"
    assert waiting.json()["stages"][1]["status"] == "waiting_customer"
    resumed = _post(staff, connection_request, "resume")
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "open"
    assert resumed.json()["stages"][1]["status"] == "active"


def test_waiting_on_a_stage_the_customer_does_not_pause_answers_409(world, api, fault):
    response = _post(api(world.staff), fault, "wait-customer", {"reason": "等待"})
    assert response.status_code == 409


def test_waiting_without_a_reason_answers_400(world, api, connection_request):
    response = _post(api(world.manager_a.user), connection_request, "wait-customer", {})
    assert response.status_code == 400
    assert "reason" in response.json()


def test_resuming_a_request_that_is_not_waiting_answers_409(world, api, fault):
    assert _post(api(world.staff), fault, "resume").status_code == 409


# ---------------------------------------------------------------- close and cancel
def test_closing_before_the_last_stage_answers_409(world, api, fault):
    response = _post(api(world.manager_a.user), fault, "close")
    assert response.status_code == 409
    fault.refresh_from_db()
    assert fault.status == RequestStatus.OPEN


def test_the_owner_closes_after_the_last_stage(world, api, closed):
    body = api(world.manager_a.user).get(f"{LIST}{closed.pk}/").json()
    assert body["status"] == "closed"


def test_department_staff_cannot_close_a_request(world, api, fault):
    _post(api(world.staff), fault, "advance", {"stage": "check"})
    assert _post(api(world.staff), fault, "close").status_code == 403


def test_cancel_with_a_reason_cancels_the_request(world, api, fault):
    response = _post(api(world.manager_a.user), fault, "cancel", {"reason": "客户撤回"})
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_cancel_without_a_reason_answers_400_and_cancels_nothing(world, api, fault):
    response = _post(
        api(world.manager_a.user), fault, "cancel", {"reason": ""}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    assert CHINESE.search(response.json()["reason"][0])
    fault.refresh_from_db()
    assert fault.status == RequestStatus.OPEN


def test_cancelling_a_closed_request_answers_409(world, api, closed):
    assert _post(api(world.manager_a.user), closed, "cancel", {"reason": "x"}).status_code == 409


# ---------------------------------------------------------------- callback
def test_a_callback_on_an_open_request_answers_409(world, api, fault):
    response = _post(api(world.manager_a.user), fault, "callback", {"reached": True, "satisfaction": 5})
    assert response.status_code == 409
    assert not Callback.objects.exists()


def test_a_callback_on_a_closed_request_is_recorded_and_read_back(world, api, closed):
    manager = api(world.manager_a.user)
    made = _post(manager, closed, "callback", {"reached": True, "satisfaction": 5, "comment": "满意"})
    assert made.status_code == 201, made.content
    assert made.json()["request_status"] == "closed"
    read = api(world.integration).get(f"{LIST}{closed.pk}/callback/")
    assert read.status_code == 200
    assert [(c["satisfaction"], c["comment"]) for c in read.json()] == [(5, "满意")]


def test_a_satisfaction_of_2_reopens_the_request(world, api, closed):
    made = _post(api(world.manager_a.user), closed, "callback", {"reached": True, "satisfaction": 2})
    assert made.status_code == 201
    assert made.json()["request_status"] == "open"
    closed.refresh_from_db()
    assert closed.status == RequestStatus.OPEN
    assert closed.reopened_at is not None


@pytest.mark.parametrize(
    "body", [{"reached": True, "satisfaction": 6}, {"reached": False, "satisfaction": 3}, {}]
)
def test_a_bad_callback_answers_400_and_records_nothing(world, api, closed, body):
    response = _post(api(world.manager_a.user), closed, "callback", body, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert all(CHINESE.search(" ".join(messages)) for messages in response.json().values())
    assert not Callback.objects.exists()


def test_the_call_centres_staff_call_back_its_tickets_and_other_departments_staff_may_not(world, api):
    # given a closed 95598 ticket, a staff user of the branch's call centre, and the metering staff
    # who did its stage
    closed = request_open(
        kind="meter_fault",
        source="call_centre",
        external_no="95598-CB-1",
        by=world.integration,
        customer=world.customer_a,
    )
    stage_advance(request=closed, stage_code="check", by=world.staff)
    request_close(request=closed, by=world.manager_a.user)
    agent = StaffProfileFactory(
        user=UserFactory(username="agent95598", role=roles.DEPARTMENT_STAFF),
        department=world.departments["call_centre"],
    ).user
    # when each records the callback
    refused = _post(api(world.staff), closed, "callback", {"reached": True, "satisfaction": 4})
    made = _post(api(agent), closed, "callback", {"reached": True, "satisfaction": 4, "comment": "已回访"})
    # then only the call centre's is recorded
    assert refused.status_code == 403
    assert made.status_code == 201, made.content
    assert list(Callback.objects.values_list("satisfaction", "by__username")) == [(4, "agent95598")]


def test_the_integration_client_reads_callbacks_but_does_not_record_them(world, api, closed):
    assert _post(api(world.integration), closed, "callback", {"reached": False}).status_code == 403


# ---------------------------------------------------------------- scope
@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("advance", {"stage": "check"}),
        ("wait-customer", {"reason": "x"}),
        ("resume", {}),
        ("close", {}),
        ("cancel", {"reason": "x"}),
        ("callback", {"reached": False}),
    ],
)
def test_another_managers_request_answers_404_on_every_action(world, api, action, body):
    other = open_request(world.customer_b)
    response = _post(api(world.manager_a.user), other, action, body)
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == RequestStatus.OPEN


def test_another_managers_callbacks_answer_404(world, api):
    other = open_request(world.customer_b)
    assert api(world.manager_a.user).get(f"{LIST}{other.pk}/callback/").status_code == 404


def test_staff_get_404_on_a_request_without_their_department(world, api):
    billing = open_request(world.customer_a, kind="billing_query")
    assert _post(api(world.staff), billing, "advance", {"stage": "check"}).status_code == 404
