"""Benchmark of the baseline job on PostgreSQL.

Builds N customers with 24 months of consumption each in its own database (generate_series, in the
server; about 2.2 % VIP and key accounts, whose months follow a season), then, in the same process:
1. the floors: the seasonal naive of every customer in one INSERT ... SELECT (the job's statement
   over all ids at once), and the model fitted to every VIP and key account in one long frame;
2. the job: baseline_run_execute, chunked by primary key, as the Celery task runs it;
and checks that the job wrote what the floors wrote (a digest of every baseline). Prints wall
time, the cost per customer, the job's peak Python memory (tracemalloc) and the process's peak RSS
growth, and the ratio job / floors; writes the figures as JSON to bench/results/.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_forecasts \\
        .venv/bin/python bench/forecasts.py --customers 100000
"""

import datetime as dt
import resource
import time
import tracemalloc

# isort: split
# harness sets Django up: import it first
from harness import arguments, bench_station, prepare_database, rnd, sql, write_results

# isort: split

from django.db import connection
from django.utils import timezone

from forecasts import baselines
from forecasts.baselines import baseline_run_execute, baseline_run_start, chunk_size, seasonal_naive_range
from forecasts.models import BaselineRun

MADE_FOR = dt.date(2026, 10, 1)  # the history is 2024-10 .. 2026-09


def build(n: int) -> float:
    started = time.perf_counter()
    sql(
        "TRUNCATE forecasts_baseline, forecasts_baselinerun, customers_consumptionrecord, "
        "customers_customer CASCADE"
    )
    station = bench_station()
    sql("SET session_replication_role = replica")
    try:
        sql(
            f"""INSERT INTO customers_customer (id, account_no, name, category, industry_code,
                voltage_kv, contracted_capacity_kva, importance, station_id, community_id,
                transformer_district_id, address, status, tier, tier_pinned, tier_pin_reason,
                tier_pinned_until, tier_pinned_by_id, manager_id, annual_consumption_kwh, latest_period,
                created_at, updated_at)
            SELECT i, 'F' || lpad(i::text, 10, '0'), 'bench ' || i, 'residential', 'C3419', 0.38, 8, 'none',
                %(station)s, NULL, NULL, '', CASE WHEN {rnd("i", "s")} < 0.01 THEN 'closed' ELSE 'active' END,
                CASE WHEN {rnd("i", "t")} < 0.002 THEN 'vip' WHEN {rnd("i", "t")} < 0.022 THEN 'key_account'
                     ELSE 'transformer_district' END,
                false, '', NULL, NULL, NULL, 0, NULL, now(), now()
            FROM generate_series(1, %(n)s) i""",
            {"station": station.pk, "n": n},
        )
        sql("ALTER TABLE customers_consumptionrecord DROP CONSTRAINT IF EXISTS consumption_one_per_period")
        # a summer peak and a Spring Festival dip around each customer's level, +-10 % noise
        sql(
            f"""INSERT INTO customers_consumptionrecord (customer_id, period, kwh, amount_yuan, max_demand_kw,
                created_at, updated_at)
            SELECT c.i, p.period,
                ROUND(((100 + 900 * {rnd("c.i", "k")})
                      * (1 + 0.4 * cos((EXTRACT(MONTH FROM p.period) - 7.5) * pi() / 6))
                      * (0.9 + 0.2 * {rnd("c.i * 24 + p.m", "m")}))::numeric, 2),
                0, NULL, now(), now()
            FROM generate_series(1, %(n)s) c(i)
            CROSS JOIN (SELECT m, (date '2026-09-01' - make_interval(months => m))::date AS period
                        FROM generate_series(0, 23) m) p""",
            {"n": n},
        )
        sql("SET maintenance_work_mem = '512MB'")
        sql(
            "ALTER TABLE customers_consumptionrecord ADD CONSTRAINT consumption_one_per_period "
            "UNIQUE (customer_id, period)"
        )
    finally:
        sql("SET session_replication_role = DEFAULT")
    sql("SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", [n])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_customer")
        cursor.execute("VACUUM ANALYZE customers_consumptionrecord")
    return time.perf_counter() - started


