"""Every write of a service request's life (service.md): open, advance a stage, wait for the
customer and resume, close, cancel, call back. Each is one transaction with the request's row
locked (`select_for_update`), so two people acting on the same request at the same moment are
serialized: the second finds the state changed and gets `Conflict` (409), nothing done twice.

Rules refuse with Django's `ValidationError` (400, on the field at fault) or `Conflict` (409, the
request is not in a state that allows it); acting on a request one may not act on raises Django's
`PermissionDenied` (403). crm.common.errors maps them for the API, and the pages show the same
messages.

Clocks: a stage's clock runs from its start against its own limit, the request's from `received_at`
against the template's total; customer waiting pauses both and moves their `warn_at`/`due_at` later
by the counted time waited (service/clock.py). A clock stops when its work is done: a stage's at its
completion, the request's when its last stage is done (the company's time ends there; the owner's
closing is not part of the promise). The final `sla_state` of a stopped clock is how it read at
its stop (service.sla.sla_state_now): `breached` at or after `due_at`, `warning` at or after
`warn_at`, else `ok`."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.roles import INTEGRATION_CLIENT, roles_of
from crm.common.errors import Conflict
from crm.common.outbox import api_link, outbox_record
from service import clock
from service.bulk import request_number
from service.lifecycle import (
    calendar_between,
    event,
    locked_request,
    may_work,
    not_open,
    oversees,
    refuse,
    set_deadlines,
    stages_of,
    start_clock,
    stop_clock,
    sync,
    waited,
    when,
    working_stage,
)
from service.models import (
    OWNER,
    Callback,
    Department,
    DepartmentKind,
    Kind,
    RequestStage,
    RequestStatus,
    ServiceRequest,
    Source,
    StageEvent,
    StageStatus,
    Variant,
)
from service.selectors import staff_department_id

# kinds about an account that exists: an applicant cannot have them
ACCOUNT_KINDS = {Kind.RECONNECTION, Kind.BILLING_QUERY, Kind.METER_FAULT}
LOW_VOLTAGE_BELOW_KV = Decimal(1)


@dataclass(frozen=True)
class Applicant:
    name: str
    phone: str = ""
    address: str = ""
    capacity_kva: Decimal | None = None
    voltage_kv: Decimal | None = None


# ---------------------------------------------------------------- open
def _variant(kind: str, *, customer, applicant: Applicant | None, station) -> str:
    if kind == Kind.FAULT_REPAIR:
        return station.area
    if kind == Kind.CAPACITY_CHANGE:
        voltage = customer.voltage_kv if customer is not None else applicant.voltage_kv
        if voltage is None:
            raise ValidationError({"applicant": [_("Give the applicant's supply voltage.")]})
        return Variant.LOW_VOLTAGE if Decimal(voltage) < LOW_VOLTAGE_BELOW_KV else Variant.HIGH_VOLTAGE
    return ""


def _check_party(*, kind, customer, applicant: Applicant | None, station, by) -> None:
    if customer is not None and applicant is not None:
        raise ValidationError({"customer": [_("Give the customer or an applicant, not both.")]})
    if customer is None and applicant is None:
        raise ValidationError(
            {"customer": [_("Give the customer, or the applicant if they are not one yet.")]}
        )
    if customer is not None:
        from customers.models import Customer

        if by is not None and not Customer.objects.visible_to(by).filter(pk=customer.pk).exists():
            raise ValidationError({"customer": [_("No such customer among those you may see.")]})
        return
    if kind in ACCOUNT_KINDS:
        raise ValidationError(
            {"customer": [_("This kind of request is about an existing account: give the customer.")]}
        )
    if not (applicant.name or "").strip():
        raise ValidationError({"applicant": [_("Give the applicant's name.")]})
    if station is None:
        raise ValidationError({"station": [_("Give the supply station of the applicant.")]})


def _departments(branch_id: int, kinds: set[str]) -> dict[str, int]:
    """The department of each kind in the branch (the lowest code where there are several)."""
    chosen: dict[str, int] = {}
    for pk, kind in (
        Department.objects.filter(branch_id=branch_id, kind__in=kinds)
        .order_by("code")
        .values_list("pk", "kind")
    ):
        chosen.setdefault(kind, pk)
    return chosen


def request_by_external_no(external_no: str) -> ServiceRequest | None:
    """The request a 95598 ticket number already made, if any."""
    return ServiceRequest.objects.filter(external_no=external_no).first() if external_no else None


def request_open(
    *,
    kind: str,
    subtype: str = "",
    source: str,
    by,
    customer=None,
    applicant: Applicant | None = None,
    station=None,
    description: str = "",
    external_no: str | None = None,
    received_at: dt.datetime | None = None,
    follow_up=None,
) -> ServiceRequest:
    """Open a request: validate kind/subtype (400 on `kind`/`subtype`), customer or applicant (400
    on `customer`), pick the template in force on `received_at` (its variant by voltage or the
    station's area), choose the owner (the customer's manager; for an applicant the least-loaded
    qualified manager of the role the tiering rules give; none: owner empty, on the supervisor's
    list), create its stages with their departments (the branch's department of the stage's kind;
    none, or `owner`: the owner acts), start the first stage and both clocks.

    `external_no` (a 95598 ticket number) is unique: when a request already carries it, that
    request is answered as it is, nothing written, with `created = False` on it (a new request has
    `created = True`). Two calls racing with the same number end the same way.
    `by` None is the system; otherwise a customer outside `by`'s scope is refused on `customer`."""
    from service.owners import owner_for
    from service.templates_data import template_in_force, validate_key

    subtype = subtype or ""
    external_no = (external_no or "").strip() or None
    validate_key(kind=kind, subtype=subtype)
    if source not in Source.values:
        raise ValidationError({"source": [_("Choose one of the sources.")]})
    existing = request_by_external_no(external_no)
    if existing is not None:
        existing.created = False
        return existing
    _check_party(kind=kind, customer=customer, applicant=applicant, station=station, by=by)
    if follow_up is not None and ServiceRequest.objects.filter(follow_up=follow_up).exists():
        raise ValidationError({"follow_up": [_("This follow-up has a request already.")]})
    if customer is not None:
        station = customer.station
    received_at = received_at or timezone.now()
    if timezone.is_naive(received_at):
        raise ValidationError({"received_at": [_("Give the time with its time zone.")]})
    variant = _variant(kind, customer=customer, applicant=applicant, station=station)
    template = template_in_force(kind, subtype, variant, clock._local(received_at).date())
    owner = owner_for(
        customer=customer,
        station=station,
        capacity_kva=applicant.capacity_kva if applicant else None,
        voltage_kv=applicant.voltage_kv if applicant else None,
    )
    try:
        with transaction.atomic():
            request = _create(
                template=template,
                kind=kind,
                subtype=subtype,
                source=source,
                by=by,
                customer=customer,
                applicant=applicant,
                station=station,
                description=description,
                external_no=external_no,
                received_at=received_at,
                follow_up=follow_up,
                owner=owner,
            )
    except IntegrityError:
        # the same ticket posted twice at once: the other call made it
        existing = request_by_external_no(external_no)
        if existing is None:
            raise
        existing.created = False
        return existing
    request.created = True
    return request


