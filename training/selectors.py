"""Reads of the training app: compliance per station, team and year, a manager's own training, and
training hours as evidence for other apps (appraisal). Query counts do not grow with the data: each
function issues a fixed number of queries and assembles the rows in Python."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import QuerySet, Sum

from crm.common.scopes import team_user_ids
from customers.models import Station
from managers.models import Manager
from training.models import Category, Course, Result, RoleRequirement, TrainingRecord

ZERO = Decimal("0")


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _empty_hours() -> dict[str, Decimal]:
    return {category: ZERO for category in Category.values}


@dataclass
class ComplianceRow:
    """One manager's standing for a year: required courses of their role, those passed by the end of
    the year, what is missing, and the hours trained in the year per category."""

    manager: Manager
    required: list[Course]
    passed: list[Course]
    missing: list[Course]
    hours: dict[str, Decimal] = field(default_factory=_empty_hours)

    @property
    def qualified(self) -> bool:
        return not self.missing

    @property
    def hours_total(self) -> Decimal:
        return sum(self.hours.values(), ZERO)

    @property
    def hours_columns(self) -> list[tuple[str, Decimal]]:
        """(category label, hours) in the order of Category: the report's columns."""
        return [(label, self.hours[value]) for value, label in Category.choices]


@dataclass
class ComplianceSummary:
    managers: int
    qualified: int
    unqualified: int
    hours: dict[str, Decimal]

    @property
    def hours_total(self) -> Decimal:
        return sum(self.hours.values(), ZERO)


def compliance_managers(*, user) -> QuerySet[Manager]:
    """The active managers the report may cover: those `user` may see. The report's query
    (training.api.ComplianceFilter) narrows them to a station or a team."""
    return Manager.objects.visible_to(user).active()


def in_team(managers: QuerySet[Manager], lead_id: int) -> QuerySet[Manager]:
    """`managers` in the team (everyone below) of the user with id `lead_id`."""
    return managers.filter(user_id__in=team_user_ids(lead_id))


def requirements_by_role(roles) -> dict[str, list[Course]]:
    by_role: dict[str, list[Course]] = defaultdict(list)
    for requirement in (
        RoleRequirement.objects.filter(role__in=list(roles)).select_related("course").order_by("course__code")
    ):
        by_role[requirement.role].append(requirement.course)
    return by_role


def hours_by_category(*, managers, year: int) -> dict[int, dict[str, Decimal]]:
    """Hours of training attended (passed or failed) in `year`, per manager id and course category.
    `managers` is a queryset or a list of ids."""
    start, end = year_bounds(year)
    hours: dict[int, dict[str, Decimal]] = defaultdict(_empty_hours)
    rows = (
        TrainingRecord.objects.attended()
        .filter(manager__in=managers, session_date__range=(start, end))
        .values_list("manager_id", "course__category")
        .annotate(total=Sum("hours"))
        .order_by()
    )
    for manager_id, category, total in rows:
        hours[manager_id][category] = total or ZERO
    return hours


def compliance(*, user, year: int, managers: QuerySet[Manager] | None = None) -> list[ComplianceRow]:
    """Per manager in scope: required versus passed (as of the end of `year`), hours per category in
    `year`, and what is missing. `managers` narrows compliance_managers(user=user) (the report's
    query does); by default the report covers all of them. Four queries (five with a team) whatever
    the number of managers."""
    managers_qs = compliance_managers(user=user) if managers is None else managers
    managers = list(managers_qs.select_related("user", "station").order_by("station__code", "employee_no"))
    if not managers:
        return []
    required = requirements_by_role({m.role for m in managers})
    _start, end = year_bounds(year)
    passed: set[tuple[int, int]] = set(
        TrainingRecord.objects.passed()
        .filter(manager__in=managers_qs, session_date__lte=end)
        .values_list("manager_id", "course_id")
        .distinct()
    )
    hours = hours_by_category(managers=managers_qs, year=year)
    rows = []
    for manager in managers:
        courses = required.get(manager.role, [])
        done = [c for c in courses if (manager.pk, c.pk) in passed]
        missing = [c for c in courses if (manager.pk, c.pk) not in passed]
        rows.append(
            ComplianceRow(
                manager=manager,
                required=courses,
                passed=done,
                missing=missing,
                hours=hours.get(manager.pk) or _empty_hours(),
            )
        )
    return rows


def compliance_summary(rows: list[ComplianceRow]) -> ComplianceSummary:
    hours = _empty_hours()
    for row in rows:
        for category, value in row.hours.items():
            hours[category] += value
    qualified = sum(1 for row in rows if row.qualified)
    return ComplianceSummary(
        managers=len(rows), qualified=qualified, unqualified=len(rows) - qualified, hours=hours
    )


def compliance_filter_choices(*, user) -> tuple[QuerySet[Station], QuerySet]:
    """Stations and team leads (users supervising a visible manager) the report can be narrowed to."""
    visible = Manager.objects.visible_to(user).active()
    stations = Station.objects.filter(pk__in=visible.values("station_id")).order_by("code")
    leads = (
        get_user_model()
        .objects.filter(pk__in=visible.filter(user__supervisor__isnull=False).values("user__supervisor_id"))
        .order_by("full_name", "username")
    )
    return stations, leads


@dataclass
class ManagerTraining:
    manager: Manager
    year: int
    records: list[TrainingRecord]
    passed: list[TrainingRecord]
    required: list[Course]
    missing: list[Course]
    hours: dict[str, Decimal]

    @property
    def hours_total(self) -> Decimal:
        return sum(self.hours.values(), ZERO)

    @property
    def qualified(self) -> bool:
        return not self.missing

    @property
    def required_passed(self) -> int:
        return len(self.required) - len(self.missing)


def manager_training(*, manager: Manager, year: int) -> ManagerTraining:
    """A manager's own page: every record, the courses passed (latest pass of each), the hours of
    `year` per category and the required courses still missing. Two queries."""
    records = list(
        TrainingRecord.objects.filter(manager=manager)
        .select_related("course", "session")
        .order_by("-session_date", "-id")
    )
    required = requirements_by_role([manager.role]).get(manager.role, [])
    passed: dict[int, TrainingRecord] = {}
    hours = _empty_hours()
    start, end = year_bounds(year)
    for record in records:
        if record.result == Result.PASSED and record.course_id not in passed:
            passed[record.course_id] = record
        if record.result in (Result.PASSED, Result.FAILED) and start <= record.session_date <= end:
            hours[record.course.category] += record.hours
    return ManagerTraining(
        manager=manager,
        year=year,
        records=records,
        passed=sorted(passed.values(), key=lambda r: (r.course.category, r.course.code)),
        required=required,
        missing=[c for c in required if c.pk not in passed],
        hours=hours,
    )


def training_hours(*, manager_ids, year: int) -> dict[int, dict[str, Decimal]]:
    """Evidence for other apps (the appraisal page shows it, unscored): hours trained in `year` per
    manager id and category; a manager without training that year is absent. One query."""
    return dict(hours_by_category(managers=list(manager_ids), year=year))
