"""The evidence counts what the manager could not arrange themselves (security test, Medium 7): the
scored visit figures (and the forecast error) come from scheduled, care and welcome visits; ad hoc
visits (made by the manager, due when they like, rated by themselves) are shown apart with their
own figures, and the appraisal page says how many were left out."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from appraisal.evidence import evidence_compute, evidence_for
from crm.common.months import add_months
from tests.appraisal.core_helpers import appraisal_of, open_cycle
from tests.factories import ConsumptionFactory, FollowUpFactory, VisitReportFactory, VisitTaskFactory

YEAR = 2026
END = dt.date(2026, 12, 31)


def _visit(world, kind: str, due: dt.date, *, satisfaction: int | None, **report):
    """A task of manager A due on `due`; reported on its due date when `satisfaction` is given, else
    left overdue."""
    task = VisitTaskFactory(
        customer=world.customer_a,
        manager=world.manager_a.user,
        kind=kind,
        period=due.replace(day=1),
        due_date=due,
        status="done" if satisfaction else "overdue",
    )
    if satisfaction:
        return VisitReportFactory(task=task, visited_on=due, satisfaction=satisfaction, **report)
    return task


@pytest.fixture
def padded(world):
    """The tester's manager: four visits they could not arrange (scheduled on time at 5, care on time
    at 5, welcome on time at 4, scheduled left overdue) -> 75 %, 4.67; then five ad hoc visits made
    and reported on their due date at 5, each complete with a closed follow-up -> would be 88.9 %,
    4.88 if they counted."""
    _visit(world, "scheduled", dt.date(2026, 3, 31), satisfaction=5, needs="", forecast_kwh_12m=None)
    _visit(world, "care", dt.date(2026, 4, 20), satisfaction=5, needs="", forecast_kwh_12m=None)
    welcome = _visit(
        world, "tier_change", dt.date(2026, 5, 14), satisfaction=4, needs="增容", forecast_kwh_12m=1
    )
    FollowUpFactory(report=welcome, status="open")
    _visit(world, "scheduled", dt.date(2026, 6, 30), satisfaction=None)
    for day in range(1, 6):
        report = _visit(
            world, "ad_hoc", dt.date(2026, 7, day), satisfaction=5, needs="走访", forecast_kwh_12m=Decimal(1)
        )
        FollowUpFactory(report=report, status="closed", closed_on=dt.date(2026, 7, day))
    return world


def _evidence(world):
    return evidence_for(manager_ids=[world.manager_a.pk], year=YEAR, today=END)[world.manager_a.pk]


def test_ad_hoc_visits_do_not_raise_the_on_time_rate(padded):
    evidence = _evidence(padded)
    # scheduled, care and welcome visits count: 3 of 4 on time
    assert (evidence["visits_due"], evidence["visits_on_time"], evidence["on_time_rate"]) == (4, 3, 75.0)


def test_ad_hoc_reports_do_not_raise_the_satisfaction(padded):
    evidence = _evidence(padded)
    # (5 + 5 + 4) / 3, the five ad hoc fives left out
    assert (evidence["reports"], evidence["satisfaction_mean"]) == (3, 4.67)


def test_ad_hoc_reports_and_their_follow_ups_leave_the_other_shares_alone(padded):
    evidence = _evidence(padded)
    # complete: the welcome visit only, 1 of 3; follow-ups: the welcome visit's open one
    assert evidence["reports_complete_share"] == 33.3
    assert (evidence["follow_ups_raised"], evidence["follow_ups_closed"]) == (1, 0)
    assert evidence["follow_ups_closed_share"] == 0.0


def test_ad_hoc_forecasts_leave_the_forecast_error_alone(world):
    # given two forecasts made in June 2025: a care visit's 13,200 kWh (10 % off the metered
    # 12 x 1,000) and an ad hoc visit's exact 12,000
    for kind, forecast in (("care", 13200), ("ad_hoc", 12000)):
        _visit(world, kind, dt.date(2025, 6, 10), satisfaction=4, forecast_kwh_12m=Decimal(forecast))
    month = dt.date(2025, 7, 1)
    while month <= dt.date(2026, 6, 1):
        ConsumptionFactory(customer=world.customer_a, period=month, kwh=Decimal(1000))
        month = add_months(month, 1)
    # when the evidence of 2026 is computed
    evidence = _evidence(world)
    # then only the care visit's forecast is checked
    assert (evidence["forecast_mape"], evidence["forecasts_checked"]) == (10.0, 1)


def test_ad_hoc_visits_are_shown_apart_with_their_own_figures(padded):
    evidence = _evidence(padded)
    assert evidence["ad_hoc_visits"] == 5
    assert evidence["ad_hoc_reports"] == 5
    assert evidence["ad_hoc_satisfaction_mean"] == 5.0


def test_a_manager_without_ad_hoc_visits_has_zero_left_out(world):
    evidence = _evidence(world)
    assert (evidence["ad_hoc_visits"], evidence["ad_hoc_reports"]) == (0, 0)
    assert evidence["ad_hoc_satisfaction_mean"] is None


def test_the_appraisal_page_says_how_many_self_arranged_visits_were_left_out(client, padded):
    # given the evidence of manager A's cycle computed
    cycle = open_cycle(padded)
    evidence_compute(cycle=cycle, today=END)
    appraisal = appraisal_of(cycle, padded.manager_a)
    # when the supervisor opens the appraisal (in Chinese, the first locale)
    client.force_login(padded.supervisor)
    response = client.get(reverse("appraisal:appraisal", args=[appraisal.pk]))
    # then the plan-completion evidence has a line of the ad hoc visits left out
    plan = next(row for row in response.context["rows"] if row.criterion.code == "plan_completion")
    assert ("不含自建临时走访（次）", 5) in [(line.label, line.value) for line in plan.evidence]
    assert "不含自建临时走访" in response.content.decode()