def _create(*, template, applicant, station, received_at, owner, by, **fields) -> ServiceRequest:
    calendar = calendar_between(received_at)
    request = ServiceRequest(
        template=template,
        station=station,
        owner=owner,
        received_at=received_at,
        created_by=by,
        limit=template.total_limit,
        unit=template.total_unit,
        **fields,
    )
    if applicant is not None:
        request.applicant_name = applicant.name.strip()
        request.applicant_phone = applicant.phone or ""
        request.applicant_address = applicant.address or ""
        request.applicant_capacity_kva = applicant.capacity_kva
        request.applicant_voltage_kv = applicant.voltage_kv
    start_clock(request, calendar, received_at)
    # external_no is left to the unique constraint: a ticket posted twice at once must end in the
    # IntegrityError that request_open answers with the other call's request, not in a 400 from a
    # uniqueness check that saw the other call's row committed a moment before
    request.full_clean(
        exclude=[
            "template",
            "station",
            "owner",
            "customer",
            "follow_up",
            "created_by",
            "number",
            "external_no",
        ]
    )
    request.save()
    departments = _departments(station.branch_id, {s["department_kind"] for s in template.stages} - {OWNER})
    stages = []
    for position, spec in enumerate(template.stages, start=1):
        stage = RequestStage(
            request=request,
            position=position,
            code=spec["code"],
            name=spec["name"],
            department_kind=spec["department_kind"],
            department_id=departments.get(spec["department_kind"]),
            pauses_for_customer=spec.get("pauses_for_customer", False),
            limit=spec["limit"],
            unit=spec["unit"],
        )
        if position == 1:
            stage.status = StageStatus.ACTIVE
            start_clock(stage, calendar, received_at)
        stages.append(stage)
    RequestStage.objects.bulk_create(stages)
    first = RequestStage.objects.get(request=request, position=1)  # its id, on every database
    request.number = request_number(received_at, request.pk)
    request.calendar_missing = request.calendar_missing or first.calendar_missing
    ServiceRequest.objects.filter(pk=request.pk).update(
        number=request.number, calendar_missing=request.calendar_missing
    )
    StageEvent.objects.bulk_create(
        [
            event(request, StageEvent.Action.OPENED, at=received_at, by=by),
            event(request, StageEvent.Action.STARTED, at=received_at, by=by, stage=first),
        ]
    )
    _record("service_request.created", request, stage=first.code)
    return request