def digest() -> tuple:
    return tuple(
        sql(
            "SELECT method, COUNT(*), ROUND(SUM(total_kwh_12m)), ROUND(SUM(m01 + m07)) "
            "FROM forecasts_baseline GROUP BY method ORDER BY method"
        )
    )


def floors(n: int) -> dict:
    sql("TRUNCATE forecasts_baseline")
    started = time.perf_counter()
    naive = seasonal_naive_range(lo=0, hi=n, made_for=MADE_FOR, run_id=None, now=timezone.now())
    naive_seconds = time.perf_counter() - started
    started = time.perf_counter()
    theta = baselines.theta_range(lo=0, hi=n, made_for=MADE_FOR, run_id=None, now=timezone.now())
    theta_seconds = time.perf_counter() - started
    print(f"floor, seasonal naive (one statement): {naive_seconds:.2f} s for {naive:,}", flush=True)
    print(f"floor, model (one frame): {theta_seconds:.2f} s for {theta:,}", flush=True)
    return {
        "naive_floor_seconds": round(naive_seconds, 2),
        "theta_floor_seconds": round(theta_seconds, 2),
        "naive": naive,
        "theta": theta,
        "digest": digest(),
    }


def job() -> dict:
    sql("TRUNCATE forecasts_baseline, forecasts_baselinerun")
    run, _ = baseline_run_start(made_for=MADE_FOR, trigger=BaselineRun.Trigger.MANUAL)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    run = baseline_run_execute(run_id=run.pk)
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_growth = (rss_after - rss_before) / 1e3
    print(
        f"job: {seconds:.2f} s in {run.chunks_done} chunks of {chunk_size():,}; {run.seasonal_naive:,} "
        f"naive, {run.theta:,} model; peak Python memory {peak / 1e6:.1f} MB, RSS +{rss_growth:.0f} MB",
        flush=True,
    )
    return {
        "job_seconds": round(seconds, 2),
        "chunks": run.chunks_done,
        "chunk_size": chunk_size(),
        "naive": run.seasonal_naive,
        "theta": run.theta,
        "peak_python_mb": round(peak / 1e6, 1),
        "rss_growth_mb": round((rss_after - rss_before) / 1e3, 1),
        "digest": digest(),
    }


def main() -> None:
    args = arguments("The baseline job against its floors").parse_args()
    n = args.customers
    load_at_start = prepare_database("forecasts.py")
    figures: dict = {"customers": n}
    if not args.skip_build:
        print(f"building {n:,} customers x 24 months ...", flush=True)
        figures["build_seconds"] = round(build(n), 1)
        print(f"  built in {figures['build_seconds']} s", flush=True)
    floor = floors(n)
    result = job()
    if floor["digest"] != result["digest"]:
        raise SystemExit(f"the job and the floors disagree: {floor['digest']} != {result['digest']}")
    floor_seconds = floor["naive_floor_seconds"] + floor["theta_floor_seconds"]
    figures.update(
        floor=floor,
        job=result,
        ratio_job_to_floor=round(result["job_seconds"] / floor_seconds, 2),
        job_us_per_customer=round(result["job_seconds"] / n * 1e6, 1),
        theta_ms_per_series=round(floor["theta_floor_seconds"] / max(floor["theta"], 1) * 1e3, 2),
    )
    print(
        f"job / floors = {figures['ratio_job_to_floor']}; {figures['job_us_per_customer']} us per customer; "
        f"model {figures['theta_ms_per_series']} ms per series",
        flush=True,
    )
    write_results(f"forecasts-{n}", figures, load_at_start=load_at_start)


if __name__ == "__main__":
    main()
