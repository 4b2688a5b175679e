"""Benchmark of the service request API and the 95598 intake on PostgreSQL.

1. Builds N open and M closed requests (bench/sla.py's data set: one metering stage each, their
   owners spread over 200 managers under 20 supervisors, 5 metering staff) and C customers of the
   bench station, each with an account number and a manager, for the tickets to name.
2. The request list API (`service-requests/`, its first page of 50) as an administrator, a manager
   and a department staff user, against a floor that reads the same page (the same scope, order and
   count) with values(), the request's columns and its stages' columns: p50/p95 and queries.
3. The 95598 intake: T tickets posted to `call-centre/tickets/` with the integration client's token,
   in batches of B (rows per second of each batch and overall), then every ticket posted again
   (the idempotent answer, 200 with the same request).
Requests are asked in turn in-process through Django's test client. Prints the figures and writes
JSON to bench/results/service.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_service .venv/bin/python bench/service.py
    ... bench/service.py --requests 5000 --closed 20000 --tickets 1000      # a quick one
"""

import statistics
import sys
import time
import types

# isort: split
# harness sets Django up: import it first
from harness import bench_station, prepare_database, write_results
from sla import build, compare, roles_group  # the same data set and timing as the SLA benchmark

# isort: split

import argparse
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse
from django.test import Client, override_settings
from django.urls import path
from rest_framework.authtoken.models import Token

from crm.accounts import roles
from customers.models import Customer
from service.models import RequestStage, ServiceRequest

PAGE = 50
REQUEST_COLUMNS = (
    "id", "number", "kind", "subtype", "source", "external_no", "customer_id", "applicant_name",
    "station_id", "description", "owner_id", "status", "received_at", "warn_at", "due_at", "done_at",
    "waiting_since", "calendar_missing",
)  # fmt: skip
STAGE_COLUMNS = (
    "request_id", "position", "code", "name", "department_id", "department__name", "status", "limit",
    "unit", "started_at", "warn_at", "due_at", "done_at", "waiting_since",
)  # fmt: skip


