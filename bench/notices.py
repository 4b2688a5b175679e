"""Benchmark of publishing an outage notice on PostgreSQL (issue 19, "Speed").

Builds, in a database of its own (generate_series, in the server), one feeder of N customers
(default 50,000) spread over D transformer districts (notices.FeederDistrict), each customer with a
primary contact: about 2.2 % VIP and key accounts and 1 % level-1/2 important loads (called, not
texted), 2 % with a landline instead of a mobile (unreachable, a contact fix each), 1 % closed (not
affected); their managers report to one supervisor, who publishes. A second feeder has a small
notice's customers (default 50). Then, in the same process:
1. the floor: the affected customers and their deliveries as one bare INSERT ... SELECT (the SELECT
   of notices.resolution.affected_sql, the same parameters), rolled back;
2. the job: notice_create + notice_publish as the supervisor, the Celery enqueue replaced by its read
   alone (queued_chunks, no broker); its deliveries must be the floor's; the ratio job / floor, the
   statements it ran and the slowest of them;
3. the deliveries page (notice_detail through django.test.Client) of the large and the small notice:
   its queries, which must be as many for both, and its time (first and last page);
4. sending S queued messages (default 2,000) with notices.sending.send_messages through the real
   HTTP gateway of the tests (tests/notices/gateway.py, its own process on 127.0.0.1) at the rate
   limit R (default 200 a second): the rate reached against R, and each message received once;
   then a few hundred more with no limit, the loop's own ceiling (how much headroom R leaves).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_notices \\
        .venv/bin/python bench/notices.py --customers 50000
    ... bench/notices.py --customers 5000 --districts 50 --send 500 --rate 100     # a quick one
"""

import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from unittest import mock

# isort: split
# harness sets Django up: import it first
from harness import ROOT, arguments, bench_station, percentiles, prepare_database, rnd, sql, write_results

# isort: split

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.accounts import roles
from crm.common.sms import SharedRateLimiter
from managers.models import Manager, Role
from notices import resolution, services
from notices.models import Delivery, Feeder, MessageStatus, NoticeKind, SmsMessage
from notices.sending import queued_chunks, send_messages

MANAGERS = 20
GATEWAY_KEY = "bench-gateway-key"
PAGE_RUNS = 5


