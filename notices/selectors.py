"""Reads of notices: the outages covering a customer, a manager's call tasks and contact fixes."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from notices.models import Channel, ContactFix, Delivery, DeliveryStatus, NoticeStatus, OutageNotice


def outages_for_customer(*, customer_id: int, now=None) -> QuerySet[OutageNotice]:
    """Published notices covering the customer (its snapshot at publishing) that have not ended:
    current or upcoming, soonest first."""
    now = now or timezone.now()
    covered = Delivery.objects.filter(notice_id=OuterRef("pk"), customer_id=customer_id)
    return (
        OutageNotice.objects.filter(status=NoticeStatus.PUBLISHED, ends_at__gt=now)
        .filter(Exists(covered))
        .order_by("starts_at", "pk")
    )


def call_tasks_for(*, user, manager_id: int) -> QuerySet[Delivery]:
    """The call tasks a manager has to make (not acknowledged, notice published or cancelled and
    not over), soonest start first, with notice and customer in the same query."""
    return (
        Delivery.objects.visible_to(user)
        .filter(
            manager_id=manager_id,
            channel=Channel.CALL,
            status=DeliveryStatus.QUEUED,
            notice__status__in=[NoticeStatus.PUBLISHED, NoticeStatus.CANCELLED],
            notice__ends_at__gt=timezone.now(),
        )
        .select_related("notice", "customer")
        .order_by("notice__starts_at", "pk")
    )


def contact_fixes_for(*, user, manager_id: int) -> QuerySet[ContactFix]:
    return (
        ContactFix.objects.visible_to(user)
        .filter(manager_id=manager_id, done_at__isnull=True)
        .select_related("customer")
        .order_by("-created_at", "-pk")
    )


def home_tasks_for(*, user, manager_id: int, rows: int) -> tuple[list, int, list, int]:
    """The manager's home in ONE query: the call tasks to make (as call_tasks_for) and the
    unreachable customers whose contact fix is still open, each kind capped at `rows` (a row number
    over its kind, filtered) with its full count (a count over its kind): (calls, calls total,
    fixes, fixes total). The fixes are read through their deliveries, which carry the reason."""
    from django.db.models import Case, CharField, Count, F, Value, When, Window
    from django.db.models.functions import RowNumber

    open_fix = ContactFix.objects.filter(
        notice_id=OuterRef("notice_id"), customer_id=OuterRef("customer_id"), done_at__isnull=True
    )
    call = Q(
        channel=Channel.CALL,
        status=DeliveryStatus.QUEUED,
        notice__status__in=[NoticeStatus.PUBLISHED, NoticeStatus.CANCELLED],
        notice__ends_at__gt=timezone.now(),
    )
    fix = Q(status=DeliveryStatus.UNREACHABLE) & Q(Exists(open_fix))
    kind = Case(When(call, then=Value("call")), default=Value("fix"), output_field=CharField())
    found = list(
        Delivery.objects.visible_to(user)
        .filter(manager_id=manager_id)
        .filter(call | fix)
        .annotate(task=kind)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("task")], order_by=[F("notice__starts_at").asc(), F("pk").asc()]
            ),
            total=Window(Count("pk"), partition_by=[F("task")]),
        )
        .filter(rank__lte=rows)
        .select_related("notice", "customer")
        .order_by("task", "notice__starts_at", "pk")
    )
    calls = [d for d in found if d.task == "call"]
    fixes = [d for d in found if d.task == "fix"]
    return calls, calls[0].total if calls else 0, fixes, fixes[0].total if fixes else 0
