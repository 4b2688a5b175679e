"""manage.py seed_demo: the shape of the demo county, on SQLite with a small customer base."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import translation

from crm.accounts import roles
from crm.accounts.models import User
from crm.demo.logins import DEMO_LOGINS, DEMO_PASSWORD
from crm.demo.org import ASSIGNMENT_REASON
from customers.models import (
    Branch,
    Category,
    ClassificationRun,
    Community,
    Company,
    ConsumptionRecord,
    Customer,
    Importance,
    Station,
    Status,
    Tier,
    TransformerDistrict,
)
from customers.tiering.classification import classification_run_execute, classification_run_start
from customers.tiering.rules import decide_tier
from managers.models import ROLE_FOR_TIER, Assignment, Manager, Role

CUSTOMERS = 300
UNTIL = "2026-06"


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", customers=CUSTOMERS, until=UNTIL, stdout=out, **options)
    return out.getvalue()


def snapshot() -> list[tuple]:
    customers = list(
        Customer.objects.order_by("account_no").values_list(
            "account_no",
            "name",
            "category",
            "voltage_kv",
            "contracted_capacity_kva",
            "importance",
            "station__code",
            "community__code",
            "transformer_district__code",
            "address",
            "status",
            "tier",
            "manager__username",
            "annual_consumption_kwh",
        )
    )
    consumption = list(
        ConsumptionRecord.objects.order_by("customer__account_no", "period").values_list(
            "customer__account_no", "period", "kwh", "amount_yuan", "max_demand_kw"
        )
    )
    staff = list(
        User.objects.order_by("username").values_list("username", "full_name", "supervisor__username")
    )
    return [customers, consumption, staff]


def seeded_snapshot(**options) -> list[list[tuple]]:
    """Seed inside a savepoint, take the snapshot, roll the seed back."""
    with transaction.atomic():
        seed(**options)
        shot = snapshot()
        transaction.set_rollback(True)
    return shot


@pytest.fixture
def seeded(db) -> str:
    return seed()


def test_seed_builds_one_branch_with_three_stations_and_their_territories(seeded):
    # given a seeded database / then
    assert Company.objects.count() == 1
    assert Branch.objects.count() == 1
    assert sorted(Station.objects.values_list("name", flat=True)) == sorted(
        ["城关供电所", "河口供电所", "青石供电所"]
    )
    assert Community.objects.count() == 20
    assert TransformerDistrict.objects.count() == 60
    assert not TransformerDistrict.objects.filter(transformer_code="").exists()
    capacities = set(TransformerDistrict.objects.values_list("rated_capacity_kva", flat=True))
    assert min(capacities) >= 100
    assert max(capacities) <= 630


def test_every_territory_is_served_by_a_manager_of_its_kind_in_its_station(seeded):
    # given a seeded database / then
    for model, role in (
        (Community, Role.COMMUNITY_MANAGER),
        (TransformerDistrict, Role.TRANSFORMER_DISTRICT_MANAGER),
    ):
        for territory in model.objects.select_related("manager__manager_profile"):
            profile = territory.manager.manager_profile
            assert (profile.role, profile.station_id) == (role, territory.station_id)


def test_each_station_has_managers_of_every_role_reporting_to_its_supervisor(seeded):
    # given a seeded database / then
    director = User.objects.get(username="director")
    for station in Station.objects.all():
        managers = Manager.objects.filter(station=station).select_related("user__supervisor")
        assert {m.role for m in managers} == set(Role.values)
        supervisors = {m.user.supervisor for m in managers}
        assert len(supervisors) == 1
        supervisor = supervisors.pop()
        assert supervisor.supervisor == director
        assert supervisor.groups.filter(name=roles.SUPERVISOR).exists()
        assert all(m.active and m.employee_no for m in managers)
        assert all(m.user.groups.filter(name=roles.ACCOUNT_MANAGER).exists() for m in managers)


def test_demo_logins_exist_with_their_roles_and_the_one_password(seeded):
    # given a seeded database
    validate_password(DEMO_PASSWORD)
    # then every advertised login signs in with the demo password
    for _label, username in DEMO_LOGINS:
        assert User.objects.get(username=username).check_password(DEMO_PASSWORD), username
    admin = User.objects.get(username="admin")
    assert admin.is_staff
    assert admin.groups.filter(name=roles.ADMINISTRATOR).exists()
    assert User.objects.get(username="billing").groups.filter(name=roles.INTEGRATION_CLIENT).exists()


def test_seed_prints_the_demo_logins_and_the_password(seeded):
    # given the command's output / then
    for _label, username in DEMO_LOGINS:
        assert re.search(rf"\b{username}\b", seeded)
    assert DEMO_PASSWORD in seeded


def test_every_active_customer_has_a_manager_of_its_tiers_role_in_its_station(seeded):
    # given a seeded database
    customers = Customer.objects.active().select_related("manager__manager_profile")
    # then
    assert customers.count() > CUSTOMERS * 0.9
    for customer in customers:
        profile = customer.manager.manager_profile
        assert profile.role == ROLE_FOR_TIER[customer.tier]
        assert profile.station_id == customer.station_id


def test_territory_customers_follow_their_territorys_manager(seeded):
    # given a seeded database / then
    community = Customer.objects.active().in_tier(Tier.COMMUNITY).select_related("community")
    district = (
        Customer.objects.active().in_tier(Tier.TRANSFORMER_DISTRICT).select_related("transformer_district")
    )
    assert all(c.manager_id == c.community.manager_id for c in community)
    assert all(c.manager_id == c.transformer_district.manager_id for c in district)


def test_every_customer_has_one_current_assignment_to_its_manager(seeded):
    # given a seeded database
    current = Assignment.objects.current()
    # then
    assert current.count() == Customer.objects.count()
    assert set(current.values_list("reason", flat=True)) == {ASSIGNMENT_REASON}
    assert not any(a.manager_id != a.customer.manager_id for a in current.select_related("customer"))


def test_tier_mix_holds_all_four_tiers_decided_by_the_tiering_rules(seeded):
    # given a seeded database
    customers = list(Customer.objects.all())
    # then
    assert {c.tier for c in customers} == set(Tier.values)
    for c in customers:
        decision = decide_tier(
            annual_kwh=c.annual_consumption_kwh,
            voltage_kv=c.voltage_kv,
            capacity_kva=c.contracted_capacity_kva,
            importance=c.importance,
            in_community=c.community_id is not None,
        )
        assert c.tier == decision.tier, c


def test_a_reclassification_right_after_the_seed_changes_no_tier(seeded):
    # given a seeded database
    run, _created = classification_run_start(trigger=ClassificationRun.Trigger.MANUAL)
    # when the product reclassifies every customer with the policy in force
    run = classification_run_execute(run_id=run.pk)
    # then
    assert run.status == ClassificationRun.State.DONE
    assert run.examined > 0
    assert run.changed == 0


def test_important_customers_include_a_level_1_hospital_and_water_works(seeded):
    # given a seeded database / then
    level_1 = Customer.objects.filter(importance=Importance.LEVEL_1)
    assert {c.tier for c in level_1} == {Tier.VIP}
    assert any("医院" in c.name for c in level_1)
    assert any("水厂" in c.name for c in level_1)
    assert Customer.objects.filter(importance=Importance.LEVEL_2).exists()
    assert Customer.objects.filter(voltage_kv__gte=35).exists()


def test_customers_have_chinese_names_by_category(seeded):
    # given a seeded database / then
    residents = Customer.objects.filter(category=Category.RESIDENTIAL).values_list("name", flat=True)
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", name) for name in residents)
    industry = Customer.objects.filter(category=Category.INDUSTRIAL).values_list("name", flat=True)
    assert industry
    assert all(name.endswith("有限公司") for name in industry)


def test_every_active_customer_has_36_months_ending_with_the_given_month(seeded):
    # given a seeded database
    active = Customer.objects.active()
    # then
    for customer in active.prefetch_related("consumption"):
        periods = sorted(r.period for r in customer.consumption.all())
        assert len(periods) == 36
        assert (periods[0], periods[-1]) == (dt.date(2023, 7, 1), dt.date(2026, 6, 1))
    assert set(active.values_list("latest_period", flat=True)) == {dt.date(2026, 6, 1)}


def test_annual_consumption_is_what_the_reclassification_computes(seeded):
    from tests.customers.tiering_helpers import reclassify

    # given the annual figures the seed wrote
    before = dict(Customer.objects.values_list("pk", "annual_consumption_kwh"))
    # when the product's own rule (the reclassification writes the figures) recomputes them
    reclassify()
    # then nothing changes
    assert dict(Customer.objects.values_list("pk", "annual_consumption_kwh")) == before


def test_residential_consumption_peaks_in_summer_and_winter(seeded):
    # given the residential records of the last full year
    def mean_for(month: int) -> Decimal:
        records = ConsumptionRecord.objects.filter(
            customer__category=Category.RESIDENTIAL,
            customer__status=Status.ACTIVE,
            period__month=month,
            period__year=2025,
        )
        values = list(records.values_list("kwh", flat=True))
        return sum(values) / len(values)

    # then August and January use more than April and October
    assert min(mean_for(8), mean_for(1)) > max(mean_for(4), mean_for(10)) * Decimal("1.2")


def test_some_large_customers_grow_and_some_shrink(seeded):
    # given each VIP and key account's last 12 months against the 12 before them
    changes = []
    for customer in Customer.objects.active().filter(tier__in=[Tier.VIP, Tier.KEY_ACCOUNT]):
        kwh = [r.kwh for r in customer.consumption.order_by("period")]
        changes.append(sum(kwh[-12:]) / sum(kwh[-24:-12]))
    # then
    assert any(change > Decimal("1.05") for change in changes)
    assert any(change < Decimal("0.95") for change in changes)


def test_if_empty_leaves_existing_customers_alone(seeded):
    # given a seeded database
    before = snapshot()
    # when seeding again with --if-empty and another seed
    out = io.StringIO()
    with translation.override("en"):
        call_command("seed_demo", customers=50, seed=7, if_empty=True, stdout=out)
    # then nothing changed
    assert snapshot() == before
    assert "already" in out.getvalue()


def test_seed_refuses_to_add_a_second_county_to_existing_customers(seeded):
    # given a seeded database / when / then
    with pytest.raises(CommandError):
        seed()


def test_same_seed_gives_the_same_data(db):
    # given / when seeding twice with the same seed
    first, second = seeded_snapshot(), seeded_snapshot()
    # then
    assert first[0]
    assert first == second


def test_another_seed_gives_other_customers(db):
    # given / when seeding with two seeds
    first, other = seeded_snapshot(), seeded_snapshot(seed=12345)
    # then
    assert first[0] != other[0]


@pytest.mark.postgres
def test_the_fast_load_on_postgresql_leaves_every_constraint_and_index_as_it_was(db):
    # given the constraints and indexes of the tables the seed loads with COPY
    tables = [m._meta.db_table for m in (Customer, ConsumptionRecord, Assignment)]

    def shape() -> dict:
        with connection.cursor() as cursor:
            return {t: connection.introspection.get_constraints(cursor, t) for t in tables}

    before = shape()
    # when
    seed()
    # then
    assert shape() == before


def test_every_vip_and_key_account_has_a_primary_contact(db):
    # Given a seeded county
    call_command("seed_demo", customers=300, verbosity=0)
    # then each customer a manager phones has exactly one primary contact with a phone number
    from customers.models import Contact, Customer, Tier

    big = Customer.objects.filter(tier__in=[Tier.VIP, Tier.KEY_ACCOUNT])
    assert big.exists()
    primaries = Contact.objects.filter(customer__in=big, is_primary=True)
    assert primaries.count() == big.count()
    assert not primaries.filter(phone="").exists()
