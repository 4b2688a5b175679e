"""Follow-ups become requests (service.md, "From a visit"): a follow-up a visit report raised for a
department opens the request of the matching kind for the customer, owned by the manager, linked
both ways (`ServiceRequest.follow_up`); the follow-up is closed when its request closes, and no
longer by hand while the request runs (visits.reports.follow_up_close refuses).

`visits` records the follow-ups and asks for the next step with the hook `follow_ups_raised`
(crm/jobs.py), so it never imports this app."""

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from crm.common.errors import Conflict
from service.bulk import LOCAL, Plan, requests_bulk_create
from service.models import Kind, ServiceRequest, Source, Subtype, Variant
from visits.models import Department, FollowUp, FollowUpStatus

logger = logging.getLogger(__name__)

# The request kind (and subtype) a follow-up's department asks for; "other" names no department's
# work and stays a plain follow-up. A follow-up for 新装/增容 (业扩报装) is raised at a visit to an
# existing customer: the customer is already connected, so what they ask the department for is more
# capacity (a capacity increase on their account), not a new connection, which is an applicant's.
KIND_FOR_DEPARTMENT: dict[str, tuple[str, str]] = {
    Department.NEW_CONNECTION: (Kind.CAPACITY_CHANGE, Subtype.INCREASE),
    Department.BILLING: (Kind.BILLING_QUERY, ""),
    Department.ORDERLY_POWER_USE: (Kind.ORDERLY_USE_AGREEMENT, ""),
    Department.LOAD_CONTROL: (Kind.LOAD_CONTROL_INSTALL, ""),
}
# A follow-up recorded before one-stop service was received on the day of its visit, in the working
# morning (any hour of the day gives the same working-day deadlines: the day itself is not counted).
RECEIVED_HOUR = 9
CLOSED_HOUR = 17


def voltage_variant(voltage_kv) -> str:
    """A capacity change follows the low- or high-voltage connection's stages (templates_data)."""
    return Variant.LOW_VOLTAGE if voltage_kv is None or voltage_kv < 1 else Variant.HIGH_VOLTAGE


def _convertible(queryset):
    """Follow-ups of a department's kind, on a customer's visit, with no request yet. A follow-up on
    a community's or a transformer district's visit has no customer to open a request for: it stays
    a plain follow-up, as one for "other" does."""
    return queryset.filter(
        department__in=list(KIND_FOR_DEPARTMENT), report__task__customer__isnull=False
    ).exclude(service_request__isnull=False)


def follow_ups_raised(*, follow_up_ids: list[int]) -> list[ServiceRequest]:
    """Open the request of each new open follow-up of a department's kind (the hook
    `follow_ups_raised`, after the visit report committed). Each opens in its own transaction: one
    that fails (no template in force, say) is logged and leaves the others and the report alone; the
    follow-up stays open and plain, and can be raised again. Returns the requests opened."""
    from service.services import request_open

    follow_ups = (
        _convertible(FollowUp.objects.filter(pk__in=follow_up_ids, status=FollowUpStatus.OPEN))
        .select_related("report__by", "report__task__customer", "report__task__manager")
        .order_by("pk")
    )
    opened = []
    for follow_up in follow_ups:
        kind, subtype = KIND_FOR_DEPARTMENT[follow_up.department]
        report = follow_up.report
        try:
            with transaction.atomic():
                opened.append(
                    request_open(
                        kind=kind,
                        subtype=subtype,
                        source=Source.VISIT,
                        by=report.by,
                        customer=report.task.customer,
                        description=follow_up.action,
                        follow_up=follow_up,
                    )
                )
        except (ValidationError, Conflict, PermissionDenied):
            logger.exception("follow-up %s: no request opened", follow_up.pk)
    return opened


def follow_up_close_for(request: ServiceRequest) -> None:
    """Close the follow-up a request carries, on the day the request closed (request_close calls
    this). A follow-up closed already keeps its date."""
    if request.follow_up_id is None:
        return
    closed_on = timezone.localdate(request.closed_at or timezone.now())
    FollowUp.objects.filter(pk=request.follow_up_id, status=FollowUpStatus.OPEN).update(
        status=FollowUpStatus.CLOSED, closed_on=closed_on, updated_at=timezone.now()
    )


def follow_ups_convert(*, models=None, now: dt.datetime | None = None, follow_up_ids=None) -> int:
    """Every follow-up of a department's kind without a request becomes one (migration 0004, and the
    demo's visit follow-ups): source visit, received on the report's date; an open follow-up opens
    its request at the first stage, a closed one makes a closed request with every stage done on
    the day it was closed. Returns the number made.

    The owner of a request still open is the customer's manager now (the one who carries it from
    here: service.md "Owner"); of one closed, the manager whose visit raised it (who carried it)."""
    if models is None:
        from django.apps import apps as models
    now = now or timezone.now()
    follow_up_model = models.get_model("visits", "FollowUp")
    request_model = models.get_model("service", "ServiceRequest")
    queryset = follow_up_model.objects.filter(department__in=list(KIND_FOR_DEPARTMENT))
    if follow_up_ids is not None:
        queryset = queryset.filter(pk__in=list(follow_up_ids))
    linked = request_model.objects.filter(follow_up__isnull=False).values("follow_up_id")
    rows = (
        queryset.filter(report__task__customer__isnull=False)
        .exclude(pk__in=linked)
        .order_by("pk")
        .values_list(
            "pk",
            "department",
            "action",
            "status",
            "closed_on",
            "report__visited_on",
            "report__by_id",
            "report__task__manager_id",
            "report__task__customer_id",
            "report__task__customer__manager_id",
            "report__task__customer__voltage_kv",
            "report__task__customer__station_id",
            "report__task__customer__station__branch_id",
        )
    )
    plans = []
    for (
        pk,
        department,
        action,
        status,
        closed_on,
        visited_on,
        by_id,
        visit_manager_id,
        customer_id,
        customer_manager_id,
        voltage_kv,
        station_id,
        branch_id,
    ) in rows.iterator(chunk_size=2000):
        kind, subtype = KIND_FOR_DEPARTMENT[department]
        received_at = dt.datetime.combine(visited_on, dt.time(RECEIVED_HOUR), tzinfo=LOCAL)
        plan = Plan(
            kind=kind,
            subtype=subtype,
            variant=voltage_variant(voltage_kv) if kind == Kind.CAPACITY_CHANGE else "",
            source=Source.VISIT,
            customer_id=customer_id,
            station_id=station_id,
            branch_id=branch_id,
            received_at=received_at,
            owner_id=customer_manager_id,
            by_id=by_id,
            description=action,
            follow_up_id=pk,
        )
        if status == FollowUpStatus.CLOSED:
            day = closed_on or visited_on
            closed_at = max(dt.datetime.combine(day, dt.time(CLOSED_HOUR), tzinfo=LOCAL), received_at)
            plan.owner_id = visit_manager_id or customer_manager_id
            plan.closed_at = closed_at
        plans.append(plan)
    return len(requests_bulk_create(plans, now=now, models=models))


def follow_ups_unconvert(*, models=None) -> int:
    """The reverse of follow_ups_convert: remove the requests opened from follow-ups (migration 0004
    backwards). The follow-ups keep their own status."""
    if models is None:
        from django.apps import apps as models
    request_model = models.get_model("service", "ServiceRequest")
    doomed = request_model.objects.filter(source=Source.VISIT, follow_up__isnull=False)
    count = doomed.count()
    for name in ("Alert", "Callback", "StageEvent", "RequestStage"):
        models.get_model("service", name).objects.filter(request__in=doomed).delete()
    doomed.delete()
    return count
