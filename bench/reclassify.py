"""Benchmark of the reclassification job on PostgreSQL.

Builds N customers with 12 months of consumption each in its own database (generate_series, in
the server), then, on the same data in the same process:
1. the bare floor: the classification alone as one statement on bare tables (the customers' id,
   tier and the measures the rules read, with a primary key and nothing else; the consumption's
   customer, period and kWh with its primary key), writing only the customers whose tier changes:
   the least any monthly run can cost (copied from the real tables before, not timed);
2. the floor: one hand-written SQL statement doing the same classification on the real tables
   (measures, rules, hysteresis, pins, tier + annual figure written where they differ, history
   rows inserted);
3. the job: classification_run_execute, chunked by primary key, as the Celery task runs it;
4. the job again over the same data (the steady state: nothing changes, nothing is written).
The customers are reset to the same starting state before 1, 2 and 3, as after a month of
consumption lands (last month's tiers, no annual figure: every customer's figure changes), and
they must end in the same state (a digest of every customer's tier and annual figure and the
history count; the bare floor's tiers against the job's). Prints wall time, customers per second,
the job's peak Python memory (tracemalloc) and the process's peak RSS growth, the ratios job / bare
floor and job / floor, and how many customer rows the job rewrote with and without a new index
entry (pg_stat's n_tup_upd and n_tup_hot_upd); writes the figures as JSON to bench/results/.

    make bench-reclassify      # or, by hand (the database is created when missing):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench .venv/bin/python bench/reclassify.py
    BENCH_RECLASSIFY_CUSTOMERS=100000 make bench-reclassify    # the size (default 1,000,000)
"""

import datetime as dt
import os
import resource
import sys
import time
import tracemalloc

# isort: split
# harness sets Django up: import it first
from harness import arguments, bench_station, prepare_database, rnd, sql, write_results

# isort: split

from django.db import connection, transaction
from django.utils import timezone

from customers.models import ClassificationRun, TierPolicy
from customers.partitions import consumption_partitions_ensure
from customers.tiering.classification import (
    WORK_MEM,
    _measures_json,
    _rules_case,
    chunk_size,
    classification_run_execute,
    threshold_params,
)

# The starting tier: what last month's classification gave, roughly (consumption drifts).
INITIAL_TIER = f"""CASE
    WHEN voltage_kv >= 110 OR importance = 'level_1' THEN 'vip'
    WHEN contracted_capacity_kva >= 315 OR voltage_kv >= 10 OR importance = 'level_2' THEN 'key_account'
    WHEN {rnd("id", "t")} < 0.03 THEN 'key_account'
    WHEN community_id IS NOT NULL THEN 'community'
    ELSE 'transformer_district' END"""


