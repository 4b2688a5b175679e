"""Service requests written in bulk, for the two writers that cannot go through the services one
request at a time: the data migration that turns the follow-ups raised before one-stop service into
requests (service/follow_ups.py, migration 0004) and the demo data (crm/demo/service.py).

Each request is described by a `Plan`: what it is, when it was received, when each of its first
stages was done, and how it ended (still open, waiting for the customer, closed, cancelled). The
builder keeps the invariants the services keep: the template in force on the day received, stages
in the template's order with the branch's department of each stage's kind, one active stage while
the request is open, every clock's `warn_at`/`due_at` from service/clock.py with one calendar read
for all, its `sla_state` as of `now` (or as of its stop), and the timeline's events.

`models` is an app registry: the migration passes its historical one, so the writes match the
schema of that moment; everyone else the live one (the default)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, CharField, Value, When
from django.db.models.functions import Cast, Concat, LPad, Replace, TruncDate

from service.clock import LOCAL, Calendar, deadlines

OWNER = "owner"
ACTIVE_STATUSES = ("open", "waiting_customer")


@dataclass
class Plan:
    kind: str
    source: str
    station_id: int
    branch_id: int
    received_at: dt.datetime
    subtype: str = ""
    variant: str = ""
    customer_id: int | None = None
    applicant: dict = field(default_factory=dict)  # applicant_* field values, without the prefix
    owner_id: int | None = None
    by_id: int | None = None  # who acted on the timeline's events
    description: str = ""
    external_no: str | None = None
    follow_up_id: int | None = None
    # done_at of the first stages, in order; a request closed has every stage done (those not
    # given are done at its closing)
    stages_done: list[dt.datetime] = field(default_factory=list)
    # the active stage waits for the customer since then (its template must let it pause)
    waiting_since: dt.datetime | None = None
    wait_reason: str = ""
    closed_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str = ""


def request_number(received_at: dt.datetime, pk: int) -> str:
    """The number a request is known by: FW, the day received (Asia/Shanghai), the id."""
    return f"FW{received_at.astimezone(LOCAL):%Y%m%d}{pk:06d}"


def _number(request_model, requests: list) -> None:
    """Number the requests just written in one UPDATE: FW, the day received (Asia/Shanghai), the
    id zero-padded to six digits, as request_number says."""
    for request in requests:
        request.number = request_number(request.received_at, request.pk)
    digits = Cast("id", output_field=CharField())
    padded = Case(When(id__lt=10**6, then=LPad(digits, 6, Value("0"))), default=digits)
    day = Replace(
        Cast(TruncDate("received_at", tzinfo=LOCAL), output_field=CharField()), Value("-"), Value("")
    )
    request_model.objects.filter(pk__in=[r.pk for r in requests]).update(
        number=Concat(Value("FW"), day, padded, output_field=CharField())
    )


def _state(*, warn_at, due_at, read_at) -> str:
    """A running clock's state read at `read_at` (now, or where its waiting began): service.sla."""
    if read_at >= due_at:
        return "breached"
    if read_at >= warn_at:
        return "warning"
    return "ok"


class Lookups:
    """What every plan needs, read once: templates, departments, the work calendar."""

    def __init__(self, models, plans: list[Plan], now: dt.datetime):
        template_model = models.get_model("service", "RequestTemplate")
        self.templates: dict[tuple[str, str, str], list] = {}
        for template in template_model.objects.order_by("-version"):
            self.templates.setdefault((template.kind, template.subtype, template.variant), []).append(
                template
            )
        self.departments: dict[tuple[int, str], int] = {}
        department_model = models.get_model("service", "Department")
        for pk, branch_id, kind in department_model.objects.order_by("-code").values_list(
            "pk", "branch_id", "kind"
        ):
            self.departments[(branch_id, kind)] = pk  # lowest code last, so it wins
        first = min([p.received_at for p in plans] + [now]).astimezone(LOCAL).year
        last = now.astimezone(LOCAL).year + 1
        years = range(first, last + 1)
        day_model = models.get_model("service", "CalendarDay")
        year_model = models.get_model("service", "CalendarYear")
        holidays, makeup = set(), set()
        for date, kind in day_model.objects.filter(date__year__in=years).values_list("date", "kind"):
            (makeup if kind == "makeup_workday" else holidays).add(date)
        loaded = year_model.objects.filter(year__in=years).values_list("year", flat=True)
        self.calendar = Calendar(frozenset(holidays), frozenset(makeup), frozenset(loaded))

    def template(self, plan: Plan):
        """The highest version in force on the day received, of the plan's variant (or of any)."""
        day = plan.received_at.astimezone(LOCAL).date()
        for variant in dict.fromkeys((plan.variant, "")):
            for template in self.templates.get((plan.kind, plan.subtype, variant), []):
                if template.effective_from <= day:
                    return template
        raise LookupError(
            f"no request template in force for {plan.kind}/{plan.subtype}/{plan.variant} on {day}"
        )