def build(n: int, districts: int, small: int) -> tuple[float, object]:
    """The grid and the people; answers the build's seconds and the supervisor."""
    started = time.perf_counter()
    sql(
        "TRUNCATE notices_smsmessage, notices_contactfix, notices_delivery, notices_outagenotice, "
        "notices_feederdistrict, notices_dedicatedline, notices_feeder, common_outboxevent, "
        "customers_contact, customers_customer, customers_transformerdistrict CASCADE"
    )
    station = bench_station()
    users = get_user_model()
    supervisor, _ = users.objects.get_or_create(
        username="benchnoticesup", defaults={"full_name": "bench 主管"}
    )
    supervisor.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    managers = []
    for i in range(MANAGERS):
        user, _ = users.objects.get_or_create(
            username=f"benchnoticemgr{i}", defaults={"full_name": f"bench 经理{i}", "supervisor": supervisor}
        )
        user.groups.add(Group.objects.get(name=roles.ACCOUNT_MANAGER))
        # a manager profile at the station: branches_of(supervisor) reads the branch from it
        Manager.objects.get_or_create(
            user=user,
            defaults={"employee_no": f"BN{i:04}", "role": Role.KEY_ACCOUNT_MANAGER, "station": station},
        )
        managers.append(user.pk)
    big = Feeder.objects.create(code="BNF-BIG", name="10kV bench 一线", station=station)
    little = Feeder.objects.create(code="BNF-SMALL", name="10kV bench 二线", station=station)
    # districts 0 .. D-1 on the big feeder, district D alone on the small one
    sql(
        """INSERT INTO customers_transformerdistrict (code, name, transformer_code, rated_capacity_kva,
            manager_id, station_id, created_at, updated_at)
        SELECT 'BNTD' || lpad(k::text, 6, '0'), 'bench 台区 ' || k, '', 400, NULL, %s, now(), now()
        FROM generate_series(0, %s) k""",
        [station.pk, districts],
    )
    sql(
        """INSERT INTO notices_feederdistrict (feeder_id, transformer_district_id, created_at, updated_at)
        SELECT CASE WHEN substr(code, 5)::int < %s THEN %s ELSE %s END, id, now(), now()
        FROM customers_transformerdistrict WHERE code LIKE 'BNTD%%'""",
        [districts, big.pk, little.pk],
    )
    # customer i of the big feeder lies in district i mod D; those past N in the small one's
    sql(
        f"""INSERT INTO customers_customer (account_no, name, category, industry_code, voltage_kv,
            contracted_capacity_kva, importance, station_id, community_id, transformer_district_id,
            address, status, tier, tier_pinned, tier_pin_reason, tier_pinned_until, tier_pinned_by_id,
            manager_id, annual_consumption_kwh, latest_period, created_at, updated_at)
        SELECT 'N' || lpad(i::text, 10, '0'), 'bench 用户 ' || i, 'residential', '', 0.38, 8,
            CASE WHEN {rnd("i", "imp")} < 0.005 THEN 'level_1' WHEN {rnd("i", "imp")} < 0.01 THEN 'level_2'
                 ELSE 'none' END,
            %(station)s, NULL, td.id, '',
            CASE WHEN {rnd("i", "st")} < 0.01 THEN 'closed' ELSE 'active' END,
            CASE WHEN {rnd("i", "t")} < 0.002 THEN 'vip' WHEN {rnd("i", "t")} < 0.022 THEN 'key_account'
                 ELSE 'transformer_district' END,
            false, '', NULL, NULL, (%(managers)s::int[])[1 + i %% %(m)s], 0, NULL, now(), now()
        FROM generate_series(1, %(total)s) i
        JOIN customers_transformerdistrict td
          ON td.code = 'BNTD' || lpad((CASE WHEN i <= %(n)s THEN i %% %(d)s ELSE %(d)s END)::text, 6, '0')""",
        {
            "station": station.pk,
            "managers": managers,
            "m": MANAGERS,
            "total": n + small,
            "n": n,
            "d": districts,
        },
    )
    # one primary contact each: a mobile, written as people do (some with spaces, some +86), or a
    # landline (2 %), which the notice cannot text
    sql(
        f"""INSERT INTO customers_contact (customer_id, name, title, phone, email, is_primary,
            created_at, updated_at)
        SELECT c.id, 'contact ' || c.id, '',
            CASE WHEN {rnd("c.id", "p")} < 0.02 THEN '0571-' || lpad((c.id % 10000000)::text, 7, '0')
                 WHEN {rnd("c.id", "p")} < 0.10 THEN '+8613' || lpad(c.id::text, 9, '0')
                 WHEN {rnd("c.id", "p")} < 0.20 THEN '139 ' || lpad(c.id::text, 8, '0')
                 ELSE '13' || lpad(c.id::text, 9, '0') END,
            '', true, now(), now()
        FROM customers_customer c""",
    )
    for table in ("customers_customer", "customers_contact", "customers_transformerdistrict"):
        sql(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started, supervisor


def window() -> dict:
    starts = timezone.now() + dt.timedelta(days=10)
    return {"kind": NoticeKind.PLANNED, "starts_at": starts, "ends_at": starts + dt.timedelta(hours=8)}


def floor(supervisor, feeder, runs: int = 2) -> dict:
    """The INSERT ... SELECT alone, for a draft of the same scope, rolled back. Run twice: the first
    reads the customers and contacts into the buffers, as the job's run would find them."""
    seconds, rows = [], 0
    for _ in range(runs):
        with transaction.atomic():
            draft = services.notice_create(**window(), reason="bench floor", feeders=[feeder], by=supervisor)
            params = resolution_params(draft)
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(
                    f"INSERT INTO notices_delivery ({COLUMNS}) {resolution.affected_sql()}", params
                )
                seconds.append(time.perf_counter() - started)
                rows = cursor.rowcount
            transaction.set_rollback(True)
    print(
        f"floor, one INSERT ... SELECT: {min(seconds):.3f} s for {rows:,} deliveries (runs {seconds})",
        flush=True,
    )
    return {"seconds": round(min(seconds), 3), "runs": [round(s, 3) for s in seconds], "deliveries": rows}


COLUMNS = (
    "notice_id, customer_id, manager_id, important, channel, status, mobile, unreachable_reason,"
    " due_at, acknowledged_by, revision, created_at, updated_at"
)


def resolution_params(notice) -> dict:
    """The parameters resolve_affected binds (notices/resolution.py), for the same statement."""
    now = timezone.now()
    return {
        "notice": notice.pk, "tier0": "vip", "tier1": "key_account", "level0": "level_1", "level1": "level_2",
        "yes": True, "no": False, "call": "call", "sms": "sms", "queued": "queued", "due": now,
        "revision": 0, "now": now, "active": "active",
    }  # fmt: skip


def job(supervisor, feeder) -> dict:
    """notice_create + notice_publish, committed; the after-commit enqueue reads its chunks only."""
    enqueued = {}

    def enqueue_read(notice_id: int) -> None:
        started = time.perf_counter()
        enqueued["chunks"] = len(queued_chunks(notice_id=notice_id))  # what _enqueue_sending reads
        enqueued["seconds"] = time.perf_counter() - started

    with (
        mock.patch.object(services, "_enqueue_sending", enqueue_read),
        CaptureQueriesContext(connection) as q,
    ):
        started = time.perf_counter()
        notice = services.notice_create(**window(), reason="线路检修", feeders=[feeder], by=supervisor)
        created = time.perf_counter() - started
        notice = services.notice_publish(notice=notice, by=supervisor)
        seconds = time.perf_counter() - started
    enqueue_seconds = enqueued["seconds"]
    statements = sorted(q.captured_queries, key=lambda x: -float(x["time"]))
    slowest = [{"seconds": float(x["time"]), "sql": " ".join(x["sql"].split())[:110]} for x in statements[:4]]
    counts = Counter(Delivery.objects.filter(notice=notice).values_list("channel", "status"))
    return {
        "notice": notice.pk,
        "seconds": round(seconds - enqueue_seconds, 3),
        "create_seconds": round(created, 3),
        "enqueue_read_seconds": round(enqueue_seconds, 3),
        "enqueue_chunks": enqueued["chunks"],
        "statements": len(q.captured_queries),
        "slowest": slowest,
        "deliveries": sum(counts.values()),
        "by_channel_status": {f"{c}/{s}": k for (c, s), k in sorted(counts.items())},
        "affected_count": notice.affected_count,
        "important_count": notice.important_count,
        "contact_fixes": notice.contact_fixes.count(),
        "messages_queued": SmsMessage.objects.filter(
            delivery__notice=notice, status=MessageStatus.QUEUED
        ).count(),
    }


def page(supervisor, notice_id: int, last_page: int) -> dict:
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(supervisor)
    figures = {}
    for name, url in (
        ("first", f"/notices/{notice_id}/"),
        ("last", f"/notices/{notice_id}/?page={last_page}"),
    ):
        samples, queries = [], 0
        for _ in range(PAGE_RUNS):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            queries = len(captured)
        figures[name] = {"queries": queries, **percentiles(samples)}
    return figures


def start_gateway(state: Path) -> tuple[subprocess.Popen, str]:
    script = ROOT / "tests" / "notices" / "gateway.py"
    process = subprocess.Popen([sys.executable, str(script), GATEWAY_KEY, str(state), "0", "error"])  # noqa: S603
    deadline = time.monotonic() + 15
    while not (state / "port").exists():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise SystemExit("the gateway did not start")
        time.sleep(0.02)  # polling for the process to listen, with a deadline
    return process, f"http://127.0.0.1:{(state / 'port').read_text()}/send"


def send(notice_id: int, count: int, rate: float, unthrottled: int) -> dict:
    ids = list(
        SmsMessage.objects.filter(delivery__notice_id=notice_id, status=MessageStatus.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)[: count + unthrottled]
    )
    paced, free = ids[:count], ids[count:]
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as state_dir:
        state = Path(state_dir)
        process, url = start_gateway(state)
        settings.SMS_BACKEND = "crm.common.sms.HttpGatewayBackend"
        settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_KEY = url, GATEWAY_KEY
        settings.SMS_GATEWAY_TIMEOUT, settings.SMS_RATE_PER_SECOND = 5.0, rate
        try:
            started = time.perf_counter()
            again = send_messages(paced)  # the shared limit of SMS_RATE_PER_SECOND, as the task's
            paced_seconds = time.perf_counter() - started
            started = time.perf_counter()
            # no pacing: the loop's ceiling
            again += send_messages(free, limiter=SharedRateLimiter("bench", 0))
            free_seconds = time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(timeout=10)
        received = [
            json.loads(line)["message_id"] for line in (state / "requests.jsonl").read_text().splitlines()
        ]
    times = Counter(received)
    statuses = Counter(SmsMessage.objects.filter(pk__in=ids).values_list("status", flat=True))
    delivered = Delivery.objects.filter(messages__pk__in=ids, status="sent").count()
    achieved = len(paced) / paced_seconds
    return {
        "messages": len(paced),
        "rate_limit_per_second": rate,
        "seconds": round(paced_seconds, 2),
        "per_second": round(achieved, 1),
        "ratio_to_limit": round(achieved / rate, 3),
        "unthrottled_messages": len(free),
        "unthrottled_per_second": round(len(free) / free_seconds, 1) if free else None,
        "received_by_gateway": len(received),
        "each_received_once": set(times) == {f"crm-sms-{pk}" for pk in ids} and set(times.values()) == {1},
        "statuses": dict(statuses),
        "deliveries_sent": delivered,
        "transient_failures": len(again),
    }


def main() -> None:
    parser = arguments("Publishing an outage notice: resolution, the deliveries page, sending")
    parser.set_defaults(customers=50_000)
    parser.add_argument("--districts", type=int, default=500)
    parser.add_argument("--small", type=int, default=50, help="customers of the small notice")
    parser.add_argument("--send", type=int, default=2_000)
    parser.add_argument("--unthrottled", type=int, default=500)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    n = args.customers
    load_at_start = prepare_database("notices.py")
    figures: dict = {"customers": n, "districts": args.districts, "small_customers": args.small}
    if args.skip_build:
        sql("TRUNCATE notices_smsmessage, notices_contactfix, notices_delivery, notices_outagenotice CASCADE")
        supervisor = get_user_model().objects.get(username="benchnoticesup")
    else:
        print(f"building {n:,} customers on {args.districts} districts ...", flush=True)
        seconds, supervisor = build(n, args.districts, args.small)
        figures["build_seconds"] = round(seconds, 1)
        print(f"  built in {seconds:.1f} s", flush=True)
    big, little = Feeder.objects.get(code="BNF-BIG"), Feeder.objects.get(code="BNF-SMALL")
    figures["floor"] = low = floor(supervisor, big)
    figures["publish"] = run = job(supervisor, big)
    if run["deliveries"] != low["deliveries"] or run["affected_count"] != low["deliveries"]:
        raise SystemExit(f"publishing made {run['deliveries']:,} deliveries, the floor {low['deliveries']:,}")
    figures["ratio_publish_to_floor"] = round(run["seconds"] / low["seconds"], 2)
    print(
        f"publish: {run['seconds']:.3f} s in {run['statements']} statements, {run['deliveries']:,} "
        f"deliveries ({run['by_channel_status']}), {run['contact_fixes']:,} contact fixes, "
        f"{run['messages_queued']:,} messages queued; publish / floor = {figures['ratio_publish_to_floor']}",
        flush=True,
    )
    print(
        f"  after commit, the enqueue's read: {run['enqueue_read_seconds']:.3f} s, "
        f"{run['enqueue_chunks']} chunks"
    )
    for statement in run["slowest"]:
        print(f"  {statement['seconds']:.3f} s  {statement['sql']}")
    small = job(supervisor, little)
    figures["small_publish"] = {k: small[k] for k in ("seconds", "statements", "deliveries")}
    pages = {
        "large": page(supervisor, run["notice"], last_page=-(-run["deliveries"] // 50)),
        "small": page(supervisor, small["notice"], last_page=1),
    }
    figures["deliveries_page"] = pages
    figures["deliveries_page"]["same_queries"] = same = (
        len({pages[size][which]["queries"] for size in ("large", "small") for which in ("first", "last")})
        == 1
    )
    for size in ("large", "small"):
        print(f"deliveries page, {size} notice: {pages[size]}", flush=True)
    print(
        f"  as many queries for {run['deliveries']:,} deliveries as for {small['deliveries']}: {same}",
        flush=True,
    )
    figures["sending"] = sent = send(run["notice"], args.send, args.rate, args.unthrottled)
    print(
        f"sending: {sent['messages']:,} in {sent['seconds']} s = {sent['per_second']}/s against a limit of "
        f"{args.rate:g}/s (ratio {sent['ratio_to_limit']}); unlimited: {sent['unthrottled_per_second']}/s; "
        f"the gateway received {sent['received_by_gateway']:,}, each once: {sent['each_received_once']}; "
        f"{sent['statuses']}, {sent['deliveries_sent']:,} deliveries sent",
        flush=True,
    )
    figures["page_first_ms_ratio_large_to_small"] = round(
        pages["large"]["first"]["p50_ms"] / max(pages["small"]["first"]["p50_ms"], 0.1), 2
    )
    write_results(f"notices-{n}", figures, load_at_start=load_at_start)
    if not same or not sent["each_received_once"]:
        raise SystemExit("the deliveries page's queries vary with its size, or a message went twice")


if __name__ == "__main__":
    main()