# ---------------------------------------------------------------- the data set
def build_customers(count: int) -> None:
    """`count` customers of the bench station, their managers the bench managers in turn."""
    station = bench_station()
    Customer.objects.filter(account_no__startswith="BSVC").delete()
    managers = list(
        get_user_model()
        .objects.filter(username__startswith="benchmgr")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Customer.objects.bulk_create(
        [
            Customer(
                account_no=f"BSVC{i:07d}",
                name=f"bench customer {i}",
                category="commercial",
                voltage_kv=Decimal("0.4"),
                station=station,
                tier="key_account",
                manager_id=managers[i % len(managers)],
            )
            for i in range(count)
        ],
        batch_size=5000,
    )


def integration_token() -> str:
    user, _ = get_user_model().objects.get_or_create(
        username="benchintegration", defaults={"full_name": "bench 95598"}
    )
    user.groups.add(roles_group(roles.INTEGRATION_CLIENT))
    return Token.objects.get_or_create(user=user)[0].key


# ---------------------------------------------------------------- the list against its floor
def list_floor(request):
    """The list's first page as values(): the same scope, order and count, with the stages."""
    visible = ServiceRequest.objects.visible_to(request.user).order_by("-received_at", "-id")
    rows = list(visible.values(*REQUEST_COLUMNS)[:PAGE])
    stages = list(
        RequestStage.objects.filter(request_id__in=[row["id"] for row in rows])
        .order_by("request_id", "position")
        .values(*STAGE_COLUMNS)
    )
    return JsonResponse(
        {"count": visible.count(), "results": rows, "stages": stages}, encoder=DjangoJSONEncoder
    )


def measure_list(n: int) -> dict:
    urls = types.ModuleType("bench_service_urls")
    from crm.urls import urlpatterns

    urls.urlpatterns = [path("bench-floor/service-requests/", list_floor), *urlpatterns]
    sys.modules["bench_service_urls"] = urls
    figures = {}
    with override_settings(ROOT_URLCONF="bench_service_urls", ALLOWED_HOSTS=["*"]):
        for label, username in (
            ("administrator", "benchadmin"),
            ("a manager", "benchmgr0"),
            ("department staff", "benchstaff0"),
        ):
            client = Client()
            client.force_login(get_user_model().objects.get(username=username))
            result = compare(client, "/api/v1/service-requests/", "/bench-floor/service-requests/", n)
            figures[f"API service-requests/, {label}"] = result
            print(
                f"  service-requests/, {label}: p50 {result['real']['p50_ms']} ms, "
                f"p95 {result['real']['p95_ms']} ms; floor p95 {result['floor']['p95_ms']} ms; "
                f"ratio p95 {result['ratio_p95']}; {result['queries']} queries",
                flush=True,
            )
    return figures


# ---------------------------------------------------------------- the 95598 intake
def _post_all(client: Client, tickets: list[dict], expected: int, batch: int) -> dict:
    rates, started_all = [], time.perf_counter()
    for start in range(0, len(tickets), batch):
        started = time.perf_counter()
        for ticket in tickets[start : start + batch]:
            response = client.post("/api/v1/call-centre/tickets/", ticket, content_type="application/json")
            if response.status_code != expected:
                raise SystemExit(
                    f"ticket {ticket['ticket_no']} answered {response.status_code}: {response.content[:200]}"
                )
        rates.append(len(tickets[start : start + batch]) / (time.perf_counter() - started))
    seconds = time.perf_counter() - started_all
    return {
        "tickets": len(tickets),
        "seconds": round(seconds, 2),
        "rows_per_second": round(len(tickets) / seconds, 1),
        "batch_rows_per_second": {"min": round(min(rates), 1), "median": round(statistics.median(rates), 1)},
    }


def measure_intake(count: int, customers: int, batch: int) -> dict:
    ServiceRequest.objects.filter(source="call_centre", external_no__startswith="BENCH-").delete()
    client = Client(HTTP_AUTHORIZATION=f"Token {integration_token()}")
    kinds = ("meter_fault", "billing_query", "fault_repair", "reconnection")
    tickets = [
        {
            "ticket_no": f"BENCH-{i:07d}",
            "kind": kinds[i % len(kinds)],
            "account_no": f"BSVC{i % customers:07d}",
            "description": "bench ticket",
        }
        for i in range(count)
    ]
    figures = {"first_post": _post_all(client, tickets, 201, batch)}
    print(f"  {count:,} new tickets: {figures['first_post']}", flush=True)
    figures["posted_again"] = _post_all(client, tickets, 200, batch)
    print(f"  the same tickets again: {figures['posted_again']}", flush=True)
    made = ServiceRequest.objects.filter(external_no__startswith="BENCH-").count()
    figures["requests_made"] = made
    if made != count:
        raise SystemExit(f"{made} requests for {count} tickets")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="open requests")
    parser.add_argument("--closed", type=int, default=400_000, help="closed requests beside them")
    parser.add_argument("--customers", type=int, default=20_000, help="customers the tickets name")
    parser.add_argument("--tickets", type=int, default=10_000, help="95598 tickets posted")
    parser.add_argument("--batch", type=int, default=500, help="tickets per measured batch")
    parser.add_argument("--list-requests", type=int, default=30, help="measured requests per list case")
    parser.add_argument("--skip-build", action="store_true", help="reuse the data of the previous run")
    args = parser.parse_args()
    load_at_start = prepare_database("service.py")
    figures: dict = {"open_requests": args.requests, "closed_requests": args.closed}
    if not args.skip_build:
        print(f"building {args.requests:,} open and {args.closed:,} closed requests ...", flush=True)
        started = time.perf_counter()
        build(args.requests, args.closed)
        build_customers(args.customers)
        figures["build_seconds"] = round(time.perf_counter() - started, 1)
        print(f"  built in {figures['build_seconds']} s", flush=True)
    print("the request list (in-process, Django's test client) ...", flush=True)
    figures["list"] = measure_list(args.list_requests)
    print("the 95598 intake ...", flush=True)
    with override_settings(ALLOWED_HOSTS=["*"]):
        figures["intake"] = measure_intake(args.tickets, args.customers, args.batch)
    write_results("service", figures, load_at_start=load_at_start)


if __name__ == "__main__":
    main()
