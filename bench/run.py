"""`make bench`: the product at a city's size, each figure against a floor measured in the same run.

Builds (once; `--skip-build` reuses it) the demo county at N customers (default 1,000,000) with 12
months of consumption, its managers, training and a year of visits (`seed_demo`: COPY into empty
tables), in a database of its own, then measures:

1. the customer list API (/api/v1/customers/: a page of the default size, filters, a search) served
   by gunicorn with production settings (bench/settings.py) while a second process (bench/load.py)
   keeps it busy; p50 and p95 of each, against a floor view returning the same rows with values()
   (bench/urls.py), the two asked in turn under the same load;
2. a manager's home page, a customer page and the supervisor's appraisal review against floors
   reading the rows they show with values();
3. consumption import: through consumption/bulk/ (batches of 5,000 rows, as an integration client
   sends them) and through a CSV file (the import job, run in a process of its own as a worker runs
   it: bench/file_import.py), in rows per second against COPY of the same rows into the same table;
4. reclassification and visit generation, through the measuring functions of bench/reclassify.py
   and bench/visits.py, on this data set.
It prints one table and writes it as JSON to bench/results/bench-<date>.json.

    make bench                                   # or by hand:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench .venv/bin/python bench/run.py
    ... bench/run.py --customers 20000           # a quick run while developing
"""

import contextlib
import datetime as dt
import importlib.util
import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(48))
os.environ.setdefault("DJANGO_MEDIA_ROOT", tempfile.mkdtemp(prefix="crm-bench-media-"))

# isort: split
# sets Django up: import it first
from harness import ROOT, arguments, percentiles, prepare_database, sql, write_results

# isort: split

import requests
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from crm.accounts.models import User
from crm.common.months import month_start
from crm.demo.logins import ADMIN, INTEGRATION
from customers.models import ConsumptionRecord, Customer, ImportJob, Status, Tier

PORT = int(os.environ.get("BENCH_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
WORKERS = 3  # gunicorn's sync workers: docker-compose's WEB_CONCURRENCY default
BATCH = 5000  # rows per consumption/bulk/ request
MAX_QUERIES = 10  # per page or endpoint, whatever the data size (the aim)


def _bench_module(name: str):
    """bench/<name>.py by path: `visits` on sys.path is the Django app of that name."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- the data set
def build(n: int) -> float:
    """A fresh database, migrated, with the demo county at n customers x 12 months."""
    started = time.perf_counter()
    _recreate_database()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", customers=n, months=12, verbosity=2 if n >= 50000 else 1)
    with connection.cursor() as cursor:
        # What autovacuum would have done by the next morning: statistics and visibility maps
        # everywhere (the customers' lets the list's count read an index only). Then a checkpoint,
        # so that the build's dirty pages are not being written out under the measurements: right
        # after a build COPY measured 46,600 rows/s, on the same data later 78,000-82,000.
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    return time.perf_counter() - started


def _recreate_database() -> None:
    import psycopg2

    db = connection.settings_dict
    connection.close()
    admin = psycopg2.connect(
        dbname="postgres", user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or 5432
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()


# ---------------------------------------------------------------- the server and the load
@contextlib.contextmanager
def server():
    """gunicorn with the bench settings on 127.0.0.1:PORT, until the block ends."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "gunicorn", "crm.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(WORKERS), "--chdir", str(ROOT), "--log-level", "warning", "--timeout", "120"],
        env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _accepts():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _accepts() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=0.2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def load(token: str, *, threads: int, extra: list[str]):
    """bench/load.py in a process of its own, asking for list pages until the block ends; yields a
    dict that receives its tally (requests done, failed, seconds)."""
    argv = [sys.executable, str(ROOT / "bench" / "load.py"), "--base", BASE, "--token", token]
    argv += ["--threads", str(threads), *(f"--param={p}" for p in extra)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)  # noqa: S603
    tally: dict = {"threads": threads}
    try:
        time.sleep(2)  # let it reach its pace
        yield tally
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=90)
        done, failed, seconds = out.split()
        tally.update(requests=int(done), failed=int(failed), seconds=float(seconds))
        tally["requests_per_second"] = round(int(done) / float(seconds), 1)


