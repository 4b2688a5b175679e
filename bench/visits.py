"""Benchmark of visit task generation on PostgreSQL.

Builds N customers (about 0.2 % vip, 2 % key accounts, the rest spread over communities and
transformer districts) with every territory and a manager for each, in a database of its own
(generate_series, in the server), then, for one day's generation:
1. the floor: one hand-written `INSERT ... SELECT ... ON CONFLICT DO NOTHING` creating every task the
   policies call for (vip and key-account customers, every community and transformer district);
2. the job: visit_tasks_generate, policy by policy in primary-key chunks, as the Celery task runs it;
3. the job again the same day: must create nothing.
The tasks are emptied before 1 and 2, and both must create the same tasks (same count and digest).
Prints the times, the ratio job / floor and the second run's count; writes JSON to bench/results/.

    make bench-visits          # or, by hand (the database is created when missing):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_visits .venv/bin/python bench/visits.py
"""

import datetime as dt
import sys
import time

# isort: split
# harness sets Django up: import it first
from harness import arguments, bench_station, prepare_database, rnd, sql, write_results

# isort: split

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from visits.generation import chunk_size, cycle_due_date, due_periods, visit_tasks_generate
from visits.models import Target, VisitPolicy

DAY = dt.date(2026, 3, 10)  # mid-quarter, before any lead time: one period per policy


