"""The SMS gateway through a real HTTP gateway process on 127.0.0.1 (tests/notices/gateway.py):
signed JSON POSTs, the answer stored per message, retries that never send a message twice."""

import datetime as dt
from collections import Counter
from unittest import mock

from django.utils import timezone

from crm.common.sms import HttpGatewayBackend
from notices.models import Delivery, DeliveryStatus, MessageStatus, SmsMessage
from notices.sending import LEFT_BEHIND, send_messages
from notices.tasks import send_queued_sms_task
from tests.factories import ContactFactory, CustomerFactory
from tests.notices.conftest import notice_body


def _publish_notice(grid, api, publish, extra_homes=0):
    manager = grid.world.manager_a.user
    for n in range(extra_homes):
        home = CustomerFactory(
            station=grid.world.station_a, transformer_district=grid.district, manager=manager
        )
        ContactFactory(customer=home, is_primary=True, phone=f"1370000{n:04d}")
    supervisor = grid.world.supervisor
    notice_id = api(supervisor).post("/api/v1/outage-notices/", notice_body(grid), format="json").data["id"]
    answer = publish(supervisor, notice_id)
    assert answer.status_code == 200, answer.data
    return notice_id


def test_every_message_reaches_the_gateway_once_with_its_id_and_the_answer_is_kept(
    grid, api, publish, gateway
):
    running = gateway()
    _publish_notice(grid, api, publish, extra_homes=3)
    messages = list(SmsMessage.objects.all())
    assert len(messages) == 5
    assert all(m.status == MessageStatus.SENT and m.attempts == 1 for m in messages)
    delivered = running.delivered
    assert sorted(d["message_id"] for d in delivered) == sorted(m.message_id for m in messages)
    assert {d["mobile"] for d in delivered} >= {"13800000002", "13800000003"}  # +86 dropped
    assert all(m.answer["status"] == "accepted" and m.answer["http_status"] == 200 for m in messages)
    assert "停电" in delivered[0]["text"]


def test_a_gateway_that_fails_then_recovers_sends_every_message_once(grid, api, publish, gateway):
    # the gateway answers 500 to its first three requests, then recovers
    running = gateway(fail_first=3, mode="error")
    _publish_notice(grid, api, publish, extra_homes=3)
    messages = list(SmsMessage.objects.all())
    assert {m.status for m in messages} == {MessageStatus.SENT}
    assert len(running.received) == len(messages) + 3  # three retried
    counts = Counter(d["message_id"] for d in running.delivered)
    assert set(counts) == {m.message_id for m in messages}
    assert set(counts.values()) == {1}
    assert sum(m.attempts for m in messages) == len(messages) + 3
    assert Delivery.objects.filter(channel="sms", status=DeliveryStatus.SENT).count() == len(messages)


def test_a_gateway_that_times_out_after_taking_the_message_delivers_it_once(grid, api, publish, gateway):
    # the gateway takes the first two messages but answers after the client gave up
    running = gateway(fail_first=2, mode="slow")
    _publish_notice(grid, api, publish, extra_homes=2)
    messages = list(SmsMessage.objects.all())
    assert {m.status for m in messages} == {MessageStatus.SENT}
    counts = Counter(d["message_id"] for d in running.delivered)
    assert set(counts.values()) == {1}  # the retried send carried the same id: no second message
    assert len(counts) == len(messages)
    retried = [m for m in messages if m.attempts == 2]
    assert len(retried) == 2
    assert all(m.answer["status"] == "duplicate" for m in retried)


def test_a_message_sent_already_is_not_sent_again(grid, api, publish, gateway):
    running = gateway()
    _publish_notice(grid, api, publish)
    ids = list(SmsMessage.objects.values_list("pk", flat=True))
    assert send_messages(ids) == []
    assert len(running.received) == len(ids)


def test_messages_whose_task_was_lost_are_sent_by_the_sweep_once_left_behind(grid, api, publish, gateway):
    # given a notice published while its sending task was lost (never queued)
    running = gateway()
    with mock.patch("notices.services._enqueue_sending"):
        _publish_notice(grid, api, publish, extra_homes=2)
    queued = SmsMessage.objects.filter(status=MessageStatus.QUEUED)
    assert queued.count() == 4
    # when beat's sweep runs at once, then it leaves them: a retry may still be to come
    send_queued_sms_task()
    assert running.received == []
    # and once they are left behind 15 minutes, it sends each once
    queued.update(updated_at=timezone.now() - LEFT_BEHIND - dt.timedelta(seconds=1))
    send_queued_sms_task()
    send_queued_sms_task()
    assert not queued.exists()
    sent = Counter(d["message_id"] for d in running.delivered)
    assert set(sent) == {m.message_id for m in SmsMessage.objects.all()}
    assert set(sent.values()) == {1}


def test_a_bad_signature_is_refused_by_the_gateway_and_the_message_fails(
    grid, api, publish, gateway, settings
):
    running = gateway()
    settings.SMS_GATEWAY_KEY = "not-the-key"
    _publish_notice(grid, api, publish)
    messages = list(SmsMessage.objects.all())
    assert {m.status for m in messages} == {MessageStatus.FAILED}
    assert messages[0].answer["http_status"] == 401
    assert running.delivered == []
    assert Delivery.objects.filter(channel="sms", status=DeliveryStatus.FAILED).count() == len(messages)


def test_an_unreachable_gateway_is_a_transient_failure(db):
    result = HttpGatewayBackend(url="http://127.0.0.1:9/send", key="k", timeout=0.5).send(
        message_id="crm-sms-1", mobile="13800000000", text="x"
    )
    assert (result.accepted, result.transient) == (False, True)