def _record(event_type: str, request: ServiceRequest, **extra) -> None:
    """The request's event for the other systems, in the change's transaction (thin: the API link
    reads the rest)."""
    outbox_record(
        event_type,
        {
            "service_request": request.pk,
            "number": request.number,
            "kind": request.kind,
            "status": request.status,
            "customer": request.customer_id,
            "external_no": request.external_no,
            **extra,
            "link": api_link("service-requests", request.pk),
        },
    )


# ---------------------------------------------------------------- stages
@transaction.atomic
def stage_advance(
    *, request: ServiceRequest, stage_code: str, by, note: str = "", at: dt.datetime | None = None
) -> RequestStage:
    """Complete the active stage `stage_code` and start the next. Not the active stage (or done
    already, by someone else a moment before): Conflict. `by` must be the stage department's staff
    or the owner (or their supervisor, or an administrator): PermissionDenied otherwise.

    A stage waiting for the customer may be completed as it is (the customer came back and the work
    was done at once): its wait ends there and is counted as if resumed first. The last stage done
    stops the request's clock; the request stays open until its owner closes it. Returns the stage
    completed."""
    locked = locked_request(request)
    if not locked.is_active:
        raise not_open()
    stages = stages_of(locked)
    stage = working_stage(stages)
    if stage is None or stage.code != stage_code:
        raise Conflict(
            _("This stage is not the one in progress: it may have just been done by someone else.")
        )
    if not may_work(locked, stage, by):
        raise refuse()
    now = when(at, stage.waiting_since, stage.started_at)
    calendar = calendar_between(locked.received_at, now)
    events = []
    if stage.status == StageStatus.WAITING_CUSTOMER:
        _end_wait(locked, stage, calendar, now)
        events.append(event(locked, StageEvent.Action.RESUMED, at=now, by=by, stage=stage))
    stage.status = StageStatus.DONE
    stage.done_by = by
    stage.note = (note or "")[:500]
    stop_clock(stage, now)
    stage.save()
    events.append(event(locked, StageEvent.Action.DONE, at=now, by=by, stage=stage, note=note))
    following = next((s for s in stages if s.position > stage.position), None)
    if following is not None:
        following.status = StageStatus.ACTIVE
        start_clock(following, calendar, now)
        following.save()
        locked.calendar_missing = locked.calendar_missing or following.calendar_missing
        events.append(event(locked, StageEvent.Action.STARTED, at=now, by=by, stage=following))
    else:
        stop_clock(locked, now)
    locked.save()
    StageEvent.objects.bulk_create(events)
    _record(
        "service_request.stage_changed",
        locked,
        stage=stage.code,
        stage_status=stage.status,
        next_stage=following.code if following is not None else None,
    )
    sync(request, locked)
    return stage


