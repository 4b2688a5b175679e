"""The administrators' webhook pages: the secret shown once, the SSRF guard on the form, the
deliveries and replays; others get 403; fixed queries."""

import re

import pytest
from django.urls import reverse

from crm.common.outbox import outbox_record
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.services import deliveries_fan_out, endpoint_save

pytestmark = pytest.mark.django_db
LIST = reverse("integrations:endpoints")


def _signed_in(client, user):
    client.force_login(user)
    return client


def test_adding_an_endpoint_shows_its_secret_once(world, client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    page = _signed_in(client, world.admin).post(
        LIST, {"url": "http://10.0.0.5/hooks", "events": ["customer.tier_changed", "visit_task.done"]}
    )
    assert page.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    text = page.content.decode()
    assert endpoint.secret in text
    assert "复制" in text  # the page reads in Chinese
    again = client.get(LIST).content.decode()
    assert endpoint.secret not in again
    assert (
        endpoint.secret
        not in client.get(reverse("integrations:endpoint", args=[endpoint.pk])).content.decode()
    )


def test_a_private_url_is_refused_on_the_form(world, client):
    page = _signed_in(client, world.admin).post(
        LIST, {"url": "http://127.0.0.1/x", "events": ["visit_task.done"]}
    )
    assert page.status_code == 400
    assert "WEBHOOKS_ALLOW_PRIVATE_URLS" in page.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("persona", ["manager_a", "supervisor", "staff"])
def test_others_get_403(world, client, persona):
    user = getattr(world, persona)
    _signed_in(client, getattr(user, "user", user))
    assert client.get(LIST).status_code == 403


@pytest.fixture
def endpoint(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    return endpoint_save(endpoint=None, by=None, url="http://10.0.0.5/h", events=["customer.tier_changed"])


@pytest.mark.parametrize("count", [1, 20])
def test_the_endpoint_page_reads_in_fixed_queries(
    world, client, endpoint, count, django_assert_max_num_queries
):
    for i in range(count):
        outbox_record("customer.tier_changed", {"customer": i})
    deliveries_fan_out()
    _signed_in(client, world.admin)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("integrations:endpoint", args=[endpoint.pk]))
    assert page.status_code == 200
    assert len(re.findall(r"/integrations/deliveries/\d+/replay/", page.content.decode())) == count


def test_replay_and_rotate_from_the_page(world, client, endpoint):
    outbox_record("customer.tier_changed", {"customer": 1})
    deliveries_fan_out()
    WebhookDelivery.objects.update(status=DeliveryStatus.EXHAUSTED, attempts=10)
    _signed_in(client, world.admin)
    delivery = WebhookDelivery.objects.get()
    answer = client.post(reverse("integrations:delivery-replay", args=[delivery.pk]))
    assert answer.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    old = endpoint.secret
    page = client.post(reverse("integrations:endpoint", args=[endpoint.pk]), {"action": "rotate"})
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.previous_secret == old
    assert endpoint.secret in page.content.decode()
