"""SLA state (service.md, "SLA state"): each clock (a stage's or a request's) is `ok`, `warning` once
80 % of its limit is used (`warn_at`) or `breached` once it is due (`due_at`).

The stored `sla_state` is what the SLA job (`sla_states_refresh`, every few minutes from beat) last
wrote, so that the alerts go out once and a list can filter on an index. Pages and the API show the
state as of now instead, computed from the same columns (`sla_state_now` for one clock,
`with_sla_now`/`sla_now_q` on a QuerySet), so a clock that crossed its limit a minute ago reads
breached before the job has run.

A clock is read at an instant: now while it runs, the moment it stopped when it is done, and the
moment the customer made it wait while it waits (its clock is paused; resuming moves `warn_at` and
`due_at` later by the time waited, service/clock.py)."""

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.db.models import Case, Count, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.common.chunks import chunk_transaction
from crm.common.scopes import scope_for
from service.clock import DAY_MINUTES, Calendar, counted
from service.models import (
    RequestStage,
    RequestStatus,
    ServiceRequest,
    SlaState,
    StageStatus,
    Unit,
)

CHUNK = 2000  # clocks per UPDATE of the job, each chunk its own short transaction


# ---------------------------------------------------------------- one clock, as of now
def sla_state_now(
    *,
    warn_at: dt.datetime | None,
    due_at: dt.datetime | None,
    done_at: dt.datetime | None,
    waiting_since: dt.datetime | None,
    now: dt.datetime,
) -> str:
    """The state of a clock as of `now` (read at its stop, or where its waiting began)."""
    at = done_at or waiting_since or now
    if due_at is not None and at >= due_at:
        return SlaState.BREACHED
    if warn_at is not None and at >= warn_at:
        return SlaState.WARNING
    return SlaState.OK


def _read_at(now: dt.datetime) -> Case:
    """The instant each row's clock is read at (see sla_state_now), as an SQL expression."""
    return Case(
        When(done_at__isnull=False, then=F("done_at")),
        When(waiting_since__isnull=False, then=F("waiting_since")),
        default=Value(now, output_field=models.DateTimeField()),
        output_field=models.DateTimeField(),
    )


def sla_now_q(state: str, now: dt.datetime, prefix: str = "") -> Q:
    """The rows whose clock is in `state` as of `now`, on the stored columns (a filter, or the
    `filter=` of a Count); `prefix` reaches a related clock (`"request__"`)."""

    def crossed(column: str) -> Q:
        # the clock read at its stop, at its pause, or now (the same order as _read_at)
        done = Q(**{f"{prefix}done_at__isnull": False, f"{prefix}{column}__lte": F(f"{prefix}done_at")})
        waiting = Q(
            **{
                f"{prefix}done_at__isnull": True,
                f"{prefix}waiting_since__isnull": False,
                f"{prefix}{column}__lte": F(f"{prefix}waiting_since"),
            }
        )
        running = Q(
            **{
                f"{prefix}done_at__isnull": True,
                f"{prefix}waiting_since__isnull": True,
                f"{prefix}{column}__lte": now,
            }
        )
        return done | waiting | running

    if state == SlaState.BREACHED:
        return crossed("due_at")
    if state == SlaState.WARNING:
        return crossed("warn_at") & ~crossed("due_at")
    return ~crossed("warn_at") & ~crossed("due_at")


def with_sla_now(queryset, now: dt.datetime | None = None):
    """Each clock's state as of `now` as `sla_now`, beside the stored `sla_state`."""
    now = now or timezone.now()
    at = _read_at(now)
    return queryset.annotate(
        sla_now=Case(
            When(due_at__lte=at, then=Value(SlaState.BREACHED)),
            When(warn_at__lte=at, then=Value(SlaState.WARNING)),
            default=Value(SlaState.OK),
            output_field=models.CharField(),
        )
    )


# ---------------------------------------------------------------- time left, how late
@dataclass(frozen=True)
class Reading:
    """A clock read as of now: its state and the counted time left before it is due (`late`
    False) or since it was due (`late` True), in the clock's own unit."""

    state: str
    minutes: int
    unit: str
    late: bool

    @property
    def text(self) -> str:
        """Such as "1.5 working days late" or "20 minutes left", in the user's language."""
        if self.late:
            return _("%(late)s late") % {"late": amount(self.minutes, self.unit)}
        return _("%(left)s left") % {"left": amount(self.minutes, self.unit)}


