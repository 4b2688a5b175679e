"""What a reclassification writes on the customers table: a customer row only where its tier or its
monthly figures changed; `updated_at` only where the tier did; and on PostgreSQL a figures-only
change as a heap-only (HOT) update, with no index entry (issue 21, migration 0010)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from customers.models import Customer, Tier
from tests.customers.tiering_helpers import LATEST, add_consumption, reclassify
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
EARLIER = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)


def _stamped(**fields) -> Customer:
    """A customer whose `updated_at` is a known moment in the past."""
    customer = CustomerFactory(**fields)
    Customer.objects.filter(pk=customer.pk).update(updated_at=EARLIER)
    return customer


def _row_versions(*customers) -> dict[int, tuple[str, str]]:
    """Each customer's row version on PostgreSQL: (ctid, xmin) change with every write of the row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, ctid::text, xmin::text FROM customers_customer WHERE id = ANY(%s)",
            [[c.pk for c in customers]],
        )
        return {pk: (ctid, xmin) for pk, ctid, xmin in cursor.fetchall()}


def _customer_updates() -> tuple[int, int]:
    """Rows of customers_customer updated so far in this transaction: all of them, and those
    updated as heap-only tuples (no new index entry)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated('customers_customer'::regclass), "
            "pg_stat_get_xact_tuples_hot_updated('customers_customer'::regclass)"
        )
        updated, hot = cursor.fetchone()
    return int(updated), int(hot)


def test_a_run_writes_the_new_annual_figure_but_keeps_updated_at_when_the_tier_stays():
    # Given a household whose tier is right, with a year of readings it was not yet classified on
    customer = _stamped(tier=Tier.TRANSFORMER_DISTRICT)
    add_consumption(customer, total="3600")
    # When a run classifies it
    reclassify()
    # Then its figures are current, and its updated_at has not moved
    customer.refresh_from_db()
    assert (customer.tier, customer.annual_consumption_kwh, customer.latest_period) == (
        Tier.TRANSFORMER_DISTRICT,
        Decimal("3600"),
        LATEST,
    )
    assert customer.updated_at == EARLIER


def test_a_run_moves_updated_at_when_the_tier_changes():
    customer = _stamped(tier=Tier.TRANSFORMER_DISTRICT, contracted_capacity_kva=Decimal("400"))
    reclassify()
    customer.refresh_from_db()
    assert customer.tier == Tier.KEY_ACCOUNT
    assert customer.updated_at > EARLIER


def test_a_new_month_rewrites_the_figures_and_leaves_updated_at_alone():
    # Given a customer classified on last month's readings
    customer = _stamped(tier=Tier.TRANSFORMER_DISTRICT)
    add_consumption(customer, total="3600", latest=dt.date(2026, 8, 1))
    reclassify()
    Customer.objects.filter(pk=customer.pk).update(updated_at=EARLIER)
    # When this month's reading lands and the run after it classifies the customer again
    add_consumption(customer, total="4800", months=1, latest=LATEST)
    reclassify()
    # Then the trailing 12 months end at this month; the tier, and so updated_at, stay
    customer.refresh_from_db()
    assert customer.latest_period == LATEST
    assert customer.annual_consumption_kwh == Decimal("3600") - Decimal("300") + Decimal("4800")
    assert (customer.tier, customer.updated_at) == (Tier.TRANSFORMER_DISTRICT, EARLIER)


@pytest.mark.postgres
def test_a_run_writes_no_customer_row_whose_tier_and_figures_did_not_change():
    # Given a customer with nothing to change, one whose figures change and one whose tier changes
    unchanged = CustomerFactory(tier=Tier.TRANSFORMER_DISTRICT)
    figures = CustomerFactory(tier=Tier.TRANSFORMER_DISTRICT)
    add_consumption(figures, total="3600")
    moved = CustomerFactory(tier=Tier.TRANSFORMER_DISTRICT, contracted_capacity_kva=Decimal("400"))
    before = _row_versions(unchanged, figures, moved)
    updated_before, _hot = _customer_updates()
    # When a run classifies them
    reclassify()
    # Then only the two that changed were written
    after = _row_versions(unchanged, figures, moved)
    assert after[unchanged.pk] == before[unchanged.pk]
    assert after[figures.pk] != before[figures.pk]
    assert after[moved.pk] != before[moved.pk]
    assert _customer_updates()[0] - updated_before == 2


@pytest.mark.postgres
def test_a_month_landing_rewrites_the_figures_as_heap_only_updates():
    # Given customers classified on last month's readings, and this month's landing for all of them
    customers = [CustomerFactory(tier=Tier.TRANSFORMER_DISTRICT) for _ in range(5)]
    for customer in customers:
        add_consumption(customer, total="3600", latest=dt.date(2026, 8, 1))
    reclassify()
    for customer in customers:
        add_consumption(customer, total="450", months=1, latest=LATEST)
    updated_before, hot_before = _customer_updates()
    # When the run after it classifies them (no tier changes)
    reclassify()
    # Then every customer row was rewritten, each without a new index entry
    updated, hot = _customer_updates()
    assert (updated - updated_before, hot - hot_before) == (5, 5)


@pytest.mark.postgres
def test_the_customers_table_leaves_room_in_each_page_for_the_monthly_rewrite():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = 'customers_customer'::regclass")
        (options,) = cursor.fetchone()
    assert "fillfactor=50" in (options or [])


@pytest.mark.postgres
def test_the_records_unique_index_carries_kwh_so_a_chunk_reads_its_records_from_the_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef('consumption_one_per_period'::regclass)")
        (definition,) = cursor.fetchone()
    assert definition.endswith("(customer_id, period) INCLUDE (kwh)")