def build(n: int, *, communities: int, districts: int, managers: int) -> float:
    started = time.perf_counter()
    sql(
        "TRUNCATE visits_followup, visits_visitreport, visits_visittask, customers_consumptionrecord, "
        "customers_customer, customers_community, customers_transformerdistrict CASCADE"
    )
    station = bench_station()
    user_model = get_user_model()
    user_model.objects.bulk_create(
        [user_model(username=f"bench{i}", full_name=f"bench {i}") for i in range(managers)],
        ignore_conflicts=True,
    )
    users = list(
        user_model.objects.filter(username__startswith="bench").order_by("pk").values_list("pk", flat=True)
    )
    params = {
        "station": station.pk,
        "users": users,
        "k": len(users),
        "n": n,
        "nc": communities,
        "nd": districts,
    }
    sql(
        """INSERT INTO customers_community (station_id, code, name, manager_id, created_at, updated_at)
           SELECT %(station)s, 'BCM' || i, 'bench community ' || i, (%(users)s)[1 + i %% %(k)s], now(), now()
           FROM generate_series(1, %(nc)s) i""",
        params,
    )
    sql(
        """INSERT INTO customers_transformerdistrict (station_id, code, name, manager_id, transformer_code,
               rated_capacity_kva, created_at, updated_at)
           SELECT %(station)s, 'BTD' || i, 'bench district ' || i, (%(users)s)[1 + i %% %(k)s], 'T' || i, 400,
               now(), now()
           FROM generate_series(1, %(nd)s) i""",
        params,
    )
    lo_c = sql("SELECT MIN(id) FROM customers_community")[0][0]
    lo_d = sql("SELECT MIN(id) FROM customers_transformerdistrict")[0][0]
    params.update(lo_c=lo_c, lo_d=lo_d)
    sql("SET session_replication_role = replica")  # no per-row foreign-key triggers while loading
    try:
        sql(
            f"""INSERT INTO customers_customer (id, account_no, name, category, industry_code, voltage_kv,
                contracted_capacity_kva, importance, station_id, community_id, transformer_district_id,
                address, status, tier, tier_pinned, tier_pin_reason, tier_pinned_until, tier_pinned_by_id,
                manager_id, annual_consumption_kwh, latest_period, created_at, updated_at)
            SELECT i, 'B' || lpad(i::text, 10, '0'), 'bench ' || i, 'residential', '', 0.38, 8, 'none',
                %(station)s,
                CASE WHEN tier = 'community' THEN %(lo_c)s + i %% %(nc)s END,
                CASE WHEN tier = 'transformer_district' THEN %(lo_d)s + i %% %(nd)s END,
                '', CASE WHEN {rnd("i", "s")} < 0.01 THEN 'closed' ELSE 'active' END, tier, false, '', NULL,
                NULL, (%(users)s)[1 + i %% %(k)s], 0, NULL, now(), now()
            FROM (
                SELECT i, CASE WHEN r < 0.002 THEN 'vip' WHEN r < 0.022 THEN 'key_account'
                               WHEN r < 0.4 THEN 'community' ELSE 'transformer_district' END AS tier
                FROM (SELECT i, {rnd("i", "t")} AS r FROM generate_series(1, %(n)s) i) g
            ) s""",
            params,
        )
    finally:
        sql("SET session_replication_role = DEFAULT")
    sql("SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", [n])
    with connection.cursor() as cursor:
        for table in ("customers_customer", "customers_community", "customers_transformerdistrict"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def floor_statement(day: dt.date) -> tuple[str, dict]:
    """Every task the policies call for on `day`, as one statement written by hand."""
    parts, params = [], {"now": timezone.now()}
    for policy in VisitPolicy.objects.order_by("tier"):
        for n, period in enumerate(due_periods(policy=policy, day=day)):
            key = f"{policy.tier}_{n}"
            params[f"p_{key}"] = period
            params[f"d_{key}"] = cycle_due_date(period=period, frequency_months=policy.frequency_months)
            cols = f"%(p_{key})s, %(d_{key})s"
            if policy.target == Target.CUSTOMER:
                if policy.tier not in ("vip", "key_account"):
                    continue
                params[f"t_{key}"] = policy.tier
                parts.append(
                    "SELECT id AS customer_id, NULL::bigint AS community_id, NULL::bigint AS td_id, "
                    f"manager_id, {cols} FROM customers_customer WHERE tier = %(t_{key})s "
                    "AND status = 'active' AND manager_id IS NOT NULL"
                )
            elif policy.target == Target.COMMUNITY:
                parts.append(
                    f"SELECT NULL, id, NULL, manager_id, {cols} FROM customers_community "
                    "WHERE manager_id IS NOT NULL"
                )
            else:
                parts.append(
                    f"SELECT NULL, NULL, id, manager_id, {cols} FROM customers_transformerdistrict "
                    "WHERE manager_id IS NOT NULL"
                )
    statement = (
        "INSERT INTO visits_visittask (created_at, updated_at, kind, customer_id, community_id, "
        "transformer_district_id, manager_id, period, due_date, status, cancel_reason, note) "
        "SELECT %(now)s, %(now)s, 'scheduled', u.*, 'planned', '', '' FROM ("
        + " UNION ALL ".join(parts)
        + ") u ON CONFLICT DO NOTHING"
    )
    return statement, params


def digest(since_id: int = 0) -> dict:
    """The tasks created (those after `since_id`): how many, and a digest of what they are."""
    row = sql(
        """SELECT COUNT(*), md5(string_agg(
                  concat_ws(':', customer_id, community_id, transformer_district_id, manager_id, period,
                            due_date),
                  ',' ORDER BY customer_id, community_id, transformer_district_id))
           FROM visits_visittask WHERE id > %s""",
        [since_id],
    )[0]
    return {"tasks": row[0], "md5": row[1]}


def empty_tasks() -> None:
    sql("TRUNCATE visits_followup, visits_visitreport, visits_visittask")
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def measure(day: dt.date, *, empty=empty_tasks, digest=digest) -> dict:
    """The floor, the job and the job again for `day`, over the customers and territories in the
    database; `empty` removes the tasks the previous step created, `digest` sums up the tasks
    created. Returns the figures (bench/run.py calls it on its own data set)."""
    figures: dict = {}
    empty()
    statement, params = floor_statement(day)
    started = time.perf_counter()
    with transaction.atomic():
        sql(statement, params)
    floor_seconds = time.perf_counter() - started
    floor_state = digest()
    figures["floor"] = {"seconds": round(floor_seconds, 3), **floor_state}
    print(f"floor (one statement): {floor_seconds:.3f} s, {floor_state['tasks']:,} tasks", flush=True)

    empty()
    started = time.perf_counter()
    counts = visit_tasks_generate(day=day)
    job_seconds = time.perf_counter() - started
    job_state = digest()
    figures["job"] = {"seconds": round(job_seconds, 3), "counts": counts, **job_state}
    print(f"job: {job_seconds:.3f} s, {counts['created']:,} tasks ({counts})", flush=True)

    started = time.perf_counter()
    again = visit_tasks_generate(day=day)
    figures["job_again"] = {"seconds": round(time.perf_counter() - started, 3), "created": again["created"]}
    print(
        f"job again the same day: {figures['job_again']['seconds']:.3f} s, {again['created']} created",
        flush=True,
    )
    figures["ratio_job_to_floor"] = round(job_seconds / floor_seconds, 2)
    figures["same_result_as_floor"] = job_state == floor_state
    print(
        f"ratio job/floor {figures['ratio_job_to_floor']}; second run created {again['created']}", flush=True
    )
    return figures


def main() -> None:
    parser = arguments(__doc__.split("\n")[0])
    args = parser.parse_args()
    load_at_start = prepare_database("visits.py")
    n = args.customers
    communities, districts = max(n // 400, 10), max(n // 100, 10)
    figures: dict = {"customers": n, "communities": communities, "transformer_districts": districts}
    figures["chunk_size"] = chunk_size()
    if not args.skip_build:
        print(
            f"building {n:,} customers, {communities:,} communities, {districts:,} districts ...", flush=True
        )
        figures["build_seconds"] = round(
            build(n, communities=communities, districts=districts, managers=400), 1
        )
        print(f"  built in {figures['build_seconds']} s", flush=True)
    figures["tiers"] = dict(sql("SELECT tier, COUNT(*) FROM customers_customer GROUP BY tier ORDER BY tier"))

    result = measure(DAY)
    figures.update(result)
    if not result["same_result_as_floor"]:
        sys.exit(f"the job and the floor disagree: {result['job']} != {result['floor']}")
    if result["job_again"]["created"]:
        sys.exit("the second run created tasks")
    write_results(f"visits-{n}", figures, load_at_start=load_at_start)


if __name__ == "__main__":
    main()