def amount(minutes: int, unit: str) -> str:
    """Counted minutes in the clock's own unit: working days or working hours (to one decimal), or
    hours and minutes (the same words as the request pages)."""
    if unit == Unit.WORKING_DAYS and minutes >= DAY_MINUTES:
        days = round(minutes / DAY_MINUTES, 1)
        return ngettext("%(n)s working day", "%(n)s working days", int(days) or 1) % {"n": f"{days:g}"}
    if unit == Unit.WORKING_HOURS and minutes >= 60:
        hours = round(minutes / 60, 1)
        return ngettext("%(n)s working hour", "%(n)s working hours", int(hours) or 1) % {"n": f"{hours:g}"}
    if minutes >= 60:
        hours, rest = divmod(minutes, 60)
        if not rest:
            return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
        return _("%(h)s h %(m)s min") % {"h": hours, "m": rest}
    return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


def reading(
    calendar: Calendar,
    *,
    unit: str,
    warn_at: dt.datetime | None,
    due_at: dt.datetime | None,
    done_at: dt.datetime | None = None,
    waiting_since: dt.datetime | None = None,
    now: dt.datetime,
) -> Reading | None:
    """How the clock stands as of `now`, counted on the work calendar (service/clock.py); None for
    a clock that has not started."""
    if due_at is None:
        return None
    at = done_at or waiting_since or now
    state = sla_state_now(
        warn_at=warn_at, due_at=due_at, done_at=done_at, waiting_since=waiting_since, now=now
    )
    if at >= due_at:
        return Reading(state, counted(calendar, due_at, at, unit), unit, late=True)
    return Reading(state, counted(calendar, at, due_at, unit), unit, late=False)


def board_calendar(now: dt.datetime) -> Calendar:
    """The work calendar a page reads its clocks on: the years around now, which every running
    clock's due date and now fall in. The same Calendar as service.clock.calendar_for, in one
    query instead of two (the days and the loaded years as one UNION ALL): a page's budget is ten."""
    from service.models import CalendarDay, CalendarYear, DayKind

    first, last = now.year - 2, now.year + 1
    days = (
        CalendarDay.objects.filter(date__gte=dt.date(first, 1, 1), date__lt=dt.date(last + 1, 1, 1))
        .annotate(loaded=Value(None, output_field=models.IntegerField()))
        .values_list("date", "kind", "loaded")
        .order_by()
    )
    years = (
        CalendarYear.objects.filter(year__gte=first, year__lte=last)
        .annotate(
            day=Value(None, output_field=models.DateField()),
            day_kind=Value("", output_field=models.CharField()),
        )
        .values_list("day", "day_kind", "year")
        .order_by()
    )
    holidays, makeup, loaded = set(), set(), set()
    for day, kind, year in days.union(years, all=True):
        if year is not None:
            loaded.add(year)
        elif kind == DayKind.MAKEUP_WORKDAY:
            makeup.add(day)
        else:
            holidays.add(day)
    return Calendar(frozenset(holidays), frozenset(makeup), frozenset(loaded))


# ---------------------------------------------------------------- the 超时预警 board
ACTIVE_STAGE = [StageStatus.ACTIVE, StageStatus.WAITING_CUSTOMER]
ACTIVE_REQUEST = [RequestStatus.OPEN, RequestStatus.WAITING_CUSTOMER]
LATE = [SlaState.WARNING, SlaState.BREACHED]


@dataclass(frozen=True)
class Board:
    """What is at warning or breached as of `now`, within a user's scope and the filters: the
    stages and the requests (QuerySets, soonest due first), their counts per station and per
    department (lists of dicts), and the stations and departments that have anything late at all
    (the filters' choices, as (id, name))."""

    stages: models.QuerySet
    requests: models.QuerySet
    by_station: list[dict]
    by_department: list[dict]
    stations: list[tuple[int, str]]
    departments: list[tuple[int, str]]
    now: dt.datetime

    @property
    def stage_total(self) -> int:
        return sum(e["stages_warning"] + e["stages_breached"] for e in self.by_station)

    @property
    def request_total(self) -> int:
        return sum(e["requests_warning"] + e["requests_breached"] for e in self.by_station)


def _late_q(now: dt.datetime, prefix: str = "") -> Q:
    return sla_now_q(SlaState.WARNING, now, prefix) | sla_now_q(SlaState.BREACHED, now, prefix)


def _station_entry(station_id: int, name: str) -> dict:
    return {
        "station_id": station_id,
        "station": name,
        "stages_warning": 0,
        "stages_breached": 0,
        "requests_warning": 0,
        "requests_breached": 0,
    }


