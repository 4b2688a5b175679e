"""The browser pages of tiering: runs, one run, the button, and the tier history on a customer."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from customers.models import ClassificationRun, Customer, Tier, TierPolicy
from customers.tiering.views import tier_history
from tests.customers.tiering_helpers import reclassify

pytestmark = pytest.mark.django_db


def test_administrator_sees_runs_and_the_reclassify_button(world, client):
    reclassify()
    client.force_login(world.admin)
    response = client.get(reverse("customers:tier-runs"))
    assert response.status_code == 200
    assert reverse("customers:tier-run-start") in response.content.decode()


def test_account_manager_may_not_see_runs(world, client):
    client.force_login(world.manager_a.user)
    assert client.get(reverse("customers:tier-runs")).status_code == 403


def test_reclassify_now_queues_a_run_and_shows_it(world, client):
    client.force_login(world.admin)
    response = client.post(reverse("customers:tier-run-start"))
    run = ClassificationRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("customers:tier-run", args=[run.pk])
    assert (run.trigger, run.started_by) == (ClassificationRun.Trigger.MANUAL, world.admin)


def test_reclassify_now_without_a_policy_in_force_says_why_and_queues_nothing(world, client):
    # Given no tier policy in force today: the only version takes effect next year
    TierPolicy.objects.update(effective_from=timezone.localdate() + dt.timedelta(days=365))
    client.force_login(world.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    # When the administrator presses the button
    response = client.post(reverse("customers:tier-run-start"), follow=True)
    # Then the runs page says why, and no run was queued
    assert response.status_code == 200
    assert "No tier policy is in force" in response.content.decode()
    assert not ClassificationRun.objects.exists()


def test_run_detail_shows_transitions_and_each_change_with_why(world, client):
    Customer.objects.filter(pk=world.customer_a.pk).update(contracted_capacity_kva=Decimal("400"))
    Customer.objects.filter(pk=world.customer_b.pk).update(voltage_kv=Decimal("110"))
    run = reclassify()
    client.force_login(world.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        page = client.get(reverse("customers:tier-run", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert world.customer_b.account_no in html
    assert "VIP: supply voltage 110 kV ≥ 110 kV" in html
    assert world.customer_a.account_no not in html  # it kept its tier: no change to show


def test_tier_history_shows_each_change_and_why_in_plain_words(world):
    Customer.objects.filter(pk=world.customer_a.pk).update(
        tier=Tier.TRANSFORMER_DISTRICT, contracted_capacity_kva=Decimal("400")
    )
    reclassify()
    customer = Customer.objects.get(pk=world.customer_a.pk)
    with translation.override("en"):
        html = _tier_history_html(customer, world.manager_a.user)
    assert (
        html.count("Key account: contracted capacity 400 kVA ≥ 315 kVA") == 2
    )  # today's reason and the change
    assert 'data-label="Why"' in html


def test_tier_history_of_a_pinned_customer_says_it_is_pinned(world):
    Customer.objects.filter(pk=world.customer_a.pk).update(tier_pinned=True, tier_pin_reason="市重点项目")
    customer = Customer.objects.get(pk=world.customer_a.pk)
    with translation.override("en"):
        html = _tier_history_html(customer, world.manager_a.user)
    assert "Pinned: 市重点项目" in html


def test_supervisor_pins_a_tier_from_the_customer_page(world, client):
    client.force_login(world.supervisor)
    response = client.post(
        reverse("customers:pin-tier", args=[world.customer_a.pk]),
        {"tier": "vip", "reason": "市重点招商项目", "until": ""},
    )
    assert response.status_code == 302
    world.customer_a.refresh_from_db()
    assert (world.customer_a.tier, world.customer_a.tier_pinned) == (Tier.VIP, True)


def test_supervisor_releases_a_pin_from_the_customer_page(world, client):
    Customer.objects.filter(pk=world.customer_a.pk).update(tier_pinned=True, tier_pin_reason="x")
    client.force_login(world.supervisor)
    client.post(reverse("customers:pin-tier", args=[world.customer_a.pk]), {"unpin": "1"})
    world.customer_a.refresh_from_db()
    assert world.customer_a.tier_pinned is False


def test_account_manager_cannot_pin_from_the_customer_page(world, client):
    client.force_login(world.manager_a.user)
    response = client.post(
        reverse("customers:pin-tier", args=[world.customer_a.pk]), {"tier": "vip", "reason": "x"}
    )
    assert response.status_code == 403


def test_supervisor_pinning_outside_the_team_from_a_page_gets_404(world, client):
    client.force_login(world.supervisor)
    response = client.post(
        reverse("customers:pin-tier", args=[world.customer_b.pk]), {"tier": "vip", "reason": "x"}
    )
    assert response.status_code == 404


def test_tier_history_offers_the_pin_form_to_supervisors_only(world):
    customer = Customer.objects.get(pk=world.customer_a.pk)
    pin_url = reverse("customers:pin-tier", args=[customer.pk])
    for user, shown in ((world.supervisor, True), (world.manager_a.user, False)):
        html = _tier_history_html(customer, user)
        assert (pin_url in html) is shown


def _tier_history_html(customer, user) -> str:
    """The tier section as the customer page includes it (templates/customers/_tier_history.html)."""
    return render_to_string(
        "customers/_tier_history.html", {"customer": customer, **tier_history(customer=customer, user=user)}
    )


# ---------------------------------------------------------------- the thresholds read with the customer
def _carried(pk):
    from customers.tiering.rules import thresholds_from_column, thresholds_in_force_column

    value = Customer.objects.annotate(thresholds_in_force=thresholds_in_force_column()).get(pk=pk)
    return thresholds_from_column(value.thresholds_in_force)


def test_the_thresholds_read_with_the_customer_are_those_in_force_exactly(world):
    import datetime as dt

    from customers.models import TierPolicy
    from customers.tiering.rules import thresholds_in_force

    top = TierPolicy.objects.order_by("-version").values_list("version", flat=True).first() or 0
    TierPolicy.objects.create(  # an older version, and the newer one in force with odd decimals
        version=top + 1, effective_from=dt.date(2000, 1, 1), vip_kwh=Decimal("1")
    )
    TierPolicy.objects.create(
        version=top + 2,
        effective_from=dt.date(2001, 1, 1),
        vip_kwh=Decimal("12345678.91"),
        key_kwh=Decimal("987654.32"),
        key_capacity_kva=Decimal("250.5"),
        hysteresis_pct=Decimal("7.5"),
        vip_importance="",
    )
    carried = _carried(world.customer_a.pk)
    assert carried == thresholds_in_force()
    assert carried.vip_kwh == Decimal("12345678.91")
    assert isinstance(carried.vip_kwh, Decimal)
    assert carried.hysteresis_pct == Decimal("7.5")
    assert carried.vip_importance == ""


def test_with_no_policy_in_force_the_customer_carries_the_defaults(world):
    from customers.models import TierPolicy
    from customers.tiering.rules import TierThresholds

    TierPolicy.objects.all().delete()
    assert _carried(world.customer_a.pk) == TierThresholds.default()


def test_the_customer_page_explains_the_tier_by_the_policy_in_force(world, client):
    import datetime as dt

    from customers.models import TierPolicy

    top = TierPolicy.objects.order_by("-version").values_list("version", flat=True).first() or 0
    TierPolicy.objects.create(
        version=top + 1, effective_from=dt.date(2001, 1, 1), key_capacity_kva=Decimal("250")
    )
    Customer.objects.filter(pk=world.customer_a.pk).update(
        tier=Tier.KEY_ACCOUNT, contracted_capacity_kva=Decimal("260"), voltage_kv=Decimal("0.4")
    )
    client.force_login(world.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("customers:detail", args=[world.customer_a.pk])).content.decode()
    assert "Key account: contracted capacity 260 kVA ≥ 250 kVA" in html
