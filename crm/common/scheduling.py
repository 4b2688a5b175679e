"""Scheduled jobs run once per slot.

Beat (crm.common.beat.SlotScheduler) stamps each message of a crontab entry with the entry's name and
its slot: the latest instant of the crontab at or before the moment it sends. A task built on
`ScheduledTask` claims the slot before it runs: the first message of a slot inserts its
ScheduledSlot row (unique on job and slot), and any other message of the same slot (beat sending it
again after a restart, a catch-up racing beat's own send, a late redelivery of a finished slot)
finds the row and returns without running, counted on the row as a duplicate. A message with the
claimant's own task id (a retry, or a redelivery after its worker died) runs again: the claimant
did not finish. Messages without the stamp (the task called in a chain, by hand or from a test) run
as before: only beat's sends have slots.

Interval entries (the heartbeat, the sweep) have no slots: they are cheap and repeat anyway."""

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from celery import Task
from celery.exceptions import Ignore, Retry
from celery.schedules import crontab
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from crm.common.models import ScheduledSlot

logger = logging.getLogger(__name__)

JOB_HEADER = "crm_slot_job"
SLOT_HEADER = "crm_slot"
CAUGHT_UP_HEADER = "crm_slot_caught_up"
# Beat sends a crontab entry when its instant has passed by its own clock; a send stamped a moment
# early (the loop's drift) must still name that instant, not the one before.
SEND_TOLERANCE = dt.timedelta(seconds=2)
_DAYS_BACK = 366 * 5  # the sparsest crontab (29 February on a Sunday) repeats within 28 years; 5 do


def last_slot(schedule, now: dt.datetime) -> dt.datetime | None:
    """The latest instant of a crontab `schedule` at or before `now` (aware, in the schedule's time
    zone), or None for a schedule that is not a crontab. Walks back day by day, then the matching
    hours and minutes of the first matching day: a few hundred steps for a monthly entry."""
    if not isinstance(schedule, crontab):
        return None
    tz = getattr(schedule, "tz", None) or ZoneInfo(timezone.get_default_timezone_name())
    local = (now + SEND_TOLERANCE).astimezone(tz).replace(second=0, microsecond=0)
    day = local.date()
    for back in range(_DAYS_BACK):
        date = day - dt.timedelta(days=back)
        if not _day_matches(schedule, date):
            continue
        for hour in sorted(schedule.hour, reverse=True):
            for minute in sorted(schedule.minute, reverse=True):
                candidate = dt.datetime(date.year, date.month, date.day, hour, minute, tzinfo=tz)
                if candidate <= local:
                    return candidate
    return None


def _day_matches(schedule: crontab, date: dt.date) -> bool:
    return (
        date.month in schedule.month_of_year
        and date.day in schedule.day_of_month
        and date.isoweekday() % 7 in schedule.day_of_week  # Sunday is 0 in a crontab
    )


def slot_headers(*, job: str, slot: dt.datetime, caught_up: bool = False) -> dict[str, str | bool]:
    """The headers that stamp a message of `job` with its slot."""
    return {JOB_HEADER: job, SLOT_HEADER: slot.isoformat(), CAUGHT_UP_HEADER: caught_up}


def _stamp(request) -> tuple[str, dt.datetime, bool] | None:
    """(job, slot, caught up) from a task request's headers, or None for a message beat did not stamp."""
    headers = getattr(request, "headers", None) or {}
    job = headers.get(JOB_HEADER) or getattr(request, JOB_HEADER, None)
    slot = headers.get(SLOT_HEADER) or getattr(request, SLOT_HEADER, None)
    if not job or not slot:
        return None
    caught_up = headers.get(CAUGHT_UP_HEADER) or getattr(request, CAUGHT_UP_HEADER, False)
    return job, dt.datetime.fromisoformat(slot), bool(caught_up)


def slot_claim(*, job: str, slot: dt.datetime, task: str, task_id: str, caught_up: bool = False) -> bool:
    """Claim `job`'s `slot` for the message `task_id`: True when it is this message's to run (it
    inserted the row, or it is the claimant again and the slot is not done), False when another
    message has it (or this one already finished it), which is then counted as a duplicate."""
    now = timezone.now()
    try:
        with transaction.atomic():
            ScheduledSlot.objects.create(
                job=job, slot=slot, task=task, task_id=task_id, caught_up=caught_up, started_at=now
            )
    except IntegrityError:
        pass
    else:
        return True
    with transaction.atomic():
        row = ScheduledSlot.objects.select_for_update().get(job=job, slot=slot)
        if row.task_id == task_id and row.status != ScheduledSlot.State.DONE:
            ScheduledSlot.objects.filter(pk=row.pk).update(
                status=ScheduledSlot.State.RUNNING, error="", updated_at=now
            )
            return True
        ScheduledSlot.objects.filter(pk=row.pk).update(
            duplicates=F("duplicates") + 1, last_duplicate_at=now, updated_at=now
        )
    logger.info(
        "%s: slot %s already claimed by %s; this send (%s) does nothing", job, slot, row.task_id, task_id
    )
    return False


def slot_finish(*, job: str, slot: dt.datetime, error: str = "") -> None:
    ScheduledSlot.objects.filter(job=job, slot=slot).update(
        status=ScheduledSlot.State.FAILED if error else ScheduledSlot.State.DONE,
        error=error[:2000],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


class ScheduledTask(Task):
    """The base of every task a crontab entry of beat sends (`@shared_task(base=ScheduledTask)`):
    a message stamped with a slot runs only if it claims the slot (module docstring)."""

    def __call__(self, *args, **kwargs):
        stamp = _stamp(self.request)
        if stamp is None:
            return super().__call__(*args, **kwargs)
        job, slot, caught_up = stamp
        if not slot_claim(
            job=job, slot=slot, task=self.name, task_id=self.request.id or "", caught_up=caught_up
        ):
            return None
        try:
            result = super().__call__(*args, **kwargs)
        except (Retry, Ignore):
            raise  # the same message comes back with the same id and the slot still running
        except Exception as exc:
            slot_finish(job=job, slot=slot, error=f"{type(exc).__name__}: {exc}")
            raise
        slot_finish(job=job, slot=slot)
        return result
