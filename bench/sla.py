"""Benchmark of the SLA job and the 超时预警 board on PostgreSQL.

Builds N open requests (one metering stage each) and M closed ones, in a database of its own
(generate_series, in the server), their clocks spread so that, as of the measuring instant, a share
of the running clocks has crossed 80 % or its due instant since the stored state was written, some
were stored at warning or breached already, and some wait for the customer (frozen: never moved).
Then:
1. the floor: one hand-written UPDATE per table moving every clock that crossed (the same rows);
2. the job (service.sla.sla_states_refresh) from the same starting state, twice: without alerts
   (the state updates alone, as the floor does) and whole (with its alerts and e-mails); all three
   must leave the same states (digest);
3. the job again: nothing left to move, so what it costs to look (the indexes, not a scan);
4. the board, as the API sla-board/ and the page service:board, against a floor that reads the
   same rows with values() (the same session, the same scope), asked in turn in-process through
   Django's test client: p50/p95 and queries.
Prints the figures and writes JSON to bench/results/sla.json.

    make bench-sla             # or, by hand (the database is created when missing):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_sla .venv/bin/python bench/sla.py
    ... bench/sla.py --requests 5000 --closed 20000     # a quick one
"""

import json
import sys
import time
import types

# isort: split
# harness sets Django up: import it first
from harness import bench_station, percentiles, prepare_database, rnd, sql, write_results

# isort: split

import argparse

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models import Count
from django.http import JsonResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils import timezone

import service.alerts
from crm.accounts import roles
from service.models import Department, RequestStage, RequestTemplate, ServiceRequest, SlaState, StaffProfile
from service.sla import ACTIVE_REQUEST, ACTIVE_STAGE, sla_now_q, sla_states_refresh

NOW = timezone.now().replace(microsecond=0)
MANAGERS, SUPERVISORS, STAFF = 200, 20, 5


# ---------------------------------------------------------------- the data set
def _columns(model, given: dict[str, str]) -> tuple[str, str]:
    """The INSERT's column list and SELECT list: `given` expressions, and for every other column
    NULL when nullable, '' for text, false for booleans, 0 for numbers."""
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in given:
            continue
        names.append(f'"{field.column}"')
        if field.column in given:
            values.append(given[field.column])
        elif field.null:
            values.append("NULL")
        elif isinstance(field, models.BooleanField):
            values.append("false")
        elif isinstance(field, (models.CharField, models.TextField)):
            values.append("''")
        else:
            values.append("0")
    return ", ".join(names), ", ".join(values)


