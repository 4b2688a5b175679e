"""Scheduled jobs run once per slot (crm.common.scheduling, crm.common.beat): the slot a crontab send
names, the claim a task makes of it, and the catch-up of a slot missed while beat was down. The
real-process scenarios are in test_fault_beat.py."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from crm.celery import app
from crm.common import beat as beat_module
from crm.common.models import JobRun, ScheduledSlot
from crm.common.scheduling import last_slot, slot_claim, slot_headers
from managers.services import RECONCILE_JOB
from managers.tasks import reconcile_assignments_task

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def _crontab(**fields) -> crontab:
    schedule = crontab(**fields)
    schedule.app = app
    return schedule


@pytest.mark.parametrize(
    ("fields", "now", "slot"),
    [
        ({"minute": 15}, _at(2026, 12, 2, 19, 16, 30), _at(2026, 12, 2, 19, 15)),
        ({"minute": 15}, _at(2026, 12, 2, 19, 15, 0), _at(2026, 12, 2, 19, 15)),
        ({"minute": 15}, _at(2026, 12, 2, 19, 14, 59, 500000), _at(2026, 12, 2, 19, 15)),  # drift
        ({"minute": 15}, _at(2026, 12, 2, 19, 10), _at(2026, 12, 2, 18, 15)),
        ({"minute": 20, "hour": 0}, _at(2026, 12, 2, 0, 10), _at(2026, 12, 1, 0, 20)),
        ({"minute": 0, "hour": 2, "day_of_month": 5}, _at(2026, 12, 2, 9, 0), _at(2026, 11, 5, 2, 0)),
        ({"minute": 0, "hour": 2, "day_of_month": 31}, _at(2026, 12, 2), _at(2026, 10, 31, 2, 0)),
        ({"minute": 0, "hour": 8, "day_of_week": "mon"}, _at(2026, 12, 2, 9), _at(2026, 11, 30, 8, 0)),
    ],
)
def test_last_slot_is_the_latest_instant_of_the_crontab_at_or_before_now(fields, now, slot):
    assert last_slot(_crontab(**fields), now) == slot


def test_an_interval_schedule_has_no_slot():
    assert last_slot(60.0, _at(2026, 12, 2, 19)) is None


SLOT = _at(2026, 12, 2, 19, 15)


def test_the_first_message_of_a_slot_claims_it_and_another_is_a_recorded_no_op(db):
    assert slot_claim(job="hourly", slot=SLOT, task="t", task_id="first")
    assert not slot_claim(job="hourly", slot=SLOT, task="t", task_id="second")
    row = ScheduledSlot.objects.get()
    assert (row.task_id, row.status, row.duplicates) == ("first", ScheduledSlot.State.RUNNING, 1)
    assert row.last_duplicate_at is not None


def test_the_claimant_again_runs_until_the_slot_is_done(db):
    # Given a slot claimed by a message (a retry or a redelivery comes back with its id)
    assert slot_claim(job="hourly", slot=SLOT, task="t", task_id="first")
    assert slot_claim(job="hourly", slot=SLOT, task="t", task_id="first")
    ScheduledSlot.objects.update(status=ScheduledSlot.State.DONE)
    # When it comes back once the slot is done; then it is a no-op too
    assert not slot_claim(job="hourly", slot=SLOT, task="t", task_id="first")
    assert ScheduledSlot.objects.get().duplicates == 1


def test_a_scheduled_task_sent_twice_for_one_slot_runs_once(db):
    # Given the hourly reconcile stamped with its slot, sent twice (beat restarted before saving)
    headers = slot_headers(job="reconcile-assignments-hourly", slot=SLOT)
    reconcile_assignments_task.apply(headers=headers, task_id="a")
    reconcile_assignments_task.apply(headers=headers, task_id="b")
    # Then it ran once, and the slot says so
    assert JobRun.objects.filter(job=RECONCILE_JOB).count() == 1
    row = ScheduledSlot.objects.get()
    assert (row.status, row.duplicates, row.task_id) == (ScheduledSlot.State.DONE, 1, "a")


def test_a_scheduled_task_without_a_slot_runs_every_time(db):
    # Called in a chain or by hand: no stamp, no slot
    reconcile_assignments_task.apply()
    reconcile_assignments_task.apply()
    assert JobRun.objects.filter(job=RECONCILE_JOB).count() == 2
    assert not ScheduledSlot.objects.exists()


def test_a_failed_scheduled_run_records_its_error_on_the_slot(db, monkeypatch):
    def fail(**kwargs):
        raise ValueError("boom")

    monkeypatch.setattr("managers.tasks.assignments_reconcile", fail)
    with pytest.raises(ValueError, match="boom"):
        reconcile_assignments_task.apply(headers=slot_headers(job="hourly", slot=SLOT), task_id="a")
    row = ScheduledSlot.objects.get()
    assert row.status == ScheduledSlot.State.FAILED
    assert "boom" in row.error


class _Sent:
    def __init__(self):
        self.calls = []


@pytest.fixture
def scheduler(db, monkeypatch):
    """A SlotScheduler whose sends are recorded instead of reaching the broker."""
    sent = _Sent()

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        sent.calls.append((entry.name, entry.options["headers"]))

    monkeypatch.setattr(beat_module.DatabaseScheduler, "apply_async", apply_async)
    monkeypatch.setattr(beat_module.SlotScheduler, "producer", None, raising=False)
    instance = beat_module.SlotScheduler(app=app, lazy=True)
    instance.sent = sent.calls
    return instance


def _periodic(name: str, **fields) -> PeriodicTask:
    schedule = CrontabSchedule.objects.create(timezone="Asia/Shanghai", **fields)
    return PeriodicTask.objects.create(
        name=name, task="managers.tasks.reconcile_assignments_task", crontab=schedule
    )


def _now_is(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(beat_module.timezone, "now", lambda: moment)


def test_beat_catches_up_the_missed_slot_of_each_crontab_entry_once(scheduler, monkeypatch):
    # Given an hourly entry whose 19:15 passed while beat was down, and a monthly one missed weeks ago
    _now_is(monkeypatch, _at(2026, 12, 2, 19, 40))
    _periodic("hourly", minute="15")
    _periodic("monthly", minute="0", hour="2", day_of_month="5")
    # When beat starts; then the hourly slot is sent, stamped as caught up, and the monthly is not
    assert scheduler.catch_up() == [("hourly", SLOT)]
    name, headers = scheduler.sent[0]
    assert headers["crm_slot_job"] == "hourly"
    assert headers["crm_slot"] == SLOT.isoformat()
    assert headers["crm_slot_caught_up"] is True
    # When the slot has been claimed and beat starts again; then nothing is sent
    slot_claim(job="hourly", slot=SLOT, task="t", task_id="x", caught_up=True)
    assert scheduler.catch_up() == []


def test_every_send_of_a_crontab_entry_names_its_slot(scheduler, monkeypatch):
    _now_is(monkeypatch, _at(2026, 12, 2, 19, 15, 1))
    model = _periodic("hourly", minute="15")
    scheduler.apply_async(scheduler.Entry(model, app=app), advance=False)
    (_name, headers) = scheduler.sent[0]
    assert headers["crm_slot"] == SLOT.isoformat()
    assert headers["crm_slot_caught_up"] is False
