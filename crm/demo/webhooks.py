"""Demo webhooks: one endpoint of the billing system, off (the demo has no receiver to call), so
the administrators' webhooks page shows what an endpoint looks like and how to turn one on."""

import datetime as dt

from django.utils.translation import gettext as _

from integrations.models import WebhookEndpoint
from integrations.services import new_secret

DEMO_URL = "https://billing.example.com/crm/webhooks"


def seed_demo(*, seed: int, until: dt.date | None = None) -> str:
    """The entry point `manage.py seed_demo` calls: what it made, in a line. Written with the model,
    not endpoint_save: the demo's URL is an example that resolves nowhere useful, and it stays off."""
    WebhookEndpoint.objects.get_or_create(
        url=DEMO_URL,
        defaults={
            "description": "营销系统（演示：未连接）",
            "events": ["customer.tier_changed", "customer.manager_changed", "service_request.closed"],
            "active": False,
            "secret": new_secret(),
            "disabled_reason": "演示数据：没有真实的接收系统，接入时请改为营销系统的地址后启用。",
        },
    )
    return _("Webhooks: 1 example endpoint (off).")