# ---------------------------------------------------------------- measuring
class NotMeasured(Exception):
    """A URL of the table did not answer 200: its row says so and the run goes on."""


def guarded(label: str, measure) -> dict:
    try:
        result = measure()
    except NotMeasured as exc:
        print(f"  {label}: not measured: {exc}", flush=True)
        return {"not_measured": str(exc)}
    _say(label, result)
    return result


def queries_of(user: User, path: str, params=None) -> int:
    """How many queries the product runs to answer `path` for `user` (asked in-process)."""
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    with CaptureQueriesContext(connection) as queries:
        client.get(path, params or {})
    return len(queries)


def compare(session: requests.Session, real: str, floor: str, *, n: int, params=None) -> dict:
    """The real URL and its floor asked in turn, n times each (after a few unmeasured requests
    each): p50 and p95 of both and the ratio of the p95s."""
    times: dict[str, list[float]] = {"real": [], "floor": []}
    for i in range(n + 3):
        for name, url in (("real", real), ("floor", floor)):
            started = time.perf_counter()
            response = session.get(BASE + url, params=params, timeout=120, allow_redirects=False)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise NotMeasured(f"{url} {params or ''} answered {response.status_code}")
            if i >= 3:
                times[name].append(elapsed)
    result = {"real": percentiles(times["real"]), "floor": percentiles(times["floor"]), "requests": n}
    result["ratio_p95"] = round(result["real"]["p95_ms"] / result["floor"]["p95_ms"], 2)
    return result


def same_rows(session: requests.Session, real: str, floor: str, params: dict) -> None:
    """The floor answers the same rows as the API (else the comparison means nothing)."""
    a = session.get(BASE + real, params=params, timeout=120).json()
    b = session.get(BASE + floor, params=params, timeout=120).json()
    ids_a, ids_b = [r["id"] for r in a["results"]], [r["id"] for r in b["results"]]
    if (a["count"], ids_a) != (b["count"], ids_b):
        raise SystemExit(f"the floor answers other rows than the API for {params}")


def list_cases(busy_manager: User, term: str) -> list[tuple[str, dict]]:
    return [
        ("a page of the default size", {}),
        ("filter tier=key_account", {"tier": Tier.KEY_ACCOUNT}),
        ("filter manager (a portfolio)", {"manager": busy_manager.pk}),
        (f"search={term}", {"search": term}),
        ("filter tier=key_account + search=有限公司", {"tier": Tier.KEY_ACCOUNT, "search": "有限公司"}),
    ]


def measure_http(admin: User, manager: User, customer: Customer, *, n_list: int, n_pages: int) -> dict:
    token = Token.objects.get_or_create(user=admin)[0].key
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    term = customer_name_term()
    figures: dict = {"list_api": {}, "pages": {}}
    with server(), load(token, threads=2, extra=[f"manager={manager.pk}", f"search={term}"]) as tally:
        for label, params in list_cases(manager, term):
            same_rows(api, "/api/v1/customers/", "/bench-floor/customers/", params)
            result = compare(api, "/api/v1/customers/", "/bench-floor/customers/", n=n_list, params=params)
            result["queries"] = queries_of(admin, "/api/v1/customers/", params)
            figures["list_api"][label] = result
            _say(label, result)
        manager_token = Token.objects.get_or_create(user=manager)[0].key
        mine = requests.Session()
        mine.headers["Authorization"] = f"Token {manager_token}"
        same_rows(mine, "/api/v1/customers/", "/bench-floor/customers/", {})
        result = compare(mine, "/api/v1/customers/", "/bench-floor/customers/", n=n_list)
        result["queries"] = queries_of(manager, "/api/v1/customers/")
        figures["list_api"]["a manager's own list (scope)"] = result
        _say("a manager's own list (scope)", result)

        page = _logged_in(manager)
        path = reverse("customers:detail", args=[customer.pk])
        floor = f"/bench-floor/customers/{customer.pk}/"
        figures["pages"]["manager's home"] = guarded(
            "manager's home",
            lambda: {
                **compare(page, "/", "/bench-floor/home/", n=n_pages),
                "queries": queries_of(manager, "/"),
            },
        )
        page = _logged_in(manager)  # counting the queries signed the manager in again
        figures["pages"]["customer page"] = guarded(
            "customer page",
            lambda: {**compare(page, path, floor, n=n_pages), "queries": queries_of(manager, path)},
        )
        # as many as the other pages: with 5 the p95 was the slowest of five, which a worker's first
        # rendering of the page (templates compiled) set (1,009 ms against p50 345 on 2026-12-02)
        figures["pages"]["supervisor's appraisal review"] = review_page(n_pages)
    figures["load"] = tally
    return figures


