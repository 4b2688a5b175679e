"""What the pages of the lower apps show of forecasts, assembled by crm/pages.py (settings
.CRM_PAGE_PARTS): the customer page's chart of the next 12 months, a manager's scores on their
page and the team's on the supervisor's team page."""

import datetime as dt
from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common.months import add_months, month_start
from crm.common.templatetags.crm_format import grouped_number
from forecasts.charts import forecast_chart, spread
from forecasts.models import HORIZON, Baseline
from forecasts.scoring import forecast_scores
from forecasts.services import may_read_trends
from visits.models import VisitReport


def customer_forecast(*, customer, records, today: dt.date | None = None) -> dict:
    """The customer page's forecast (templates/forecasts/_customer_forecast.html): the metered months
    the page read already (`records`, newest first), the baseline standing now and the manager's
    latest forecast of the last 12 months beside it. One query (the forecast is a subquery of the
    baseline's)."""
    month = month_start(today or timezone.localdate())
    latest = VisitReport.objects.filter(
        task__customer_id=OuterRef("customer_id"),
        forecast_kwh_12m__isnull=False,
        visited_on__gte=add_months(month, -12),
    ).order_by("-visited_on", "-pk")
    baseline = (
        Baseline.objects.filter(customer=customer, made_for__lte=month)
        .best_first()
        .annotate(
            forecast=Subquery(latest.values("forecast_kwh_12m")[:1]),
            forecast_on=Subquery(latest.values("visited_on")[:1]),
        )
        .first()
    )
    metered = [(r.period, r.kwh) for r in sorted(records, key=lambda r: r.period)]
    if baseline is None:
        return {"forecast_part": {"baseline": None, "metered": bool(metered)}}
    forecast_months = [add_months(baseline.made_for, n) for n in range(HORIZON)]
    managers = spread(Decimal(baseline.forecast), baseline.monthly) if baseline.forecast is not None else None
    chart = forecast_chart(
        metered=metered,
        forecast_months=forecast_months,
        baseline=baseline.monthly,
        managers=managers,
        title=_("Metered months and the next 12 forecast (kWh)"),
    )
    return {
        "forecast_part": {
            "baseline": baseline,
            "forecast": baseline.forecast,
            "forecast_on": baseline.forecast_on,
            "chart": chart,
            "last_month": forecast_months[-1],
        }
    }


def manager_scores(*, request, manager) -> dict:
    """A manager's forecast scores on their page (templates/forecasts/_manager_scores.html): all
    their forecasts so far, and per visit year. Four queries."""
    scores = forecast_scores(user=request.user, manager_id=manager.pk, group_by="year")
    return {"manager_scores": {"scores": scores, "manager_id": manager.pk}}


def team_scores(*, request) -> dict:
    """The team's forecast scores on the supervisor's team page: per manager, best value added
    first. Four queries."""
    scores = forecast_scores(user=request.user, group_by="manager")
    return {"team_scores": {"scores": scores, "trends": may_read_trends(request.user)}}


def forecast_beside_baseline(*, task, forecast) -> dict:
    """Said once a visit report is saved, never on the form (the manager forecasts unanchored): their
    12-month forecast beside the baseline standing for the customer. One query; nothing for a visit
    to a community or a district, or without a forecast."""
    if task.customer_id is None or forecast is None:
        return {}
    baseline = Baseline.objects.filter(
        customer_id=task.customer_id, made_for__lte=month_start(timezone.localdate())
    )
    baseline = baseline.best_first().first()
    if baseline is None:
        return {"messages": [_("No baseline to compare with yet.")]}
    text = _("Your forecast: %(forecast)s kWh; the baseline (%(method)s): %(baseline)s kWh.") % {
        "forecast": grouped_number(forecast),
        "method": baseline.get_method_display(),
        "baseline": grouped_number(baseline.total_kwh_12m),
    }
    return {"messages": [text]}