def build(n: int, *, months: int = 12) -> float:
    """N customers (about 0.2 % VIP-sized, 3 % key-account-sized, a third in communities, 1 %
    closed, 0.1 % pinned) with `months` months each, up to 2026-09; returns seconds."""
    started = time.perf_counter()
    sql(
        "TRUNCATE customers_tierchange, customers_classificationrun, common_runchunk, "
        "customers_consumptionrecord, customers_customer CASCADE"
    )
    # the years the readings fall in, each a partition of its own (customers/partitions.py)
    consumption_partitions_ensure(today=dt.date(2026 - (months - 1) // 12 - 1, 1, 1), years_ahead=4)
    station = bench_station()
    sql(
        """INSERT INTO customers_community (station_id, code, name, created_at, updated_at)
           SELECT %s, 'BCM' || i, 'bench community ' || i, now(), now() FROM generate_series(1, 200) i
           ON CONFLICT (code) DO NOTHING""",
        [station.pk],
    )
    communities = [
        row[0] for row in sql("SELECT id FROM customers_community WHERE code LIKE 'BCM%%' ORDER BY id")
    ]
    sql("SET session_replication_role = replica")  # no per-row foreign-key triggers while loading
    try:
        sql(
            f"""INSERT INTO customers_customer (id, account_no, name, category, industry_code,
                voltage_kv, contracted_capacity_kva, importance, station_id, community_id,
                transformer_district_id, address, status, tier, tier_pinned, tier_pin_reason,
                tier_pinned_until, tier_pinned_by_id, manager_id, annual_consumption_kwh, latest_period,
                created_at, updated_at)
            SELECT id, 'B' || lpad(id::text, 10, '0'), 'bench ' || id, 'residential', '', voltage_kv,
                contracted_capacity_kva, importance, %(station)s, community_id, NULL, '', status,
                {INITIAL_TIER}, tier_pinned, CASE WHEN tier_pinned THEN 'bench' ELSE '' END,
                NULL, NULL, NULL, 0, NULL, now(), now()
            FROM (
                SELECT i AS id,
                    CASE WHEN {rnd("i", "v")} < 0.001 THEN 110 WHEN {rnd("i", "v")} < 0.02 THEN 10
                         ELSE 0.38 END AS voltage_kv,
                    CASE WHEN {rnd("i", "c")} < 0.03 THEN 400 ELSE 8 END AS contracted_capacity_kva,
                    CASE WHEN {rnd("i", "p")} < 0.001 THEN 'level_1'
                         WHEN {rnd("i", "p")} < 0.004 THEN 'level_2' ELSE 'none' END AS importance,
                    CASE WHEN i %% 3 = 0 THEN (%(communities)s)[1 + i %% %(n_communities)s] END
                        AS community_id,
                    CASE WHEN {rnd("i", "s")} < 0.01 THEN 'closed' ELSE 'active' END AS status,
                    {rnd("i", "pin")} < 0.001 AS tier_pinned
                FROM generate_series(1, %(n)s) i
            ) s""",
            {"station": station.pk, "communities": communities, "n_communities": len(communities), "n": n},
        )
        indexes = _drop_secondary_indexes("customers_consumptionrecord")
        # Monthly kWh: mostly households; 3 % businesses around the key-account line; 0.2 % giants
        # around the VIP line; each month varies +-15 % around the customer's level.
        sql(
            f"""INSERT INTO customers_consumptionrecord (customer_id, period, kwh, amount_yuan, max_demand_kw,
                created_at, updated_at)
            SELECT c.i, (date '2026-09-01' - make_interval(months => m))::date,
                ROUND((CASE WHEN {rnd("c.i", "k")} < 0.002 THEN 850000
                            WHEN {rnd("c.i", "k")} < 0.03 THEN 85000
                            ELSE 150 + 400 * {rnd("c.i", "h")} END
                      * (0.85 + 0.3 * {rnd("c.i * 12 + m", "m")}))::numeric, 2),
                0, NULL, now(), now()
            FROM generate_series(1, %(n)s) c(i) CROSS JOIN generate_series(0, %(last)s) m""",
            {"n": n, "last": months - 1},
        )
        sql("SET maintenance_work_mem = '512MB'")
        for statement in indexes:
            sql(statement)
    finally:
        sql("SET session_replication_role = DEFAULT")
    sql("SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", [n])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_customer")
        cursor.execute("VACUUM ANALYZE customers_consumptionrecord")
    return time.perf_counter() - started


def _drop_secondary_indexes(table: str) -> list[str]:
    """Drop the table's unique constraints and indexes other than its primary key; returns the
    statements that put them back (building an index once is faster than maintaining it)."""
    restore = []
    for name, definition in sql(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'u'",
        [table],
    ):
        sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE '%%_pkey'",
        [table],
    ):
        sql(f'DROP INDEX "{name}"')
        # A partitioned table's index reads "ON ONLY": built again on the table, it is built on
        # every partition too.
        restore.append(definition.replace(" ON ONLY ", " ON "))
    return restore


def reset() -> None:
    """Back to the starting state: last month's tiers, no annual figures, no history, no runs."""
    sql("TRUNCATE customers_tierchange, customers_classificationrun, common_runchunk")
    sql(
        f"UPDATE customers_customer SET tier = {INITIAL_TIER}, annual_consumption_kwh = 0, "
        "latest_period = NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_customer")
        cursor.execute("CHECKPOINT")


def floor_statement(policy) -> tuple[str, dict]:
    """The same classification as one statement over every customer, written by hand."""
    statement = f"""
    WITH latest AS (
        SELECT customer_id, MAX(period) AS latest FROM customers_consumptionrecord GROUP BY customer_id
    ), agg AS (
        SELECT r.customer_id, l.latest, COUNT(*) AS months, ROUND(SUM(r.kwh) * 12.0 / COUNT(*), 2) AS annual
        FROM customers_consumptionrecord r JOIN latest l ON l.customer_id = r.customer_id
        WHERE r.period > l.latest - INTERVAL '12 months'
        GROUP BY r.customer_id, l.latest
    ), m AS (
        SELECT c.id, c.tier AS old_tier, COALESCE(a.annual, c.annual_consumption_kwh) AS annual,
               COALESCE(a.months, 0) AS months, COALESCE(a.latest, c.latest_period) AS latest,
               c.voltage_kv, c.contracted_capacity_kva AS capacity, c.importance,
               CASE WHEN c.community_id IS NULL THEN 0 ELSE 1 END AS in_community,
               c.status = 'active' AND NOT c.tier_pinned AS judged
        FROM customers_customer c LEFT JOIN agg a ON a.customer_id = c.id
    ), r AS (
        SELECT m.*, {_rules_case()} AS rule FROM m
    ), d AS (  -- every customer's annual figure; the tier of active, unpinned ones only
        SELECT r.*, CASE WHEN r.judged THEN split_part(r.rule, '.', 1) ELSE r.old_tier END AS new_tier FROM r
    ), upd AS (
        UPDATE customers_customer c
        SET tier = d.new_tier, annual_consumption_kwh = d.annual, latest_period = d.latest,
            updated_at = CASE WHEN c.tier <> d.new_tier THEN %(now)s ELSE c.updated_at END
        FROM d WHERE c.id = d.id
          AND (c.tier <> d.new_tier OR c.annual_consumption_kwh <> d.annual
               OR (d.latest IS NOT NULL AND (c.latest_period IS NULL OR c.latest_period <> d.latest)))
        RETURNING d.*
    ), ins AS (
        INSERT INTO customers_tierchange (customer_id, old_tier, new_tier, rule, measures, policy_id,
                                          run_id, at, note, created_at, updated_at)
        SELECT d.id, d.old_tier, d.new_tier, d.rule, {_measures_json("postgresql")}, %(policy)s, NULL,
               %(now)s, '', %(now)s, %(now)s
        FROM upd d WHERE d.old_tier <> d.new_tier
        RETURNING 1
    )
    SELECT COUNT(*) FROM ins"""
    params = {**threshold_params(policy, vendor="postgresql"), "policy": policy.pk, "now": timezone.now()}
    return statement, params


def bare_tables() -> None:
    """The bare floor's tables, copied from the real ones as `reset` left them (not timed)."""
    sql("DROP TABLE IF EXISTS bench_bare_customer, bench_bare_consumption")
    sql(
        """CREATE TABLE bench_bare_customer AS
           SELECT id, tier, (status = 'active' AND NOT tier_pinned) AS judged, voltage_kv,
                  contracted_capacity_kva AS capacity, importance,
                  CASE WHEN community_id IS NULL THEN 0 ELSE 1 END AS in_community
           FROM customers_customer"""
    )
    sql("ALTER TABLE bench_bare_customer ADD PRIMARY KEY (id)")
    sql(
        "CREATE TABLE bench_bare_consumption AS "
        "SELECT customer_id, period, kwh FROM customers_consumptionrecord ORDER BY customer_id, period"
    )
    sql("ALTER TABLE bench_bare_consumption ADD PRIMARY KEY (customer_id, period)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE bench_bare_customer")
        cursor.execute("VACUUM ANALYZE bench_bare_consumption")
        cursor.execute("CHECKPOINT")


def bare_floor_statement(policy) -> tuple[str, dict]:
    """The classification alone, one UPDATE of the bare customers whose tier changes."""
    statement = f"""
    UPDATE bench_bare_customer c SET tier = d.new_tier
    FROM (
        SELECT m.id, CASE WHEN m.judged THEN split_part({_rules_case()}, '.', 1) ELSE m.old_tier END
               AS new_tier
        FROM (
            SELECT c.id, c.tier AS old_tier, c.judged, COALESCE(a.annual, 0) AS annual, c.voltage_kv,
                   c.capacity, c.importance, c.in_community
            FROM bench_bare_customer c LEFT JOIN (
                SELECT w.customer_id,
                       ROUND(SUM(w.kwh) FILTER (WHERE w.period > w.latest - INTERVAL '12 months') * 12.0
                             / COUNT(*) FILTER (WHERE w.period > w.latest - INTERVAL '12 months'), 2)
                           AS annual
                FROM (
                    SELECT customer_id, period, kwh,
                           MAX(period) OVER (PARTITION BY customer_id) AS latest
                    FROM bench_bare_consumption
                ) w GROUP BY w.customer_id
            ) a ON a.customer_id = c.id
        ) m
    ) d
    WHERE c.id = d.id AND c.tier <> d.new_tier"""
    return statement, threshold_params(policy, vendor="postgresql")


def tiers_md5(table: str) -> str:
    return sql(f"SELECT md5(string_agg(id::text || tier, ',' ORDER BY id)) FROM {table}")[0][0]


def customer_writes() -> tuple[int, int]:
    """Customer rows updated so far (all, and those written as heap-only tuples: no index entry)."""
    sql("SELECT pg_stat_force_next_flush()")
    return sql(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
        "WHERE relid = 'customers_customer'::regclass"
    )[0]


def digest() -> dict:
    row = sql(
        """SELECT md5(string_agg(id::text || tier || annual_consumption_kwh::text, ',' ORDER BY id)),
                  (SELECT COUNT(*) FROM customers_tierchange)
           FROM customers_customer"""
    )[0]
    return {"state_md5": row[0], "history_rows": row[1]}


def timed_job() -> dict:
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    run = classification_run_execute(run_id=run.pk)
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": round(seconds, 2),
        "examined": run.examined,
        "changed": run.changed,
        "pinned": run.pinned,
        "chunks": run.chunks_done,
        "transitions": run.transitions,
        "peak_python_kib": round(peak / 1024, 1),
        "peak_rss_growth_kib": rss_after - rss_before,
    }


