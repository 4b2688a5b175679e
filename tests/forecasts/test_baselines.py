"""The baseline job: the seasonal naive exactly, the mean of a short history, no baseline without
history or for a closed customer, the model for the VIP and key accounts, and a run that resumes
after a kill ending where an uninterrupted one ends."""

import datetime as dt
import math
from decimal import Decimal
from unittest import mock

import pytest

from crm.common import fanout
from crm.common.months import add_months
from customers.models import ConsumptionRecord, Status, Tier
from forecasts import baselines
from forecasts.baselines import baseline_run_execute, baseline_run_start
from forecasts.models import MONTH_FIELDS, Baseline, BaselineRun, Method
from tests.factories import CustomerFactory

MADE_FOR = dt.date(2026, 11, 1)


def meter(customer, values, *, last=dt.date(2026, 10, 1)):
    """Readings of `values` for the months ending with `last`."""
    start = add_months(last, 1 - len(values))
    ConsumptionRecord.objects.bulk_create(
        ConsumptionRecord(customer=customer, period=add_months(start, n), kwh=Decimal(v))
        for n, v in enumerate(values)
    )


def run_now(**kwargs) -> BaselineRun:
    run, _ = baseline_run_start(made_for=MADE_FOR, trigger=BaselineRun.Trigger.MANUAL)
    return baseline_run_execute(run_id=run.pk, **kwargs)


@pytest.mark.django_db
def test_seasonal_naive_repeats_the_same_month_a_year_before():
    # Given a customer metered 24 months, the last year 101..112 (Nov 2025 .. Oct 2026)
    customer = CustomerFactory()
    meter(customer, [1] * 12 + list(range(101, 113)))
    # When the baselines for Nov 2026 are computed
    run = run_now()
    # Then each month is the same month a year before, in order, with their total
    baseline = Baseline.objects.get(customer=customer, method=Method.SEASONAL_NAIVE)
    assert baseline.made_for == MADE_FOR
    assert baseline.monthly == [Decimal(v) for v in range(101, 113)]
    assert baseline.total_kwh_12m == Decimal(sum(range(101, 113)))
    assert baseline.months_used == 12
    assert (run.status, run.seasonal_naive, run.no_history) == ("done", 1, 0)


@pytest.mark.django_db
def test_seasonal_naive_of_fewer_than_12_months_is_their_mean():
    customer = CustomerFactory()
    meter(customer, [100, 200, 600])
    run_now()
    baseline = Baseline.objects.get(customer=customer)
    assert baseline.monthly == [Decimal("300.00")] * 12
    assert baseline.total_kwh_12m == Decimal("3600.00")
    assert baseline.months_used == 3


@pytest.mark.django_db
def test_no_history_and_closed_customers_get_no_baseline():
    # Given a customer never metered and a closed one with a full year
    CustomerFactory()
    closed = CustomerFactory(status=Status.CLOSED)
    meter(closed, [500] * 12)
    # When the run is done, neither has a baseline, and the one without history is counted
    run = run_now()
    assert not Baseline.objects.exists()
    assert (run.seasonal_naive, run.no_history) == (0, 1)


@pytest.mark.django_db
def test_the_model_forecasts_key_accounts_with_two_years_and_not_the_others():
    # Given a key account and a residential customer with three seasonal years, and a VIP with 20 months
    season = [2000 if n % 12 in (6, 7) else 1000 for n in range(36)]  # a summer peak (Jul, Aug)
    key = CustomerFactory(tier=Tier.KEY_ACCOUNT)
    meter(key, season, last=dt.date(2026, 12, 1))
    residential = CustomerFactory()
    meter(residential, season, last=dt.date(2026, 12, 1))
    short = CustomerFactory(tier=Tier.VIP)
    meter(short, [800] * 20, last=dt.date(2026, 12, 1))
    # When the run is done
    run, _ = baseline_run_start(made_for=dt.date(2027, 1, 1), trigger=BaselineRun.Trigger.MANUAL)
    run = baseline_run_execute(run_id=run.pk)
    # Then only the key account has a model baseline, beside its seasonal naive; it follows the season
    model = Baseline.objects.get(method=Method.THETA)
    assert model.customer == key
    assert model.months_used == 36
    assert run.theta == 1
    assert Baseline.objects.filter(method=Method.SEASONAL_NAIVE).count() == 3
    monthly = model.monthly
    assert min(monthly[6], monthly[7]) > Decimal(1500) > max(monthly[:6] + monthly[8:])  # the peak
    assert model.total_kwh_12m == sum(monthly)


@pytest.mark.django_db
def test_a_gap_breaks_the_model_history():
    # Given a VIP with 30 months but a month missing 10 months ago: the unbroken run is 9 months
    vip = CustomerFactory(tier=Tier.VIP)
    meter(vip, [900] * 30)
    ConsumptionRecord.objects.filter(customer=vip, period=dt.date(2026, 1, 1)).delete()
    run = run_now()
    assert run.theta == 0
    assert Baseline.objects.filter(customer=vip, method=Method.SEASONAL_NAIVE).exists()