def requests_bulk_create(
    plans: list[Plan], *, now: dt.datetime, models=None, read_states: bool = True
) -> list[int]:
    """Write the requests of `plans` with their stages and events; returns their ids, in order.
    `read_states` False: the running clocks start `ok`, as service.services.request_open starts
    them, for the SLA job to move (and tell) when they cross; the 95598 batch intake writes so."""
    if models is None:
        from django.apps import apps as models
    if not plans:
        return []
    request_model = models.get_model("service", "ServiceRequest")
    stage_model = models.get_model("service", "RequestStage")
    event_model = models.get_model("service", "StageEvent")
    lookups = Lookups(models, plans, now)
    requests, stage_rows, event_rows = [], [], []
    for plan in plans:
        request, stages, events = _build(plan, lookups, now, request_model, stage_model, read_states)
        requests.append(request)
        stage_rows.append(stages)
        event_rows.append(events)
    request_model.objects.bulk_create(requests, batch_size=500)
    _number(request_model, requests)
    flat_stages = []
    for request, stages in zip(requests, stage_rows, strict=True):
        for stage in stages:
            stage.request_id = request.pk
            flat_stages.append(stage)
    stage_model.objects.bulk_create(flat_stages, batch_size=500)
    events = []
    for request, stages, plan_events in zip(requests, stage_rows, event_rows, strict=True):
        for at, action, position, note in plan_events:
            stage_id = stages[position].pk if position is not None else None
            events.append(
                event_model(
                    request_id=request.pk,
                    stage_id=stage_id,
                    action=action,
                    at=at,
                    by_id=request.by_id,
                    note=note,
                )
            )
    event_model.objects.bulk_create(events, batch_size=1000)
    return [request.pk for request in requests]


def _build(plan: Plan, lookups: Lookups, now: dt.datetime, request_model, stage_model, read_states=True):
    template = lookups.template(plan)
    calendar, count = lookups.calendar, len(template.stages)
    done = list(plan.stages_done)
    if plan.closed_at is not None:
        done = (done + [plan.closed_at] * count)[:count]
    missing = False
    stages, events = [], [(plan.received_at, "opened", None, "")]
    started, waiting_since = plan.received_at, None
    for position, spec in enumerate(template.stages):
        kind = spec["department_kind"]
        stage = stage_model(
            position=position + 1,
            code=spec["code"],
            name=spec["name"],
            department_kind=kind,
            department_id=None if kind == OWNER else lookups.departments.get((plan.branch_id, kind)),
            pauses_for_customer=bool(spec.get("pauses_for_customer")),
            limit=spec["limit"],
            unit=spec["unit"],
            status="pending",
        )
        stages.append(stage)
        if position > len(done):
            continue
        clock = deadlines(calendar, started_at=started, limit=stage.limit, unit=stage.unit)
        missing = missing or clock.calendar_missing
        stage.started_at, stage.warn_at, stage.due_at = started, clock.warn_at, clock.due_at
        stage.calendar_missing = clock.calendar_missing
        events.append((started, "started", position, ""))
        if position < len(done):
            # a stopped clock is breached if it stopped after it was due, else on time (services)
            stage.status, stage.done_at, stage.done_by_id = "done", done[position], plan.by_id
            stage.sla_state = "breached" if stage.done_at > stage.due_at else "ok"
            events.append((stage.done_at, "done", position, ""))
            started = stage.done_at
            continue
        # the stage in progress (a cancelled request's keeps its state, read at the cancellation)
        stage.status, read_at = "active", plan.cancelled_at or now
        if plan.cancelled_at is None and plan.waiting_since is not None and stage.pauses_for_customer:
            stage.status, stage.wait_reason = "waiting_customer", plan.wait_reason
            stage.waiting_since = waiting_since = read_at = plan.waiting_since
            events.append((plan.waiting_since, "waiting", position, plan.wait_reason))
        if read_states:
            stage.sla_state = _state(warn_at=stage.warn_at, due_at=stage.due_at, read_at=read_at)
    clock = deadlines(
        calendar, started_at=plan.received_at, limit=template.total_limit, unit=template.total_unit
    )
    # the request's clock stops when its last stage is done (the owner's closing is not timed)
    done_at = done[-1] if count and len(done) >= count else None
    if done_at is not None:
        sla_state = "breached" if done_at > clock.due_at else "ok"
    elif read_states:
        read_at = plan.cancelled_at or waiting_since or now
        sla_state = _state(warn_at=clock.warn_at, due_at=clock.due_at, read_at=read_at)
    else:
        sla_state = "ok"
    if plan.closed_at is not None:
        status = "closed"
        events.append((plan.closed_at, "closed", None, ""))
    elif plan.cancelled_at is not None:
        status = "cancelled"
        events.append((plan.cancelled_at, "cancelled", None, plan.cancel_reason))
    else:
        status = "waiting_customer" if waiting_since is not None else "open"
    request = request_model(
        kind=plan.kind,
        subtype=plan.subtype,
        template_id=template.pk,
        source=plan.source,
        external_no=plan.external_no,
        customer_id=plan.customer_id,
        **{f"applicant_{key}": value for key, value in plan.applicant.items()},
        station_id=plan.station_id,
        description=plan.description,
        owner_id=plan.owner_id,
        status=status,
        received_at=plan.received_at,
        closed_at=plan.closed_at,
        cancel_reason=plan.cancel_reason,
        follow_up_id=plan.follow_up_id,
        created_by_id=plan.by_id,
        limit=template.total_limit,
        unit=template.total_unit,
        started_at=plan.received_at,
        warn_at=clock.warn_at,
        due_at=clock.due_at,
        done_at=done_at,
        waiting_since=waiting_since,
        sla_state=sla_state,
        calendar_missing=missing or clock.calendar_missing,
    )
    request.by_id = plan.by_id  # for its events; not a field
    return request, stages, events
