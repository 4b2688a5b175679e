"""tier-policies/, classification-runs/, customers/{id}/tier-history/ and customers/{id}/pin-tier/."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from customers.models import ClassificationRun, Customer, Tier, TierChange, TierPolicy
from tests.customers.tiering_helpers import reclassify

pytestmark = pytest.mark.django_db


def test_tier_history_lists_changes_with_rule_measures_policy_run_and_why(world, api):
    Customer.objects.filter(pk=world.customer_a.pk).update(
        tier=Tier.TRANSFORMER_DISTRICT, contracted_capacity_kva=Decimal("400")
    )
    run = reclassify()
    response = api(world.manager_a.user).get(f"/api/v1/customers/{world.customer_a.pk}/tier-history/")
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["old_tier"], row["new_tier"], row["rule"]) == (
        "transformer_district",
        "key_account",
        "key_account.capacity",
    )
    assert (row["policy_version"], row["run"]) == (1, run.pk)
    assert row["measures"]["capacity_kva"] == 400
    assert row["explanation"]


def test_tier_history_of_another_managers_customer_is_404(world, api):
    response = api(world.manager_a.user).get(f"/api/v1/customers/{world.customer_b.pk}/tier-history/")
    assert response.status_code == 404


def test_supervisor_pins_a_tier_with_reason_and_expiry(world, api, django_capture_on_commit_callbacks):
    until = timezone.localdate() + dt.timedelta(days=90)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.supervisor).post(
            f"/api/v1/customers/{world.customer_a.pk}/pin-tier/",
            {"tier": "vip", "reason": "市重点招商项目", "until": until.isoformat()},
        )
    assert response.status_code == 200
    assert response.json() == {
        "customer": world.customer_a.pk,
        "tier": "vip",
        "tier_pinned": True,
        "reason": "市重点招商项目",
        "until": until.isoformat(),
        "pinned_by": world.supervisor.pk,
    }
    change = TierChange.objects.get(customer=world.customer_a)
    assert (change.rule, change.by, change.old_tier) == ("manual.pin", world.supervisor, "key_account")
    # the customer left its key-account manager for the VIP list: nobody of that role in the station
    world.customer_a.refresh_from_db()
    assert world.customer_a.manager_id is None


def test_pinned_tier_survives_reclassification(world, api):
    api(world.admin).post(
        f"/api/v1/customers/{world.customer_b.pk}/pin-tier/", {"tier": "vip", "reason": "政府"}
    )
    run = reclassify()
    world.customer_b.refresh_from_db()
    assert (world.customer_b.tier, run.pinned) == (Tier.VIP, 1)


def test_unpin_releases_the_tier_to_the_next_reclassification(world, api):
    client = api(world.supervisor)
    client.post(f"/api/v1/customers/{world.customer_a.pk}/pin-tier/", {"tier": "vip", "reason": "政府"})
    response = client.delete(f"/api/v1/customers/{world.customer_a.pk}/pin-tier/")
    assert response.status_code == 204
    reclassify()
    world.customer_a.refresh_from_db()
    assert (world.customer_a.tier_pinned, world.customer_a.tier) == (False, Tier.TRANSFORMER_DISTRICT)


def test_pin_needs_a_reason(world, api):
    response = api(world.admin).post(
        f"/api/v1/customers/{world.customer_a.pk}/pin-tier/", {"tier": "vip", "reason": " "}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"reason"}


def test_pin_cannot_end_in_the_past(world, api):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    response = api(world.admin).post(
        f"/api/v1/customers/{world.customer_a.pk}/pin-tier/",
        {"tier": "vip", "reason": "政府", "until": yesterday.isoformat()},
    )
    assert response.status_code == 400
    assert set(response.json()) == {"until"}


def test_account_manager_may_not_pin(world, api):
    response = api(world.manager_a.user).post(
        f"/api/v1/customers/{world.customer_a.pk}/pin-tier/", {"tier": "vip", "reason": "x"}
    )
    assert response.status_code == 403


def test_supervisor_pinning_a_customer_outside_the_team_gets_404(world, api):
    response = api(world.supervisor).post(
        f"/api/v1/customers/{world.customer_b.pk}/pin-tier/", {"tier": "vip", "reason": "x"}
    )
    assert response.status_code == 404


def test_administrator_adds_a_policy_version(world, api):
    response = api(world.admin).post(
        "/api/v1/tier-policies/",
        {"effective_from": "2027-01-01", "key_capacity_kva": "250", "hysteresis_pct": "5", "note": "2027"},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["version"], body["key_capacity_kva"], body["vip_kwh"]) == (2, 250, 10000000)


def test_policy_keeps_key_account_thresholds_below_vip(world, api):
    response = api(world.admin).post(
        "/api/v1/tier-policies/", {"effective_from": "2027-01-01", "key_kwh": "20000000"}
    )
    assert response.status_code == 400
    assert "key_kwh" in response.json()


@pytest.mark.parametrize(
    "field", ["vip_kwh", "key_kwh", "vip_voltage_kv", "key_capacity_kva", "hysteresis_pct"]
)
def test_a_negative_threshold_is_refused_on_its_field(world, api, field):
    # given a threshold below zero (the outside test sent vip_kwh -4690185740.88)
    response = api(world.admin).post(
        "/api/v1/tier-policies/", {"effective_from": "2027-01-01", field: "-1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    # then the field says why, not the name of the table's constraint
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert "greater than or equal to 0" in response.json()[field][0]


def test_only_administrators_write_policies(world, api):
    response = api(world.integration).post("/api/v1/tier-policies/", {"effective_from": "2027-01-01"})
    assert response.status_code == 403


def test_post_classification_run_answers_202_with_the_run(world, api):
    response = api(world.admin).post("/api/v1/classification-runs/")
    assert response.status_code == 202
    body = response.json()
    run = ClassificationRun.objects.get()
    assert (body["id"], body["status"], body["trigger"], body["started_by"]) == (
        run.pk,
        "queued",
        "manual",
        world.admin.pk,
    )


@pytest.mark.parametrize(
    ("language", "reason"), [("en", "No tier policy is in force"), ("zh-hans", "没有生效的分级策略")]
)
def test_post_classification_run_without_a_policy_in_force_answers_409_with_the_reason(
    world, api, language, reason
):
    # Given no tier policy in force today: the only version takes effect next year
    TierPolicy.objects.update(effective_from=timezone.localdate() + dt.timedelta(days=365))
    # When an administrator asks for a run
    response = api(world.admin).post("/api/v1/classification-runs/", HTTP_ACCEPT_LANGUAGE=language)
    # Then the request conflicts with the state of the policies, says why, and queues nothing
    assert response.status_code == 409, response.content[:300]
    assert reason in response.json()["detail"]
    assert not ClassificationRun.objects.exists()


def test_post_classification_run_while_one_waits_returns_that_one(world, api):
    client = api(world.admin)
    first = client.post("/api/v1/classification-runs/").json()
    second = client.post("/api/v1/classification-runs/").json()
    assert first["id"] == second["id"]


def test_classification_run_shows_counts_and_transitions(world, api):
    Customer.objects.filter(pk=world.customer_a.pk).update(voltage_kv=Decimal("110"))
    run = reclassify()
    body = api(world.admin).get(f"/api/v1/classification-runs/{run.pk}/").json()
    assert (body["status"], body["examined"], body["changed"], body["pinned"]) == ("done", 2, 2, 0)
    assert body["transitions"] == {"key_account->vip": 1, "key_account->transformer_district": 1}
    assert body["policy_version"] == 1


def test_run_changes_list_only_customers_in_scope(world, api):
    run = reclassify()
    world.supervisor.user_permissions.add(Permission.objects.get(codename="view_classificationrun"))
    response = api(world.supervisor).get(f"/api/v1/classification-runs/{run.pk}/changes/")
    assert response.status_code == 200
    assert [row["customer"] for row in response.json()["results"]] == [world.customer_a.pk]


def test_account_manager_cannot_list_runs(world, api):
    assert api(world.manager_a.user).get("/api/v1/classification-runs/").status_code == 403
