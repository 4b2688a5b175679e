"""Every write of an outage notice's life (committee.md): create and edit a draft, publish (the
lead-time rules, the affected customers resolved once, the deliveries), change a published window
or cancel (updates to everyone told), acknowledge a call (签收).

Rules refuse with Django's `ValidationError` (400 on the field at fault), a state that does not
allow the step with `Conflict` (409), a user who may not take it with `PermissionDenied` (403).
Nothing is written when a rule refuses: each service is one transaction, checks before writes."""

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crm.accounts.roles import leads_a_team
from crm.common import hooks
from crm.common.errors import Conflict
from customers.models import Customer
from notices import resolution
from notices.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    MessagePurpose,
    NoticeKind,
    NoticeStatus,
    OutageNotice,
    branches_of,
)

PLANNED_LEAD = dt.timedelta(days=7)
SHORT_LEAD = dt.timedelta(hours=24)  # temporary maintenance; orderly use by default
ESCALATE_BEFORE = dt.timedelta(hours=24)
LEAD_TIMES = {
    NoticeKind.PLANNED: PLANNED_LEAD,
    NoticeKind.TEMPORARY: SHORT_LEAD,
    NoticeKind.ORDERLY_USE: SHORT_LEAD,
    NoticeKind.FAULT: dt.timedelta(0),
}

logger = logging.getLogger(__name__)


WINDOW_PAST = dt.timedelta(days=7)
WINDOW_AHEAD = dt.timedelta(days=366)


def _may_issue(by) -> None:
    if by is not None and not leads_a_team(by):
        raise PermissionDenied(_("Only a supervisor or an administrator may issue outage notices."))


def _check_window(starts_at, ends_at) -> None:
    if starts_at is None or ends_at is None:
        raise ValidationError({"starts_at": [_("Give the start and the end of the outage.")]})
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValidationError({"starts_at": [_("Give the time with its time zone.")]})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": [_("The end must come after the start.")]})
    # a fault is entered after it began, but not a week later; nothing is planned a year ahead
    now = timezone.now()
    if starts_at < now - WINDOW_PAST:
        raise ValidationError({"starts_at": [_("The start is more than a week ago.")]})
    if ends_at > now + WINDOW_AHEAD:
        raise ValidationError({"ends_at": [_("The end is more than a year ahead.")]})


def _branch_of_scope(*, feeders, districts, stations, by) -> int:
    """The one branch the scope lies in, which must be one the user works in (400 otherwise)."""
    if not (feeders or districts or stations):
        raise ValidationError({"feeders": [_("Give the scope: feeders, transformer districts or stations.")]})
    found = {
        "feeders": {f.station.branch_id for f in feeders},
        "transformer_districts": {d.station.branch_id for d in districts},
        "stations": {s.branch_id for s in stations},
    }
    allowed = branches_of(by) if by is not None else None
    for field, branches in found.items():
        if allowed is not None and branches - allowed:
            raise ValidationError({field: [_("Part of the scope is outside the branch you work in.")]})
    every = set().union(*found.values())
    if len(every) > 1:
        raise ValidationError({"feeders": [_("A notice covers one county branch; issue one per branch.")]})
    return every.pop()


@transaction.atomic
def notice_create(
    *, kind: str, starts_at, ends_at, reason: str, feeders=(), transformer_districts=(), stations=(), by
) -> OutageNotice:
    """A draft notice. The scope must be in the user's branch and not empty, the end after the start."""
    _may_issue(by)
    if kind not in NoticeKind.values:
        raise ValidationError({"kind": [_("Choose one of the kinds.")]})
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for the outage.")]})
    _check_window(starts_at, ends_at)
    branch_id = _branch_of_scope(feeders=feeders, districts=transformer_districts, stations=stations, by=by)
    notice = OutageNotice.objects.create(
        branch_id=branch_id,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip(),
        created_by=by,
    )
    notice.feeders.set(feeders)
    notice.transformer_districts.set(transformer_districts)
    notice.stations.set(stations)
    return notice


@transaction.atomic
def notice_update(*, notice: OutageNotice, by, **fields) -> OutageNotice:
    """Edit a draft (a published notice changes its window through notice_change_window)."""
    _may_issue(by)
    notice = OutageNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.status != NoticeStatus.DRAFT:
        raise Conflict(_("Only a draft can be edited; change a published notice's window instead."))
    scope = {name: fields.pop(name, None) for name in ("feeders", "transformer_districts", "stations")}
    current = {name: list(getattr(notice, name).all()) for name in scope}
    scope = {name: current[name] if value is None else value for name, value in scope.items()}
    for name, value in fields.items():
        setattr(notice, name, value)
    if notice.kind not in NoticeKind.values:
        raise ValidationError({"kind": [_("Choose one of the kinds.")]})
    _check_window(notice.starts_at, notice.ends_at)
    notice.branch_id = _branch_of_scope(
        feeders=scope["feeders"], districts=scope["transformer_districts"], stations=scope["stations"], by=by
    )
    notice.save()
    for name, value in scope.items():
        getattr(notice, name).set(value)
    return notice


