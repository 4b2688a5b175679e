"""The webhook endpoints and deliveries over the API (api.md): administrators only; the secret shown
once; the SSRF guard; the delivery log, its tries and replays; fixed query counts."""

import datetime as dt

import pytest
from django.utils import timezone

from crm.common.outbox import outbox_record
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.services import deliveries_fan_out, endpoint_save

pytestmark = pytest.mark.django_db
ENDPOINTS = "/api/v1/webhook-endpoints/"
DELIVERIES = "/api/v1/webhook-deliveries/"


def _create(api, world, **body):
    return api(world.admin).post(
        ENDPOINTS,
        {"url": "http://127.0.0.1:9/hooks", "events": ["customer.tier_changed"], **body},
        format="json",
    )


def test_create_answers_the_secret_once(world, api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    created = _create(api, world, description="营销系统")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["owner"] == world.admin.pk
    read = api(world.admin).get(f"{ENDPOINTS}{body['id']}/").json()
    assert "secret" not in read
    assert all("secret" not in row for row in api(world.admin).get(ENDPOINTS).json()["results"])


def test_rotate_secret_answers_the_new_one(world, api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    body = _create(api, world).json()
    rotated = api(world.admin).post(f"{ENDPOINTS}{body['id']}/rotate-secret/")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in ("", body["secret"])
    assert rotated.json()["previous_secret_until"] is not None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hooks",  # not http(s)
        "http:///hooks",  # no host
        "http://127.0.0.1:8000/hooks",  # loopback
        "http://10.1.2.3/hooks",  # private
        "http://169.254.169.254/latest/meta-data/",  # link-local (cloud metadata)
        "http://localhost/hooks",  # resolves to loopback
        "http://[::1]/hooks",
        "javascript:alert(1)",
    ],
)
def test_a_url_that_is_not_public_http_is_refused_on_its_field(world, api, url):
    response = _create(api, world, url=url)
    assert response.status_code == 400
    assert "url" in response.json()
    assert not WebhookEndpoint.objects.exists()


def test_private_urls_pass_when_the_setting_allows_them(world, api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    assert _create(api, world, url="http://10.1.2.3/hooks").status_code == 201


def test_an_unknown_event_type_is_refused(world, api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    response = _create(api, world, events=["customer.deleted"])
    assert response.status_code == 400
    assert "events" in response.json()
    assert _create(api, world, events=[]).status_code == 400


@pytest.mark.parametrize("persona", ["manager_a", "supervisor", "integration", "staff"])
def test_only_administrators_see_webhooks(world, api, persona):
    user = getattr(world, persona)
    user = getattr(user, "user", user)
    client = api(user)
    assert client.get(ENDPOINTS).status_code == 403
    assert client.get(DELIVERIES).status_code == 403
    assert _create(lambda _u: client, world).status_code == 403


def _deliveries(count, endpoint):
    for i in range(count):
        outbox_record("customer.tier_changed", {"customer": i})
    deliveries_fan_out()


@pytest.fixture
def endpoint(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    return endpoint_save(endpoint=None, by=None, url="http://127.0.0.1:9/h", events=["customer.tier_changed"])


@pytest.mark.parametrize("count", [2, 12])
def test_the_delivery_log_reads_in_fixed_queries(world, api, endpoint, count, django_assert_max_num_queries):
    _deliveries(count, endpoint)
    client = api(world.admin)
    with django_assert_max_num_queries(8):
        response = client.get(DELIVERIES, {"endpoint": endpoint.pk, "status": "pending"})
    assert response.status_code == 200
    assert response.json()["count"] == count
    row = response.json()["results"][0]
    assert row["event_id"].startswith("msg_")
    assert row["status"] == "pending"


def test_replay_one_delivery_starts_a_new_round(world, api, endpoint):
    _deliveries(1, endpoint)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.EXHAUSTED, attempts=10)
    response = api(world.admin).post(f"{DELIVERIES}{delivery.pk}/replay/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)


def test_replay_of_an_endpoint_turned_off_is_refused(world, api, endpoint):
    _deliveries(1, endpoint)
    WebhookEndpoint.objects.update(active=False)
    response = api(world.admin).post(f"{DELIVERIES}{WebhookDelivery.objects.get().pk}/replay/")
    assert response.status_code == 400
    assert "endpoint" in response.json()


def test_replay_a_time_range(world, api, endpoint):
    _deliveries(3, endpoint)
    old = WebhookDelivery.objects.order_by("pk").first()
    WebhookDelivery.objects.update(status=DeliveryStatus.FAILED)
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    until = (timezone.now() + dt.timedelta(minutes=1)).isoformat()
    response = api(world.admin).post(
        f"{DELIVERIES}replay/", {"since": since, "until": until, "status": "failed"}, format="json"
    )
    assert response.status_code == 202
    assert response.json() == {"replayed": 2}
    assert WebhookDelivery.objects.get(pk=old.pk).status == DeliveryStatus.FAILED
    backwards = api(world.admin).post(f"{DELIVERIES}replay/", {"since": until, "until": since}, format="json")
    assert backwards.status_code == 400
    assert "until" in backwards.json()


def test_a_delivery_detail_shows_its_tries_and_payload(world, api, endpoint):
    _deliveries(1, endpoint)
    body = api(world.admin).get(f"{DELIVERIES}{WebhookDelivery.objects.get().pk}/").json()
    assert body["payload"] == {"customer": 0}
    assert body["tries"] == []
