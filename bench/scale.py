"""The cost curve: the same measures at 100,000, 1,000,000 and 3,000,000 customers, per customer.

For each size, in a database of its own (bench/reclassify.py's build: generate_series in the server,
the consumption partitioned by year), with 24 months of readings per customer:
1. reclassification with one real `celery worker` (solo pool) and with two: the run's chunks
   (crm.common.fanout) sent to the workers, timed from the run's start to its end, from the same
   starting state each time (bench/reclassify.py's reset); both must end in the same state;
   and bench/reclassify.py's bare floor on the same data (one statement on bare tables);
2. the import of one month: CSV files (of at most IMPORT_MAX_ROWS rows, what one upload takes) of
   every active customer's reading for 2026-10, each run by the import job in a process of its own
   as a worker runs it (bench/file_import.py), then removed;
3. the list API's p95 (the first page, and the VIP filter) and the customer page's p95, as an
   administrator, in-process through Django's test client (the server's time, no network), after
   the VACUUM autovacuum would do; the first request of each on its own (it counts the list).
Prints each figure per customer (or per row) and its ratio to the smallest size's, so the growth is
read at a glance; writes them as JSON to bench/results/. Outside `make test`; needs PostgreSQL and
Redis (the workers' broker: BENCH_BROKER_URL, default REDIS_URL's server, database 11).

    make bench-scale                                        # 100k, 1M, 3M
    BENCH_SCALE_SIZES=100000,300000 make bench-scale        # a quick one
    DATABASE_URL=... .venv/bin/python bench/scale.py again  # the import and pages again, same data
"""

# The settings are chosen before Django is set up (harness), so the imports after that come late.
# ruff: noqa: E402

import os
import random
import secrets
import subprocess
import sys
import time
from pathlib import Path


def broker_url() -> str:
    url = os.environ.get("BENCH_BROKER_URL")
    if url:
        return url
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return base.rsplit("/", 1)[0] + "/11"


# The bench's settings (bench/settings.py), with a real broker the workers share with this process.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(48))
os.environ["BENCH_BROKER_URL"] = broker_url()

# isort: split
# harness sets Django up: import it first
from harness import ROOT, percentiles, prepare_database, sql, write_results

# isort: split

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test import Client

from crm.accounts.models import User
from crm.celery import app as celery_app
from crm.common import fanout
from customers.models import ClassificationRun, Customer, ImportJob, Status, TierPolicy
from customers.tiering.classification import WORK_MEM, classification_run_dispatch

sys.path.insert(0, str(ROOT / "bench"))
import reclassify  # bench/reclassify.py, beside this file

MONTHS = 24
IMPORT_PERIOD = "2026-10"
REQUESTS = 40


