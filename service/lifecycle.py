"""What every step of a request's life shares (service.services): its clocks, the row lock, and
who may act on it. Kept apart so the services read as the rules they are."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.roles import ADMINISTRATOR, leads_a_team, roles_of
from crm.common.errors import Conflict
from crm.common.scopes import scope_for
from service import clock
from service.models import RequestStage, ServiceRequest, SlaState, StageEvent, StageStatus
from service.selectors import staff_department_id

WORKING = (StageStatus.ACTIVE, StageStatus.WAITING_CUSTOMER)


def calendar_between(*instants: dt.datetime) -> clock.Calendar:
    """The work calendar for clocks that start or run between the instants given (one read)."""
    years = [clock._local(at).year for at in instants if at is not None]
    return clock.calendar_for(range(min(years), max(years) + 2))


def start_clock(target, calendar: clock.Calendar, at: dt.datetime) -> None:
    target.started_at = at
    target.waited_minutes = 0
    target.waiting_since = None
    target.sla_state = SlaState.OK
    set_deadlines(target, calendar)


def set_deadlines(target, calendar: clock.Calendar) -> None:
    reach = clock.deadlines(
        calendar,
        started_at=target.started_at,
        limit=target.limit,
        unit=target.unit,
        waited_minutes=target.waited_minutes,
    )
    target.warn_at, target.due_at, target.calendar_missing = (
        reach.warn_at,
        reach.due_at,
        reach.calendar_missing,
    )


def stop_clock(target, at: dt.datetime) -> None:
    """The clock's work is done: its state is frozen as it read at that instant, the same reading
    the pages make of a stopped clock (service.sla.sla_state_now): done past due is breached, done
    past the warning stays at warning (the warning was real, and was told), otherwise ok."""
    from service.sla import sla_state_now

    target.done_at = at
    target.sla_state = sla_state_now(
        warn_at=target.warn_at, due_at=target.due_at, done_at=at, waiting_since=None, now=at
    )


def waited(target, calendar: clock.Calendar, until: dt.datetime) -> int:
    """Counted minutes of the clock's unit the current wait lasted. A working-days clock does not
    count its start day, so a wait on that day costs nothing and moves nothing."""
    return clock.counted(
        calendar, target.waiting_since, until, target.unit, clock_started_at=target.started_at
    )


def when(at: dt.datetime | None, *floors: dt.datetime | None) -> dt.datetime:
    """The instant an action happened: `at` (demo data, a record entered late) or now. It cannot be
    before what it follows (the stage's start, the wait's start): that would run a clock backwards."""
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise ValidationError({"at": [_("Give the time with its time zone.")]})
    if any(floor is not None and at < floor for floor in floors):
        raise ValidationError({"at": [_("This time is before the step it follows.")]})
    return at


def event(request, action, *, at, by, stage=None, note="") -> StageEvent:
    return StageEvent(request=request, stage=stage, action=action, at=at, by=by, note=(note or "")[:500])


def locked_request(request: ServiceRequest) -> ServiceRequest:
    # of=self: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join to the owner
    return ServiceRequest.objects.select_for_update(of=("self",)).select_related("owner").get(pk=request.pk)


def sync(request: ServiceRequest, locked: ServiceRequest) -> None:
    """Let the caller's instance see what was written on the locked copy."""
    for field in locked._meta.concrete_fields:
        setattr(request, field.attname, getattr(locked, field.attname))


def stages_of(request: ServiceRequest) -> list[RequestStage]:
    return list(RequestStage.objects.filter(request_id=request.pk).order_by("position"))


def working_stage(stages: list[RequestStage]) -> RequestStage | None:
    return next((s for s in stages if s.status in WORKING), None)


def not_open() -> Conflict:
    return Conflict(_("This request is closed or cancelled."))


def oversees(request: ServiceRequest, by) -> bool:
    """The owner, whoever leads a team holding the owner (their supervisor, up the tree), an
    administrator; for a request nobody owns, a supervisor whose team serves its station."""
    if by is None:
        return True  # the system (a job, a data fix)
    if request.owner_id is not None and by.pk == request.owner_id:
        return True
    if ADMINISTRATOR in roles_of(by):
        return True
    if not leads_a_team(by):
        return False
    if request.owner_id is not None:
        return scope_for(by).includes(request.owner_id)
    return ServiceRequest.objects.visible_to(by).filter(pk=request.pk).exists()


def may_work(request: ServiceRequest, stage: RequestStage, by) -> bool:
    """The stage's department's staff, or whoever oversees the request."""
    if by is not None and stage.department_id is not None and staff_department_id(by) == stage.department_id:
        return True
    return oversees(request, by)


def refuse() -> PermissionDenied:
    return PermissionDenied(
        _("Only the stage's department, the request's owner or their supervisor may do this.")
    )
