"""Browser pages of forecasts: the forecast scores (a team's per manager, station or year; one
manager's forecasts one by one) and the industry and station trends with their XLSX export.

Everything is read within the user's scope (VisitReport / Customer `visible_to`): a manager sees
their own scores; another manager's answers nothing more than an empty page of their own."""

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from crm.common import months
from crm.common.exports import table_workbook
from crm.common.fields import MAX_ID
from crm.common.replica import replica_reads_view
from customers.models import Station
from forecasts.charts import forecast_chart
from forecasts.industries import section_label
from forecasts.scoring import GROUPINGS, forecast_scores
from forecasts.selectors import industry_trends
from forecasts.services import may_read_trends

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORECAST_ROWS = 100  # a manager's scored forecasts listed on their page, newest first


class ScoresFilter(forms.Form):
    station = forms.ModelChoiceField(
        queryset=Station.objects.order_by("code"), required=False, label=gettext_lazy("Supply station")
    )
    year = forms.IntegerField(
        min_value=2000, max_value=2100, required=False, label=gettext_lazy("Visit year")
    )
    group_by = forms.ChoiceField(
        choices=[
            ("manager", gettext_lazy("By manager")),
            ("station", gettext_lazy("By station")),
            ("year", gettext_lazy("By year")),
        ],
        required=False,
        label=gettext_lazy("Group"),
    )
    manager = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False, widget=forms.HiddenInput)


@login_required
@permission_required("visits.view_visitreport", raise_exception=True)
@require_safe
def scores(request):
    """The forecast scores of the user's scope; with `manager`, that manager's forecasts too."""
    form = ScoresFilter(request.GET or None)
    args = form.cleaned_data if form.is_valid() else {}
    group_by = args.get("group_by") or "manager"
    group_by = group_by if group_by in GROUPINGS else "manager"
    manager_id = args.get("manager")
    result = forecast_scores(
        user=request.user,
        manager_id=manager_id,
        station_id=args["station"].pk if args.get("station") else None,
        year=args.get("year"),
        group_by="manager" if manager_id else group_by,
    )
    forecasts = []
    if manager_id and result.groups:
        forecasts = sorted(result.total.rows, key=lambda r: r.visit_month, reverse=True)[:FORECAST_ROWS]
    return render(
        request,
        "forecasts/scores.html",
        {
            "form": form,
            "scores": result,
            "group_by": group_by,
            "manager_id": manager_id,
            "manager_name": result.groups[0].label if manager_id and result.groups else "",
            "forecasts": forecasts,
        },
    )


class TrendsFilter(forms.Form):
    station = forms.ModelChoiceField(
        queryset=Station.objects.order_by("code"), required=False, label=gettext_lazy("Supply station")
    )
    industry = forms.RegexField(
        regex=r"^[A-Za-z]([0-9]{2})?$", max_length=3, required=False, label=gettext_lazy("Industry section")
    )


def _trends(request):
    if not may_read_trends(request.user):
        raise PermissionDenied
    form = TrendsFilter(request.GET or None)
    args = form.cleaned_data if form.is_valid() else {}
    station = args.get("station")
    trends = industry_trends(
        user=request.user, station_id=station.pk if station else None, industry=args.get("industry") or ""
    )
    return form, trends


@login_required
@require_safe
def industry(request):
    """Supervisors and the marketing head: by industry section and station, 24 months metered and
    the next 12 forecast, drawn for the whole and tabled by section and station."""
    form, trends = _trends(request)
    total = trends.total
    chart = forecast_chart(
        metered=list(zip(trends.metered_months, total.metered, strict=True)) if trends.rows else [],
        forecast_months=trends.forecast_months,
        baseline=total.baseline if trends.rows else None,
        managers=total.managers if total.forecast_customers else None,
        title=_("Metered and forecast consumption (kWh)"),
    )
    stations = dict(
        Station.objects.filter(pk__in={r.station_id for r in trends.rows}).values_list("pk", "name")
    )
    rows = [
        {"label": section_label(t.key), "station": stations.get(t.station_id, "—"), "trend": t}
        for t in trends.rows
    ]
    sections = [{"label": section_label(t.key), "trend": t} for t in trends.sections]
    return render(
        request,
        "forecasts/industry.html",
        {"form": form, "trends": trends, "chart": chart, "rows": rows, "sections": sections},
    )


@login_required
@require_safe
@replica_reads_view
def industry_export(request):
    """The trends' table, same filters, as an XLSX file: a row per section and station, its 24
    metered months, the baseline's 12 and the managers' 12."""
    _form, trends = _trends(request)
    stations = dict(
        Station.objects.filter(pk__in={r.station_id for r in trends.rows}).values_list("pk", "name")
    )
    headers = [
        _("Industry section"),
        _("Code"),
        _("Supply station"),
        *[_("Metered %(month)s") % {"month": months.label(m)} for m in trends.metered_months],
        *[_("Baseline %(month)s") % {"month": months.label(m)} for m in trends.forecast_months],
        *[
            _("With managers' forecasts %(month)s") % {"month": months.label(m)}
            for m in trends.forecast_months
        ],
        _("Customers with a manager's forecast"),
    ]
    rows = (
        [
            section_label(t.key),
            t.key,
            stations.get(t.station_id, ""),
            *[int(v) for v in t.metered],
            *[int(v) for v in t.baseline],
            *[int(v) for v in t.managers],
            t.forecast_customers,
        ]
        for t in trends.rows
    )
    response = HttpResponse(
        table_workbook(title=_("Industry trends"), headers=headers, rows=rows), content_type=XLSX
    )
    response["Content-Disposition"] = f'attachment; filename="industry-trends-{trends.made_for:%Y-%m}.xlsx"'
    return response
