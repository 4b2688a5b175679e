"""Forecast error (MAPE) of visit reports, completion rates and a manager's week."""

import datetime as dt
from decimal import Decimal

from customers.models import Tier
from tests.factories import (
    ConsumptionFactory,
    CustomerFactory,
    FollowUpFactory,
    VisitReportFactory,
    VisitTaskFactory,
)
from visits.models import Kind, TaskStatus
from visits.selectors import (
    completion_by_manager_and_month,
    follow_ups_waiting_by_department,
    forecast_errors,
    week_tasks_for,
)

TODAY = dt.date(2026, 6, 15)


def _meter(customer, *, first: dt.date, months: int, kwh: str):
    for n in range(months):
        index = first.year * 12 + first.month - 1 + n
        ConsumptionFactory(
            customer=customer, period=dt.date(index // 12, index % 12 + 1, 1), kwh=Decimal(kwh)
        )


def _report(customer, *, visited_on: dt.date, forecast: str):
    task = VisitTaskFactory(
        customer=customer, period=visited_on.replace(day=1), due_date=visited_on, status=TaskStatus.DONE
    )
    return VisitReportFactory(task=task, visited_on=visited_on, forecast_kwh_12m=Decimal(forecast))


def test_forecast_error_compares_the_forecast_with_the_12_metered_months_after_the_visit(world):
    # given a visit in April 2025 forecasting 13,200 kWh,
    # and 1,000 kWh metered each month from May 2025 to April 2026
    _report(world.customer_a, visited_on=dt.date(2025, 4, 20), forecast="13200")
    _meter(world.customer_a, first=dt.date(2025, 5, 1), months=12, kwh="1000")
    # when the error is read in June 2026
    summary = forecast_errors(user=world.admin, today=TODAY)
    # then the error is |13,200 - 12,000| / 12,000 = 10 %
    assert [row.actual for row in summary.rows] == [Decimal("12000")]
    assert summary.overall == Decimal("10.0")
    assert summary.by_customer() == {world.customer_a.pk: Decimal("10.0")}


def test_a_forecast_whose_12_months_have_not_passed_is_left_out(world):
    # given a visit in June 2025: its 12th month (June 2026) is not over
    _report(world.customer_a, visited_on=dt.date(2025, 6, 1), forecast="12000")
    _meter(world.customer_a, first=dt.date(2025, 7, 1), months=12, kwh="1000")
    assert forecast_errors(user=world.admin, today=TODAY).rows == []


def test_a_forecast_with_a_month_not_metered_is_left_out(world):
    _report(world.customer_a, visited_on=dt.date(2025, 4, 20), forecast="12000")
    _meter(world.customer_a, first=dt.date(2025, 5, 1), months=11, kwh="1000")
    assert forecast_errors(user=world.admin, today=TODAY).rows == []


def test_managers_mape_is_the_mean_of_their_reports_errors(world):
    other = CustomerFactory(tier=Tier.VIP, manager=world.manager_a.user)
    _report(world.customer_a, visited_on=dt.date(2025, 4, 20), forecast="13200")  # 10 %
    _report(other, visited_on=dt.date(2025, 4, 20), forecast="9000")  # 25 %
    _meter(world.customer_a, first=dt.date(2025, 5, 1), months=12, kwh="1000")
    _meter(other, first=dt.date(2025, 5, 1), months=12, kwh="1000")
    summary = forecast_errors(user=world.admin, today=TODAY)
    assert summary.by_manager() == {world.manager_a.pk: Decimal("17.5")}


def test_forecast_error_stays_in_scope(world):
    _report(world.customer_b, visited_on=dt.date(2025, 4, 20), forecast="13200")
    _meter(world.customer_b, first=dt.date(2025, 5, 1), months=12, kwh="1000")
    assert forecast_errors(user=world.manager_a.user, today=TODAY).rows == []


def test_week_lists_care_first_then_overdue_then_due_this_week(world):
    # given (Monday 15 June 2026) a task due Friday, an overdue one, a care visit due next week
    # and one due next month
    due_friday = VisitTaskFactory(
        customer=world.customer_a, period=dt.date(2026, 6, 1), due_date=dt.date(2026, 6, 19)
    )
    overdue = VisitTaskFactory(
        customer=world.customer_a, period=dt.date(2026, 5, 1), due_date=dt.date(2026, 5, 31), status="overdue"
    )
    care = VisitTaskFactory(
        customer=world.customer_a, kind=Kind.CARE, period=dt.date(2026, 5, 1), due_date=dt.date(2026, 6, 22)
    )
    VisitTaskFactory(customer=world.customer_a, period=dt.date(2026, 7, 1), due_date=dt.date(2026, 7, 31))
    tasks = week_tasks_for(user=world.manager_a.user, manager_id=world.manager_a.pk, day=TODAY)
    assert [t.pk for t in tasks] == [care.pk, overdue.pk, due_friday.pk]


def test_completion_counts_due_done_and_on_time_per_manager_and_month(world):
    on_time = VisitTaskFactory(
        customer=world.customer_a, due_date=dt.date(2026, 3, 31), status=TaskStatus.DONE
    )
    VisitReportFactory(task=on_time, visited_on=dt.date(2026, 3, 20))
    VisitTaskFactory(
        customer=world.customer_a, kind=Kind.CARE, due_date=dt.date(2026, 3, 31), status=TaskStatus.OVERDUE
    )
    VisitTaskFactory(
        customer=world.customer_a,
        kind=Kind.AD_HOC,
        due_date=dt.date(2026, 3, 31),
        status=TaskStatus.CANCELLED,
    )
    rows = completion_by_manager_and_month(
        user=world.supervisor, since=dt.date(2026, 1, 1), until=dt.date(2026, 7, 1)
    )
    assert [(r.manager_id, r.month, r.due, r.done, r.on_time, r.rate) for r in rows] == [
        (world.manager_a.pk, dt.date(2026, 3, 1), 2, 1, 1, 50.0)
    ]


def test_follow_ups_waiting_are_counted_per_department(world):
    status = "open"
    report = VisitReportFactory(task=VisitTaskFactory(customer=world.customer_a, status="done"))
    FollowUpFactory(report=report, department="billing", status=status)
    FollowUpFactory(report=report, department="billing", status="closed", closed_on=dt.date(2026, 3, 2))
    FollowUpFactory(report=report, department="load_control", status=status)
    rows = follow_ups_waiting_by_department(user=world.supervisor)
    assert [(r["department"], r["count"]) for r in rows] == [("billing", 1), ("load_control", 1)]
