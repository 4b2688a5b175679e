"""Benchmark of the reclassification job on PostgreSQL.

Builds N customers with 12 months of consumption each in its own database (generate_series, in
the server), then, on the same data in the same process:
1. the floor: one hand-written SQL statement doing the same classification (measures, rules,
   hysteresis, pins, tier + annual figure written where they differ, history rows inserted);
2. the job: classification_run_execute, chunked by primary key, as the Celery task runs it;
3. the job again over the same data (the steady state: nothing changes, nothing is written).
The customers are reset to the same starting state before 1 and 2, and both must end in the same
state (checked with a digest of every customer's tier and annual figure and the history count).
Prints wall time, customers per second, the job's peak Python memory (tracemalloc) and the
process's peak RSS growth, and the ratio job / floor; writes the figures as JSON to bench/results/.

    make bench-reclassify      # or, by hand (the database is created when missing):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench .venv/bin/python bench/reclassify.py
"""

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


def build(n: int) -> float:
    """N customers (about 0.2 % VIP-sized, 3 % key-account-sized, a third in communities, 1 %
    closed, 0.1 % pinned) with 12 months each; returns seconds."""
    started = time.perf_counter()
    sql(
        "TRUNCATE customers_tierchange, customers_classificationrun, customers_consumptionrecord, "
        "customers_customer CASCADE"
    )
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
            FROM generate_series(1, %(n)s) c(i) CROSS JOIN generate_series(0, 11) m""",
            {"n": n},
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
        restore.append(definition)
    return restore


def reset() -> None:
    """Back to the starting state: last month's tiers, no annual figures, no history, no runs."""
    sql("TRUNCATE customers_tierchange, customers_classificationrun")
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
            updated_at = %(now)s
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
    job = timed_job()
    job_state = digest()
    figures["job"] = job
    print(
        f"job: {job['seconds']:.2f} s in {job['chunks']} chunks, {job['changed']:,} changed, "
        f"{job['pinned']:,} pinned, peak Python memory {job['peak_python_kib']:,} KiB, "
        f"RSS growth {job['peak_rss_growth_kib']:,} KiB",
        flush=True,
    )
    figures["same_result_as_floor"] = job_state == floor_state
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
    print(
        f"customers/second: job {figures['customers_per_second']:,}, "
        f"floor {figures['floor_customers_per_second']:,}; "
        f"ratio job/floor {figures['ratio_job_to_floor']}",
        flush=True,
    )
    return figures


def main() -> None:
    parser = arguments(__doc__.split("\n")[0])
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
    write_results(f"reclassify-{n}", figures, load_at_start=load_at_start)


if __name__ == "__main__":
    main()
