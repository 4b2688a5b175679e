"""The baselines of every active customer for one month, computed chunk by chunk.

A run's start plans the customers as primary-key chunks (crm.common.fanout: a RunChunk row each),
and each chunk is a task any worker takes (the model's fit is CPU work in the worker, so workers
add up), or, run in-process (`baseline_run_execute`), the next in a loop. Each chunk is one
transaction that
1. writes every active customer's seasonal naive baseline in one INSERT ... SELECT ... GROUP BY
   (each month as the same month a year before; a customer with fewer than 12 of the last 12 months
   metered gets their mean for every month; one with none gets no baseline and is counted),
2. fits the model (DynamicOptimizedTheta, season 12) to the chunk's VIP and key accounts with at
   least MODEL_MIN_MONTHS unbroken months up to the month before `made_for`, all in one long frame,
3. adds the chunk's counts to the run and marks the chunk done; the chunk that leaves none undone
   finishes the run.
Both writes are upserts on (customer, month, method), so a chunk done twice writes the same rows.
A worker killed mid-chunk leaves that chunk's transaction uncommitted; its chunk is sent again (the
redelivery, or the runs' sweep) and done once: the chunk's row lock stops a duplicate delivery
running it beside the first. Memory stays that of one chunk whatever the customers."""

# The SQL is assembled from constants of this module; every value from data is a bound parameter.
# ruff: noqa: S608

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm.common import fanout
from crm.common.chains import FannedOut
from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord, Customer, Status, Tier
from forecasts.models import HORIZON, MONTH_FIELDS, Baseline, BaselineRun, Method

State = BaselineRun.State
MODEL_MIN_MONTHS = 24  # the spec's "at least 24 months of history"
MODEL_HISTORY_MONTHS = 48  # the most the model reads: four seasons
SEASON = 12
CENT = Decimal("0.01")


def chunk_size() -> int:
    return int(getattr(settings, "FORECAST_CHUNK_SIZE", 20000))


def model_tiers() -> list[str]:
    return list(getattr(settings, "FORECAST_MODEL_TIERS", [Tier.VIP, Tier.KEY_ACCOUNT]))


def current_month(today: dt.date | None = None) -> dt.date:
    """The month a run made today forecasts from: this one (last month's consumption has landed)."""
    return month_start(today or timezone.localdate())


# ---------------------------------------------------------------- starting and running a run
def baseline_run_start(*, made_for: dt.date, trigger: str, by=None) -> tuple[BaselineRun, bool]:
    """Record a run for `made_for`; returns (run, created). A run of that month already queued or
    running is returned instead of a second (the database allows one)."""
    made_for = month_start(made_for)
    waiting = BaselineRun.objects.unfinished().filter(made_for=made_for).first()
    if waiting is not None:
        return waiting, False
    try:
        with transaction.atomic():
            return BaselineRun.objects.create(made_for=made_for, trigger=trigger, started_by=by), True
    except IntegrityError:  # another request recorded one at the same moment
        return BaselineRun.objects.unfinished().get(made_for=made_for), False


def baseline_run_execute(*, run_id: int, size: int | None = None) -> BaselineRun:
    """Run (or resume) run `run_id` to the end in this process, chunk by chunk; a finished or failed
    run is returned as it is."""
    run = _begin(run_id, size or chunk_size())
    if run.status == State.RUNNING:
        fanout.run_inline(fanout.label(run), run_id)
    return BaselineRun.objects.get(pk=run_id)


def baseline_run_dispatch(*, run_id: int) -> FannedOut | None:
    """Start (or resume) the run and send its undone chunks to the workers; None when the run has
    nothing left to do (a chain waits on the FannedOut: crm.common.chains)."""
    return fanout.dispatch(_begin(run_id, chunk_size()))


def baseline_run_fail(*, run_id: int, error: str) -> None:
    now = timezone.now()
    BaselineRun.objects.filter(pk=run_id, status__in=[State.QUEUED, State.RUNNING]).update(
        status=State.FAILED, error=error[:4000], finished_at=now, updated_at=now
    )