def measure(*, reset=reset, digest=digest, again: bool = True) -> dict:
    """The floor, the job and (with `again`) the job again over the data in the database, the
    floor and the job each started from the state `reset` puts the customers in; `digest` tells
    whether they ended in the same state. Returns the figures (bench/run.py calls it on its own
    data set, without the second pass: the steady state is this script's own figure)."""
    figures: dict = {}
    policy = TierPolicy.objects.effective()

    reset()
    bare_tables()
    statement, params = bare_floor_statement(policy)
    started = time.perf_counter()
    with transaction.atomic():
        sql("SET LOCAL work_mem = %s", [WORK_MEM])
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            bare_changed = cursor.rowcount
    bare_seconds = time.perf_counter() - started
    bare_tiers = tiers_md5("bench_bare_customer")
    sql("DROP TABLE bench_bare_customer, bench_bare_consumption")
    figures["bare_floor"] = {"seconds": round(bare_seconds, 2), "changed": bare_changed}
    print(
        f"bare floor (one statement, bare tables, the tiers that change): {bare_seconds:.2f} s, "
        f"{bare_changed:,} tiers changed",
        flush=True,
    )

    reset()
    statement, params = floor_statement(policy)
    started = time.perf_counter()
    with transaction.atomic():
        sql("SET LOCAL work_mem = %s", [WORK_MEM])  # the same memory the job's chunks get
        changed = sql(statement, params)[0][0]
    floor_seconds = time.perf_counter() - started
    floor_state = digest()
    figures["floor"] = {"seconds": round(floor_seconds, 2), "changed": changed}
    print(f"floor (one statement): {floor_seconds:.2f} s, {changed:,} tiers changed", flush=True)

    reset()
    updated_before, hot_before = customer_writes()
    job = timed_job()
    updated_after, hot_after = customer_writes()
    job["customer_rows_written"] = updated_after - updated_before
    job["customer_rows_written_hot"] = hot_after - hot_before
    job_state = digest()
    figures["job"] = job
    print(
        f"job: {job['seconds']:.2f} s in {job['chunks']} chunks, {job['changed']:,} changed, "
        f"{job['pinned']:,} pinned, peak Python memory {job['peak_python_kib']:,} KiB, "
        f"RSS growth {job['peak_rss_growth_kib']:,} KiB",
        flush=True,
    )
    print(
        f"  customer rows written: {job['customer_rows_written']:,}, "
        f"{job['customer_rows_written_hot']:,} of them heap-only (no index entry)",
        flush=True,
    )
    figures["same_result_as_floor"] = job_state == floor_state
    figures["same_tiers_as_bare_floor"] = tiers_md5("customers_customer") == bare_tiers
    figures["floor_state"], figures["job_state"] = floor_state, job_state

    if again:
        second = timed_job()
        figures["job_again"] = second
        print(
            f"job again over the same data: {second['seconds']:.2f} s, {second['changed']} changed",
            flush=True,
        )

    active = job["examined"]
    figures["customers_per_second"] = round(active / job["seconds"])
    figures["floor_customers_per_second"] = round(active / floor_seconds)
    figures["ratio_job_to_floor"] = round(job["seconds"] / floor_seconds, 2)
    figures["ratio_job_to_bare_floor"] = round(job["seconds"] / bare_seconds, 2)
    print(
        f"customers/second: job {figures['customers_per_second']:,}, "
        f"floor {figures['floor_customers_per_second']:,}; "
        f"ratio job/floor {figures['ratio_job_to_floor']}",
        flush=True,
    )
    print(
        f"the monthly run against the bare floor: {job['seconds']:.2f} s / {bare_seconds:.2f} s = "
        f"ratio {figures['ratio_job_to_bare_floor']} (aim <= 2)",
        flush=True,
    )
    return figures


def main() -> None:
    parser = arguments(__doc__.split("\n")[0])
    parser.set_defaults(customers=int(os.environ.get("BENCH_RECLASSIFY_CUSTOMERS", 1_000_000)))
    args = parser.parse_args()
    load_at_start = prepare_database("reclassify.py")
    n = args.customers
    figures: dict = {"customers": n, "chunk_size": chunk_size(), "months_each": 12}
    if not args.skip_build:
        print(f"building {n:,} customers x 12 months ...", flush=True)
        figures["build_seconds"] = round(build(n), 1)
        print(f"  built in {figures['build_seconds']} s", flush=True)
    figures.update(measure())
    if not figures["same_result_as_floor"]:
        sys.exit(f"the job and the floor disagree: {figures['job_state']} != {figures['floor_state']}")
    if not figures["same_tiers_as_bare_floor"]:
        sys.exit("the job and the bare floor disagree on the tiers")
    write_results(f"reclassify-{n}", figures, load_at_start=load_at_start)


if __name__ == "__main__":
    main()