def lead_time_refusal(kind: str, starts_at, now) -> str | None:
    """The rule a notice of `kind` starting at `starts_at` breaks if published at `now`, or None."""
    if kind == NoticeKind.FAULT or starts_at - now >= LEAD_TIMES[kind]:
        return None  # a fault is told at once, even once it has started
    if kind == NoticeKind.PLANNED:
        return _(
            "Rule planned_7_days: a planned outage must be published at least 7 days before it starts "
            "(Regulations on Electricity Supply and Use, art. 28). A supervisor may reclassify it as "
            "temporary maintenance with a reason."
        )
    if kind == NoticeKind.TEMPORARY:
        return _(
            "Rule temporary_24_hours: important customers must be told of temporary maintenance at "
            "least 24 hours before it starts."
        )
    return _("Rule orderly_use_24_hours: orderly power use must be announced at least 24 hours ahead.")


def notice_text(notice: OutageNotice, purpose: str = MessagePurpose.NOTICE) -> str:
    """The text message, in the customers' language (the site's), the same for every customer."""
    with translation.override(settings.LANGUAGE_CODE):
        window = _("%(start)s to %(end)s") % {
            "start": date_format(timezone.localtime(notice.starts_at), "Y-m-d H:i"),
            "end": date_format(timezone.localtime(notice.ends_at), "Y-m-d H:i"),
        }
        values = {"kind": notice.get_kind_display(), "window": window, "reason": notice.reason}
        if purpose == MessagePurpose.CANCEL:
            return _("[Power supply] The %(kind)s of %(window)s is cancelled. Questions: 95598.") % values
        if purpose == MessagePurpose.UPDATE:
            return (
                _("[Power supply] Changed: %(kind)s now %(window)s (%(reason)s). Questions: 95598.") % values
            )
        if purpose == MessagePurpose.REMINDER:
            return (
                _("[Power supply] Reminder: %(kind)s tomorrow, %(window)s (%(reason)s). Questions: 95598.")
                % values
            )
        return _("[Power supply] %(kind)s: %(window)s (%(reason)s). Questions: 95598.") % values


def _enqueue_sending(notice_id: int) -> None:
    from notices.sending import queued_chunks
    from notices.tasks import send_sms_task

    try:
        for ids in queued_chunks(notice_id=notice_id):
            send_sms_task.delay(ids)
    except hooks.BROKER_AWAY as exc:
        # The messages are queued in the database: beat's notices-send-queued sends them later.
        logger.warning("notice %s: texts left queued, the broker is away (%s)", notice_id, exc)


@transaction.atomic
def notice_publish(
    *, notice: OutageNotice, by, reclassify_as_temporary: bool = False, reason: str = "", now=None
) -> OutageNotice:
    """Publish: check the lead-time rule of the kind (400 on `starts_at` naming the rule; a planned
    notice inside 7 days may be reclassified as temporary by a supervisor, with a reason), then
    resolve the affected customers once and create their deliveries (notices.resolution), and send
    the text messages after the commit. Publishing twice is a conflict (409)."""
    _may_issue(by)
    now = now or timezone.now()
    notice = OutageNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.status != NoticeStatus.DRAFT:
        raise Conflict(_("This notice is published already (or closed)."))
    if reclassify_as_temporary:
        if notice.kind != NoticeKind.PLANNED:
            raise ValidationError(
                {"reclassify_as_temporary": [_("Only a planned outage can be reclassified.")]}
            )
        if not (reason or "").strip():
            raise ValidationError({"reason": [_("Give the reason for reclassifying it as temporary.")]})
        notice.kind = NoticeKind.TEMPORARY
        notice.reclassified_reason, notice.reclassified_by = reason.strip(), by
    if notice.starts_at <= now and notice.kind != NoticeKind.FAULT:
        raise ValidationError(
            {"starts_at": [_("The outage has started already: publish it as a fault outage.")]}
        )
    refusal = lead_time_refusal(notice.kind, notice.starts_at, now)
    if refusal:
        raise ValidationError({"starts_at": [refusal]})
    notice.status, notice.published_at, notice.published_by = NoticeStatus.PUBLISHED, now, by
    # a call is due when the lead time runs out (for a fault: at once)
    due_at = max(now, notice.starts_at - LEAD_TIMES[notice.kind])
    counts = resolution.resolve_affected(notice=notice, due_at=due_at, text=notice_text(notice))
    notice.affected_count, notice.important_count = counts["affected"], counts["important"]
    notice.save()
    _record_outbox(notice)
    transaction.on_commit(lambda: _enqueue_sending(notice.pk))
    return notice


