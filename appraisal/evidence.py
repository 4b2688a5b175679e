"""The evidence raters see beside each criterion (domain.md, "Yearly appraisal"), computed from the
product's own data for each manager and the cycle's year.

Set-based: one aggregate query per source (visit tasks, visit reports, follow-ups, service
requests, callbacks, assignments, forecasts and their metered consumption, training) for all the
cycle's managers at once, then one bulk update; the number of queries does not depend on the size
of the team. A finalized appraisal is read-only and keeps the evidence it was finalized with.

What each number counts:
- which visits: every figure below drawn from visits (visits, satisfaction, completeness, forecast
  error, follow-ups) counts only the visits the manager could not arrange: scheduled, care and
  welcome (every kind but ad hoc). An ad hoc visit is made by the manager, to whom and when they
  choose, due when they like and rated by themselves, so counting it would let a manager raise
  their own rates. Ad hoc visits have figures of their own (`ad_hoc_*`, in no rate), shown on the
  lines of the criteria, so raters see how many were left out;
- visits: tasks of the manager due in the year up to the day of computation (cancelled ones left
  out); on time = done with a report dated on or before the due date (visits.reports bounds how
  far back a report may be dated);
- satisfaction and report completeness: the manager's visit reports dated in the year; complete =
  needs filled and a 12-month forecast given;
- customers and capacity gained: distinct customers whose assignment to the manager started in the
  year, and the sum of their contracted capacity;
- forecast error (MAPE): the forecasts the manager made in the year before, whose 12 months end in
  this year, against the metered consumption (the rule of visits.selectors.forecast_errors); a
  forecast whose months are not all metered yet is left out; beside it the same forecasts against
  the statistical baseline current at each visit (forecasts.scoring): the value the manager added
  (the baseline's MAPE minus theirs, in points), the baseline's MAPE and the share they beat;
- follow-ups: actions raised by the manager's reports dated in the year, and how many are closed;
- service requests (与各专业协作): the manager's requests (they own) closed in the year, and how
  many had every stage done on time (no stage done after its due instant nor marked breached): the
  collaboration's headline, beside the follow-ups; a request its callback reopened counts again
  once closed again (reopening clears `closed_at`); a cancelled one never counts;
- callback satisfaction: the mean satisfaction of the callbacks recorded in the year on the
  manager's requests where the customer was reached, beside visit satisfaction;
- training hours: hours attended in the year (training.selectors.training_hours)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Avg, Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appraisal.models import Appraisal, AppraisalCycle, AppraisalStatus
from forecasts.scoring import score_reports
from managers.models import Assignment
from service.models import Callback, RequestStage, RequestStatus, ServiceRequest, SlaState
from training.selectors import training_hours
from visits.models import FollowUp, FollowUpStatus, Kind, TaskStatus, VisitReport, VisitTask
from visits.selectors import FORECAST_COLUMNS, ForecastSummary, forecasts_against_metered


@dataclass(frozen=True)
class Metric:
    key: str
    label: Promise
    unit: str
    decimals: int


METRICS = [
    # A count here (应走访数), where the visit calendar's "Visits due" heads a list (待走访).
    Metric("visits_due", pgettext_lazy("appraisal evidence", "Visits due"), "", 0),
    Metric("visits_on_time", _("Visits done on time"), "", 0),
    Metric("on_time_rate", _("On-time visit completion"), "%", 1),
    Metric("reports", _("Visit reports"), "", 0),
    Metric("satisfaction_mean", _("Mean visit satisfaction (1-5)"), "", 2),
    Metric("customers_gained", _("Customers gained"), "", 0),
    Metric("capacity_gained_kva", _("Contracted capacity gained"), "kVA", 0),
    Metric("reports_complete_share", _("Reports with needs and forecast"), "%", 1),
    Metric("forecast_mape", _("Forecast error (MAPE)"), "%", 1),
    Metric("forecasts_checked", _("Forecasts checked against metering"), "", 0),
    # against the statistical baseline current at each visit (forecasts.scoring)
    Metric("forecast_fva_pp", _("Forecast value added over the baseline"), _("points"), 1),
    Metric("baseline_mape", _("Baseline's error on the same forecasts (MAPE)"), "%", 1),
    Metric("forecasts_beat_share", _("Forecasts closer than the baseline"), "%", 1),
    Metric("follow_ups_raised", _("Follow-up actions raised"), "", 0),
    Metric("follow_ups_closed", _("Follow-up actions closed"), "", 0),
    Metric("follow_ups_closed_share", _("Share of follow-ups closed"), "%", 1),
    Metric("requests_on_time_share", _("Service requests with every stage on time"), "%", 1),
    Metric("requests_on_time", _("Service requests closed with every stage on time"), "", 0),
    Metric("requests_closed", _("Service requests closed"), "", 0),
    Metric("callback_satisfaction_mean", _("Mean callback satisfaction (1-5)"), "", 2),
    Metric("callbacks_reached", _("Callbacks that reached the customer"), "", 0),
    Metric("training_hours", _("Training hours"), "h", 1),
    # Ad hoc visits, left out of the figures above and shown apart (the module's docstring).
    Metric("ad_hoc_visits", _("Not counted: self-arranged ad hoc visits"), "", 0),
    Metric("ad_hoc_reports", _("Not counted: reports of self-arranged ad hoc visits"), "", 0),
    Metric("ad_hoc_satisfaction_mean", _("Mean satisfaction of ad hoc visits (not scored)"), "", 2),
]
METRIC_BY_KEY = {metric.key: metric for metric in METRICS}

# The evidence shown beside each default criterion; training hours are shown apart, unscored.
EVIDENCE_FOR_CRITERION = {
    "plan_completion": ["on_time_rate", "visits_on_time", "visits_due", "ad_hoc_visits"],
    "satisfaction": [
        "satisfaction_mean",
        "reports",
        "callback_satisfaction_mean",
        "callbacks_reached",
        "ad_hoc_reports",
        "ad_hoc_satisfaction_mean",
    ],
    "market_expansion": ["customers_gained", "capacity_gained_kva"],
    "info_feedback": [
        "reports_complete_share",
        "forecast_mape",
        "forecasts_checked",
        "forecast_fva_pp",
        "baseline_mape",
        "forecasts_beat_share",
    ],
    "collaboration": [
        "requests_on_time_share",
        "requests_on_time",
        "requests_closed",
        "follow_ups_closed_share",
        "follow_ups_closed",
        "follow_ups_raised",
    ],
}
UNSCORED_EVIDENCE = ["training_hours"]


def _number(value, decimals: int):
    """A JSON number: an int for counts, a float rounded for rates; None stays None."""
    if value is None:
        return None
    if decimals == 0:
        return int(round(Decimal(str(value))))
    return float(round(Decimal(str(value)), decimals))


def _share(part: int, whole: int):
    return Decimal(part) * 100 / whole if whole else None


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# The visits the manager arranged themselves, and (negated) those the jobs made for them.
AD_HOC = Q(kind=Kind.AD_HOC)
REPORT_AD_HOC = Q(task__kind=Kind.AD_HOC)


def _visits(ids, start: dt.date, end: dt.date) -> dict[int, dict]:
    rows = (
        VisitTask.objects.filter(manager_id__in=ids, due_date__range=(start, end))
        .exclude(status=TaskStatus.CANCELLED)
        .values("manager_id")
        .annotate(
            due=Count("id", filter=~AD_HOC),
            on_time=Count(
                "id", filter=~AD_HOC & Q(status=TaskStatus.DONE, report__visited_on__lte=F("due_date"))
            ),
            ad_hoc=Count("id", filter=AD_HOC),
        )
        .order_by()
    )
    return {
        r["manager_id"]: {
            "visits_due": r["due"],
            "visits_on_time": r["on_time"],
            "on_time_rate": _share(r["on_time"], r["due"]),
            "ad_hoc_visits": r["ad_hoc"],
        }
        for r in rows
    }


def _reports(ids, start: dt.date, end: dt.date) -> dict[int, dict]:
    rows = (
        VisitReport.objects.filter(task__manager_id__in=ids, visited_on__range=(start, end))
        .values("task__manager_id")
        .annotate(
            n=Count("id", filter=~REPORT_AD_HOC),
            mean=Avg("satisfaction", filter=~REPORT_AD_HOC),
            complete=Count("id", filter=~REPORT_AD_HOC & ~Q(needs="") & Q(forecast_kwh_12m__isnull=False)),
            ad_hoc=Count("id", filter=REPORT_AD_HOC),
            ad_hoc_mean=Avg("satisfaction", filter=REPORT_AD_HOC),
        )
        .order_by()
    )
    return {
        r["task__manager_id"]: {
            "reports": r["n"],
            "satisfaction_mean": r["mean"],
            "reports_complete_share": _share(r["complete"], r["n"]),
            "ad_hoc_reports": r["ad_hoc"],
            "ad_hoc_satisfaction_mean": r["ad_hoc_mean"],
        }
        for r in rows
    }


def _follow_ups(ids, start: dt.date, end: dt.date) -> dict[int, dict]:
    rows = (
        FollowUp.objects.filter(report__task__manager_id__in=ids, report__visited_on__range=(start, end))
        .exclude(report__task__kind=Kind.AD_HOC)
        .values("report__task__manager_id")
        .annotate(n=Count("id"), closed=Count("id", filter=Q(status=FollowUpStatus.CLOSED)))
        .order_by()
    )
    return {
        r["report__task__manager_id"]: {
            "follow_ups_raised": r["n"],
            "follow_ups_closed": r["closed"],
            "follow_ups_closed_share": _share(r["closed"], r["n"]),
        }
        for r in rows
    }


def _requests(ids, start: dt.date, end: dt.date) -> dict[int, dict]:
    late = RequestStage.objects.filter(request_id=OuterRef("pk")).filter(
        Q(sla_state=SlaState.BREACHED) | Q(done_at__gt=F("due_at"))
    )
    rows = (
        ServiceRequest.objects.filter(
            owner_id__in=ids,
            closed_at__gte=_aware(start),
            closed_at__lt=_aware(end + dt.timedelta(days=1)),
        )
        .exclude(status=RequestStatus.CANCELLED)
        .values("owner_id")
        .annotate(n=Count("id"), on_time=Count("id", filter=~Q(Exists(late))))
        .order_by()
    )
    return {
        r["owner_id"]: {
            "requests_closed": r["n"],
            "requests_on_time": r["on_time"],
            "requests_on_time_share": _share(r["on_time"], r["n"]),
        }
        for r in rows
    }


def _callbacks(ids, start: dt.date, end: dt.date) -> dict[int, dict]:
    rows = (
        Callback.objects.filter(
            request__owner_id__in=ids,
            reached=True,
            satisfaction__isnull=False,
            created_at__gte=_aware(start),
            created_at__lt=_aware(end + dt.timedelta(days=1)),
        )
        .values("request__owner_id")
        .annotate(n=Count("id"), mean=Avg("satisfaction"))
        .order_by()
    )
    return {
        r["request__owner_id"]: {"callbacks_reached": r["n"], "callback_satisfaction_mean": r["mean"]}
        for r in rows
    }


def _gains(ids, year: int) -> dict[int, dict]:
    """Distinct customers per manager (a customer moved twice to the same manager counts once)."""
    rows = (
        Assignment.objects.filter(
            manager_id__in=ids,
            started_at__gte=_aware(dt.date(year, 1, 1)),
            started_at__lt=_aware(dt.date(year + 1, 1, 1)),
        )
        .values_list("manager_id", "customer_id", "customer__contracted_capacity_kva")
        .distinct()
        .order_by()
    )
    gains: dict[int, dict] = defaultdict(lambda: {"customers_gained": 0, "capacity_gained_kva": Decimal(0)})
    for manager_id, _customer_id, kva in rows:
        gains[manager_id]["customers_gained"] += 1
        gains[manager_id]["capacity_gained_kva"] += kva or 0
    return gains


def _forecasts(ids, year: int) -> dict[int, dict]:
    """Forecasts made in `year - 1` on customers, against the 12 metered months after the visit
    month (the last of which falls in `year`). Two queries."""
    reports = (
        VisitReport.objects.filter(
            task__manager_id__in=ids,
            task__customer__isnull=False,
            forecast_kwh_12m__isnull=False,
            visited_on__year=year - 1,
        )
        .exclude(REPORT_AD_HOC)
        .values_list(*FORECAST_COLUMNS)
    )
    rows = forecasts_against_metered(list(reports))
    summary = ForecastSummary(rows=rows)
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        counts[row.manager_id] += 1
    return {
        manager_id: {"forecast_mape": mape, "forecasts_checked": counts[manager_id]}
        for manager_id, mape in summary.by_manager().items()
    }


def _value_added(ids, year: int) -> dict[int, dict]:
    """The same forecasts as _forecasts (made in `year - 1`, not ad hoc) scored against the baseline
    current at each visit (forecasts.scoring): forecast value added, the baseline's MAPE on those
    forecasts and the share the manager beat. Three queries."""
    reports = VisitReport.objects.filter(task__manager_id__in=ids, visited_on__year=year - 1)
    reports = reports.exclude(REPORT_AD_HOC)
    return {
        score.key: {
            "forecast_fva_pp": score.fva_pp,
            "baseline_mape": score.baseline_mape,
            "forecasts_beat_share": score.beat_share,
        }
        for score in score_reports(reports, group_by="manager", labelled=False).groups
        if score.scored
    }


def evidence_for(*, manager_ids, year: int, today: dt.date | None = None) -> dict[int, dict]:
    """{manager id: {metric key: JSON number or None, "as_of": "YYYY-MM-DD"}} for the year, counted
    up to `today` when the year is not over."""
    ids = list(manager_ids)
    today = today or timezone.localdate()
    start, end = dt.date(year, 1, 1), min(dt.date(year, 12, 31), today)
    sources = [
        _visits(ids, start, end),
        _reports(ids, start, end),
        _follow_ups(ids, start, end),
        _requests(ids, start, end),
        _callbacks(ids, start, end),
        _gains(ids, year),
        _forecasts(ids, year),
        _value_added(ids, year),
        {
            manager_id: {"training_hours": sum(hours.values(), Decimal(0))}
            for manager_id, hours in training_hours(manager_ids=ids, year=year).items()
        },
    ]
    result = {}
    for manager_id in ids:
        raw: dict = {}
        for source in sources:
            raw.update(source.get(manager_id, {}))
        zero_counts = {m.key: 0 for m in METRICS if m.decimals == 0 and m.key not in raw}
        values = {m.key: _number(raw.get(m.key, zero_counts.get(m.key)), m.decimals) for m in METRICS}
        values["training_hours"] = values["training_hours"] or 0.0
        values["as_of"] = end.isoformat()
        result[manager_id] = values
    return result


@transaction.atomic
def evidence_compute(*, cycle, appraisal_ids=None, today: dt.date | None = None) -> int:
    """Compute and store the evidence of the cycle's appraisals (or of those given) that are not
    finalized; stamps each appraisal and the cycle with the time. Returns the number updated."""
    if not isinstance(cycle, AppraisalCycle):
        cycle = AppraisalCycle.objects.get(pk=cycle)
    appraisals = Appraisal.objects.filter(cycle=cycle).exclude(status=AppraisalStatus.FINALIZED)
    if appraisal_ids is not None:
        appraisals = appraisals.filter(pk__in=list(appraisal_ids))
    appraisals = list(appraisals.only("pk", "manager_id", "evidence", "evidence_computed_at"))
    if not appraisals:
        return 0
    values = evidence_for(manager_ids={a.manager_id for a in appraisals}, year=cycle.year, today=today)
    now = timezone.now()
    for appraisal in appraisals:
        appraisal.evidence = values[appraisal.manager_id]
        appraisal.evidence_computed_at = now
    Appraisal.objects.bulk_update(appraisals, ["evidence", "evidence_computed_at"], batch_size=500)
    AppraisalCycle.objects.filter(pk=cycle.pk).update(evidence_computed_at=now)
    return len(appraisals)
