"""The committee's writes and its agenda (committee.md, "The committee"): members, meetings, the
agenda the system proposes for a meeting, and the needs members raise, each opened as a service
request (source `committee`) through service.services.request_open, owned by the customer's
manager. notices sits above service, so it calls service; service never imports notices."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.accounts.roles import leads_a_team
from crm.common import hooks
from crm.common.errors import Conflict
from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord, Customer
from notices.models import (
    Committee,
    CommitteeMember,
    Delivery,
    Meeting,
    MessagePurpose,
    Need,
    NoticeStatus,
    OutageNotice,
    SmsMessage,
    branches_of,
)
from notices.resolution import usable_mobile

AGENDA_DAYS = 90


def _may_run(by, branch_id: int) -> None:
    if by is None:
        return
    branches = branches_of(by)
    if not leads_a_team(by) or (branches is not None and branch_id not in branches):
        raise PermissionDenied(_("Only a supervisor of the branch may run its committee."))


def member_customer_ids(committee: Committee):
    """The customers the committee's customer members speak for (a subquery)."""
    return CommitteeMember.objects.filter(committee=committee, contact__isnull=False).values(
        "contact__customer_id"
    )


@transaction.atomic
def meeting_create(
    *, committee: Committee, held_on: dt.date, place: str = "", attendees: str = "", by
) -> Meeting:
    _may_run(by, committee.branch_id)
    if held_on is None:
        raise ValidationError({"held_on": [_("Give the date of the meeting.")]})
    return Meeting.objects.create(committee=committee, held_on=held_on, place=place, attendees=attendees)


