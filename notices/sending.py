"""Sending the queued text messages through the SMS gateway (crm/common/sms.py), at its rate: one
rate for all the senders together (SharedRateLimiter), however many workers send a notice's chunks.

Each message is claimed in its own short transaction (`select_for_update(skip_locked)`, status
still `queued`), sent with its `message_id`, and its outcome saved with the gateway's answer
before the next is claimed: two workers never send the same message, and a message the gateway
took is `sent` the moment it answers. A transient failure (timeout, 5xx) leaves it `queued` with
the attempt counted, for the task's retry; after MAX_ATTEMPTS, or when the gateway refuses it
outright (4xx), it is `failed`. A retry after a timeout sends the same `message_id`, which the
gateway has already seen if the timeout came after it took the message: once, never twice.

The delivery of a notice's first message follows it (`sent` or `failed`); a reminder's or an
update's outcome stays on the message."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.common.sms import SharedRateLimiter, sms_backend
from notices.models import Delivery, DeliveryStatus, MessagePurpose, MessageStatus, SmsMessage

MAX_ATTEMPTS = 5
CHUNK = 500  # messages per task: a few seconds at the gateway's rate, far inside the visibility timeout


def send_messages(ids: list[int], *, limiter: SharedRateLimiter | None = None) -> list[int]:
    """Send those of `ids` still queued, in order; answers the ids that failed transiently and may
    be tried again."""
    backend = sms_backend()
    limiter = limiter or SharedRateLimiter("sms", settings.SMS_RATE_PER_SECOND)
    again = []
    queued = SmsMessage.objects.filter(status=MessageStatus.QUEUED)
    for message_id in ids:
        if not queued.filter(pk=message_id).exists():
            continue  # sent already or failed for good: no turn of the rate is spent on it
        limiter.wait()  # before the claim's transaction: the limiter's row is never held with it
        with transaction.atomic():
            message = (
                SmsMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, status=MessageStatus.QUEUED)
                .first()
            )
            if message is None:
                continue  # taken meanwhile by another worker, which sends it
            result = backend.send(
                message_id=message.message_id, mobile=_plain(message.mobile), text=message.text
            )
            message.attempts += 1
            message.answer = result.answer
            if result.accepted:
                message.status, message.sent_at = MessageStatus.SENT, timezone.now()
            elif not result.transient or message.attempts >= MAX_ATTEMPTS:
                message.status = MessageStatus.FAILED
            else:
                again.append(message.pk)
            message.save(update_fields=["attempts", "answer", "status", "sent_at", "updated_at"])
            if message.purpose == MessagePurpose.NOTICE and message.status != MessageStatus.QUEUED:
                Delivery.objects.filter(pk=message.delivery_id, status=DeliveryStatus.QUEUED).update(
                    status=DeliveryStatus.SENT
                    if message.status == MessageStatus.SENT
                    else DeliveryStatus.FAILED,
                    updated_at=timezone.now(),
                )
    return again


def _plain(mobile: str) -> str:
    """The 11 digits the gateway takes (the +86 prefix dropped)."""
    digits = mobile.lstrip("+")
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


# A queued message untouched this long was left behind (its task lost, its worker dead): longer
# than the last retry's pause, so the sweep never races a retry that is still to come.
LEFT_BEHIND = dt.timedelta(minutes=15)


def queued_chunks(*, notice_id: int | None = None, left_behind: bool = False) -> list[list[int]]:
    """The ids of the queued messages (of one notice, or all; or only those left behind), in chunks
    of CHUNK."""
    queued = SmsMessage.objects.filter(status=MessageStatus.QUEUED)
    if notice_id is not None:
        queued = queued.filter(delivery__notice_id=notice_id)
    if left_behind:
        queued = queued.filter(updated_at__lt=timezone.now() - LEFT_BEHIND)
    return chunks(list(queued.order_by("pk").values_list("pk", flat=True)))


def chunks(ids: list[int]) -> list[list[int]]:
    """`ids` in the chunks of CHUNK that one sending task takes."""
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