def review_page(n: int) -> dict:
    """The supervisor's appraisal review of the latest cycle (as the supervisor with the largest
    team), once the appraisal app serves it."""
    cycle = apps.get_model("appraisal", "AppraisalCycle") if apps.is_installed("appraisal") else None
    year = cycle.objects.order_by("-year").values_list("year", flat=True).first() if cycle else None
    try:
        path = reverse("appraisal:review", args=[year])
    except NoReverseMatch:
        return {"not_measured": "no appraisal cycle, or no page named appraisal:review"}
    largest_team = sql(
        "SELECT s.id FROM accounts_user s JOIN accounts_user m ON m.supervisor_id = s.id "
        "JOIN managers_manager p ON p.user_id = m.id GROUP BY s.id ORDER BY COUNT(*) DESC, s.id LIMIT 1"
    )
    supervisor = User.objects.get(pk=largest_team[0][0])
    page = _logged_in(supervisor)
    floor = f"/bench-floor/appraisal/{year}/review/"
    return guarded(
        "supervisor's appraisal review",
        lambda: {**compare(page, path, floor, n=n), "queries": queries_of(supervisor, path)},
    )


def customer_name_term() -> str:
    """A search a user types: the family and given name of a customer in the middle of the data."""
    residents = Customer.objects.filter(category="residential").order_by("pk").values_list("name", flat=True)
    middle = residents.count() // 2
    return next(iter(residents[middle : middle + 1]), "王")


def _logged_in(user: User) -> requests.Session:
    """A browser session of `user` (the session is made here: signing in is not what is measured)."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    session.cookies.set("django_language", "zh-hans")
    return session


def _say(label: str, result: dict) -> None:
    if "real" in result:
        print(
            f"  {label}: p50 {result['real']['p50_ms']} ms, p95 {result['real']['p95_ms']} ms; floor p50 "
            f"{result['floor']['p50_ms']} ms, p95 {result['floor']['p95_ms']} ms; "
            f"ratio p95 {result['ratio_p95']}",
            flush=True,
        )


# ---------------------------------------------------------------- consumption import
def import_rows(k: int) -> tuple[dt.date, list[tuple[int, str, str]]]:
    """This month's reading for the first k active customers: (id, account_no, kWh)."""
    period = month_start(timezone.localdate())
    customers = (
        Customer.objects.filter(status=Status.ACTIVE).order_by("pk").values_list("pk", "account_no")[:k]
    )
    return period, [(pk, account_no, f"{100 + pk % 900}.{pk % 100:02d}") for pk, account_no in customers]


