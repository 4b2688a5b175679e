"""Faults of beat, with real `celery beat` and `celery worker` processes on Redis and the PostgreSQL
test database (tests/crm/test_faults.py's machinery): beat killed soon after sending a slot sends it
again on restart, and beat down across a slot on a fresh schedule would skip it. Each scheduled job
must run once per slot (crm.common.scheduling, crm.common.beat).

The schedule is the real one (CELERY_BEAT_SCHEDULE): the hourly reconcile's slot is the latest :15,
so nothing waits for a minute to turn."""

import datetime as dt
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from crm.celery import app as celery_app
from crm.common.models import JobRun, ScheduledSlot
from crm.common.scheduling import last_slot
from managers.services import RECONCILE_JOB
from tests.crm.test_faults import ROOT, Workers, broker, wait_for  # noqa: F401 - broker is a fixture

pytestmark = [pytest.mark.worker, pytest.mark.postgres]
RECONCILE = "reconcile-assignments-hourly"


class Beat:
    """A `celery beat` process with the workers' environment; killed with SIGKILL, as a crash."""

    def __init__(self, workers: Workers):
        self.workers = workers
        self.started = 0
        self.process: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        self.started += 1
        log = self.log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "beat",
                "--loglevel=INFO",
                f"--pidfile={self.workers.tmp_path / f'beat{self.started}.pid'}",
            ],
            cwd=ROOT,
            env=self.workers.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self.process

    @property
    def log_path(self):
        return self.workers.tmp_path / f"beat{self.started}.log"

    def log(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def beat(workers):
    process = Beat(workers)
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture
def workers(broker, tmp_path):  # noqa: F811 - the fixture, not the import
    pool = Workers(broker, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def _slots_due(now: dt.datetime) -> dict[str, dt.datetime]:
    """The latest slot of each crontab entry of the schedule within the catch-up window."""
    due = {}
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        schedule = entry["schedule"]
        slot = last_slot(schedule, now)
        if slot is not None and now - slot <= dt.timedelta(hours=settings.BEAT_CATCH_UP_HOURS):
            due[name] = slot
    return due


def _slots_due_away_from_a_boundary() -> dict:
    """The slots due now, taken where no crontab instant falls in the next 90 seconds: beat takes
    seconds to start, and an instant passing meanwhile is sent as itself, not caught up (the slot
    before it is superseded). Near an instant, wait until it has passed."""
    now = timezone.now()
    while _slots_due(now) != _slots_due(now + dt.timedelta(seconds=90)):
        time.sleep(5)  # polling for the boundary to pass, at most 90 s
        now = timezone.now()
    return _slots_due(now)


def _settled(names) -> bool:
    """Every named slot finished and nothing left in the queue."""
    rows = ScheduledSlot.objects.filter(job__in=names)
    if rows.count() < len(names) or rows.exclude(status=ScheduledSlot.State.DONE).exists():
        return False
    with celery_app.connection_for_read() as conn:
        return not conn.default_channel.client.llen("celery")


def test_beat_down_across_a_slot_catches_it_up_once_on_return(workers, beat):
    # Given a fresh schedule (no periodic task saved yet) and beat down at the last :15
    assert not PeriodicTask.objects.exists()
    expected = _slots_due_away_from_a_boundary()
    assert RECONCILE in expected
    workers.start()
    # When beat starts
    started = time.monotonic()
    beat.start()
    # Then each crontab entry's missed slot is sent once and run once
    wait_for(lambda: _settled(list(expected)), "the missed slots to run")
    recovered = time.monotonic() - started
    rows = {row.job: row for row in ScheduledSlot.objects.all()}
    assert {job: row.slot for job, row in rows.items()} == expected
    assert all(row.caught_up and row.duplicates == 0 for row in rows.values())
    assert JobRun.objects.filter(job=RECONCILE_JOB).count() == 1
    assert f"catching up {RECONCILE}" in beat.log()
    print(f"missed slots caught up {recovered:.1f} s after beat started")  # noqa: T201 - the figure


def test_beat_killed_before_saving_its_last_run_sends_the_slot_again_and_it_runs_once(workers, beat):
    # Given the reconcile's slot run once (beat caught it up) and beat SIGKILLed before saving the
    # time it sent it: its saved last run is still from before the slot
    workers.start()
    beat.start()
    wait_for(lambda: _settled([RECONCILE]), "the slot to run")
    beat.kill()
    slot = ScheduledSlot.objects.get(job=RECONCILE).slot
    PeriodicTask.objects.filter(name=RECONCILE).update(last_run_at=slot - dt.timedelta(minutes=2))
    # When beat comes back; then it sends the slot again (it thinks it is due) ...
    started = time.monotonic()
    beat.start()
    wait_for(lambda: f"Sending due task {RECONCILE}" in beat.log(), "beat to send the slot again")
    # ... and the second send is a no-op, recorded on the slot
    wait_for(
        lambda: ScheduledSlot.objects.get(job=RECONCILE).duplicates == 1 and _settled([RECONCILE]),
        "the second send to be refused",
    )
    print(f"repeated send refused {time.monotonic() - started:.1f} s after beat restarted")  # noqa: T201
    row = ScheduledSlot.objects.get(job=RECONCILE)
    assert row.status == ScheduledSlot.State.DONE
    assert row.last_duplicate_at is not None
    assert JobRun.objects.filter(job=RECONCILE_JOB).count() == 1
    assert ScheduledSlot.objects.filter(job=RECONCILE).count() == 1
