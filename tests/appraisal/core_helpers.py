"""Builders shared by the appraisal tests of the domain and API (plain functions, not fixtures, so
that any test module can use them)."""

from appraisal import services
from appraisal.models import Appraisal, RaterKind
from appraisal.scoring import DEFAULT_CRITERIA

CODES = [code for code, _name, _weight in DEFAULT_CRITERIA]


def open_cycle(world, *, year: int = 2026):
    """Cycle `year` with the defaults, opened by the administrator: appraisals for manager A (with
    the supervisor on the panel) and manager B (no supervisor)."""
    cycle = services.cycle_create(year=year, by=world.admin)
    services.cycle_open(cycle=cycle, by=world.admin)
    cycle.refresh_from_db()
    return cycle


def appraisal_of(cycle, manager) -> Appraisal:
    return Appraisal.objects.get(cycle=cycle, manager=manager)


def all_scores(value: int = 80, *, comment: str = "") -> list[dict]:
    """A score for every default criterion; `value` may be a dict code -> score."""
    if isinstance(value, dict):
        return [{"criterion": code, "score": value[code], "comment": comment} for code in CODES]
    return [{"criterion": code, "score": value, "comment": comment} for code in CODES]


def supervisor_scores(world, appraisal: Appraisal, value: int = 80):
    """The supervisor's sheet on `appraisal`, `value` on every criterion."""
    seat = services.rater_seat_for(appraisal=appraisal, user=world.supervisor)
    return services.scores_save(rater=seat, scores=all_scores(value), by=world.supervisor)


def seat_representative(world, appraisal: Appraisal, name: str = "周代表", **details):
    """A customer representative (with a live link) seated on `appraisal`'s panel by the supervisor."""
    return services.panel_add(
        appraisal=appraisal, kind=RaterKind.CUSTOMER_REPRESENTATIVE, name=name, by=world.supervisor, **details
    )
