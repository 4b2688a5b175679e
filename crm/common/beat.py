"""The beat scheduler (CELERY_BEAT_SCHEDULER): django_celery_beat's DatabaseScheduler, whose every
send of a crontab entry names its slot (crm.common.scheduling), and which catches up, once, the
slot each crontab entry missed while beat was down.

Why both: DatabaseScheduler saves its last-run times only every few minutes, so a beat killed soon
after sending sends the same slot again when it returns (the slot's stamp makes that send a no-op);
and on a fresh schedule it takes "now" as the last run, so a slot that passed while beat was down is
never sent (the catch-up sends it). Catching up looks back at most BEAT_CATCH_UP_HOURS: a monthly
job missed weeks ago is not run on a new deployment's first start."""

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from crm.common.models import ScheduledSlot
from crm.common.scheduling import last_slot, slot_headers

logger = logging.getLogger(__name__)


class SlotScheduler(DatabaseScheduler):
    _caught_up = False

    def tick(self, *args, **kwargs):
        # The first tick, not setup_schedule: the producer (and the broker connection) exists by now.
        if not self._caught_up:
            self._caught_up = True
            try:
                self.catch_up()
            except Exception:  # a failed catch-up must not stop beat from sending the schedule
                logger.exception("beat: catching up the missed slots failed")
        return super().tick(*args, **kwargs)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        entry = self.reserve(entry) if advance else entry
        slot = last_slot(entry.schedule, timezone.now())
        if slot is not None:
            # The entry sent is not kept (tick keeps the reserved one, and a reserved one is rebuilt
            # from its row), and every send stamps its own slot over any earlier stamp.
            entry.options = {
                **entry.options,
                "headers": {**entry.options.get("headers", {}), **slot_headers(job=entry.name, slot=slot)},
            }
        return super().apply_async(entry, producer=producer, advance=False, **kwargs)

    def catch_up(self) -> list[tuple[str, dt.datetime]]:
        """Send, once, the latest slot of each enabled crontab entry that no message has claimed,
        when it is within BEAT_CATCH_UP_HOURS. Returns the (entry, slot) pairs sent."""
        now = timezone.now()
        window = dt.timedelta(hours=settings.BEAT_CATCH_UP_HOURS)
        # Every crontab entry, not only those the scheduler holds now (DatabaseScheduler leaves out
        # the crontab entries of other hours).
        models = PeriodicTask.objects.enabled().filter(crontab__isnull=False).select_related("crontab")
        sent = []
        for model in models:
            slot = last_slot(model.schedule, now)
            if slot is None or now - slot > window:
                continue
            if ScheduledSlot.objects.filter(job=model.name, slot=slot).exists():
                continue
            entry = self.Entry(model, app=self.app)
            entry.options = {
                **entry.options,
                "headers": {
                    **entry.options.get("headers", {}),
                    **slot_headers(job=model.name, slot=slot, caught_up=True),
                },
            }
            logger.info("beat: catching up %s (%s), missed at %s", model.name, model.task, slot.isoformat())
            super().apply_async(entry, producer=self.producer, advance=False)
            sent.append((model.name, slot))
        return sent