@transaction.atomic
def _begin(run_id: int, size: int) -> BaselineRun:
    run = BaselineRun.objects.select_for_update().get(pk=run_id)
    if run.status == State.QUEUED:
        run.status, run.started_at = State.RUNNING, timezone.now()
        run.max_pk = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        run.save()
    if run.status == State.RUNNING:
        fanout.plan(run, table=Customer._meta.db_table, size=size)
    return run


def baseline_chunk(*, run_id: int, lo: int, hi: int) -> None:
    """The baselines of customers lo < id <= hi, and their counts on the run (in the chunk's
    transaction, crm.common.fanout; the run's row locked only for that last write)."""
    run = BaselineRun.objects.get(pk=run_id)
    now = timezone.now()
    naive = seasonal_naive_range(lo=lo, hi=hi, made_for=run.made_for, run_id=run.pk, now=now)
    active = Customer.objects.filter(pk__gt=lo, pk__lte=hi, status=Status.ACTIVE).count()
    theta = theta_range(lo=lo, hi=hi, made_for=run.made_for, run_id=run.pk, now=now)
    run = fanout.lock_run(fanout.label(run), run_id)
    run.seasonal_naive += naive
    run.no_history += active - naive
    run.theta += theta
    fanout.chunk_counted(run)


# ---------------------------------------------------------------- the seasonal naive, in SQL
_MONTHS = ", ".join(MONTH_FIELDS)
_SAME_MONTH = ",\n".join(
    f"SUM(CASE WHEN r.period = %(d{n:02d})s THEN r.kwh END) AS k{n:02d}" for n in range(1, HORIZON + 1)
)
# a full year: the same month a year before; fewer months: their mean, every month
_PICK = ",\n".join(
    f"CASE WHEN s.n < {SEASON} THEN ROUND(s.mean, 2) ELSE s.k{n:02d} END" for n in range(1, HORIZON + 1)
)
_UPDATE = ", ".join(
    f"{column} = excluded.{column}"
    for column in ("months_used", "total_kwh_12m", "run_id", "updated_at", *MONTH_FIELDS)
)
# "WHERE 1 = 1" below: SQLite reads ON CONFLICT after a bare FROM as a join's ON
SEASONAL_NAIVE_SQL = f"""
INSERT INTO forecasts_baseline
    (customer_id, made_for, method, months_used, total_kwh_12m, run_id, created_at, updated_at, {_MONTHS})
SELECT s.customer_id, %(made_for)s, '{Method.SEASONAL_NAIVE.value}', s.n,
    CASE WHEN s.n < {SEASON} THEN ROUND(s.mean * {HORIZON}, 2) ELSE s.total END,
    CAST(%(run)s AS BIGINT), %(now)s, %(now)s,
    {_PICK}
FROM (
    SELECT r.customer_id, COUNT(*) AS n, AVG(r.kwh) AS mean, SUM(r.kwh) AS total,
    {_SAME_MONTH}
    FROM customers_consumptionrecord r
    JOIN customers_customer c ON c.id = r.customer_id
    WHERE r.customer_id > %(lo)s AND r.customer_id <= %(hi)s AND c.status = '{Status.ACTIVE.value}'
      AND r.period >= %(d01)s AND r.period < %(made_for)s
    GROUP BY r.customer_id
) s
WHERE 1 = 1
ON CONFLICT (customer_id, made_for, method) DO UPDATE SET {_UPDATE}
"""  # nosec B608 - constants of this module only


def seasonal_naive_range(*, lo: int, hi: int, made_for: dt.date, run_id: int | None, now: dt.datetime) -> int:
    """Write the seasonal naive baselines for `made_for` of the active customers with ids in
    (lo, hi] that have a month metered in the 12 before it; returns how many were written."""
    params = {"made_for": made_for, "run": run_id, "now": now, "lo": lo, "hi": hi}
    params.update({f"d{n:02d}": add_months(made_for, n - 1 - SEASON) for n in range(1, HORIZON + 1)})
    with connection.cursor() as cursor:
        cursor.execute(SEASONAL_NAIVE_SQL, params)
        return cursor.rowcount


