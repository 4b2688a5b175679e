"""The background jobs: tier-change handling, care detection around its thresholds, overdue marking,
reminders and the supervisors' digest."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone, translation

from customers.models import ClassificationRun, Tier, TierChange
from tests.factories import (
    AssignmentFactory,
    ConsumptionFactory,
    CustomerFactory,
    ManagerFactory,
    UserFactory,
    VisitTaskFactory,
)
from visits.care import care_visits_detect
from visits.generation import tier_changes_handle_for_customers, tier_changes_handle_for_run, visit_run_now
from visits.models import Kind, TaskStatus, VisitRun, VisitTask
from visits.reminders import visit_digest_send, visit_reminders_send, visit_tasks_mark_overdue

DAY = dt.date(2026, 3, 10)


# ---------------------------------------------------------------- tier changes
@pytest.fixture
def moved(world):
    """Customer A moved from key account to vip in a run, and now served by manager B."""
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL, status="done")
    customer = world.customer_a
    customer.tier, customer.manager = Tier.VIP, world.manager_b.user
    customer.save()
    AssignmentFactory(customer=customer, manager=world.manager_b.user, started_at=timezone.now())
    TierChange.objects.create(
        customer=customer,
        old_tier=Tier.KEY_ACCOUNT,
        new_tier=Tier.VIP,
        rule="vip_kwh",
        run=run,
        at=timezone.now(),
    )
    return run


def test_tier_change_cancels_the_old_tiers_open_scheduled_tasks_with_the_reason(world, moved):
    planned = VisitTaskFactory(customer=world.customer_a, manager=world.manager_a.user)
    overdue = VisitTaskFactory(
        customer=world.customer_a,
        manager=world.manager_a.user,
        period=dt.date(2026, 1, 1),
        due_date=dt.date(2026, 1, 31),
        status=TaskStatus.OVERDUE,
    )
    with translation.override("en"):
        tier_changes_handle_for_run(run_id=moved.pk)
    for task in (planned, overdue):
        task.refresh_from_db()
        assert task.status == TaskStatus.CANCELLED
        assert "Key account" in task.cancel_reason
        assert "VIP customer" in task.cancel_reason


def test_tier_change_leaves_done_and_other_kinds_alone(world, moved):
    done = VisitTaskFactory(customer=world.customer_a, status=TaskStatus.DONE)
    care = VisitTaskFactory(customer=world.customer_a, kind=Kind.CARE)
    tier_changes_handle_for_run(run_id=moved.pk)
    assert VisitTask.objects.get(pk=done.pk).status == TaskStatus.DONE
    assert VisitTask.objects.get(pk=care.pk).status == TaskStatus.PLANNED


def test_tier_change_opens_a_welcome_visit_with_the_new_manager(world, moved):
    tier_changes_handle_for_run(run_id=moved.pk)
    welcome = VisitTask.objects.get(kind=Kind.TIER_CHANGE)
    assert (welcome.customer_id, welcome.manager_id, welcome.status) == (
        world.customer_a.pk,
        world.manager_b.pk,
        TaskStatus.PLANNED,
    )


def test_tier_change_handling_twice_welcomes_once(world, moved):
    first = tier_changes_handle_for_run(run_id=moved.pk)
    second = tier_changes_handle_for_run(run_id=moved.pk)
    assert (first["welcomed"], second["welcomed"]) == (1, 0)
    assert VisitTask.objects.filter(kind=Kind.TIER_CHANGE).count() == 1


def test_first_classification_of_a_new_customer_is_no_tier_change(world):
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL, status="done")
    AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user, started_at=timezone.now())
    TierChange.objects.create(
        customer=world.customer_a,
        old_tier="",
        new_tier=Tier.KEY_ACCOUNT,
        rule="x",
        run=run,
        at=timezone.now(),
    )
    assert tier_changes_handle_for_run(run_id=run.pk) == {"cancelled": 0, "welcomed": 0}


def test_a_pinned_tier_cancels_and_welcomes_too(world):
    VisitTaskFactory(customer=world.customer_a)
    AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user, started_at=timezone.now())
    TierChange.objects.create(
        customer=world.customer_a,
        old_tier=Tier.KEY_ACCOUNT,
        new_tier=Tier.VIP,
        rule="pinned",
        at=timezone.now(),
    )
    counts = tier_changes_handle_for_customers(customer_ids=[world.customer_a.pk])
    assert counts == {"cancelled": 1, "welcomed": 1}


# ---------------------------------------------------------------- care visits
def _history(customer, *, latest, previous, year_ago):
    """Consumption for February 2026 (latest), January 2026 and February 2025."""
    for period, kwh in (
        (dt.date(2026, 2, 1), latest),
        (dt.date(2026, 1, 1), previous),
        (dt.date(2025, 2, 1), year_ago),
    ):
        ConsumptionFactory(customer=customer, period=period, kwh=Decimal(kwh))
    customer.latest_period = dt.date(2026, 2, 1)
    customer.save()


@pytest.fixture
def key(world):
    return world.customer_a


def test_a_drop_just_over_both_thresholds_opens_a_care_visit(key):
    _history(key, latest="7990", previous="10000", year_ago="10000")  # 20.1 % both ways
    care_visits_detect(day=DAY)
    task = VisitTask.objects.get(kind=Kind.CARE)
    assert (task.customer_id, task.period, task.manager_id) == (key.pk, dt.date(2026, 2, 1), key.manager_id)


def test_a_drop_of_exactly_the_threshold_opens_nothing(key):
    _history(key, latest="8000", previous="10000", year_ago="10000")  # 20 %: not more than
    assert care_visits_detect(day=DAY) == {"created": 0}


def test_a_month_on_month_drop_alone_opens_nothing(key):
    _history(key, latest="5000", previous="10000", year_ago="5500")  # -50 % mom, -9 % yoy
    assert care_visits_detect(day=DAY) == {"created": 0}


def test_a_year_on_year_drop_alone_opens_nothing(key):
    _history(key, latest="5000", previous="5500", year_ago="10000")
    assert care_visits_detect(day=DAY) == {"created": 0}


def test_community_customers_get_no_care_visit(world):
    customer = CustomerFactory(tier=Tier.COMMUNITY, manager=world.manager_a.user)
    _history(customer, latest="100", previous="10000", year_ago="10000")
    assert care_visits_detect(day=DAY) == {"created": 0}


def test_one_drop_opens_one_care_visit_however_often_detection_runs(key):
    _history(key, latest="1000", previous="10000", year_ago="10000")
    care_visits_detect(day=DAY)
    care_visits_detect(day=DAY + dt.timedelta(days=1))
    assert VisitTask.objects.filter(kind=Kind.CARE).count() == 1


def test_care_thresholds_are_settings(key, settings):
    settings.VISIT_CARE_MOM_DROP_PCT = 10
    settings.VISIT_CARE_YOY_DROP_PCT = 10
    _history(key, latest="8500", previous="10000", year_ago="10000")  # 15 %
    assert care_visits_detect(day=DAY) == {"created": 1}


# ---------------------------------------------------------------- overdue
def test_a_planned_task_past_its_due_date_becomes_overdue(world):
    task = VisitTaskFactory(customer=world.customer_a, due_date=dt.date(2026, 3, 9))
    visit_tasks_mark_overdue(day=DAY)
    task.refresh_from_db()
    assert task.status == TaskStatus.OVERDUE


def test_a_task_due_today_stays_planned(world):
    task = VisitTaskFactory(customer=world.customer_a, due_date=DAY)
    visit_tasks_mark_overdue(day=DAY)
    task.refresh_from_db()
    assert task.status == TaskStatus.PLANNED


def test_done_and_cancelled_tasks_never_become_overdue(world):
    VisitTaskFactory(customer=world.customer_a, due_date=dt.date(2026, 3, 9), status=TaskStatus.DONE)
    VisitTaskFactory(customer=world.customer_b, due_date=dt.date(2026, 3, 9), status=TaskStatus.CANCELLED)
    assert visit_tasks_mark_overdue(day=DAY) == {"marked": 0}


# ---------------------------------------------------------------- reminders and digest
@pytest.fixture
def emails(world):
    for user in (world.manager_a.user, world.manager_b.user, world.supervisor):
        user.email = f"{user.username}@example.com"
        user.save()


def test_manager_is_reminded_the_set_days_before_the_due_date(world, emails, settings):
    settings.VISIT_REMIND_DAYS_BEFORE = 3
    VisitTaskFactory(customer=world.customer_a, due_date=DAY + dt.timedelta(days=3))
    visit_reminders_send(day=DAY)
    assert [m.to for m in mail.outbox] == [["manager_a@example.com"]]
    assert world.customer_a.name in mail.outbox[0].body


def test_no_reminder_before_the_window(world, emails, settings):
    settings.VISIT_REMIND_DAYS_BEFORE = 3
    VisitTaskFactory(customer=world.customer_a, due_date=DAY + dt.timedelta(days=4))
    assert visit_reminders_send(day=DAY)["emails"] == 0
    assert mail.outbox == []


def test_a_task_is_reminded_once(world, emails):
    VisitTaskFactory(customer=world.customer_a, due_date=DAY + dt.timedelta(days=1))
    visit_reminders_send(day=DAY)
    visit_reminders_send(day=DAY + dt.timedelta(days=1))
    assert len(mail.outbox) == 1


def test_one_reminder_per_manager_lists_all_their_tasks(world, emails):
    other = CustomerFactory(tier=Tier.VIP, manager=world.manager_a.user, name="丙化工")
    VisitTaskFactory(customer=world.customer_a, due_date=DAY)
    VisitTaskFactory(customer=other, due_date=DAY + dt.timedelta(days=2))
    visit_reminders_send(day=DAY)
    assert len(mail.outbox) == 1
    assert "丙化工" in mail.outbox[0].body
    assert world.customer_a.name in mail.outbox[0].body


def test_supervisor_gets_a_digest_of_the_teams_overdue_tasks_only(world, emails):
    VisitTaskFactory(customer=world.customer_a, status=TaskStatus.OVERDUE)
    VisitTaskFactory(customer=world.customer_b, status=TaskStatus.OVERDUE)  # manager B: not in the team
    visit_digest_send(day=DAY)
    assert [m.to for m in mail.outbox] == [["supervisor@example.com"]]
    assert world.customer_a.name in mail.outbox[0].body
    assert world.customer_b.name not in mail.outbox[0].body


def test_the_digest_is_sent_once_a_day(world, emails):
    VisitTaskFactory(customer=world.customer_a, status=TaskStatus.OVERDUE)
    visit_run_now(job=VisitRun.Job.DIGEST, day=DAY)
    second = visit_run_now(job=VisitRun.Job.DIGEST, day=DAY)
    assert len(mail.outbox) == 1
    assert second.counts["emails"] == 0


def test_no_digest_without_overdue_tasks(world, emails):
    VisitTaskFactory(customer=world.customer_a)
    assert visit_digest_send(day=DAY) == {"emails": 0}
    assert mail.outbox == []


def test_a_failed_run_records_its_error(world, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setitem(__import__("visits.generation", fromlist=["JOBS"]).JOBS, VisitRun.Job.OVERDUE, boom)
    with pytest.raises(RuntimeError):
        visit_run_now(job=VisitRun.Job.OVERDUE, day=DAY)
    run = VisitRun.objects.get()
    assert run.status == VisitRun.State.FAILED
    assert "database gone" in run.error


def test_supervisor_without_team_overdue_gets_nothing(world, emails):
    lone = ManagerFactory(user=UserFactory(username="m_c", email="c@example.com"))
    VisitTaskFactory(customer=CustomerFactory(tier=Tier.VIP, manager=lone.user), status=TaskStatus.OVERDUE)
    visit_digest_send(day=DAY)
    assert mail.outbox == []
