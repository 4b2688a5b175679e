"""The managers' forecasts scored against the metered year and the baseline (spec/forecasting.md).

A report's forecast (`forecast_kwh_12m`, made in visit month M) covers M+1..M+12; it is scored once
all twelve are metered, against the baseline current at the visit: the latest made for M or before,
the model's where it was made, else the seasonal naive. That baseline forecasts from its `made_for`,
a month or more before the manager's window; its 12-month total is compared with the same metered
year, which is what a seasonal forecast says of any 12 consecutive months (each month is repeated a
season on, so the total is the same).

APE is capped at 100 % (a near-zero year cannot dominate; a year metered at zero scores 0 when
forecast at zero, else 100 %); MAPE is the mean APE, WAPE Σ|error| / Σ metered, bias
Σ(forecast − metered) / Σ metered, FVA the baseline's MAPE minus the manager's in points (positive:
the manager added knowledge), the share beaten the forecasts strictly closer than the baseline.

Read in four queries whatever the number of reports: the reports, their metered months, their
baselines and the managers' names."""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, Value, When

from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord, Station
from forecasts.models import HORIZON, Baseline, Method
from visits.models import VisitReport

ONE = Decimal(1)
HUNDRED = Decimal(100)
POINT = Decimal("0.1")
BASELINE_LOOKBACK_MONTHS = 12  # an older baseline is not "current" at a visit


def capped_ape(forecast: Decimal, actual: Decimal) -> Decimal:
    """|forecast − actual| / actual as a fraction, capped at 1 (100 %)."""
    if actual <= 0:
        return Decimal(0) if forecast == actual else ONE
    return min(abs(forecast - actual) / actual, ONE)


@dataclass(frozen=True)
class ScoredForecast:
    report_id: int
    customer_id: int
    customer_name: str
    manager_id: int | None
    station_id: int
    visit_month: dt.date
    forecast: Decimal
    baseline: Decimal
    method: str
    actual: Decimal

    @property
    def beat(self) -> bool:
        return abs(self.forecast - self.actual) < abs(self.baseline - self.actual)


@dataclass
class Score:
    """The figures of a group of scored forecasts (a manager, a station, a year, everyone)."""

    key: object = None
    label: str = ""
    rows: list[ScoredForecast] = field(default_factory=list)
    waiting: int = 0  # forecasts whose year is not all metered yet
    no_baseline: int = 0  # metered, but no baseline was current at the visit

    @property
    def scored(self) -> int:
        return len(self.rows)

    def _mean_ape(self, pick: Callable[[ScoredForecast], Decimal]) -> Decimal | None:
        if not self.rows:
            return None
        return (sum(capped_ape(pick(r), r.actual) for r in self.rows) / len(self.rows) * HUNDRED).quantize(
            POINT
        )

    @property
    def manager_mape(self) -> Decimal | None:
        return self._mean_ape(lambda r: r.forecast)

    @property
    def baseline_mape(self) -> Decimal | None:
        return self._mean_ape(lambda r: r.baseline)

    @property
    def fva_pp(self) -> Decimal | None:
        if not self.rows:
            return None
        return self.baseline_mape - self.manager_mape

    @property
    def beat_share(self) -> Decimal | None:
        if not self.rows:
            return None
        return (Decimal(sum(r.beat for r in self.rows)) / len(self.rows) * HUNDRED).quantize(POINT)

    def _over_metered(self, total: Decimal) -> Decimal | None:
        metered = sum((r.actual for r in self.rows), Decimal(0))
        return (total / metered * HUNDRED).quantize(POINT) if metered > 0 else None

    @property
    def wape(self) -> Decimal | None:
        return self._over_metered(sum((abs(r.forecast - r.actual) for r in self.rows), Decimal(0)))

    @property
    def bias_pct(self) -> Decimal | None:
        return self._over_metered(sum((r.forecast - r.actual for r in self.rows), Decimal(0)))

    def as_dict(self) -> dict:
        return {
            "scored": self.scored,
            "waiting": self.waiting,
            "no_baseline": self.no_baseline,
            "manager_mape": self.manager_mape,
            "baseline_mape": self.baseline_mape,
            "fva_pp": self.fva_pp,
            "beat_share": self.beat_share,
            "wape": self.wape,
            "bias_pct": self.bias_pct,
        }


@dataclass
class Scores:
    """Scored forecasts grouped (`groups`, best FVA first) and all of them together (`total`)."""

    groups: list[Score]
    total: Score


GROUPINGS = ("manager", "station", "year")


def forecast_scores(
    *,
    user,
    manager_id: int | None = None,
    station_id: int | None = None,
    year: int | None = None,
    group_by: str = "manager",
    today: dt.date | None = None,
) -> Scores:
    """The forecasts of the reports `user` may see (optionally one manager's, one station's, one
    year's visits), scored and grouped by manager, station or visit year."""
    reports = VisitReport.objects.visible_to(user)
    if manager_id is not None:
        reports = reports.filter(task__manager_id=manager_id)
    if station_id is not None:
        reports = reports.filter(task__customer__station_id=station_id)
    if year is not None:
        reports = reports.filter(visited_on__year=year)
    return score_reports(reports, group_by=group_by, today=today)