class Workers:
    """`celery worker` processes (solo pool: one task at a time each) on the bench's broker."""

    def __init__(self, count: int, logs: Path):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "BENCH_BROKER_URL": broker_url(),
            "PYTHONPATH": str(ROOT),
        }
        logs.mkdir(parents=True, exist_ok=True)
        self.processes = [
            subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "crm",
                    "worker",
                    "--pool=solo",
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    f"--hostname=bench{i}@%h",
                ],
                cwd=ROOT,
                env=env,
                stdout=(logs / f"worker{i}.log").open("w"),
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            for i in range(count)
        ]
        deadline = time.monotonic() + 60
        while len(celery_app.control.inspect(timeout=1.0).ping() or {}) < count:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                raise SystemExit(f"the workers did not start: see {logs}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=60)


def reclassification(workers: int) -> dict:
    reclassify.reset()
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    pool = Workers(workers, ROOT / "bench" / "results" / "scale-logs")
    try:
        started = time.perf_counter()
        classification_run_dispatch(run_id=run.pk)
        while ClassificationRun.objects.filter(pk=run.pk, status=ClassificationRun.State.RUNNING).exists():
            time.sleep(0.05)  # polling the run's state, not waiting for a fixed time
        seconds = time.perf_counter() - started
    finally:
        pool.stop()
    run.refresh_from_db()
    if run.status != ClassificationRun.State.DONE:
        raise SystemExit(f"the run ended {run.status}: {run.error}")
    chunks = fanout.RunChunk.objects.filter(run_label=fanout.label(run), run_id=run.pk)
    return {
        "workers": workers,
        "seconds": round(seconds, 2),
        "examined": run.examined,
        "changed": run.changed,
        "chunks": chunks.count(),
        "state": reclassify.digest(),
    }


def bare_floor() -> dict:
    """bench/reclassify.py's bare floor on this size's data: the classification alone as one
    statement on bare copies of the tables (copied first, not timed), the tiers that change."""
    reclassify.reset()
    reclassify.bare_tables()
    policy = TierPolicy.objects.effective()
    statement, params = reclassify.bare_floor_statement(policy)
    started = time.perf_counter()
    with transaction.atomic():
        sql("SET LOCAL work_mem = %s", [WORK_MEM])
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
    seconds = time.perf_counter() - started
    sql("DROP TABLE bench_bare_customer, bench_bare_consumption")
    return {"seconds": round(seconds, 2)}


def month_import(admin: User) -> dict:
    """Every active customer's reading of one month, as files of at most IMPORT_MAX_ROWS rows with
    the header (the most one upload takes: a province sends its month in several), each run by the
    import job in a process of its own; the seconds of all of them."""
    rows = list(Customer.objects.filter(status=Status.ACTIVE).order_by("pk").values_list("pk", "account_no"))
    per_file = settings.IMPORT_MAX_ROWS - 1
    seconds = 0.0
    for start in range(0, len(rows), per_file):
        part = rows[start : start + per_file]
        text = "户号,电费年月,结算电量\n" + "".join(
            f"{account_no},{IMPORT_PERIOD},{100 + pk % 900}.{pk % 100:02d}\n" for pk, account_no in part
        )
        job = ImportJob.objects.create(
            kind=ImportJob.Kind.CONSUMPTION,
            file=ContentFile(text.encode(), name="scale.csv"),
            original_name="scale.csv",
            created_by=admin,
        )
        del text
        out = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, str(ROOT / "bench" / "file_import.py"), str(job.pk)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        seconds += float(out.stdout.split()[-1])
        job.refresh_from_db()
        if job.status != ImportJob.State.DONE or job.created_count != len(part):
            raise SystemExit(
                f"the import ended {job.status}: {job.error} ({job.created_count} of {len(part)})"
            )
    sql("DELETE FROM customers_consumptionrecord WHERE period = %s", [f"{IMPORT_PERIOD}-01"])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_consumptionrecord")
    return {
        "rows": len(rows),
        "files": -(-len(rows) // per_file),
        "seconds": round(seconds, 2),
    }


def p95(client: Client, paths: list[str]) -> dict:
    """p50 and p95 of the paths, after two requests to warm the process up (templates, URL
    resolver) and a first request of the first path timed on its own: it counts the list, whose
    count is then kept (crm/common/paging.py)."""
    for path in paths[:2]:
        client.get(path)
    cache.clear()
    started = time.perf_counter()
    client.get(paths[0])
    first_ms = round((time.perf_counter() - started) * 1000, 1)
    samples = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
    return {**percentiles(samples), "first_ms": first_ms}


def http(admin: User) -> dict:
    with connection.cursor() as cursor:  # what autovacuum does after the month's run and import
        cursor.execute("VACUUM ANALYZE customers_customer")
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(admin)
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first()
    rng = random.Random(7)
    ids = [rng.randint(1, top) for _ in range(REQUESTS)]
    return {
        "list_api": p95(client, ["/api/v1/customers/"] * REQUESTS),
        "list_api_vip": p95(client, ["/api/v1/customers/?tier=vip"] * REQUESTS),
        "customer_page": p95(client, [f"/customers/{pk}/" for pk in ids]),
    }


def one_size(n: int) -> dict:
    print(f"\n{n:,} customers x {MONTHS} months: building ...", flush=True)
    figures: dict = {
        "customers": n,
        "months": MONTHS,
        "build_seconds": round(reclassify.build(n, months=MONTHS), 1),
    }
    figures["readings"] = sql("SELECT COUNT(*) FROM customers_consumptionrecord")[0][0]
    print(f"  built in {figures['build_seconds']} s ({figures['readings']:,} readings)", flush=True)
    admin = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "bench-admin", email="", password=None
    )
    for workers in (1, 2):
        result = reclassification(workers)
        figures[f"reclassification_{workers}"] = result
        print(
            f"  reclassification, {workers} worker(s): {result['seconds']} s, {result['chunks']} chunks",
            flush=True,
        )
    states = [figures[f"reclassification_{workers}"].pop("state") for workers in (1, 2)]
    figures["same_state_1_and_2_workers"] = states[0] == states[1]
    figures["bare_floor"] = bare_floor()
    for workers in (1, 2):
        figures[f"ratio_{workers}_to_bare_floor"] = round(
            figures[f"reclassification_{workers}"]["seconds"] / figures["bare_floor"]["seconds"], 2
        )
    print(
        f"  bare floor (one statement, bare tables): {figures['bare_floor']['seconds']} s; ratios: 1 worker "
        f"{figures['ratio_1_to_bare_floor']}, 2 workers {figures['ratio_2_to_bare_floor']}",
        flush=True,
    )
    figures["import"] = month_import(admin)
    print(
        f"  import of one month: {figures['import']['seconds']} s for {figures['import']['rows']:,} rows "
        f"in {figures['import']['files']} file(s)",
        flush=True,
    )
    figures["http"] = http(admin)
    for name, result in figures["http"].items():
        print(
            f"  {name}: first {result['first_ms']} ms, p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms",
            flush=True,
        )
    return figures


def per_unit(figures: dict) -> dict:
    """The figures of one size per customer (µs) or per row (µs), and the p95s (ms)."""
    n = figures["reclassification_1"]["examined"]
    return {
        "reclassify_1_us": figures["reclassification_1"]["seconds"] / n * 1e6,
        "reclassify_2_us": figures["reclassification_2"]["seconds"] / n * 1e6,
        "import_us": figures["import"]["seconds"] / figures["import"]["rows"] * 1e6,
        "list_first_ms": figures["http"]["list_api"].get("first_ms", 0.0),
        "list_p95_ms": figures["http"]["list_api"]["p95_ms"],
        "list_vip_p95_ms": figures["http"]["list_api_vip"]["p95_ms"],
        "page_p95_ms": figures["http"]["customer_page"]["p95_ms"],
    }


def print_table(sizes: list[dict]) -> None:
    base = per_unit(sizes[0])
    header = (
        "| customers | readings | reclassify, 1 worker | reclassify, 2 workers "
        "| bare floor (ratio 1 / 2 workers) "
        "| import of a month | list API, first request | list API p95 "
        "| list API (VIP) p95 | customer page p95 |"
    )
    print("\n" + header + "\n|" + " --- |" * 10)
    for figures in sizes:
        unit = per_unit(figures)

        def cell(key: str, what: str, unit: dict = unit) -> str:
            return f"{unit[key]:.1f} {what} ({unit[key] / base[key]:.2f}x)"

        print(
            f"| {figures['customers']:,} | {figures['readings']:,} "
            f"| {figures['reclassification_1']['seconds']} s = {cell('reclassify_1_us', 'µs/customer')} "
            f"| {figures['reclassification_2']['seconds']} s = {cell('reclassify_2_us', 'µs/customer')} "
            f"| {figures['bare_floor']['seconds']} s ({figures['ratio_1_to_bare_floor']} / "
            f"{figures['ratio_2_to_bare_floor']}) "
            f"| {figures['import']['seconds']} s = {cell('import_us', 'µs/row')} "
            f"| {cell('list_first_ms', 'ms')} | {cell('list_p95_ms', 'ms')} "
            f"| {cell('list_vip_p95_ms', 'ms')} | {cell('page_p95_ms', 'ms')} |"
        )


def again_on_the_data() -> None:
    """`bench/scale.py again`: the import and the pages once more on the data the last run left (its
    last size), without building or reclassifying."""
    prepare_database("scale.py")
    admin = User.objects.filter(is_superuser=True).first()
    figures = {"customers": Customer.objects.count(), "import": month_import(admin), "http": http(admin)}
    print(figures, flush=True)
    write_results(f"scale-again-{figures['customers']}", figures, load_at_start=[])


def main() -> None:
    if sys.argv[1:] == ["again"]:
        again_on_the_data()
        return
    sizes = [int(s) for s in os.environ.get("BENCH_SCALE_SIZES", "100000,1000000,3000000").split(",")]
    load_at_start = prepare_database("scale.py")
    redis.Redis.from_url(broker_url()).flushdb()
    results = []
    for n in sizes:
        results.append(one_size(n))
        print_table(results)
    if not all(r["same_state_1_and_2_workers"] for r in results):
        sys.exit("one worker and two ended in different states")
    write_results(f"scale-{'-'.join(str(n) for n in sizes)}", {"sizes": results}, load_at_start=load_at_start)


if __name__ == "__main__":
    main()