def board_for(*, user, station_id: int | None = None, department_id: int | None = None, now=None) -> Board:
    """The board as `user` may see it (ServiceRequest.objects.visible_to), by station and by
    department. Department staff see their department's stages only (and the requests those belong
    to); a department filter keeps the requests that have a stage of that department.

    Two aggregate queries, whatever the data: the late stages counted per station and department
    (the filters then apply to these rows here, so the same rows give the choices), and the late
    requests per station."""
    from service.selectors import staff_department_id

    now = now or timezone.now()
    visible = ServiceRequest.objects.visible_to(user)
    stages = RequestStage.objects.filter(status__in=ACTIVE_STAGE).filter(_late_q(now))
    if not scope_for(user).sees_all:  # for those who see everything, no semi-join with every request
        stages = stages.filter(request__in=visible)
    requests = visible.filter(status__in=ACTIVE_REQUEST).filter(_late_q(now))
    own_department = staff_department_id(user)
    if own_department is not None:
        stages = stages.filter(department_id=own_department)
    counts = {
        "warning": Count("pk", filter=sla_now_q(SlaState.WARNING, now)),
        "breached": Count("pk", filter=sla_now_q(SlaState.BREACHED, now)),
    }
    stage_rows = list(
        stages.values("request__station_id", "request__station__name", "department_id", "department__name")
        .annotate(**counts)
        .order_by()
    )
    if department_id is not None:
        requests = requests.filter(
            pk__in=RequestStage.objects.filter(department_id=department_id).values("request_id")
        )
    request_rows = list(requests.values("station_id", "station__name").annotate(**counts).order_by())
    stations = {r["request__station_id"]: r["request__station__name"] for r in stage_rows}
    stations.update({r["station_id"]: r["station__name"] for r in request_rows})
    departments = {r["department_id"]: r["department__name"] for r in stage_rows if r["department_id"]}

    by_station: dict[int, dict] = {}
    by_department: dict[int | None, dict] = {}
    for row in stage_rows:
        if station_id is not None and row["request__station_id"] != station_id:
            continue
        if department_id is not None and row["department_id"] != department_id:
            continue
        entry = by_station.setdefault(
            row["request__station_id"],
            _station_entry(row["request__station_id"], row["request__station__name"]),
        )
        entry["stages_warning"] += row["warning"]
        entry["stages_breached"] += row["breached"]
        dept = by_department.setdefault(
            row["department_id"],
            {
                "department_id": row["department_id"],
                # a stage without a department is the owner's own (service.models.OWNER)
                "department": row["department__name"] or _("Account manager"),
                "warning": 0,
                "breached": 0,
            },
        )
        dept["warning"] += row["warning"]
        dept["breached"] += row["breached"]
    for row in request_rows:
        if station_id is not None and row["station_id"] != station_id:
            continue
        entry = by_station.setdefault(
            row["station_id"], _station_entry(row["station_id"], row["station__name"])
        )
        entry["requests_warning"] += row["warning"]
        entry["requests_breached"] += row["breached"]

    if station_id is not None:
        stages = stages.filter(request__station_id=station_id)
        requests = requests.filter(station_id=station_id)
    if department_id is not None:
        stages = stages.filter(department_id=department_id)
    stages = with_sla_now(stages, now).select_related(
        "request__station", "request__owner", "request__customer", "department"
    )
    requests = with_sla_now(requests, now).select_related("station", "owner", "customer")
    by_name = lambda pair: (pair[1] or "", pair[0])  # noqa: E731
    return Board(
        stages=stages.order_by("due_at", "pk"),
        requests=requests.order_by("due_at", "pk"),
        by_station=sorted(by_station.values(), key=lambda e: (e["station"] or "", e["station_id"])),
        by_department=sorted(
            by_department.values(), key=lambda e: (str(e["department"]), e["department_id"] or 0)
        ),
        stations=sorted(stations.items(), key=by_name),
        departments=sorted(departments.items(), key=by_name),
        now=now,
    )


# ---------------------------------------------------------------- the SLA job
@dataclass(frozen=True)
class Crossing:
    """Which rows of a table can have changed state, and how the job moves them."""

    model: type[models.Model]
    running: Q  # a clock that runs (not waiting for the customer: a waiting clock is frozen)
    to: str
    column: str  # the instant crossed: warn_at or due_at
    old: tuple[str, ...]