def meeting_text(meeting: Meeting) -> str:
    """The meeting notice's text message, in the site's language, the same for every member."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(
            "[Power supply] The %(committee)s meets on %(date)s%(place)s. Your attendance is requested. "
            "Questions: 95598."
        ) % {
            "committee": meeting.committee.name,
            "date": f"{meeting.held_on:%Y-%m-%d}",
            "place": _(" at %(place)s") % {"place": meeting.place} if meeting.place else "",
        }


@transaction.atomic
def meeting_notify(*, meeting: Meeting, by) -> dict[str, int]:
    """The meeting notice to every member with a mainland mobile (a customer's contact's phone, a
    staff member's own), through the SMS gateway as the outage texts go, once: a second call is a
    conflict (409). Answers how many were texted and how many members have no usable mobile."""
    from notices.sending import chunks
    from notices.tasks import send_sms_task

    meeting = Meeting.objects.select_for_update().select_related("committee").get(pk=meeting.pk)
    _may_run(by, meeting.committee.branch_id)
    if meeting.notified_at is not None:
        raise Conflict(_("The members were notified of this meeting already."))
    text = meeting_text(meeting)
    members = CommitteeMember.objects.filter(committee=meeting.committee).select_related("contact", "user")
    mobiles, unreachable = [], 0
    for member in members:
        phone = member.contact.phone if member.contact_id else member.user.phone
        mobile = usable_mobile(phone)
        if mobile:
            mobiles.append(mobile)
        else:
            unreachable += 1
    messages = SmsMessage.objects.bulk_create(
        [SmsMessage(purpose=MessagePurpose.MEETING, mobile=m, text=text) for m in dict.fromkeys(mobiles)]
    )
    meeting.notified_at = timezone.now()
    meeting.save(update_fields=["notified_at", "updated_at"])
    ids = [m.pk for m in messages]
    for chunk in chunks(ids):
        hooks.send_after_commit(send_sms_task, chunk)
    return {"texted": len(ids), "unreachable": unreachable}


@transaction.atomic
def meeting_record(*, meeting: Meeting, by, **fields) -> Meeting:
    """The minutes and the rest of a meeting's record."""
    _may_run(by, meeting.committee.branch_id)
    for name in ("held_on", "place", "attendees", "minutes"):
        if name in fields:
            setattr(meeting, name, fields[name])
    meeting.save()
    return meeting


@transaction.atomic
def need_raise(
    *, meeting: Meeting, customer: Customer, description: str, kind: str, subtype: str = "", by
) -> Need:
    """A need a member raised: opens the customer's service request (source `committee`), owned by
    its manager, and keeps the link so the next agenda shows what became of it. The customer must
    be one a member of the committee speaks for (400 on `customer`)."""
    from service.models import Source
    from service.services import request_open

    _may_run(by, meeting.committee.branch_id)
    if not member_customer_ids(meeting.committee).filter(contact__customer_id=customer.pk).exists():
        raise ValidationError({"customer": [_("No member of this committee speaks for this customer.")]})
    if not (description or "").strip():
        raise ValidationError({"description": [_("Describe the need.")]})
    request = request_open(
        kind=kind,
        subtype=subtype,
        source=Source.COMMITTEE,
        by=None,
        customer=customer,
        description=description.strip(),
    )
    return Need.objects.create(
        meeting=meeting,
        customer=customer,
        description=description.strip(),
        kind=kind,
        request=request,
        raised_by=by,
    )


def meeting_agenda(meeting: Meeting) -> dict:
    """The agenda proposed for a meeting, in a fixed number of queries:
    - the outages of the next 90 days (from the meeting's date) affecting the members' customers:
      published notices (through their kept affected lists) and the branch's drafts (works planned);
    - the members' customers' open requests and complaints, and those closed late since the last
      meeting;
    - their consumption over the last 12 months against the 12 before (the trend);
    - the needs raised at the previous meeting and what became of them."""
    from service.models import RequestStatus, ServiceRequest, SlaState

    customers = member_customer_ids(meeting.committee)
    start = timezone.make_aware(dt.datetime.combine(meeting.held_on, dt.time.min))
    end = start + dt.timedelta(days=AGENDA_DAYS)
    touches = Delivery.objects.filter(notice_id=OuterRef("pk"), customer_id__in=customers)
    outages = list(
        OutageNotice.objects.filter(
            branch_id=meeting.committee.branch_id, starts_at__lt=end, ends_at__gt=start
        )
        .filter(Q(status=NoticeStatus.DRAFT) | Q(Exists(touches), status=NoticeStatus.PUBLISHED))
        .annotate(members_affected=Count("deliveries", filter=Q(deliveries__customer_id__in=customers)))
        .order_by("starts_at", "pk")
    )
    previous = (
        Meeting.objects.filter(committee=meeting.committee, held_on__lt=meeting.held_on)
        .order_by("-held_on", "-pk")
        .first()
    )
    since = previous.held_on if previous else meeting.held_on - dt.timedelta(days=92)
    requests = ServiceRequest.objects.filter(customer_id__in=customers).select_related("customer")
    open_requests = list(requests.active().order_by("received_at", "pk"))
    closed_late = list(
        requests.filter(
            status=RequestStatus.CLOSED, closed_at__date__gte=since, sla_state=SlaState.BREACHED
        ).order_by("closed_at", "pk")
    )
    this_year = month_start(meeting.held_on)
    trend = (
        ConsumptionRecord.objects.filter(
            customer_id__in=customers, period__gte=add_months(this_year, -24), period__lt=this_year
        )
        .values("customer_id", "customer__name")
        .annotate(
            recent=Sum("kwh", filter=Q(period__gte=add_months(this_year, -12))),
            before=Sum("kwh", filter=Q(period__lt=add_months(this_year, -12))),
        )
        .order_by("customer__name")
    )
    trend = [
        {
            **row,
            "change": (row["recent"] - row["before"]) / row["before"] * 100
            if row["before"] and row["recent"] is not None
            else None,
        }
        for row in trend
    ]
    needs = (
        list(Need.objects.filter(meeting=previous).select_related("customer", "request")) if previous else []
    )
    return {
        "outages": outages,
        "open_requests": open_requests,
        "closed_late": closed_late,
        "trend": trend,
        "previous": previous,
        "previous_needs": needs,
    }