def _end_wait(
    request: ServiceRequest, stage: RequestStage, calendar: clock.Calendar, now: dt.datetime
) -> None:
    """The customer's wait is over: both clocks grow by what it counted and their deadlines move."""
    for target in (stage, request):
        if target.waiting_since is not None:
            target.waited_minutes += waited(target, calendar, now)
            target.waiting_since = None
            set_deadlines(target, calendar)
    request.calendar_missing = request.calendar_missing or stage.calendar_missing
    stage.status = StageStatus.ACTIVE
    request.status = RequestStatus.OPEN


@transaction.atomic
def request_wait_customer(
    *, request: ServiceRequest, reason: str, by, at: dt.datetime | None = None
) -> RequestStage:
    """Pause the active stage's clock (and the request's) for the customer, with a reason (required:
    400 on `reason`). A stage whose template says customer waiting does not pause it, or one already
    waiting: Conflict."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say what the customer is to do.")]})
    locked = locked_request(request)
    if not locked.is_active:
        raise not_open()
    stage = working_stage(stages_of(locked))
    if stage is None:
        raise Conflict(_("Every stage is done: there is nothing to wait for."))
    if not may_work(locked, stage, by):
        raise refuse()
    if stage.status == StageStatus.WAITING_CUSTOMER:
        raise Conflict(_("This stage is already waiting for the customer."))
    if not stage.pauses_for_customer:
        raise Conflict(_("The customer's time does not pause this stage: it is the company's own work."))
    now = when(at, stage.started_at)
    stage.status = StageStatus.WAITING_CUSTOMER
    stage.waiting_since = now
    stage.wait_reason = reason[:300]
    stage.save()
    locked.status = RequestStatus.WAITING_CUSTOMER
    locked.waiting_since = now
    locked.save()
    event(locked, StageEvent.Action.WAITING, at=now, by=by, stage=stage, note=reason).save()
    sync(request, locked)
    return stage


@transaction.atomic
def request_resume(*, request: ServiceRequest, by, at: dt.datetime | None = None) -> RequestStage:
    """Resume the waiting stage: its and the request's `waited_minutes` grow by the counted time
    waited and both clocks' `warn_at`/`due_at` move later by it. Not waiting: Conflict."""
    locked = locked_request(request)
    if not locked.is_active:
        raise not_open()
    stage = working_stage(stages_of(locked))
    if stage is None or stage.status != StageStatus.WAITING_CUSTOMER:
        raise Conflict(_("This request is not waiting for the customer."))
    if not may_work(locked, stage, by):
        raise refuse()
    now = when(at, stage.waiting_since)
    _end_wait(locked, stage, calendar_between(locked.received_at, now), now)
    stage.save()
    locked.save()
    event(locked, StageEvent.Action.RESUMED, at=now, by=by, stage=stage).save()
    sync(request, locked)
    return stage


# ---------------------------------------------------------------- close, cancel, callback
@transaction.atomic
def request_close(*, request: ServiceRequest, by, at: dt.datetime | None = None) -> ServiceRequest:
    """Close after the last stage (owner, their supervisor or an administrator). Stages left or not
    open: Conflict. A new connection's applicant becomes a customer (service.connection); a linked
    visit follow-up is closed."""
    locked = locked_request(request)
    if locked.status != RequestStatus.OPEN:
        if locked.status == RequestStatus.WAITING_CUSTOMER:
            raise Conflict(_("This request is waiting for the customer: its stages are not done."))
        raise not_open()
    if not oversees(locked, by):
        raise PermissionDenied(_("Only the request's owner or their supervisor may close it."))
    if working_stage(stages_of(locked)) is not None:
        raise Conflict(_("Stages of this request are not done yet: it closes after the last one."))
    now = when(at, locked.done_at)
    if locked.kind == Kind.NEW_CONNECTION:
        from service.connection import connection_make_customer

        connection_make_customer(request=locked, by=by)
    locked.status = RequestStatus.CLOSED
    locked.closed_at = now
    locked.save()
    _close_follow_up(locked)
    event(locked, StageEvent.Action.CLOSED, at=now, by=by).save()
    _record("service_request.closed", locked)
    sync(request, locked)
    return request