@pytest.mark.django_db
def test_running_again_replaces_the_figures():
    customer = CustomerFactory()
    meter(customer, [100] * 12)
    run_now()
    ConsumptionRecord.objects.filter(customer=customer).update(kwh=Decimal(200))
    run_now()
    baseline = Baseline.objects.get(customer=customer)
    assert baseline.total_kwh_12m == Decimal(2400)


@pytest.mark.django_db
def test_run_resumes_after_a_kill_and_ends_like_an_uninterrupted_run():
    # Given six customers, two of them key accounts with three years, in chunks of two
    season = [round(1000 + 300 * math.sin(n * math.pi / 6)) for n in range(36)]
    customers = [CustomerFactory(tier=Tier.KEY_ACCOUNT if n in (1, 4) else Tier.COMMUNITY) for n in range(6)]
    for n, customer in enumerate(customers):
        meter(customer, [v + 10 * n for v in season])
    run, _ = baseline_run_start(made_for=MADE_FOR, trigger=BaselineRun.Trigger.MANUAL)
    real = baselines.theta_range
    calls = []

    def dies_in_the_second_chunk(**kwargs):
        calls.append(kwargs["lo"])
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return real(**kwargs)

    # When the worker dies in the middle of the second chunk
    with mock.patch.object(baselines, "theta_range", dies_in_the_second_chunk), pytest.raises(SystemExit):
        baseline_run_execute(run_id=run.pk, size=2)
    # Then the first chunk stands, the second left nothing behind
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.last_pk) == ("running", 1, customers[1].pk)
    assert set(Baseline.objects.values_list("customer_id", flat=True)) == {customers[0].pk, customers[1].pk}
    # When the task runs again, it resumes after the first chunk and finishes
    run = baseline_run_execute(run_id=run.pk, size=2)
    assert (run.status, run.chunks_done, run.seasonal_naive, run.theta) == ("done", 3, 6, 2)
    resumed = {(b.customer_id, b.method): b.monthly for b in Baseline.objects.all()}
    # And the figures are those of an uninterrupted run
    Baseline.objects.all().delete()
    run_now(size=2)
    assert {(b.customer_id, b.method): b.monthly for b in Baseline.objects.all()} == resumed
    assert len(resumed) == 8


@pytest.mark.django_db
def test_chunks_done_in_any_order_by_any_worker_end_as_the_loop_does(
    django_capture_on_commit_callbacks, settings
):
    # Given six customers, two of them key accounts with three years, in chunks of two
    season = [round(1000 + 300 * math.sin(n * math.pi / 6)) for n in range(36)]
    for n in range(6):
        meter(
            CustomerFactory(tier=Tier.KEY_ACCOUNT if n in (1, 4) else Tier.COMMUNITY),
            [v + 10 * n for v in season],
        )
    looped = run_now(size=2)
    expected = {(b.customer_id, b.method): b.monthly for b in Baseline.objects.all()}
    Baseline.objects.all().delete()
    BaselineRun.objects.all().delete()
    # When a run is started and its chunks sent (as the chain's step and the task do)
    run, _ = baseline_run_start(made_for=MADE_FOR, trigger=BaselineRun.Trigger.MANUAL)
    settings.FORECAST_CHUNK_SIZE = 2
    with django_capture_on_commit_callbacks() as sent:
        fanned = baselines.baseline_run_dispatch(run_id=run.pk)
    assert (fanned.run_label, fanned.run_id, len(sent)) == ("forecasts.baselinerun", run.pk, 1)
    # and the workers do them last first
    chunks = list(
        fanout.undone("forecasts.baselinerun", run.pk).order_by("-index").values_list("pk", flat=True)
    )
    assert len(chunks) == 3
    for chunk_id in chunks:
        assert BaselineRun.objects.get(pk=run.pk).status == "running"
        fanout.chunk_run(chunk_id)
    # Then the run ends with the loop's counts and figures
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.seasonal_naive, run.theta, run.last_pk) == (
        "done",
        3,
        looped.seasonal_naive,
        looped.theta,
        run.max_pk,
    )
    assert {(b.customer_id, b.method): b.monthly for b in Baseline.objects.all()} == expected


@pytest.mark.django_db
def test_a_second_start_joins_the_unfinished_run():
    first, created = baseline_run_start(made_for=MADE_FOR, trigger=BaselineRun.Trigger.MANUAL)
    second, created_again = baseline_run_start(made_for=MADE_FOR, trigger=BaselineRun.Trigger.SCHEDULE)
    assert (created, created_again, second.pk) == (True, False, first.pk)


def test_month_fields_are_twelve():
    assert len(MONTH_FIELDS) == 12