def _record_outbox(notice: OutageNotice) -> None:
    """`outage_notice.published` for the webhooks (integration.md: a thin payload with the link)."""
    from crm.common.outbox import api_link, outbox_record

    outbox_record(
        "outage_notice.published",
        {
            "outage_notice": notice.pk,
            "kind": notice.kind,
            "starts_at": notice.starts_at.isoformat(),
            "ends_at": notice.ends_at.isoformat(),
            "affected_count": notice.affected_count,
            "link": api_link("outage-notices", notice.pk),
        },
    )


def _tell_again(notice: OutageNotice, purpose: str) -> None:
    """Everyone already told hears of the change: a message to each customer texted, and each call
    task reopened at the new revision for the manager to call again."""
    notice.revision += 1
    notice.save()
    Delivery.objects.filter(notice=notice, channel=Channel.CALL).update(
        status=DeliveryStatus.QUEUED,
        acknowledged_by="",
        acknowledged_at=None,
        escalated_at=None,
        revision=notice.revision,
        updated_at=timezone.now(),
    )
    resolution.queue_messages(
        notice=notice, purpose=purpose, text=notice_text(notice, purpose), told_only=True
    )
    transaction.on_commit(lambda: _enqueue_sending(notice.pk))


@transaction.atomic
def notice_change_window(*, notice: OutageNotice, starts_at, ends_at, by) -> OutageNotice:
    """Move a published notice's window: the new start obeys the kind's lead time again; everyone
    told gets the update. The affected customers stay those resolved at publishing."""
    _may_issue(by)
    notice = OutageNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.status != NoticeStatus.PUBLISHED:
        raise Conflict(_("Only a published notice's window can be changed."))
    _check_window(starts_at, ends_at)
    refusal = lead_time_refusal(notice.kind, starts_at, timezone.now())
    if refusal:
        raise ValidationError({"starts_at": [refusal]})
    notice.starts_at, notice.ends_at, notice.reminded_at = starts_at, ends_at, None
    _tell_again(notice, MessagePurpose.UPDATE)
    return notice


@transaction.atomic
def notice_cancel(*, notice: OutageNotice, by) -> OutageNotice:
    """Cancel a draft (nothing to tell) or a published notice (everyone told is told it is off)."""
    _may_issue(by)
    notice = OutageNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.status not in (NoticeStatus.DRAFT, NoticeStatus.PUBLISHED):
        raise Conflict(_("This notice is closed already."))
    was_published = notice.status == NoticeStatus.PUBLISHED
    notice.status, notice.cancelled_at = NoticeStatus.CANCELLED, timezone.now()
    if was_published:
        _tell_again(notice, MessagePurpose.CANCEL)
    else:
        notice.save()
    return notice


@transaction.atomic
def delivery_acknowledge(*, delivery: Delivery, acknowledged_by: str, by, at=None) -> Delivery:
    """The manager's 签收: who at the customer took the notice, and when. Only a call task of a
    notice still published, by its customer's manager or whoever oversees them."""
    delivery = Delivery.objects.select_for_update().select_related("notice").get(pk=delivery.pk)
    if by is not None and not Customer.objects.visible_to(by).filter(pk=delivery.customer_id).exists():
        raise PermissionDenied(_("Only the customer's manager or their supervisor may record this."))
    if delivery.channel != Channel.CALL:
        raise Conflict(_("Only a call task is acknowledged; a text message has its own status."))
    # a cancelled notice's reopened call is acknowledged too: the customer heard it is off
    if delivery.notice.status not in (NoticeStatus.PUBLISHED, NoticeStatus.CANCELLED):
        raise Conflict(_("The notice is no longer published."))
    if delivery.status == DeliveryStatus.ACKNOWLEDGED:
        raise Conflict(_("This notice was acknowledged already."))
    name = (acknowledged_by or "").strip()
    if not name:
        raise ValidationError({"acknowledged_by": [_("Give the name of the person who took the notice.")]})
    delivery.status, delivery.acknowledged_by = DeliveryStatus.ACKNOWLEDGED, name[:100]
    delivery.acknowledged_at, delivery.recorded_by = at or timezone.now(), by
    delivery.save()
    return delivery