def measure_import(k: int, integration: User) -> dict:
    period, rows = import_rows(k)
    forget = lambda: _forget(period)  # noqa: E731
    forget()
    figures: dict = {"rows": len(rows), "period": f"{period:%Y-%m}", "batch": BATCH}

    # the floor: COPY of the same rows into the same table
    now = timezone.now().isoformat()
    buffer = io.StringIO("".join(f"{pk},{period},{kwh},0,{now},{now}\n" for pk, _a, kwh in rows))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            "COPY customers_consumptionrecord "
            "(customer_id, period, kwh, amount_yuan, created_at, updated_at) "
            "FROM STDIN WITH (FORMAT csv)",
            buffer,
        )
    figures["copy"] = _rate(len(rows), time.perf_counter() - started)
    print(f"  COPY: {figures['copy']['rows_per_second']:,} rows/s", flush=True)
    forget()

    # consumption/bulk/: batches of BATCH rows, one after another, as an integration client sends
    token = Token.objects.get_or_create(user=integration)[0].key
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    with server():
        for _ in range(2 * WORKERS):  # every worker past its first request (imports, URL resolver)
            api.get(f"{BASE}/api/v1/customers/", params={"page_size": 1}, timeout=60)
        started = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            body = [
                {"account_no": a, "period": f"{period:%Y-%m}", "kwh": kwh}
                for _pk, a, kwh in rows[start : start + BATCH]
            ]
            response = api.post(f"{BASE}/api/v1/consumption/bulk/", json=body, timeout=600)
            if response.status_code != 200 or response.json()["created"] != len(body):
                raise SystemExit(f"consumption/bulk/: {response.status_code} {response.text[:300]}")
        figures["bulk_api"] = _rate(len(rows), time.perf_counter() - started)
    print(f"  consumption/bulk/: {figures['bulk_api']['rows_per_second']:,} rows/s", flush=True)
    forget()

    # a CSV file, imported by the job a worker runs
    text = "户号,电费年月,结算电量\n" + "".join(f"{a},{period:%Y-%m},{kwh}\n" for _pk, a, kwh in rows)
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.CONSUMPTION,
        file=ContentFile(text.encode(), name="bench.csv"),
        original_name="bench.csv",
        created_by=integration,
    )
    seconds = _file_import_seconds(job.pk)
    job.refresh_from_db()
    if job.status != ImportJob.State.DONE or job.created_count != len(rows):
        raise SystemExit(f"the file import ended {job.status}: {job.error} ({job.rejected_count} rejected)")
    figures["file_import"] = _rate(len(rows), seconds)
    print(f"  file import: {figures['file_import']['rows_per_second']:,} rows/s", flush=True)
    forget()
    for name in ("bulk_api", "file_import"):
        figures[name]["share_of_copy"] = round(
            figures[name]["rows_per_second"] / figures["copy"]["rows_per_second"], 3
        )
    return figures


