"""The webhooks pages in a browser, in Chinese, on a 390-pixel phone and a 1366-pixel desk: an
administrator adds an endpoint and copies its secret, opens it, sees its deliveries and replays one.
Screenshots go to /tmp/shots. Drives Debian's Chromium through Playwright (skips without it)."""

from pathlib import Path

import pytest

from crm.common.outbox import outbox_record
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.services import deliveries_fan_out
from tests.e2e.browser import PHONE, chromium, log_in

SHOTS = Path("/tmp/shots")  # noqa: S108 - where the brief asks the screenshots to be
DESK = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN"}


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"webhooks_{name}.png"), full_page=True)


def _fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.browser
@pytest.mark.parametrize(("size", "context"), [("phone", PHONE), ("desk", DESK)])
def test_an_administrator_adds_an_endpoint_sees_its_deliveries_and_replays_one(
    transactional_db, world, live_server, monkeypatch, settings, size, context
):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    base = live_server.url
    width = context["viewport"]["width"]
    with chromium(monkeypatch) as browser:
        page = browser.new_context(**context).new_page()
        page.set_default_timeout(15_000)
        log_in(page, base, "admin")
        # given the webhooks page, from the menu
        page.goto(f"{base}/integrations/webhooks/")
        assert "Webhook 推送" in page.inner_text("h1")
        # when the administrator adds an endpoint for tier changes
        page.fill("input[name=url]", "http://10.20.30.40/crm/hooks")
        page.fill("input[name=description]", "营销系统")
        page.check("input[value='customer.tier_changed']")
        page.click("#add-endpoint button[type=submit]")
        # then its secret is shown this once
        page.wait_for_selector("#new-secret")
        endpoint = WebhookEndpoint.objects.get()
        assert endpoint.secret in page.inner_text("#new-secret")
        assert "请立即复制签名密钥" in page.inner_text("#new-secret")
        _shot(page, f"created_{size}")
        assert _fits(page, width)
        # and with three events delivered or not, the endpoint's page lists them
        for customer in (1, 2, 3):
            outbox_record("customer.tier_changed", {"customer": customer})
        deliveries_fan_out()
        first = WebhookDelivery.objects.order_by("pk").first()
        WebhookDelivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.EXHAUSTED, attempts=10)
        page.click("#new-secret a.button")
        page.wait_for_selector("#deliveries-title")
        text = page.inner_text("main") if page.query_selector("main") else page.inner_text("body")
        assert "客户分级变更" in text
        assert "重试用尽" in text
        _shot(page, f"endpoint_{size}")
        assert _fits(page, width)
        # when one is replayed
        page.click(f"form[action='/integrations/deliveries/{first.pk}/replay/'] button")
        page.wait_for_selector("ul.messages")
        assert "webhook-id 不变" in page.inner_text("ul.messages")
        first.refresh_from_db()
        assert first.status == DeliveryStatus.PENDING
        _shot(page, f"replayed_{size}")
