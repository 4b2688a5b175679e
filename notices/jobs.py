"""The scheduled steps of published notices (from beat, each a recorded run, set-based):

- finishing: a published notice whose window has ended is done, one UPDATE;
- escalation: an important customer's call task not acknowledged 24 hours before the start goes
  to the manager's supervisor (`escalated_to`), one UPDATE;
- reminders: the day before the start (local date), the text-message customers already told get a
  reminder, one INSERT ... SELECT per notice, and the notice is marked so a second run adds none."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from crm.common.runs import recorded_run
from notices import resolution
from notices.models import Channel, Delivery, DeliveryStatus, MessagePurpose, NoticeStatus, OutageNotice

ESCALATE_JOB = "notices.escalate"
REMIND_JOB = "notices.remind"
FINISH_JOB = "notices.finish"


def finish_ended(*, now: dt.datetime | None = None) -> int:
    """Published notices whose window has ended are done: their call tasks leave the managers'
    homes and the list shows them as past. One UPDATE."""
    now = now or timezone.now()
    with recorded_run(FINISH_JOB) as run:
        count = OutageNotice.objects.filter(status=NoticeStatus.PUBLISHED, ends_at__lte=now).update(
            status=NoticeStatus.DONE, updated_at=now
        )
        run.counts = {"done": count}
    return count


def escalate_unacknowledged(*, now: dt.datetime | None = None) -> int:
    from notices.services import ESCALATE_BEFORE

    now = now or timezone.now()
    with recorded_run(ESCALATE_JOB) as run:
        supervisor = get_user_model().objects.filter(pk=OuterRef("manager_id")).values("supervisor_id")[:1]
        count = Delivery.objects.filter(
            channel=Channel.CALL,
            status=DeliveryStatus.QUEUED,
            escalated_at__isnull=True,
            notice__status=NoticeStatus.PUBLISHED,
            notice__starts_at__lte=now + ESCALATE_BEFORE,
            notice__starts_at__gt=now,
        ).update(escalated_at=now, escalated_to=Subquery(supervisor), updated_at=now)
        run.counts = {"escalated": count}
    return count


def send_reminders(*, now: dt.datetime | None = None) -> int:
    from notices.services import _enqueue_sending, notice_text

    now = now or timezone.now()
    tomorrow = timezone.localdate(now) + dt.timedelta(days=1)
    start = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time.min))
    end = start + dt.timedelta(days=1)
    with recorded_run(REMIND_JOB) as run:
        notices = OutageNotice.objects.filter(
            status=NoticeStatus.PUBLISHED, reminded_at__isnull=True, starts_at__gte=start, starts_at__lt=end
        ).order_by("pk")
        count = 0
        for notice in notices:  # a handful a day; each one statement
            with transaction.atomic():
                resolution.queue_messages(
                    notice=notice,
                    purpose=MessagePurpose.REMINDER,
                    text=notice_text(notice, MessagePurpose.REMINDER),
                    told_only=True,
                )
                OutageNotice.objects.filter(pk=notice.pk).update(reminded_at=now)
                transaction.on_commit(lambda pk=notice.pk: _enqueue_sending(pk))
            count += 1
        run.counts = {"notices": count}
    return count