def build(n_open: int, n_closed: int) -> float:
    started = time.perf_counter()
    sql(
        "TRUNCATE service_alert, service_stageevent, service_callback, service_requeststage, "
        "service_servicerequest CASCADE"
    )
    station = bench_station()
    department, _ = Department.objects.get_or_create(
        code="BENCH-METERING",
        defaults={"name": "bench metering", "kind": "metering", "branch": station.branch},
    )
    user_model = get_user_model()
    for prefix, count in (("benchsup", SUPERVISORS), ("benchmgr", MANAGERS), ("benchstaff", STAFF)):
        user_model.objects.bulk_create(
            [
                user_model(
                    username=f"{prefix}{i}", full_name=f"{prefix} {i}", email=f"{prefix}{i}@example.com"
                )
                for i in range(count)
            ],
            ignore_conflicts=True,
        )
    supervisors = list(
        user_model.objects.filter(username__startswith="benchsup").order_by("pk").values_list("pk", flat=True)
    )
    managers = list(user_model.objects.filter(username__startswith="benchmgr").order_by("pk"))
    for i, manager in enumerate(managers):
        manager.supervisor_id = supervisors[i % len(supervisors)]
    user_model.objects.bulk_update(managers, ["supervisor"])
    roles_group(roles.ACCOUNT_MANAGER).user_set.add(*managers)
    roles_group(roles.SUPERVISOR).user_set.add(*supervisors)
    for user in user_model.objects.filter(username__startswith="benchstaff"):
        StaffProfile.objects.get_or_create(user=user, defaults={"department": department})
        user.groups.add(roles_group(roles.DEPARTMENT_STAFF))
    admin, _ = user_model.objects.get_or_create(username="benchadmin", defaults={"full_name": "bench admin"})
    admin.groups.add(roles_group(roles.ADMINISTRATOR))
    template = RequestTemplate.objects.filter(kind="meter_fault").order_by("version").first()

    # Each request's clock: `r` in [0, 1) decides where it stands as of NOW (the stage's and the
    # request's alike); `w` < 0.05 waits for the customer.
    #   r < 0.03: crossed its due instant, stored ok        -> the job breaches it
    #   r < 0.10: crossed 80 %, stored ok                   -> the job moves it to warning
    #   r < 0.30: past 80 %, stored warning already         -> stays
    #   r < 0.35: past due, stored breached already         -> stays
    #   else: before 80 %, ok                               -> stays
    due = (
        "CASE WHEN r < 0.03 OR (r >= 0.30 AND r < 0.35) THEN %(now)s - interval '1 hour' * (1 + r * 50) "
        "WHEN r < 0.30 THEN %(now)s + interval '1 hour' * (1 + r * 10) "
        "ELSE %(now)s + interval '1 day' * (1 + r * 3) END"
    )
    warn = f"({due}) - interval '19 hours'"
    stored = (
        "CASE WHEN r >= 0.10 AND r < 0.30 THEN 'warning' WHEN r >= 0.30 AND r < 0.35 THEN 'breached' "
        "ELSE 'ok' END"
    )
    waiting = "w < 0.05"
    open_rows = {
        "id": "i",
        "created_at": "%(now)s",
        "updated_at": "%(now)s",
        "limit": "4",
        "unit": "'working_days'",
        "started_at": f"({due}) - interval '4 days'",
        "warn_at": warn,
        "due_at": due,
        "waiting_since": f"CASE WHEN {waiting} THEN %(now)s - interval '1 day' * 3 END",
        "sla_state": stored,
        "kind": "'meter_fault'",
        "template_id": "%(template)s",
        "source": "'manager'",
        "applicant_name": "'bench ' || i",
        "station_id": "%(station)s",
        "owner_id": "(%(managers)s)[1 + i %% %(k)s]",
        "status": f"CASE WHEN {waiting} THEN 'waiting_customer' ELSE 'open' END",
        "received_at": f"({due}) - interval '4 days'",
    }
    params = {
        "now": NOW,
        "template": template.pk,
        "station": station.pk,
        "managers": [m.pk for m in managers],
        "k": len(managers),
        "n": n_open,
        "m": n_closed,
        "department": department.pk,
    }
    cols, values = _columns(ServiceRequest, open_rows)
    source = f"SELECT i, {rnd('i', 'r')} AS r, {rnd('i', 'w')} AS w FROM generate_series(1, %(n)s) i"
    sql(f"INSERT INTO service_servicerequest ({cols}) SELECT {values} FROM ({source}) g", params)  # noqa: S608
    closed = {
        **open_rows,
        "id": "%(n)s + i",
        "status": "'closed'",
        "waiting_since": "NULL",
        "done_at": f"({due}) - interval '1 day'",
        "closed_at": f"({due}) - interval '1 day'",
        "sla_state": "'ok'",
    }
    cols, values = _columns(ServiceRequest, closed)
    source = f"SELECT i, {rnd('i', 'c')} AS r FROM generate_series(1, %(m)s) i"
    sql(f"INSERT INTO service_servicerequest ({cols}) SELECT {values} FROM ({source}) g", params)  # noqa: S608
    stage = {
        "created_at": "%(now)s",
        "updated_at": "%(now)s",
        "request_id": "id",
        "position": "1",
        "code": "'check'",
        "name": "'计量检查处理'",
        "department_kind": "'metering'",
        "department_id": "%(department)s",
        **{
            c: f'"{c}"'
            for c in (
                "limit",
                "unit",
                "started_at",
                "warn_at",
                "due_at",
                "done_at",
                "waiting_since",
                "sla_state",
            )
        },
        "status": "CASE status WHEN 'waiting_customer' THEN 'waiting_customer' WHEN 'closed' THEN 'done' "
        "ELSE 'active' END",
    }
    cols, values = _columns(RequestStage, stage)
    sql(f"INSERT INTO service_requeststage ({cols}) SELECT {values} FROM service_servicerequest", params)  # noqa: S608
    sql("SELECT setval(pg_get_serial_sequence('service_servicerequest', 'id'), %s)", [n_open + n_closed])
    with connection.cursor() as cursor:
        for table in ("service_servicerequest", "service_requeststage"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def roles_group(name: str):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=name)