def _file_import_seconds(job_id: int) -> float:
    """Run the import job in a process of its own, as a worker does (bench/file_import.py)."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "bench" / "file_import.py"), str(job_id)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return float(out.stdout.split()[-1])


def _forget(period: dt.date) -> None:
    """Back to the data set as built: no readings for `period`. (The customers' annual figures were
    not touched: the reclassification an import queues writes them, and no worker runs here.)"""
    ConsumptionRecord.objects.filter(period=period).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_consumptionrecord")


def _rate(rows: int, seconds: float) -> dict:
    return {"seconds": round(seconds, 2), "rows_per_second": round(rows / seconds)}


# ---------------------------------------------------------------- the jobs' own benchmarks
def measure_reclassification() -> dict:
    """bench/reclassify.py's measure on this data set: every customer starts from the tier that
    script gives them, and the data set is put back as built afterwards."""
    reclassify = _bench_module("reclassify")
    marks = [
        sql(f"SELECT COALESCE(MAX(id), 0) FROM {t}")[0][0]
        for t in ("customers_tierchange", "customers_classificationrun")
    ]  # noqa: E501, S608
    sql("DROP TABLE IF EXISTS bench_saved_tiers")
    sql(
        "CREATE TABLE bench_saved_tiers AS "
        "SELECT id, tier, annual_consumption_kwh, latest_period FROM customers_customer"
    )

    def forget_history() -> None:
        sql("DELETE FROM customers_tierchange WHERE id > %s", [marks[0]])
        sql("DELETE FROM customers_classificationrun WHERE id > %s", [marks[1]])

    def reset() -> None:
        forget_history()
        sql(
            f"UPDATE customers_customer SET tier = {reclassify.INITIAL_TIER}, "
            "annual_consumption_kwh = 0, latest_period = NULL"
        )  # noqa: E501, S608
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE customers_customer")
            cursor.execute("CHECKPOINT")

    def digest() -> dict:
        state = reclassify.digest()
        state["history_rows"] = sql("SELECT COUNT(*) FROM customers_tierchange WHERE id > %s", [marks[0]])[0][
            0
        ]
        return state

    try:
        return reclassify.measure(reset=reset, digest=digest, again=False)
    finally:
        forget_history()
        # The job recomputed the figures the data set was built with: only the tiers it moved
        # differ (the reset's starting tiers are not the built ones), so only those are rewritten.
        sql(
            """UPDATE customers_customer c SET tier = s.tier, latest_period = s.latest_period,
                   annual_consumption_kwh = s.annual_consumption_kwh
               FROM bench_saved_tiers s WHERE s.id = c.id
                 AND (c.tier, c.latest_period, c.annual_consumption_kwh)
                     IS DISTINCT FROM (s.tier, s.latest_period, s.annual_consumption_kwh)"""
        )
        sql("DROP TABLE bench_saved_tiers")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE customers_customer")


def measure_visit_generation() -> dict:
    """bench/visits.py's measure on this data set, for a day next year (the demo's year of visits
    stays as it is: only the tasks created here are counted and removed)."""
    visits = _bench_module("visits")
    mark = sql("SELECT COALESCE(MAX(id), 0) FROM visits_visittask")[0][0]
    day = dt.date(timezone.localdate().year + 1, visits.DAY.month, visits.DAY.day)

    def empty() -> None:
        sql("DELETE FROM visits_visittask WHERE id > %s", [mark])

    try:
        return visits.measure(day, empty=empty, digest=lambda: visits.digest(since_id=mark))
    finally:
        empty()


# ---------------------------------------------------------------- the table
def table(figures: dict) -> list[tuple[str, str, str, str, str, str]]:
    """(measure, result, floor, ratio, queries, aim met) rows."""
    rows = []
    for label, r in figures["http"]["list_api"].items():
        rows.append(_http_row(f"list API: {label}", r, aim=2.0))
    for label, r in figures["http"]["pages"].items():
        rows.append(_http_row(f"page: {label}", r, aim=None))
    imp = figures["import"]
    copy = f"{imp['copy']['rows_per_second']:,} rows/s (COPY)"
    for key, label in (("bulk_api", "consumption/bulk/"), ("file_import", "file import (CSV, job)")):
        share = imp[key]["share_of_copy"]
        rows.append(
            (f"import: {label}, {imp['rows']:,} rows", f"{imp[key]['rows_per_second']:,} rows/s", copy,
             f"{share:.2f} of COPY", "", "yes" if share >= 1 / 3 else "no (aim >= 0.33)")
        )  # fmt: skip
    rc = figures["reclassification"]
    rows.append(
        ("reclassification (job, all active)", f"{rc['job']['seconds']} s", f"{rc['floor']['seconds']} s",
         f"{rc['ratio_job_to_floor']}", "",
         "same result" if rc["same_result_as_floor"] else "DIFFERENT result")
    )  # fmt: skip
    bare = rc["ratio_job_to_bare_floor"]
    rows.append(
        ("reclassification (job) against the bare floor (bare tables, the tier changes only)",
         f"{rc['job']['seconds']} s", f"{rc['bare_floor']['seconds']} s", f"{bare}", "",
         ("yes" if bare <= 2 else "no (aim <= 2)")
         + ("" if rc["same_tiers_as_bare_floor"] else ", DIFFERENT tiers"))
    )  # fmt: skip
    vg = figures["visit_generation"]
    rows.append(
        (f"visit generation ({vg['job']['counts']['created']:,} tasks)", f"{vg['job']['seconds']} s",
         f"{vg['floor']['seconds']} s", f"{vg['ratio_job_to_floor']}", "",
         "same result" if vg["same_result_as_floor"] else "DIFFERENT result")
    )  # fmt: skip
    return rows


def _http_row(label: str, r: dict, *, aim: float | None) -> tuple:
    if "real" not in r:
        return (label, "not measured", "", "", "", r["not_measured"])
    misses = [] if aim is None or r["ratio_p95"] <= aim else [f"p95 above {aim}x"]
    misses += [] if r["queries"] <= MAX_QUERIES else [f"above {MAX_QUERIES} queries"]
    met = "no: " + ", ".join(misses) if misses else "yes"
    return (
        label,
        f"p50 {r['real']['p50_ms']} / p95 {r['real']['p95_ms']} ms",
        f"p50 {r['floor']['p50_ms']} / p95 {r['floor']['p95_ms']} ms",
        f"{r['ratio_p95']}",
        str(r["queries"]),
        met,
    )


def print_table(rows) -> None:
    header = ("measure", "result", "floor", "ratio", "queries", "aim met")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)), flush=True)


def main() -> None:
    parser = arguments(__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60, help="measured requests per list case")
    parser.add_argument("--page-requests", type=int, default=20, help="measured requests per page")
    parser.add_argument("--import-rows", type=int, default=100_000)
    args = parser.parse_args()
    wall = time.perf_counter()
    load_at_start = prepare_database("run.py")
    figures: dict = {"customers": args.customers}
    if not args.skip_build:
        print(f"building the demo county at {args.customers:,} customers x 12 months ...", flush=True)
        figures["build_seconds"] = round(build(args.customers), 1)
        print(f"  built in {figures['build_seconds']} s", flush=True)
    figures["data"] = {
        "customers": Customer.objects.count(),
        "consumption_records": sql(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'customers_consumptionrecord'"
        )[0][0],  # noqa: E501
        "visit_tasks": sql("SELECT COUNT(*) FROM visits_visittask")[0][0],
        "managers": sql("SELECT COUNT(*) FROM managers_manager")[0][0],
    }
    admin = User.objects.get(username=ADMIN)
    integration = User.objects.get(username=INTEGRATION)
    # the manager with the largest portfolio, and the customer with the most history among theirs
    manager = User.objects.get(pk=sql(
        "SELECT manager_id FROM customers_customer WHERE manager_id IS NOT NULL "
        "GROUP BY manager_id ORDER BY COUNT(*) DESC, manager_id LIMIT 1")[0][0])  # fmt: skip
    busiest = sql(
        "SELECT c.id FROM customers_customer c LEFT JOIN visits_visittask t ON t.customer_id = c.id "
        "WHERE c.manager_id = %s GROUP BY c.id ORDER BY COUNT(t.id) DESC, c.id LIMIT 1",
        [manager.pk],
    )
    customer = Customer.objects.get(pk=busiest[0][0])
    figures["subjects"] = {"manager": manager.username, "customer": customer.account_no}

    print("HTTP, under load from bench/load.py ...", flush=True)
    figures["http"] = measure_http(admin, manager, customer, n_list=args.requests, n_pages=args.page_requests)
    print(f"importing {min(args.import_rows, args.customers):,} rows of consumption ...", flush=True)
    figures["import"] = measure_import(args.import_rows, integration)
    print("reclassification ...", flush=True)
    figures["reclassification"] = measure_reclassification()
    print("visit generation ...", flush=True)
    figures["visit_generation"] = measure_visit_generation()

    figures["table"] = table(figures)
    figures["wall_seconds"] = round(time.perf_counter() - wall, 1)
    print()
    print_table(figures["table"])
    print(f"\n{args.customers:,} customers; wall time {figures['wall_seconds']:.0f} s", flush=True)
    write_results(f"bench-{timezone.localdate():%Y-%m-%d}", figures, load_at_start=load_at_start)


if __name__ == "__main__":
    main()