# ---------------------------------------------------------------- the model
def theta_range(*, lo: int, hi: int, made_for: dt.date, run_id: int | None, now: dt.datetime) -> int:
    """Fit DynamicOptimizedTheta (season 12) to each active customer of the model's tiers with ids in
    (lo, hi] whose last MODEL_MIN_MONTHS months or more before `made_for` are all metered (the
    unbroken run of months ending with the month before it, at most MODEL_HISTORY_MONTHS), and
    write their baselines; returns how many."""
    last = add_months(made_for, -1)
    first = add_months(made_for, -MODEL_HISTORY_MONTHS)
    readings = (
        ConsumptionRecord.objects.filter(
            customer_id__gt=lo,
            customer_id__lte=hi,
            customer__status=Status.ACTIVE,
            customer__tier__in=model_tiers(),
            period__gte=first,
            period__lte=last,
        )
        .order_by("customer_id", "-period")
        .values_list("customer_id", "period", "kwh")
    )
    series: defaultdict[int, list[float]] = defaultdict(list)
    expected: dict[int, dt.date] = {}
    for customer_id, period, kwh in readings.iterator(chunk_size=5000):
        if expected.get(customer_id, last) != period:  # a gap: the unbroken run has ended
            expected[customer_id] = dt.date.min
            continue
        series[customer_id].append(float(kwh))
        expected[customer_id] = add_months(period, -1)
    fitted = {cid: values[::-1] for cid, values in series.items() if len(values) >= MODEL_MIN_MONTHS}
    if not fitted:
        return 0
    forecasts = fit_theta(fitted, first_month=made_for)
    rows = []
    for customer_id, months in forecasts.items():
        values = [Decimal(max(v, 0.0)).quantize(CENT) for v in months]  # no consumption below zero
        row = Baseline(
            customer_id=customer_id,
            made_for=made_for,
            method=Method.THETA,
            months_used=len(fitted[customer_id]),
            total_kwh_12m=sum(values, Decimal(0)),
            run_id=run_id,
            **dict(zip(MONTH_FIELDS, values, strict=True)),
        )
        row.created_at = row.updated_at = now
        rows.append(row)
    Baseline.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["customer", "made_for", "method"],
        update_fields=["months_used", "total_kwh_12m", "run", "updated_at", *MONTH_FIELDS],
    )
    return len(rows)


def fit_theta(series: dict[int, list[float]], *, first_month: dt.date) -> dict[int, list[float]]:
    """The next 12 months of each series (each ending with the month before `first_month`), fitted
    together in one long frame on one process (the machine's cores serve the web and the worker)."""
    import numpy as np
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import DynamicOptimizedTheta

    ids, stamps, values = [], [], []
    for customer_id, ys in series.items():
        start = add_months(first_month, -len(ys))
        ids.extend([customer_id] * len(ys))
        stamps.append(pd.date_range(start, periods=len(ys), freq="MS"))
        values.extend(ys)
    frame = pd.DataFrame({"unique_id": ids, "ds": np.concatenate(stamps), "y": values})
    model = StatsForecast(models=[DynamicOptimizedTheta(season_length=SEASON)], freq="MS", n_jobs=1)
    out = model.forecast(df=frame, h=HORIZON)
    result: dict[int, list[float]] = {}
    for customer_id, group in out.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=False):
        result[int(customer_id)] = [float(v) for v in group["DynamicOptimizedTheta"].to_numpy()]
    return result


# Its chunks are tasks of their own (crm.common.fanout), any worker taking the next.
fanout.register_fan("forecasts.BaselineRun", fanout.Fan(work=baseline_chunk, failed=baseline_run_fail))
