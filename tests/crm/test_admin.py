"""The Django admin: administrators can use every page of it, nobody else can sign in to it, and
customers saved there go through the same services as the API."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from crm.accounts import roles
from customers.models import Customer, Tier, TierPolicy
from tests.factories import CommunityFactory, ConsumptionFactory, ContactFactory, StationFactory, UserFactory

PRODUCT_APPS = {"accounts", "common", "customers", "managers"}


def registered(app_labels):
    return sorted(
        (model._meta.app_label, model._meta.model_name)
        for model in admin.site._registry
        if model._meta.app_label in app_labels
    )


def test_every_model_of_the_product_apps_is_in_the_admin():
    expected = {
        (model._meta.app_label, model._meta.model_name)
        for label in PRODUCT_APPS
        for model in apps.get_app_config(label).get_models()
    }

    assert set(registered(PRODUCT_APPS)) == expected


@pytest.mark.parametrize(("app_label", "model_name"), registered(PRODUCT_APPS - {"common"}))
def test_administrator_can_open_each_list_of_the_admin(client, world, app_label, model_name):
    ConsumptionFactory(customer=world.customer_a)
    ContactFactory(customer=world.customer_a)
    client.force_login(world.admin)

    response = client.get(reverse(f"admin:{app_label}_{model_name}_changelist"), {"q": "1"})

    assert response.status_code == 200


def test_administrator_can_open_a_customer_and_a_manager(client, world):
    client.force_login(world.admin)

    customer = client.get(reverse("admin:customers_customer_change", args=[world.customer_a.pk]))
    manager = client.get(reverse("admin:managers_manager_change", args=[world.manager_a.pk]))

    assert customer.status_code == manager.status_code == 200


@pytest.mark.parametrize("persona", ["supervisor", "integration"])
def test_users_who_are_not_administrators_cannot_sign_in_to_the_admin(client, world, persona):
    client.force_login(getattr(world, persona))

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def customer_form(station, **extra):
    return {
        "account_no": "3300000001",
        "name": "新建材厂",
        "category": "industrial",
        "industry_code": "",
        "voltage_kv": "10",
        "contracted_capacity_kva": "400",
        "importance": "none",
        "station": station.pk,
        "community": "",
        "transformer_district": "",
        "address": "",
        "status": "active",
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-name": "孙主任",
        "contacts-0-phone": "13700000000",
        "contacts-0-is_primary": "on",
        **extra,
    }


def test_customer_added_in_the_admin_gets_its_tier_from_the_rules(client, world):
    client.force_login(world.admin)

    response = client.post(reverse("admin:customers_customer_add"), customer_form(world.station_a))

    assert response.status_code == 302
    customer = Customer.objects.get(account_no="3300000001")
    assert customer.tier == Tier.KEY_ACCOUNT  # 400 kVA >= 315 kVA
    assert customer.contacts.get().name == "孙主任"


def test_admin_refuses_a_community_of_another_station(client, world):
    community = CommunityFactory(station=StationFactory())
    client.force_login(world.admin)

    response = client.post(
        reverse("admin:customers_customer_add"), customer_form(world.station_a, community=community.pk)
    )

    assert response.status_code == 200
    assert not Customer.objects.filter(account_no="3300000001").exists()


def test_admin_refuses_a_territory_manager_of_the_wrong_role(client, world):
    client.force_login(world.admin)

    response = client.post(
        reverse("admin:customers_community_add"),
        {"station": world.station_a.pk, "code": "CM9", "name": "东门社区", "manager": world.manager_a.pk},
    )

    assert response.status_code == 200
    assert "manager" in response.context["adminform"].form.errors


def test_user_admin_lets_an_administrator_set_the_supervisor(client, world):
    client.force_login(world.admin)
    user = UserFactory(username="newcomer", role=roles.ACCOUNT_MANAGER)

    response = client.get(reverse("admin:accounts_user_change", args=[user.pk]))

    assert 'name="supervisor"' in response.content.decode()


def test_tier_policy_added_in_the_admin_becomes_the_next_version(client, world):
    newest = TierPolicy.objects.order_by("-version").first()
    client.force_login(world.admin)
    form = client.get(reverse("admin:customers_tierpolicy_add")).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data = {name: "" if value is None else value for name, value in data.items()}
    data.update({"effective_from": "2027-01-01", "key_capacity_kva": "400", "note": "raise the bar"})

    response = client.post(reverse("admin:customers_tierpolicy_add"), data)

    assert response.status_code == 302
    created = TierPolicy.objects.get(note="raise the bar")
    assert created.version == newest.version + 1
    assert created.key_capacity_kva == 400