def save_states() -> None:
    sql("CREATE TABLE IF NOT EXISTS bench_sla_states (t text, id bigint, sla_state text)")
    sql("TRUNCATE bench_sla_states")
    sql(
        "INSERT INTO bench_sla_states SELECT 's', id, sla_state FROM service_requeststage "
        "UNION ALL SELECT 'r', id, sla_state FROM service_servicerequest"
    )


def restore_states() -> None:
    """Back to the states as built, and no alerts."""
    sql("TRUNCATE service_alert")
    for table, t in (("service_requeststage", "s"), ("service_servicerequest", "r")):
        sql(
            f"UPDATE {table} x SET sla_state = b.sla_state FROM bench_sla_states b "  # noqa: S608
            f"WHERE b.t = '{t}' AND b.id = x.id AND x.sla_state <> b.sla_state"
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE service_requeststage, service_servicerequest")
        cursor.execute("CHECKPOINT")


def digest() -> dict:
    rows = sql(
        """SELECT md5(string_agg(id::text || sla_state, ',' ORDER BY id)),
                  COUNT(*) FILTER (WHERE sla_state <> 'ok')
           FROM (SELECT id, sla_state FROM service_requeststage UNION ALL
                 SELECT -id, sla_state FROM service_servicerequest) u"""
    )[0]
    return {"md5": rows[0], "not_ok": rows[1]}


# ---------------------------------------------------------------- the job against its floor
FLOOR = {
    "service_requeststage": "status = 'active'",
    "service_servicerequest": "status = 'open'",
}


def floor() -> int:
    """Every running clock that crossed, moved by one UPDATE per table."""
    moved = 0
    for table, running in FLOOR.items():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {table} SET updated_at = %(now)s,
                        sla_state = CASE WHEN due_at <= %(now)s THEN 'breached' ELSE 'warning' END
                    WHERE {running} AND waiting_since IS NULL
                      AND ((sla_state IN ('ok', 'warning') AND due_at <= %(now)s)
                           OR (sla_state = 'ok' AND warn_at <= %(now)s))""",  # noqa: S608
                {"now": NOW},
            )
            moved += cursor.rowcount
    return moved


def timed(run) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def measure_job() -> dict:
    figures: dict = {}
    save_states()
    seconds, moved = timed(floor)
    figures["floor"] = {"seconds": round(seconds, 3), "moved": moved, **digest()}
    print(f"floor (one UPDATE per table): {seconds:.3f} s, {moved:,} clocks moved", flush=True)

    restore_states()
    real_create = service.alerts.alerts_create
    service.alerts.alerts_create = lambda **kwargs: []  # the states alone, as the floor
    try:
        seconds, counts = timed(lambda: sla_states_refresh(now=NOW))
    finally:
        service.alerts.alerts_create = real_create
    figures["job_states_only"] = {"seconds": round(seconds, 3), "counts": counts, **digest()}
    print(f"job, states only: {seconds:.3f} s ({counts})", flush=True)

    restore_states()
    seconds, counts = timed(lambda: sla_states_refresh(now=NOW))
    figures["job"] = {"seconds": round(seconds, 3), "counts": counts, **digest()}
    print(f"job with alerts and e-mails: {seconds:.3f} s ({counts})", flush=True)

    seconds, again = timed(lambda: sla_states_refresh(now=NOW))
    figures["job_again"] = {"seconds": round(seconds, 3), "counts": again}
    moved_again = sum(v for k, v in again.items() if k not in ("alerts", "emails"))
    print(f"job again: {seconds:.3f} s, moved {moved_again}", flush=True)
    floor_s = figures["floor"]["seconds"]
    figures["ratio_states_only_to_floor"] = round(figures["job_states_only"]["seconds"] / floor_s, 2)
    figures["ratio_job_to_floor"] = round(figures["job"]["seconds"] / floor_s, 2)
    figures["same_result_as_floor"] = (
        figures["floor"]["md5"] == figures["job_states_only"]["md5"] == figures["job"]["md5"]
    )
    return figures


# ---------------------------------------------------------------- the board against its floor
def board_floor(request):
    """The board's first page as values(): the same scope, the same late rows and counts."""
    now = timezone.now()
    late_q = sla_now_q(SlaState.WARNING, now) | sla_now_q(SlaState.BREACHED, now)
    late = {
        "warning": Count("pk", filter=sla_now_q(SlaState.WARNING, now)),
        "breached": Count("pk", filter=sla_now_q(SlaState.BREACHED, now)),
    }
    visible = ServiceRequest.objects.visible_to(request.user)
    stages = RequestStage.objects.filter(request__in=visible, status__in=ACTIVE_STAGE).filter(late_q)
    requests = visible.filter(status__in=ACTIVE_REQUEST).filter(late_q)
    columns = ("pk", "due_at", "unit", "sla_state", "warn_at", "done_at", "waiting_since")
    data = {
        "by_station": list(stages.values("request__station_id", "department_id").annotate(**late).order_by()),
        "requests_by_station": list(requests.values("station_id").annotate(**late).order_by()),
        "stages": list(
            stages.order_by("due_at", "pk").values(*columns, "request_id", "request__number")[:50]
        ),
        "requests": list(requests.order_by("due_at", "pk").values(*columns, "number")[:50]),
    }
    return JsonResponse(data, encoder=DjangoJSONEncoder)


def compare(client: Client, real: str, floor_url: str, n: int) -> dict:
    times: dict[str, list[float]] = {"real": [], "floor": []}
    for i in range(n + 3):
        for name, url in (("real", real), ("floor", floor_url)):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            if i >= 3:
                times[name].append(elapsed)
    with CaptureQueriesContext(connection) as queries:
        client.get(real)
    result = {
        "real": percentiles(times["real"]),
        "floor": percentiles(times["floor"]),
        "queries": len(queries),
    }
    result["ratio_p95"] = round(result["real"]["p95_ms"] / result["floor"]["p95_ms"], 2)
    return result


def measure_board(n: int) -> dict:
    urls = types.ModuleType("bench_sla_urls")
    from crm.urls import urlpatterns

    urls.urlpatterns = [path("bench-floor/sla-board/", board_floor), *urlpatterns]
    sys.modules["bench_sla_urls"] = urls
    figures = {}
    with override_settings(ROOT_URLCONF="bench_sla_urls", ALLOWED_HOSTS=["*"]):
        for label, username in (("administrator", "benchadmin"), ("a manager", "benchmgr0")):
            client = Client()
            client.force_login(get_user_model().objects.get(username=username))
            for what, url in (
                ("API sla-board/", "/api/v1/sla-board/"),
                ("page service:board", "/service/board/"),
            ):
                result = compare(client, url, "/bench-floor/sla-board/", n)
                figures[f"{what}, {label}"] = result
                print(
                    f"  {what}, {label}: p50 {result['real']['p50_ms']} ms, "
                    f"p95 {result['real']['p95_ms']} ms; "
                    f"floor p95 {result['floor']['p95_ms']} ms; ratio p95 {result['ratio_p95']}; "
                    f"{result['queries']} queries",
                    flush=True,
                )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="open requests")
    parser.add_argument("--closed", type=int, default=400_000, help="closed requests beside them")
    parser.add_argument("--board-requests", type=int, default=30, help="measured requests per board case")
    parser.add_argument("--skip-build", action="store_true", help="reuse the data of the previous run")
    args = parser.parse_args()
    load_at_start = prepare_database("sla.py")
    figures: dict = {"open_requests": args.requests, "closed_requests": args.closed}
    if not args.skip_build:
        print(f"building {args.requests:,} open and {args.closed:,} closed requests ...", flush=True)
        figures["build_seconds"] = round(build(args.requests, args.closed), 1)
        print(f"  built in {figures['build_seconds']} s", flush=True)
    print("the SLA job ...", flush=True)
    figures["job"] = measure_job()
    print("the board (in-process, Django's test client) ...", flush=True)
    figures["board"] = measure_board(args.board_requests)
    restore_states()
    print(
        json.dumps(
            {
                k: figures["job"][k]
                for k in ("ratio_states_only_to_floor", "ratio_job_to_floor", "same_result_as_floor")
            }
        )
    )
    write_results("sla", figures, load_at_start=load_at_start)


if __name__ == "__main__":
    main()
