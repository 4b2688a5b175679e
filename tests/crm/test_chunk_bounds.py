"""Each chunk's statements are bounded (crm.common.chunks): on PostgreSQL a chunk waits for a lock at
most CHUNK_LOCK_TIMEOUT_MS, for its own transaction only; a run that has not moved for longer than
its chunks take is stalled on its page and in /api/v1/health/. The real worker held up by a real
lock is in test_fault_locks.py."""

import datetime as dt

import psycopg2
import pytest
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from crm.common.chunks import chunk_transaction, run_stalled_for, stalled_runs
from customers.models import ClassificationRun, Customer, ImportJob
from visits.models import VisitRun

HEALTH = "/api/v1/health/"


def _show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_a_chunk_bounds_its_own_transaction_only(transactional_db, settings):
    settings.CHUNK_LOCK_TIMEOUT_MS = 1500
    settings.CHUNK_STATEMENT_TIMEOUT_MS = 30000
    before = (_show("lock_timeout"), _show("statement_timeout"))
    with chunk_transaction():
        assert (_show("lock_timeout"), _show("statement_timeout")) == ("1500ms", "30s")
    assert (_show("lock_timeout"), _show("statement_timeout")) == before


@pytest.mark.postgres
def test_a_chunk_blocked_by_another_transactions_lock_fails_and_writes_nothing(
    transactional_db, world, settings
):
    # Given a customer locked by another connection (a long transaction elsewhere)
    settings.CHUNK_LOCK_TIMEOUT_MS = 200
    db = connection.settings_dict
    other = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or 5432
    )
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM customers_customer WHERE id = %s FOR UPDATE", [world.customer_a.pk]
            )
        # When a chunk updates it; then it gives up after the lock timeout and rolls back whole
        with pytest.raises(OperationalError, match="lock timeout"):
            _chunk_updating(world.customer_b, world.customer_a)
    finally:
        other.rollback()
        other.close()
    assert not Customer.objects.filter(name="changed").exists()


def _chunk_updating(*customers) -> None:
    with chunk_transaction():
        for customer in customers:
            Customer.objects.filter(pk=customer.pk).update(name="changed")


def _run(moved_ago: dt.timedelta, status=ClassificationRun.State.RUNNING) -> ClassificationRun:
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL, status=status)
    ClassificationRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - moved_ago)
    run.refresh_from_db()
    return run


def _import(moved_ago: dt.timedelta, status=ImportJob.State.RUNNING) -> ImportJob:
    job = ImportJob.objects.create(
        kind="customers", file="imports/x.csv", original_name="x.csv", status=status
    )
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - moved_ago)
    job.refresh_from_db()
    return job


def test_a_running_run_that_has_not_moved_for_longer_than_its_chunks_take_is_stalled(db, settings):
    settings.RUN_STALLED_AFTER_SECONDS = 120
    assert run_stalled_for(_import(dt.timedelta(seconds=30))) is None
    assert run_stalled_for(_import(dt.timedelta(minutes=5))) >= dt.timedelta(minutes=5)
    assert run_stalled_for(_import(dt.timedelta(hours=1), status=ImportJob.State.DONE)) is None


def test_health_lists_stalled_runs_of_every_run_table_and_is_degraded(api, db, settings):
    # Given a classification stalled for 10 minutes, a visit run for 3, and a run moving now
    settings.RUN_STALLED_AFTER_SECONDS = 120
    stalled = _run(dt.timedelta(minutes=10))
    _import(dt.timedelta(seconds=10))
    visit = VisitRun.objects.create(
        job=VisitRun.Job.GENERATE, day=timezone.localdate(), status=VisitRun.State.RUNNING
    )
    VisitRun.objects.filter(pk=visit.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=3))
    # When the probe asks; then both stalled runs are named, the longest first
    body = api().get(HEALTH).json()
    assert body["runs"] == "stalled"
    assert body["status"] == "degraded"
    assert [(row["run"], row["id"]) for row in body["stalled_runs"]] == [
        ("customers.classificationrun", stalled.pk),
        ("visits.visitrun", visit.pk),
    ]
    assert body["stalled_runs"][0]["stalled_seconds"] >= 600


def test_health_says_runs_ok_when_nothing_is_stalled(api, db):
    _run(dt.timedelta(seconds=10))
    _import(dt.timedelta(hours=2), status=ImportJob.State.DONE)
    body = api().get(HEALTH).json()
    assert (body["runs"], body["stalled_runs"]) == ("ok", [])


def test_stalled_runs_costs_one_query_per_run_table_whatever_the_number(
    db, settings, django_assert_num_queries
):
    settings.RUN_STALLED_AFTER_SECONDS = 60
    _import(dt.timedelta(minutes=5))
    from crm.common.chunks import run_tables

    tables = len(run_tables())
    with django_assert_num_queries(tables):
        assert len(stalled_runs()) == 1
    for _ in range(5):
        _import(dt.timedelta(minutes=5))
    with django_assert_num_queries(tables):
        assert len(stalled_runs()) == 6


def test_the_run_page_says_in_chinese_that_a_run_has_stalled_and_for_how_long(client, world, settings):
    settings.RUN_STALLED_AFTER_SECONDS = 120
    run = _run(dt.timedelta(minutes=7))
    client.force_login(world.admin)
    page = client.get(reverse("customers:tier-run", args=[run.pk])).content.decode()
    assert "已停滞：7 分钟没有进展" in page
    fragment = client.get(reverse("customers:tier-run-progress", args=[run.pk])).content.decode()
    assert "已停滞" in fragment
    # Once it moves again the sign goes
    ClassificationRun.objects.filter(pk=run.pk).update(updated_at=timezone.now())
    assert "已停滞" not in client.get(reverse("customers:tier-run", args=[run.pk])).content.decode()
