"""The quick report form as the issue "The manager's working day" asks: satisfaction chosen, never
preselected; any number of follow-ups; the customer's consumption beside the forecast it asks for;
and the forecast in the customer page's visit history."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.common.months import add_months, month_start
from tests.customers.test_pages import QUERIES_CUSTOMER_PAGE
from tests.factories import ConsumptionFactory, VisitReportFactory, VisitTaskFactory
from tests.visits.report_forms import quick_report_form
from visits.models import TaskStatus, VisitReport, VisitTask
from visits.selectors import consumption_beside_forecast

TODAY = timezone.localdate()
PERIOD = TODAY.replace(day=1)


@pytest.fixture
def task(world):
    return VisitTaskFactory(customer=world.customer_a, period=PERIOD, due_date=TODAY)


def _url(task):
    return reverse("visits:report", args=[task.pk])


def _follow_ups(*rows, deleted=()) -> dict:
    data = {"fu-TOTAL_FORMS": str(len(rows)), "fu-INITIAL_FORMS": "0"}
    for n, (department, action) in enumerate(rows):
        data |= {f"fu-{n}-department": department, f"fu-{n}-action": action, f"fu-{n}-status": "open"}
        if n in deleted:
            data[f"fu-{n}-DELETE"] = "on"
    return data


def test_report_form_preselects_no_satisfaction(client, world, task):
    # given manager A's open visit
    client.force_login(world.manager_a.user)

    # when they open its report form
    html = client.get(_url(task)).content.decode()

    # then the five scores are offered and none is chosen
    radios = re.findall(r'<input type="radio" name="satisfaction"[^>]*>', html)
    assert len(radios) == 5
    assert not [r for r in radios if "checked" in r]


def test_report_without_satisfaction_is_refused_with_a_message(client, world, task, settings):
    # given manager A's open visit, in Chinese
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(world.manager_a.user)
    data = quick_report_form(TODAY)
    del data["satisfaction"]

    # when they send the report without choosing a satisfaction
    response = client.post(_url(task), data, HTTP_ACCEPT_LANGUAGE="zh-hans")

    # then nothing is saved and the form says what is missing
    assert response.status_code == 200
    assert "请选择客户满意度（1 至 5）。" in response.content.decode()
    assert not VisitReport.objects.exists()
    assert VisitTask.objects.get(pk=task.pk).status != TaskStatus.DONE


def test_report_saves_every_follow_up_posted(client, world, task):
    # given four follow-ups filled in, one of them removed again
    client.force_login(world.manager_a.user)
    rows = [
        ("billing", "核对电价"),
        ("orderly_power_use", "换表"),
        ("new_connection", "受理增容"),
        ("billing", "撤回"),
    ]
    data = quick_report_form(TODAY, **_follow_ups(*rows, deleted={3}))

    # when the report is sent
    response = client.post(_url(task), data)

    # then the three kept follow-ups are all saved, in order
    assert response.status_code == 302
    report = VisitReport.objects.get(task=task)
    assert [f.action for f in report.follow_ups.order_by("id")] == ["核对电价", "换表", "受理增容"]


def test_add_without_javascript_posts_back_one_more_row_keeping_what_was_typed(client, world, task):
    # given a half-typed report with its three rows used
    client.force_login(world.manager_a.user)
    rows = [("billing", "核对电价"), ("orderly_power_use", "换表"), ("", "")]
    data = quick_report_form(TODAY, needs="二期扩建", **_follow_ups(*rows), add_follow_up="1")
    del data["satisfaction"]

    # when "add" posts the form back
    response = client.post(_url(task), data)

    # then nothing is saved, no error is shown yet, and a fourth empty row follows what was typed
    assert response.status_code == 200
    assert not VisitReport.objects.exists()
    html = response.content.decode()
    assert "errorlist" not in html
    assert "二期扩建" in html
    assert 'value="换表"' in html
    assert response.context["follow_ups"].total_form_count() == 4
    assert 'name="fu-3-action"' in html


def test_report_form_shows_the_last_12_months_beside_a_year_before(client, world, task):
    # given 24 metered months of customer A up to last month
    last = add_months(month_start(TODAY), -1)
    for n in range(24):
        ConsumptionFactory(customer=world.customer_a, period=add_months(last, -n), kwh=Decimal(1000 + n))
    client.force_login(world.manager_a.user)

    # when manager A opens the report form
    html = client.get(_url(task)).content.decode()

    # then the consumption section lists the 12 months with the same months a year before
    section = re.search(r'<section class="consumption".*?</section>', html, re.S).group(0)
    assert f"{last:%Y-%m}" in section
    assert f"{add_months(last, -11):%Y-%m}" in section
    assert f"{add_months(last, -12):%Y-%m}" not in section  # only as the year-before column
    assert "1,000" in section
    assert "1,012" in section
    assert html.index('class="consumption"') < html.index('name="forecast_kwh_12m"')


def test_consumption_beside_forecast_ends_with_the_latest_metered_month(world, django_assert_num_queries):
    # given metering that stops three months ago, with a gap a year before it
    latest = add_months(month_start(TODAY), -3)
    for n in range(14):
        if n != 12:
            ConsumptionFactory(customer=world.customer_a, period=add_months(latest, -n), kwh=Decimal(100))

    # when the form's consumption is read
    with django_assert_num_queries(1):
        data = consumption_beside_forecast(customer=world.customer_a, today=TODAY)

    # then it ends with the latest month, totals what was metered, and marks the missing month
    assert (data["first"], data["last"]) == (add_months(latest, -11), latest)
    assert data["total"] == Decimal(1200)
    assert data["rows"][-1]["year_before"] is None
    assert data["rows"][-1]["change"] is None
    assert data["rows"][-2]["change"] == 0


def test_consumption_beside_forecast_is_none_without_recent_metering(world):
    ConsumptionFactory(customer=world.customer_a, period=add_months(month_start(TODAY), -30))
    assert consumption_beside_forecast(customer=world.customer_a, today=TODAY) is None


@pytest.mark.parametrize("size", [3, 30])
def test_customer_page_history_shows_the_forecast_at_its_query_count(
    client, world, size, django_assert_max_num_queries
):
    # given customer A's reported visits, each with a forecast
    for n in range(size):
        VisitReportFactory(
            task=VisitTaskFactory(customer=world.customer_a, kind="ad_hoc", status="done"),
            forecast_kwh_12m=Decimal(1_200_000 + n),
        )
    client.force_login(world.manager_a.user)
    page = reverse("customers:detail", args=[world.customer_a.pk])
    client.get(page)  # the connection's one-time checks (SQLite's JSON support) are not the page's

    # when manager A opens the customer page
    with django_assert_max_num_queries(QUERIES_CUSTOMER_PAGE):
        html = client.get(page).content.decode()

    # then the visit history shows the forecasts
    section = re.search(r'id="visits".*?</section>', html, re.S).group(0)
    assert f"预测未来 12 个月 {1_200_000 + size - 1:,} kWh" in section  # the newest visit first


def test_report_without_a_forecast_is_listed_without_one(client, world):
    VisitReportFactory(task=VisitTaskFactory(customer=world.customer_a, status="done"), forecast_kwh_12m=None)
    client.force_login(world.manager_a.user)
    html = client.get(reverse("customers:detail", args=[world.customer_a.pk])).content.decode()
    section = re.search(r'id="visits".*?</section>', html, re.S).group(0)
    assert "kWh" not in section
    assert "预测" not in section
