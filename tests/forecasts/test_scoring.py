"""Scoring the managers' forecasts: APE capped, WAPE and bias, FVA's sign, the share beaten, the
baseline current at the visit, forecasts waiting for their year, scope."""

import datetime as dt
from decimal import Decimal

import pytest

from crm.common.months import add_months
from customers.models import ConsumptionRecord
from forecasts.models import MONTH_FIELDS, Baseline, Method
from forecasts.scoring import capped_ape, forecast_scores
from tests.factories import VisitReportFactory, VisitTaskFactory

VISIT = dt.date(2025, 3, 10)  # its forecast covers 2025-04 .. 2026-03
TODAY = dt.date(2026, 11, 20)


def metered_year(customer, monthly: int, *, first=dt.date(2025, 4, 1)):
    ConsumptionRecord.objects.bulk_create(
        ConsumptionRecord(customer=customer, period=add_months(first, n), kwh=Decimal(monthly))
        for n in range(12)
    )


def baseline(customer, total: int, *, made_for=dt.date(2025, 3, 1), method=Method.SEASONAL_NAIVE):
    month = Decimal(total) / 12
    return Baseline.objects.create(
        customer=customer,
        made_for=made_for,
        method=method,
        months_used=12,
        total_kwh_12m=Decimal(total),
        **dict.fromkeys(MONTH_FIELDS, month),
    )


def report(customer, forecast, *, visited_on=VISIT):
    task = VisitTaskFactory(
        customer=customer, period=visited_on.replace(day=1), due_date=visited_on, status="done"
    )
    return VisitReportFactory(task=task, visited_on=visited_on, forecast_kwh_12m=Decimal(forecast))


def test_ape_is_capped_at_100_percent_and_zero_years_are_defined():
    assert capped_ape(Decimal(150), Decimal(100)) == Decimal("0.5")
    assert capped_ape(Decimal(5000), Decimal(100)) == Decimal(1)  # 4900 % capped
    assert capped_ape(Decimal(10), Decimal(0)) == Decimal(1)
    assert capped_ape(Decimal(0), Decimal(0)) == Decimal(0)


@pytest.mark.django_db
def test_fva_is_positive_when_the_manager_beats_the_baseline(world):
    # Given a year metered at 12,000 kWh, the baseline said 9,000 (25 % off), the manager 11,400 (5 %)
    customer = world.customer_a
    metered_year(customer, 1000)
    baseline(customer, 9000)
    report(customer, 11400)
    # When the supervisor's team is scored
    scores = forecast_scores(user=world.supervisor, today=TODAY)
    # Then the manager's MAPE is 5, the baseline's 25, FVA +20 points, the one forecast beaten
    (row,) = scores.groups
    assert row.key == world.manager_a.pk
    assert row.label == "张经理"
    assert (row.scored, row.manager_mape, row.baseline_mape, row.fva_pp) == (
        1,
        Decimal("5.0"),
        Decimal("25.0"),
        Decimal("20.0"),
    )
    assert row.beat_share == Decimal("100.0")
    assert (row.wape, row.bias_pct) == (Decimal("5.0"), Decimal("-5.0"))


@pytest.mark.django_db
def test_fva_is_negative_when_the_baseline_was_closer(world):
    customer = world.customer_a
    metered_year(customer, 1000)
    baseline(customer, 12600)  # 5 % off
    report(customer, 18000)  # 50 % off, over
    row = forecast_scores(user=world.supervisor, today=TODAY).groups[0]
    assert row.fva_pp == Decimal("-45.0")
    assert row.beat_share == Decimal("0.0")
    assert row.bias_pct == Decimal("50.0")


@pytest.mark.django_db
def test_a_wild_forecast_is_capped_in_mape_but_not_in_wape(world):
    customer = world.customer_a
    metered_year(customer, 1000)
    baseline(customer, 12000)
    report(customer, 120000)  # 900 % off
    row = forecast_scores(user=world.supervisor, today=TODAY).groups[0]
    assert row.manager_mape == Decimal("100.0")
    assert row.wape == Decimal("900.0")


@pytest.mark.django_db
def test_the_model_is_the_baseline_where_it_was_made_and_a_later_one_is_not_current(world):
    customer = world.customer_a
    metered_year(customer, 1000)
    baseline(customer, 6000)  # the seasonal naive of March, 50 % off
    baseline(customer, 10800, method=Method.THETA)  # the model of March, 10 % off
    baseline(customer, 12000, made_for=dt.date(2025, 4, 1))  # made after the visit: not current
    report(customer, 12000)
    row = forecast_scores(user=world.supervisor, today=TODAY).groups[0]
    assert row.baseline_mape == Decimal("10.0")
    assert row.rows[0].method == Method.THETA


@pytest.mark.django_db
def test_a_forecast_whose_year_is_not_metered_waits_and_one_without_baseline_is_counted(world):
    customer = world.customer_a
    metered_year(customer, 1000)
    report(customer, 12000)  # metered, but no baseline was made
    report(customer, 12000, visited_on=dt.date(2026, 6, 2))  # its year runs to 2027-06
    total = forecast_scores(user=world.supervisor, today=TODAY).total
    assert (total.scored, total.waiting, total.no_baseline) == (0, 1, 1)
    assert total.fva_pp is None


@pytest.mark.django_db
def test_scores_are_scoped_and_grouped_by_year_and_station(world):
    for customer in (world.customer_a, world.customer_b):
        metered_year(customer, 1000)
        baseline(customer, 9000)
        report(customer, 12000)
    # the supervisor leads manager A only
    assert [g.key for g in forecast_scores(user=world.supervisor, today=TODAY).groups] == [world.manager_a.pk]
    by_station = forecast_scores(user=world.admin, group_by="station", today=TODAY).groups
    assert {g.key for g in by_station} == {world.station_a.pk, world.station_b.pk}
    (by_year,) = forecast_scores(user=world.admin, group_by="year", today=TODAY).groups
    assert (by_year.key, by_year.scored) == (2025, 2)
    assert forecast_scores(user=world.admin, year=2024, today=TODAY).total.scored == 0


@pytest.mark.django_db
def test_scores_read_a_fixed_number_of_queries(world, django_assert_num_queries):
    def add(n):
        for _ in range(n):
            task = VisitTaskFactory(manager=world.manager_a.user, status="done")
            metered_year(task.customer, 1000)
            baseline(task.customer, 9000)
            VisitReportFactory(task=task, visited_on=VISIT, forecast_kwh_12m=Decimal(11000))

    add(2)
    # the user's permissions (their scope), the reports, their metered months, baselines, names
    admin = type(world.admin).objects.get(pk=world.admin.pk)
    with django_assert_num_queries(5):
        forecast_scores(user=admin, today=TODAY)
    add(8)
    admin = type(world.admin).objects.get(pk=world.admin.pk)
    with django_assert_num_queries(5):
        assert forecast_scores(user=admin, today=TODAY).total.scored == 10
