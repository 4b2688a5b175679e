"""The forecast endpoints (api.md): a customer's baselines, the scores, the industry trends and the
runs; scope (another manager's customer: 404), roles and bad input."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord
from forecasts.models import MONTH_FIELDS, Baseline, BaselineRun, Method
from forecasts.selectors import industry_trends
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def baseline(customer, total: int, *, made_for=None, method=Method.SEASONAL_NAIVE):
    return Baseline.objects.create(
        customer=customer,
        made_for=made_for or month_start(timezone.localdate()),
        method=method,
        months_used=12,
        total_kwh_12m=Decimal(total),
        **dict.fromkeys(MONTH_FIELDS, Decimal(total) / 12),
    )


def test_a_customer_s_baselines_newest_first_model_before_naive(world, api):
    baseline(world.customer_a, 1200, made_for=dt.date(2026, 1, 1))
    baseline(world.customer_a, 2400)
    baseline(world.customer_a, 3600, method=Method.THETA)
    response = api(world.manager_a.user).get(f"/api/v1/customers/{world.customer_a.pk}/forecasts/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["method"], r["total_kwh_12m"]) for r in rows] == [
        ("theta", 3600),
        ("seasonal_naive", 2400),
        ("seasonal_naive", 1200),
    ]
    assert len(rows[0]["monthly"]) == 12
    assert rows[0]["made_for"] == f"{month_start(timezone.localdate()):%Y-%m-%d}"


def test_another_manager_s_customer_answers_404(world, api):
    baseline(world.customer_b, 1200)
    response = api(world.manager_a.user).get(f"/api/v1/customers/{world.customer_b.pk}/forecasts/")
    assert response.status_code == 404


def test_scores_per_manager_with_total(world, api):
    response = api(world.supervisor).get("/api/v1/forecast-scores/", {"year": 2025})
    assert response.status_code == 200
    body = response.json()
    assert body["results"] == []
    assert body["total"]["scored"] == 0
    assert body["total"]["fva_pp"] is None


def test_scores_refuse_a_bad_filter_in_chinese(world, api):
    client = api(world.supervisor)
    client.credentials(
        HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"], HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    response = client.get("/api/v1/forecast-scores/", {"year": "next", "group_by": "weather"})
    assert response.status_code == 400
    body = str(response.json())
    assert "year" in body
    assert "group_by" in body
    assert "请填写合法的整数值" in body
    assert "不是合法选项" in body


def test_industry_trends_are_for_supervisors_not_managers(world, api):
    assert api(world.manager_a.user).get("/api/v1/industry-trends/").status_code == 403
    response = api(world.supervisor).get("/api/v1/industry-trends/", {"industry": "C3"})
    assert response.status_code == 400
    assert api(world.supervisor).get("/api/v1/industry-trends/", {"industry": "C34"}).status_code == 200


def test_industry_trends_sum_metered_and_forecast_by_section_and_station(world, api):
    # Given customer A a manufacturer (C31) metered 1,000 a month with a baseline of 1,200 a month
    world.customer_a.industry_code = "C3120"
    world.customer_a.save()
    this_month = month_start(timezone.localdate())
    ConsumptionRecord.objects.bulk_create(
        ConsumptionRecord(customer=world.customer_a, period=add_months(this_month, -n), kwh=Decimal(1000))
        for n in range(1, 25)
    )
    baseline(world.customer_a, 14400)
    baseline(world.customer_b, 99999)  # manager B's: outside the supervisor's team
    # When the supervisor reads the trends
    body = api(world.supervisor).get("/api/v1/industry-trends/").json()
    # Then one row: C31 at station A, 24 months metered, the baseline's 12
    (row,) = body["results"]
    assert (row["section"], row["station"]) == ("C31", world.station_a.pk)
    assert row["label"] == "制造业，31 大类"
    assert row["metered"] == [1000] * 24
    assert row["baseline"] == [1200] * 12
    assert row["managers"] == [1200] * 12  # no manager forecast: the baseline's months
    assert body["made_for"] == f"{this_month:%Y-%m}"


@pytest.mark.parametrize("size", [2, 12])
def test_industry_trends_read_a_fixed_number_of_queries(world, size, django_assert_num_queries):
    this_month = month_start(timezone.localdate())
    for n in range(size):
        customer = CustomerFactory(
            station=world.station_a, manager=world.manager_a.user, industry_code=f"C{30 + n}11"
        )
        ConsumptionRecord.objects.create(
            customer=customer, period=add_months(this_month, -1), kwh=Decimal(10)
        )
        baseline(customer, 120)
    supervisor = type(world.supervisor).objects.get(pk=world.supervisor.pk)
    # the user's team (scope), the metered months, the baselines
    with django_assert_num_queries(3):
        trends = industry_trends(user=supervisor)
    assert len(trends.rows) == size


def test_forecast_runs_post_is_for_administrators(world, api, django_capture_on_commit_callbacks):
    assert api(world.manager_a.user).post("/api/v1/forecast-runs/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.admin).post("/api/v1/forecast-runs/")
    assert response.status_code == 202
    run = BaselineRun.objects.get(pk=response.json()["id"])
    # eager in tests: the run has been computed (customers A and B have no history)
    assert (run.status, run.no_history) == ("done", 2)
    assert api(world.supervisor).get(f"/api/v1/forecast-runs/{run.pk}/").json()["status"] == "done"
