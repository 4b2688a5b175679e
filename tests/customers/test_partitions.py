"""The consumption records are partitioned by year on PostgreSQL (migration 0011, customers/partitions.py):
each record lands in its year's partition, the monthly job makes the coming years' partitions, and an
old year is archived by detaching its partition. SQLite keeps the plain table."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from customers.models import ConsumptionRecord, Customer
from customers.partitions import (
    DEFAULT_PARTITION,
    PartitionError,
    archive_name,
    consumption_partitioned,
    consumption_partitions,
    consumption_partitions_ensure,
    consumption_year_detach,
    partition_name,
)
from customers.tasks import ensure_consumption_partitions_task
from tests.factories import ConsumptionFactory, CustomerFactory

THIS_YEAR = timezone.localdate().year


def _partition_of(record: ConsumptionRecord) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM customers_consumptionrecord WHERE id = %s", [record.pk]
        )
        return cursor.fetchone()[0]


def _table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def _partition_names() -> set[str]:
    return {p.name for p in consumption_partitions()}


@pytest.mark.postgres
def test_migrated_table_has_this_and_the_next_two_years_and_a_default_partition(db):
    assert consumption_partitioned()
    assert {partition_name(THIS_YEAR + n) for n in range(3)} | {DEFAULT_PARTITION} <= _partition_names()


@pytest.mark.postgres
def test_a_record_lands_in_the_partition_of_its_year(db):
    record = ConsumptionFactory(period=dt.date(THIS_YEAR, 3, 1))

    assert _partition_of(record) == partition_name(THIS_YEAR)


@pytest.mark.postgres
def test_the_unique_period_per_customer_upsert_still_finds_its_constraint(db):
    """ON CONFLICT (customer_id, period) needs a unique index holding the partition key: 0011 keeps it."""
    record = ConsumptionFactory(period=dt.date(THIS_YEAR, 3, 1), kwh=Decimal("10"))
    ConsumptionRecord.objects.bulk_create(
        [ConsumptionRecord(customer=record.customer, period=record.period, kwh=Decimal("20"))],
        update_conflicts=True,
        unique_fields=["customer", "period"],
        update_fields=["kwh"],
    )

    assert ConsumptionRecord.objects.get(pk=record.pk).kwh == Decimal("20")


@pytest.mark.postgres
def test_ensure_makes_the_missing_years_ahead_once(db):
    made = consumption_partitions_ensure(years_ahead=4)

    assert made == [partition_name(THIS_YEAR + 3), partition_name(THIS_YEAR + 4)]
    assert consumption_partitions_ensure(years_ahead=4) == []


@pytest.mark.postgres
def test_ensure_moves_the_records_of_a_new_year_out_of_the_default_partition(db):
    far = THIS_YEAR + 5
    record = ConsumptionFactory(period=dt.date(far, 1, 1))
    assert _partition_of(record) == DEFAULT_PARTITION

    consumption_partitions_ensure(years_ahead=5)

    assert _partition_of(record) == partition_name(far)
    assert ConsumptionRecord.objects.get(pk=record.pk).period == dt.date(far, 1, 1)


@pytest.mark.postgres
def test_detaching_a_year_archives_its_records_out_of_every_query(db):
    old = THIS_YEAR - 3
    kept = ConsumptionFactory(period=dt.date(THIS_YEAR, 1, 1))
    archived = ConsumptionFactory(customer=kept.customer, period=dt.date(old, 6, 1))
    consumption_partitions_ensure(years_ahead=0, today=dt.date(old, 1, 1))  # the old year's partition
    assert _partition_of(archived) == partition_name(old)

    name = consumption_year_detach(year=old)

    assert name == archive_name(old)
    assert partition_name(old) not in _partition_names()
    assert list(ConsumptionRecord.objects.values_list("pk", flat=True)) == [kept.pk]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {name}")  # noqa: S608 - a name of ours
        assert cursor.fetchall() == [(archived.pk,)]
    kept.customer.delete()  # the archive holds no foreign key to the customer
    assert not Customer.objects.filter(pk=kept.customer_id).exists()


@pytest.mark.postgres
def test_detach_refuses_last_year_and_this_year(db):
    for year in (THIS_YEAR, THIS_YEAR - 1):
        with pytest.raises(PartitionError):
            consumption_year_detach(year=year)
    assert partition_name(THIS_YEAR) in _partition_names()


@pytest.mark.postgres
def test_detach_refuses_a_year_without_a_partition(db):
    with pytest.raises(PartitionError):
        consumption_year_detach(year=THIS_YEAR - 10)


@pytest.mark.postgres
def test_the_migration_moves_the_records_back_and_forth(db):
    """0011 backwards makes the plain table of 0010 with every record, forwards the partitioned one."""
    customer = CustomerFactory()
    records = [
        ConsumptionFactory(customer=customer, period=dt.date(year, 5, 1), kwh=Decimal(year))
        for year in (THIS_YEAR - 2, THIS_YEAR, THIS_YEAR + 1)
    ]
    expected = sorted((r.pk, r.period, r.kwh) for r in records)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("customers")

    executor.migrate([("customers", "0010_customer_monthly_figures_hot")])
    assert not consumption_partitioned()
    assert sorted(ConsumptionRecord.objects.values_list("pk", "period", "kwh")) == expected

    executor.loader.build_graph()
    executor.migrate(latest)
    assert consumption_partitioned()
    assert sorted(ConsumptionRecord.objects.values_list("pk", "period", "kwh")) == expected
    assert _partition_names() >= {partition_name(THIS_YEAR - 2), partition_name(THIS_YEAR + 3)}
    fresh = ConsumptionFactory(customer=customer, period=dt.date(THIS_YEAR, 6, 1))
    assert fresh.pk > max(r.pk for r in records)  # the id sequence carried over


def test_sqlite_keeps_the_plain_table_and_the_job_does_nothing(db):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only: PostgreSQL partitions the table")

    record = ConsumptionFactory(period=dt.date(THIS_YEAR, 1, 1))

    assert not consumption_partitioned()
    assert consumption_partitions_ensure() == []
    with pytest.raises(PartitionError):
        consumption_year_detach(year=THIS_YEAR - 3)
    assert ConsumptionRecord.objects.get() == record


def test_the_monthly_job_makes_what_is_missing_and_nothing_twice(db):
    ensure_consumption_partitions_task.delay()

    assert ensure_consumption_partitions_task.delay().get() == []
    if connection.vendor == "postgresql":
        assert partition_name(THIS_YEAR + 2) in _partition_names()


def test_beat_runs_the_partition_job_monthly():
    entry = settings.CELERY_BEAT_SCHEDULE["consumption-partitions-monthly"]

    assert entry["task"] == ensure_consumption_partitions_task.name
    assert entry["schedule"].day_of_month == {1}
