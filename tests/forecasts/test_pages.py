"""The forecast pages: the scores (team, one manager, scope), the industry trends and their XLSX,
and the forecast parts of the customer, manager and team pages, in Chinese and at a fixed number
of queries."""

import datetime as dt
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord
from forecasts.models import MONTH_FIELDS, Baseline, Method
from tests.factories import CustomerFactory, VisitReportFactory, VisitTaskFactory

pytestmark = pytest.mark.django_db
THIS_MONTH = month_start(timezone.localdate())
VISIT_MONTH = add_months(THIS_MONTH, -14)  # its 12 months end before this one


def scored_forecast(customer, *, forecast: int, baseline: int, metered_month: int = 1000):
    """A visit 14 months ago with its forecast, its year metered, the baseline current then."""
    ConsumptionRecord.objects.bulk_create(
        ConsumptionRecord(customer=customer, period=add_months(VISIT_MONTH, n), kwh=Decimal(metered_month))
        for n in range(1, 13)
    )
    Baseline.objects.create(
        customer=customer,
        made_for=VISIT_MONTH,
        method=Method.SEASONAL_NAIVE,
        months_used=12,
        total_kwh_12m=Decimal(baseline),
        **dict.fromkeys(MONTH_FIELDS, Decimal(baseline) / 12),
    )
    task = VisitTaskFactory(
        customer=customer, period=VISIT_MONTH, due_date=VISIT_MONTH + dt.timedelta(days=20)
    )
    VisitReportFactory(task=task, visited_on=VISIT_MONTH, forecast_kwh_12m=Decimal(forecast))


def test_team_scores_show_value_added_per_manager_in_chinese(client, world):
    scored_forecast(world.customer_a, forecast=11400, baseline=9000)  # +20 points
    scored_forecast(world.customer_b, forecast=11400, baseline=9000)  # manager B: not the supervisor's
    client.force_login(world.supervisor)
    html = client.get(reverse("forecasts:scores")).content.decode()
    assert "预测评分" in html
    assert "张经理" in html
    assert "+20.0 个百分点" in html
    assert "赵经理" not in html


def test_another_manager_s_scores_are_not_shown(client, world):
    scored_forecast(world.customer_b, forecast=11400, baseline=9000)
    client.force_login(world.manager_a.user)
    html = client.get(reverse("forecasts:scores"), {"manager": world.manager_b.pk}).content.decode()
    assert "赵经理" not in html
    assert "乙水泥厂" not in html
    assert "没有可评分的预测" in html


def test_one_manager_s_forecasts_one_by_one(client, world):
    scored_forecast(world.customer_a, forecast=14000, baseline=12100)
    client.force_login(world.supervisor)
    html = client.get(reverse("forecasts:scores"), {"manager": world.manager_a.pk}).content.decode()
    assert "甲钢铁厂" in html
    assert "14,000" in html


def test_scores_page_takes_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    client.force_login(world.supervisor)
    counts = []
    for size in (1, 8):
        for _ in range(size):
            scored_forecast(CustomerFactory(manager=world.manager_a.user), forecast=12000, baseline=9000)
        with django_assert_max_num_queries(12) as context:
            assert client.get(reverse("forecasts:scores")).status_code == 200
        counts.append(len(context))
    assert counts[0] == counts[1]


def test_industry_page_is_for_supervisors(client, world):
    client.force_login(world.manager_a.user)
    assert client.get(reverse("forecasts:industry")).status_code == 403
    assert client.get(reverse("forecasts:industry-export")).status_code == 403


def test_industry_page_and_export(client, world, django_assert_max_num_queries):
    world.customer_a.industry_code = "C3120"
    world.customer_a.save()
    ConsumptionRecord.objects.bulk_create(
        ConsumptionRecord(customer=world.customer_a, period=add_months(THIS_MONTH, -n), kwh=Decimal(1000))
        for n in range(1, 25)
    )
    Baseline.objects.create(
        customer=world.customer_a,
        made_for=THIS_MONTH,
        method=Method.THETA,
        months_used=24,
        total_kwh_12m=Decimal(13200),
        **dict.fromkeys(MONTH_FIELDS, Decimal(1100)),
    )
    client.force_login(world.supervisor)
    with django_assert_max_num_queries(10):
        html = client.get(reverse("forecasts:industry")).content.decode()
    assert "行业用电趋势" in html
    assert "制造业，31 大类" in html
    assert "+10.0 %" in html  # 13,200 against 12,000
    assert '<svg class="chart"' in html
    response = client.get(reverse("forecasts:industry-export"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("行业门类", "Code", "供电所") or rows[0][0] == "行业门类"
    assert rows[1][1] == "C31"
    assert rows[1][3:27] == (1000,) * 24
    assert rows[1][27:39] == (1100,) * 12


def test_customer_page_shows_the_next_12_months(client, world):
    ConsumptionRecord.objects.bulk_create(
        ConsumptionRecord(customer=world.customer_a, period=add_months(THIS_MONTH, -n), kwh=Decimal(1000))
        for n in range(1, 25)
    )
    Baseline.objects.create(
        customer=world.customer_a,
        made_for=THIS_MONTH,
        method=Method.SEASONAL_NAIVE,
        months_used=12,
        total_kwh_12m=Decimal(12000),
        **dict.fromkeys(MONTH_FIELDS, Decimal(1000)),
    )
    task = VisitTaskFactory(
        customer=world.customer_a, period=THIS_MONTH, due_date=THIS_MONTH + dt.timedelta(days=20)
    )
    VisitReportFactory(task=task, visited_on=THIS_MONTH, forecast_kwh_12m=Decimal(15000))
    client.force_login(world.manager_a.user)
    html = client.get(reverse("customers:detail", args=[world.customer_a.pk])).content.decode()
    assert "未来 12 个月" in html
    assert 'class="bar forecast"' in html
    assert 'class="line manager"' in html
    assert "15,000" in html


def test_customer_without_history_says_there_is_no_baseline(client, world):
    client.force_login(world.manager_a.user)
    html = client.get(reverse("customers:detail", args=[world.customer_a.pk])).content.decode()
    assert "无基准预测：近一年没有抄见电量。" in html


def test_manager_and_team_pages_show_the_scores(client, world):
    scored_forecast(world.customer_a, forecast=11400, baseline=9000)
    client.force_login(world.supervisor)
    html = client.get(reverse("managers:detail", args=[world.manager_a.pk])).content.decode()
    assert "预测与基准对比" in html
    assert "+20.0 个百分点" in html
    html = client.get(reverse("visits:team")).content.decode()
    assert "各客户经理的预测增值" in html
    assert "张经理" in html