CROSSINGS = [
    # breaches first: a clock past due that the job had not seen at warning goes straight to breached
    Crossing(RequestStage, Q(status=StageStatus.ACTIVE), SlaState.BREACHED, "due_at", ("ok", "warning")),
    Crossing(ServiceRequest, Q(status=RequestStatus.OPEN), SlaState.BREACHED, "due_at", ("ok", "warning")),
    Crossing(RequestStage, Q(status=StageStatus.ACTIVE), SlaState.WARNING, "warn_at", ("ok",)),
    Crossing(ServiceRequest, Q(status=RequestStatus.OPEN), SlaState.WARNING, "warn_at", ("ok",)),
]


def _move_chunk(crossing: Crossing, now: dt.datetime, size: int) -> list[int]:
    """Move one chunk of the clocks that crossed; returns their ids. The rows are locked as they are
    picked, and a row another run holds is skipped (it is that run's), so two runs at once never
    move, nor tell about, the same clock twice; the UPDATE still filters on the old state."""
    model = crossing.model
    candidates = model.objects.filter(
        crossing.running,
        # a stopped clock (a request whose last stage is done, waiting to be closed or reopened by a
        # callback) keeps the state it stopped with
        done_at__isnull=True,
        waiting_since__isnull=True,
        sla_state__in=crossing.old,
        **{f"{crossing.column}__lte": now},
    )
    ids = list(candidates.select_for_update(skip_locked=True).order_by().values_list("pk", flat=True)[:size])
    if ids:
        model.objects.filter(pk__in=ids, sla_state__in=crossing.old).update(
            sla_state=crossing.to, updated_at=now
        )
    return ids


def sla_states_refresh(*, now: dt.datetime | None = None, size: int = CHUNK) -> dict[str, int]:
    """Write the state of every running clock that crossed its warning or its due instant since the
    last run, and tell the people concerned (service.alerts). It reads only what can have changed:
    running clocks still `ok` past `warn_at`, or not yet breached past `due_at` (on the indexes
    (status, warn_at) and (status, due_at)). Each chunk is one transaction: its UPDATE and its
    alerts; the e-mails follow the commit. A rerun finds nothing left and tells nobody twice."""
    from service.alerts import alerts_create, alerts_email

    now = now or timezone.now()
    counts: dict[str, int] = {}
    alert_ids: list[int] = []
    for crossing in CROSSINGS:
        key = f"{crossing.model._meta.model_name}_{crossing.to}"
        counts[key] = 0
        while True:
            with chunk_transaction():
                ids = _move_chunk(crossing, now, size)
                if ids:
                    alert_ids += alerts_create(model=crossing.model, ids=ids, state=crossing.to)
            counts[key] += len(ids)
            if len(ids) < size:
                break
    counts["alerts"] = len(alert_ids)
    counts["emails"] = alerts_email(alert_ids=alert_ids, now=now)
    return counts


def due_label(due_at: dt.datetime | None, unit: str) -> str:
    """A due instant as people say it, in Asia/Shanghai: a working-day limit ends at 24:00 of its
    last day, stored as 00:00 of the next, and reads "2026-10-13 24:00", not the 14th."""
    from service.clock import LOCAL

    if due_at is None:
        return ""
    local = due_at.astimezone(LOCAL)
    if unit == Unit.WORKING_DAYS and (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{local.date() - dt.timedelta(days=1):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def _item(clock, *, request, stage, calendar: Calendar, now: dt.datetime) -> dict:
    read = reading(
        calendar,
        unit=clock.unit,
        warn_at=clock.warn_at,
        due_at=clock.due_at,
        done_at=clock.done_at,
        waiting_since=clock.waiting_since,
        now=now,
    )
    return {
        "request": request,
        "stage": stage,
        "state": clock.sla_now,
        "stored_state": clock.sla_state,
        "due_at": clock.due_at,
        "due_label": due_label(clock.due_at, clock.unit),
        "unit": clock.unit,
        "reading": read,
        "calendar_missing": clock.calendar_missing,
        "waiting": clock.waiting_since is not None,
    }


def board_items(board: Board, *, stages, requests) -> tuple[list[dict], list[dict]]:
    """The rows of `stages` and `requests` (slices of the board's QuerySets) with their reading:
    the state as of now, the due instant as people say it, time left or how late in the clock's
    unit. Reads the work calendar once (two queries) when there is a row."""
    stages, requests = list(stages), list(requests)
    calendar = board_calendar(board.now) if stages or requests else None
    return (
        [_item(s, request=s.request, stage=s, calendar=calendar, now=board.now) for s in stages],
        [_item(r, request=r, stage=None, calendar=calendar, now=board.now) for r in requests],
    )
