"""Delivery of the events to a real receiver on 127.0.0.1, signed in the Standard Webhooks format,
and the faults of issue 22: a receiver that fails then answers, one that never answers, 410, a
worker killed mid-try, a change that rolls back."""

import datetime as dt
import json

import pytest
import requests
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crm.common.models import OutboxEvent
from customers.models import Tier
from customers.tiering.services import customer_pin_tier
from integrations.delivery import deliveries_claim, deliveries_send_due, send
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.services import deliveries_fan_out, endpoint_rotate_secret
from integrations.tasks import deliver_webhooks_task

pytestmark = pytest.mark.django_db


def _pin(world, tier=Tier.VIP):
    return customer_pin_tier(
        customer=world.customer_a, tier=tier, reason="大客户协议", until=None, by=world.admin
    )


def test_pinned_tier_reaches_the_receiver_signed_with_standard_webhooks(world, receiver, endpoint_for):
    # given an endpoint for tier changes on a real receiver
    endpoint = endpoint_for(receiver)
    # when a supervisor pins a customer's tier and the delivery job runs
    change = _pin(world)
    result = deliver_webhooks_task()
    # then the receiver got customer.tier_changed, and its signature verifies with the library
    assert result["succeeded"] == 1
    (got,) = receiver.received
    message = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert message["type"] == "customer.tier_changed"
    assert message["data"] == {
        "customer": world.customer_a.pk,
        "old_tier": Tier.KEY_ACCOUNT,
        "new_tier": Tier.VIP,
        "rule": "manual.pin",
        "tier_change": change.pk,
        "run": None,
        "link": f"/api/v1/customers/{world.customer_a.pk}/",
    }
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert got.headers["webhook-id"] == f"msg_{delivery.event.uid.hex}"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(got.body, got.headers)


def test_an_event_type_the_endpoint_did_not_ask_for_is_not_sent(world, receiver, endpoint_for):
    endpoint_for(receiver, events=["visit_task.done"])
    _pin(world)
    deliver_webhooks_task()
    assert receiver.received == []
    assert OutboxEvent.objects.get().dispatched_at is not None
    assert not WebhookDelivery.objects.exists()


def test_receiver_failing_three_times_then_answering_is_delivered_with_every_try_logged(
    world, receiver, endpoint_for
):
    receiver.answers = [(500, {}), (502, {}), (503, {}), (200, {})]
    endpoint_for(receiver)
    _pin(world)
    deliver_webhooks_task()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 4
    assert [t.status_code for t in delivery.tries.order_by("at", "pk")] == [500, 502, 503, 200]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # the same id every try


def test_receiver_that_never_answers_is_exhausted_disabled_and_its_owner_told(
    world, receiver, endpoint_for, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOKS_TIMEOUT_SECONDS = 0.2
    receiver.hang = True
    endpoint = endpoint_for(receiver, owner=world.admin)
    _pin(world)
    with django_capture_on_commit_callbacks(execute=True):
        deliver_webhooks_task()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.EXHAUSTED
    assert delivery.attempts == 4  # the first try and the schedule's three
    assert {t.error for t in delivery.tries.all()} == {"timeout"}
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert "4" in endpoint.disabled_reason
    (message,) = mail.outbox
    assert message.to == [world.admin.email]
    assert endpoint.url in message.subject


def test_410_disables_the_endpoint_at_once(world, receiver, endpoint_for, django_capture_on_commit_callbacks):
    receiver.answers = [(410, {})]
    endpoint = endpoint_for(receiver, owner=world.admin)
    _pin(world)
    with django_capture_on_commit_callbacks(execute=True):
        deliver_webhooks_task()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.FAILED, 1, 410)
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert len(mail.outbox) == 1


def test_a_client_error_is_not_tried_again(world, receiver, endpoint_for):
    receiver.answers = [(400, {})]
    endpoint = endpoint_for(receiver)
    _pin(world)
    deliver_webhooks_task()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    endpoint.refresh_from_db()
    assert endpoint.active is True


def test_retry_after_is_honoured(world, receiver, endpoint_for):
    receiver.answers = [(429, {"Retry-After": "120"})]
    endpoint_for(receiver)
    _pin(world)
    before = timezone.now()
    deliver_webhooks_task()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 119 <= wait <= 125


def test_worker_killed_mid_try_delivers_again_with_the_same_webhook_id(world, receiver, endpoint_for):
    # given a delivery a worker claimed and sent, then died before recording the answer
    endpoint_for(receiver)
    _pin(world)
    deliveries_fan_out()
    (claimed,) = deliveries_claim()
    with requests.Session() as session:
        send(claimed, session)  # the receiver has it; the worker dies here
    assert deliveries_claim() == []  # held by the dead worker's lease
    # when the lease has passed and the job runs
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    counts = deliveries_send_due(budget_seconds=10)
    # then it is delivered again, with the same webhook-id
    assert counts == {"succeeded": 1}
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert WebhookDelivery.objects.get().attempts == 2


def test_a_change_that_rolls_back_sends_nothing(world, receiver, endpoint_for):
    endpoint_for(receiver)
    written = []

    def pin_then_fail():
        with transaction.atomic():
            _pin(world)
            written.append(OutboxEvent.objects.count())
            raise RuntimeError("the change fails after the pin")

    with pytest.raises(RuntimeError):
        pin_then_fail()
    assert written == [1]  # the event was written, inside the transaction that rolled back
    deliver_webhooks_task()
    assert not OutboxEvent.objects.exists()
    assert receiver.received == []


def test_during_a_rotation_both_secrets_sign(world, receiver, endpoint_for):
    endpoint = endpoint_for(receiver)
    old = endpoint.secret
    rotated = endpoint_rotate_secret(endpoint=endpoint, by=world.admin)
    _pin(world)
    deliver_webhooks_task()
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, rotated.secret):
        assert Webhook(secret).verify(got.body, got.headers)["type"] == "customer.tier_changed"


def test_a_disabled_endpoints_deliveries_wait(world, receiver, endpoint_for):
    endpoint = endpoint_for(receiver)
    _pin(world)
    deliveries_fan_out()
    type(endpoint).objects.filter(pk=endpoint.pk).update(active=False)
    assert deliveries_send_due(budget_seconds=5) == {}
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING


def test_body_is_the_standard_webhooks_envelope(world, receiver, endpoint_for):
    endpoint_for(receiver)
    _pin(world)
    deliver_webhooks_task()
    body = json.loads(receiver.received[0].body)
    assert set(body) == {"type", "timestamp", "data"}