def score_reports(
    reports, *, group_by: str = "manager", today: dt.date | None = None, labelled: bool = True
) -> Scores:
    """The forecasts of `reports` (a VisitReport queryset: those on customers with a forecast are
    read), scored and grouped by manager, station or visit year, each group named unless not
    `labelled`. Four queries (three unlabelled; one when there is no forecast)."""
    reports = reports.filter(task__customer__isnull=False, forecast_kwh_12m__isnull=False)
    rows = list(
        reports.order_by("visited_on", "pk").values_list(
            "pk",
            "task__customer_id",
            "task__manager_id",
            "task__customer__station_id",
            "visited_on",
            "forecast_kwh_12m",
            "task__customer__name",
        )
    )
    key_of = _KEYS[group_by]
    groups: dict[object, Score] = {}
    total = Score(key=None)
    for item, outcome in _score(rows, customers=reports.values("task__customer_id"), today=today):
        key = key_of(item)
        group = groups.setdefault(key, Score(key=key))
        for score in (group, total):
            if outcome == "waiting":
                score.waiting += 1
            elif outcome == "no_baseline":
                score.no_baseline += 1
            else:
                score.rows.append(outcome)
    if labelled:
        _label(groups, group_by)
    ordered = sorted(groups.values(), key=lambda s: (s.fva_pp is None, -(s.fva_pp or 0), s.label))
    return Scores(groups=ordered, total=total)


_KEYS = {
    "manager": lambda item: item[2],
    "station": lambda item: item[3],
    "year": lambda item: item[4].year,
}


def _label(groups: dict[object, Score], group_by: str) -> None:
    if group_by == "year":
        for key, score in groups.items():
            score.label = str(key)
        return
    if group_by == "manager":
        users = get_user_model().objects.filter(pk__in=[k for k in groups if k is not None])
        names = {user.pk: user.display_name for user in users}
    else:
        names = dict(Station.objects.filter(pk__in=list(groups)).values_list("pk", "name"))
    for key, score in groups.items():
        score.label = names.get(key) or "—"


def _score(rows: list, *, customers, today: dt.date | None):
    """Each report row with its outcome: a ScoredForecast, "waiting" or "no_baseline"."""
    if not rows:
        return
    first = add_months(month_start(min(r[4] for r in rows)), 1)
    last = add_months(month_start(max(r[4] for r in rows)), HORIZON)
    metered: defaultdict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    for customer_id, period, kwh in ConsumptionRecord.objects.filter(
        customer_id__in=customers, period__gte=first, period__lte=last
    ).values_list("customer_id", "period", "kwh"):
        metered[customer_id][period] = kwh
    baselines = _baselines(
        customers=customers, since=add_months(first, -1 - BASELINE_LOOKBACK_MONTHS), until=last
    )
    for row in rows:
        pk, customer_id, manager_id, station_id, visited_on, forecast, name = row
        month = month_start(visited_on)
        values = [metered[customer_id].get(add_months(month, n)) for n in range(1, HORIZON + 1)]
        if any(v is None for v in values):
            yield row, "waiting"
            continue
        baseline = _current(baselines.get(customer_id, ()), month)
        if baseline is None:
            yield row, "no_baseline"
            continue
        actual = sum(values, Decimal(0))
        scored = ScoredForecast(
            report_id=pk,
            customer_id=customer_id,
            customer_name=name,
            manager_id=manager_id,
            station_id=station_id,
            visit_month=month,
            forecast=Decimal(forecast),
            baseline=baseline[1],
            method=baseline[2],
            actual=actual,
        )
        yield row, scored


def _baselines(*, customers, since: dt.date, until: dt.date) -> dict[int, list[tuple]]:
    """Each customer's baselines as (made_for, total, method), newest first, the model before the
    seasonal naive of the same month."""
    found: defaultdict[int, list[tuple]] = defaultdict(list)
    rank = Case(When(method=Method.THETA, then=Value(0)), default=Value(1), output_field=IntegerField())
    query = (
        Baseline.objects.filter(customer_id__in=customers, made_for__gte=since, made_for__lte=until)
        .annotate(rank=rank)
        .order_by("customer_id", "-made_for", "rank")
        .values_list("customer_id", "made_for", "total_kwh_12m", "method")
    )
    for customer_id, made_for, total, method in query:
        found[customer_id].append((made_for, total, method))
    return found


def _current(baselines, month: dt.date) -> tuple | None:
    """The baseline current at a visit in `month`: the latest made for it or before, not older
    than BASELINE_LOOKBACK_MONTHS."""
    oldest = add_months(month, -BASELINE_LOOKBACK_MONTHS)
    for made_for, total, method in baselines:
        if made_for <= month:
            return (made_for, total, method) if made_for >= oldest else None
    return None
