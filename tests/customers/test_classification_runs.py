"""A classification run as a record: starting, never overlapping, resuming after a crash, failing."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import ClassificationRun, Customer, Importance, Tier, TierChange
from customers.tiering import classification
from customers.tiering.classification import (
    RunBusy,
    classification_run_execute,
    classification_run_start,
)
from customers.tiering.tasks import reclassify_customers_task
from tests.customers.tiering_helpers import add_consumption, reclassify
from tests.factories import CommunityFactory, CustomerFactory

pytestmark = pytest.mark.django_db
State = ClassificationRun.State


class WorkerKilled(BaseException):
    """Stands for the worker process dying: no `except Exception` sees it."""


def build_varied_customers(count: int = 40, seed: int = 7) -> None:
    rng = random.Random(seed)
    community = CommunityFactory()
    for _ in range(count):
        customer = CustomerFactory(
            tier=rng.choice(Tier.values),
            voltage_kv=Decimal(rng.choice(["0.38", "10", "35", "110"])),
            contracted_capacity_kva=Decimal(rng.choice(["8", "280", "300", "315", "630"])),
            importance=rng.choice(Importance.values),
            community=community if rng.random() < 0.4 else None,
        )
        months = rng.choice([0, 3, 12])
        if months:
            add_consumption(
                customer,
                total=rng.choice(["500000", "950000", "1000000", "9500000", "12000000"]),
                months=months,
            )


def snapshot() -> tuple:
    return (
        sorted(Customer.objects.values_list("pk", "tier", "annual_consumption_kwh")),
        sorted(TierChange.objects.values_list("customer_id", "old_tier", "new_tier", "rule")),
    )


def test_start_queues_a_run_and_enqueues_the_chain_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("crm.jobs.classification_queued", lambda run_id: queued.append(run_id))
    with django_capture_on_commit_callbacks(execute=True):
        run, created = classification_run_start(trigger=ClassificationRun.Trigger.MANUAL)
    assert (created, run.status, queued) == (True, State.QUEUED, [run.pk])


def test_start_returns_the_run_already_waiting_instead_of_a_second_one():
    first, _ = classification_run_start(trigger=ClassificationRun.Trigger.SCHEDULE)
    second, created = classification_run_start(trigger=ClassificationRun.Trigger.MANUAL)
    assert (second.pk, created) == (first.pk, False)
    assert ClassificationRun.objects.count() == 1


def test_database_refuses_two_running_runs():
    ClassificationRun.objects.create(trigger="manual", status=State.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClassificationRun.objects.create(trigger="manual", status=State.RUNNING)


def test_a_run_waits_while_another_is_running():
    CustomerFactory(contracted_capacity_kva=Decimal("400"))
    ClassificationRun.objects.create(trigger="manual", status=State.RUNNING)
    waiting = ClassificationRun.objects.create(trigger="manual")
    with pytest.raises(RunBusy):
        classification_run_execute(run_id=waiting.pk)
    waiting.refresh_from_db()
    assert waiting.status == State.QUEUED
    assert not TierChange.objects.exists()


def test_a_running_run_without_progress_for_hours_is_abandoned_for_a_new_one(settings):
    settings.RECLASSIFY_STALE_MINUTES = 60
    stale = ClassificationRun.objects.create(trigger="manual", status=State.RUNNING)
    ClassificationRun.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - dt.timedelta(hours=2))
    run = reclassify()
    stale.refresh_from_db()
    assert (stale.status, run.status) == (State.FAILED, State.DONE)
    assert stale.error  # why it was abandoned


def test_resumed_run_after_a_crash_ends_as_an_uninterrupted_run(monkeypatch):
    # Given the outcome of an uninterrupted run over a varied set of customers
    build_varied_customers()
    starting = list(Customer.objects.values_list("pk", "tier", "annual_consumption_kwh"))
    clean = reclassify(size=7)
    expected = snapshot()
    expected_counts = (clean.examined, clean.changed, clean.pinned, clean.transitions)
    # ... and the same starting point again
    TierChange.objects.all().delete()
    ClassificationRun.objects.all().delete()
    for pk, tier, annual in starting:
        Customer.objects.filter(pk=pk).update(tier=tier, annual_consumption_kwh=annual, latest_period=None)
    # When the worker dies in the middle of the third chunk
    real = classification.classify_range
    calls = []

    def dying(**kwargs):
        calls.append(kwargs["lo"])
        result = real(**kwargs)
        if len(calls) == 3:
            raise WorkerKilled
        return result

    monkeypatch.setattr(classification, "classify_range", dying)
    run = ClassificationRun.objects.create(trigger="manual")
    with pytest.raises(WorkerKilled):
        classification_run_execute(run_id=run.pk, size=7)
    # ... leaving two chunks done and the third rolled back
    run.refresh_from_db()
    assert (run.status, run.chunks_done) == (State.RUNNING, 2)
    # and the redelivered task resumes it
    monkeypatch.setattr(classification, "classify_range", real)
    classification_run_execute(run_id=run.pk, size=7)
    # Then the end state and the counts are those of the uninterrupted run
    run.refresh_from_db()
    assert run.status == State.DONE
    assert snapshot() == expected
    assert (run.examined, run.changed, run.pinned, run.transitions) == expected_counts


def test_a_failing_run_records_its_error(monkeypatch, django_capture_on_commit_callbacks):
    CustomerFactory()

    def broken(**kwargs):
        raise ValueError("disk on fire")

    monkeypatch.setattr(classification, "classify_range", broken)
    run = ClassificationRun.objects.create(trigger="manual")
    with pytest.raises(ValueError, match="disk on fire"), django_capture_on_commit_callbacks(execute=True):
        reclassify_customers_task.delay(run.pk)  # its chain's first step fails
    run.refresh_from_db()
    assert run.status == State.FAILED
    assert "disk on fire" in run.error
    assert run.finished_at is not None


def test_a_finished_run_is_not_run_again():
    CustomerFactory(contracted_capacity_kva=Decimal("400"))
    run = reclassify()
    Customer.objects.update(tier=Tier.TRANSFORMER_DISTRICT)
    again = classification_run_execute(run_id=run.pk)
    assert again.status == State.DONE
    assert Customer.objects.get().tier == Tier.TRANSFORMER_DISTRICT


def test_consumption_landing_queues_a_reclassification_that_classifies_and_reassigns(
    django_capture_on_commit_callbacks,
):
    # Given a customer whose consumption now makes it a key account
    customer = CustomerFactory()
    # When a month of consumption lands through the import path
    from customers.consumption import consumption_upsert

    rows = [{"account_no": customer.account_no, "period": "2026-09", "kwh": "100000"}]
    with django_capture_on_commit_callbacks(execute=True):
        result = consumption_upsert(rows=rows, customers=Customer.objects.all())
    # Then a run was queued by the consumption hook and ran to the end (eager tasks in tests)
    assert result.created == 1
    run = ClassificationRun.objects.get()
    assert (run.trigger, run.status) == (ClassificationRun.Trigger.CONSUMPTION, State.DONE)
    customer.refresh_from_db()
    assert customer.tier == Tier.KEY_ACCOUNT
    assert run.reassignment == {
        "moved": 0,
        "followed_territory": 0,
        "unassigned": 1,
        "kept": 0,
        "last": customer.pk,
        "finished": True,
    }


def test_beat_queues_a_scheduled_run_on_the_configured_day(settings):
    from customers.tiering.tasks import start_scheduled_reclassification_task

    schedule = settings.CELERY_BEAT_SCHEDULE["reclassify-monthly"]
    assert schedule["task"] == start_scheduled_reclassification_task.name
    assert schedule["schedule"].day_of_month == {settings.RECLASSIFY_DAY_OF_MONTH}
    run_id = start_scheduled_reclassification_task()
    assert ClassificationRun.objects.get(pk=run_id).trigger == ClassificationRun.Trigger.SCHEDULE