def _close_follow_up(request: ServiceRequest) -> None:
    if request.follow_up_id is None:
        return
    try:
        from service.follow_ups import follow_up_close_for
    except ImportError:
        from visits.models import FollowUp, FollowUpStatus

        FollowUp.objects.filter(pk=request.follow_up_id, status=FollowUpStatus.OPEN).update(
            status=FollowUpStatus.CLOSED,
            closed_on=clock._local(timezone.now()).date(),
            updated_at=timezone.now(),
        )
        return
    follow_up_close_for(request)


@transaction.atomic
def request_cancel(
    *, request: ServiceRequest, reason: str, by, at: dt.datetime | None = None
) -> ServiceRequest:
    """Cancel an open request with a reason (required: 400). Closed or cancelled: Conflict. The
    stage in progress goes back to pending (its start stays on the timeline)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the request is cancelled.")]})
    locked = locked_request(request)
    if not locked.is_active:
        raise not_open()
    if not oversees(locked, by):
        raise PermissionDenied(_("Only the request's owner or their supervisor may cancel it."))
    now = when(at, locked.received_at)
    stage = working_stage(stages_of(locked))
    if stage is not None:
        # never done, and no clock of a cancelled request runs on: the SLA job and the boards look
        # at active stages only
        stage.status = StageStatus.PENDING
        stage.waiting_since = None
        stage.save()
    locked.status = RequestStatus.CANCELLED
    locked.cancel_reason = reason[:300]
    locked.waiting_since = None
    locked.save()
    event(locked, StageEvent.Action.CANCELLED, at=now, by=by, stage=stage, note=reason).save()
    _record("service_request.closed", locked)  # status `cancelled` says how it ended
    sync(request, locked)
    return request


def _may_call_back(request: ServiceRequest, by) -> bool:
    """The call centre (its system, or a staff member of a call-centre department) or whoever
    oversees the request."""
    if by is None or INTEGRATION_CLIENT in roles_of(by):
        return True
    department_id = staff_department_id(by)
    if (
        department_id is not None
        and Department.objects.filter(pk=department_id, kind=DepartmentKind.CALL_CENTRE).exists()
    ):
        return True
    return oversees(request, by)


REOPENING_SATISFACTION = 2  # 1 or 2 reopens the request for the supervisor


@transaction.atomic
def callback_record(
    *,
    request: ServiceRequest,
    reached: bool,
    satisfaction: int | None,
    comment: str,
    by,
    at: dt.datetime | None = None,
) -> Callback:
    """Record the callback of a closed request. Not closed: Conflict. A customer reached gives a
    satisfaction of 1-5 (400 on `satisfaction` otherwise); one not reached gives none. A
    satisfaction of 1 or 2 reopens the request (status open, `reopened_at`) for the owner's
    supervisor, who (or the owner) closes it again once it is dealt with."""
    if reached:
        if isinstance(satisfaction, bool) or not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
            raise ValidationError({"satisfaction": [_("Give a satisfaction from 1 to 5.")]})
    elif satisfaction is not None:
        raise ValidationError({"satisfaction": [_("A customer who was not reached gives no satisfaction.")]})
    locked = locked_request(request)
    if locked.status != RequestStatus.CLOSED:
        raise Conflict(_("A callback is made once the request is closed."))
    if not _may_call_back(locked, by):
        raise PermissionDenied(
            _("Only the call centre, the request's owner or their supervisor may record a callback.")
        )
    now = when(at, locked.closed_at)
    callback = Callback.objects.create(
        request=locked,
        reached=bool(reached),
        satisfaction=satisfaction,
        comment=(comment or "")[:1000],
        by=by,
    )
    events = [event(locked, StageEvent.Action.CALLBACK, at=now, by=by, note=comment)]
    if satisfaction is not None and satisfaction <= REOPENING_SATISFACTION:
        locked.status = RequestStatus.OPEN
        locked.reopened_at = now
        locked.closed_at = None
        locked.save()
        events.append(event(locked, StageEvent.Action.REOPENED, at=now, by=by))
    StageEvent.objects.bulk_create(events)
    sync(request, locked)
    return callback
