"""Benchmark of the service request API, the department queue and the 95598 intake on PostgreSQL.

1. Builds N open and M closed requests (bench/sla.py's data set: one metering stage each, their
   owners spread over 200 managers under 20 supervisors, 5 metering staff) and C customers of the
   bench station (generate_series), each with an account number and a manager; every request is
   then a customer's (one of its owner's customers), for the list to join and the tickets to name.
2. The request list API (`service-requests/`, its first page of 50) as an administrator, a manager
   and a department staff user, against a floor that reads the same page (the same scope, order,
   count and columns) with values(), and its stages' columns; the department queue page
   (`service:queue`, a metering staff user) against values() of the same 201 stages with what the
   page shows of them: p50/p95 and queries.
3. The 95598 intake: T tickets posted to `call-centre/tickets/batch/` with the integration
   client's token, B to a post (rows per second of each post and overall), then every batch posted
   again (the idempotent answer, 200 with the same requests); and S tickets one at a time to
   `call-centre/tickets/` beside, for comparison.
Requests are asked in turn in-process through Django's test client. Prints the figures and writes
JSON to bench/results/service.json. bench/sla.py --skip-build measures the SLA job and the board on
the same data afterwards (the same database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_service .venv/bin/python bench/service.py
    ... bench/service.py --requests 5000 --closed 20000 --customers 20000 --tickets 1000  # a quick one
"""

import json
import statistics
import sys
import time
import types

# isort: split
# harness sets Django up: import it first
from harness import bench_station, prepare_database, sql, write_results
from sla import _columns, build, compare, roles_group  # the same data set and timing as the SLA benchmark

# isort: split

import argparse

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, OuterRef, Subquery
from django.http import JsonResponse
from django.test import Client, override_settings
from django.urls import path
from rest_framework.authtoken.models import Token

from crm.accounts import roles
from customers.models import Contact, Customer
from service import listing
from service.models import RequestStage, ServiceRequest
from service.selectors import staff_department_id
from service.views import ACTIVE_REQUEST, ACTIVE_STAGE

PAGE = 50
QUEUE_ROWS = 201  # the queue page reads its 200 most urgent and one more (to say there are more)


# ---------------------------------------------------------------- the data set
def build_customers(count: int) -> None:
    """`count` customers of the bench station (generate_series, in the server), their managers the
    bench managers in turn; then every request built by bench/sla.py is a customer's (its manager's
    own customer), so the list joins real customer rows as it does in production."""
    station = bench_station()
    sql("DELETE FROM customers_customer WHERE account_no LIKE 'BSVC%%'")
    managers = list(
        get_user_model()
        .objects.filter(username__startswith="benchmgr")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rows = {
        "created_at": "now()",
        "updated_at": "now()",
        "account_no": "'BSVC' || lpad(i::text, 7, '0')",
        "name": "'bench customer ' || i",
        "category": "'commercial'",
        "voltage_kv": "0.4",
        "importance": "'none'",
        "station_id": "%(station)s",
        "status": "'active'",
        "tier": "'key_account'",
        "manager_id": "(%(managers)s)[1 + i %% %(k)s]",
    }
    cols, values = _columns(Customer, rows)
    params = {"station": station.pk, "managers": managers, "k": len(managers), "n": count}
    sql(
        f"INSERT INTO customers_customer ({cols}) SELECT {values} FROM generate_series(0, %(n)s - 1) i",  # noqa: S608
        params,
    )
    # request i (owned by manager i mod k) names customer j with the same manager: j = i mod count
    # when count is a multiple of k (the default sizes are), the customers' ids in account order
    sql(
        """UPDATE service_servicerequest r SET customer_id = c.id, applicant_name = ''
           FROM customers_customer c
           WHERE c.account_no = 'BSVC' || lpad((r.id %% %(n)s)::text, 7, '0')""",
        params,
    )
    sql("VACUUM ANALYZE customers_customer")
    sql("VACUUM ANALYZE service_servicerequest")


def integration_token() -> str:
    user, _ = get_user_model().objects.get_or_create(
        username="benchintegration", defaults={"full_name": "bench 95598"}
    )
    user.groups.add(roles_group(roles.INTEGRATION_CLIENT))
    return Token.objects.get_or_create(user=user)[0].key


# ---------------------------------------------------------------- the list against its floor
def list_floor(request):
    """The list's first page as values(): the same scope, order, count and columns, the stages'."""
    visible = ServiceRequest.objects.visible_to(request.user).order_by("-received_at", "-id")
    rows = list(
        visible.annotate(customer_name=F("customer__name")).values(*listing.REQUEST_COLUMNS, "customer_name")[
            :PAGE
        ]
    )
    stages = list(
        RequestStage.objects.filter(request_id__in=[row["id"] for row in rows])
        .order_by("request_id", "position")
        .values(*listing.STAGE_COLUMNS, department_name=F("department__name"))
    )
    return JsonResponse(
        {"count": visible.count(), "results": rows, "stages": stages}, encoder=DjangoJSONEncoder
    )


def queue_floor(request):
    """The department queue's rows as values(): the same stages (scope, order, 201 of them) with
    what the page shows of their request, customer, station and primary contact."""
    department_id = staff_department_id(request.user)
    primary = Contact.objects.filter(customer_id=OuterRef("request__customer_id"), is_primary=True)
    rows = list(
        RequestStage.objects.filter(
            department_id=department_id,
            status__in=ACTIVE_STAGE,
            request__status__in=ACTIVE_REQUEST,
            request__in=ServiceRequest.objects.visible_to(request.user),
        )
        .annotate(
            contact_name=Subquery(primary.values("name")[:1]),
            contact_phone=Subquery(primary.values("phone")[:1]),
        )
        .order_by(F("due_at").asc(nulls_last=True), "id")
        .values(
            "id", "code", "name", "status", "wait_reason", "unit", "warn_at", "due_at", "done_at",
            "waiting_since", "contact_name", "contact_phone", "request_id", "request__number",
            "request__kind", "request__customer_id", "request__customer__name",
            "request__customer__account_no", "request__customer__address", "request__applicant_name",
            "request__applicant_address", "request__applicant_phone", "request__station__name",
            "department__name",
        )[:QUEUE_ROWS]
    )  # fmt: skip
    return JsonResponse({"stages": rows}, encoder=DjangoJSONEncoder)


def measure_list(n: int) -> dict:
    urls = types.ModuleType("bench_service_urls")
    from crm.urls import urlpatterns

    urls.urlpatterns = [
        path("bench-floor/service-requests/", list_floor),
        path("bench-floor/queue/", queue_floor),
        *urlpatterns,
    ]
    sys.modules["bench_service_urls"] = urls
    figures = {}
    cases = (
        ("API service-requests/", "administrator", "benchadmin", "/api/v1/service-requests/"),
        ("API service-requests/", "a manager", "benchmgr0", "/api/v1/service-requests/"),
        ("API service-requests/", "department staff", "benchstaff0", "/api/v1/service-requests/"),
        ("page service:queue", "department staff", "benchstaff0", "/service/queue/"),
    )
    with override_settings(ROOT_URLCONF="bench_service_urls", ALLOWED_HOSTS=["*"]):
        for what, label, username, url in cases:
            client = Client()
            client.force_login(get_user_model().objects.get(username=username))
            floor = "/bench-floor/queue/" if "queue" in url else "/bench-floor/service-requests/"
            result = compare(client, url, floor, n)
            figures[f"{what}, {label}"] = result
            print(
                f"  {what}, {label}: p50 {result['real']['p50_ms']} ms, "
                f"p95 {result['real']['p95_ms']} ms; floor p95 {result['floor']['p95_ms']} ms; "
                f"ratio p95 {result['ratio_p95']}; {result['queries']} queries",
                flush=True,
            )
    return figures


# ---------------------------------------------------------------- the 95598 intake
BATCH_URL = "/api/v1/call-centre/tickets/batch/"
ONE_URL = "/api/v1/call-centre/tickets/"


def _post_batches(client: Client, tickets: list[dict], expected: int, batch: int) -> dict:
    """`tickets` posted to the batch endpoint, `batch` to a post: rows per second overall and of
    each post."""
    rates, started_all = [], time.perf_counter()
    for start in range(0, len(tickets), batch):
        chunk = tickets[start : start + batch]
        started = time.perf_counter()
        response = client.post(BATCH_URL, json.dumps(chunk), content_type="application/json")
        if response.status_code != expected:
            raise SystemExit(f"batch at {start} answered {response.status_code}: {response.content[:300]}")
        rates.append(len(chunk) / (time.perf_counter() - started))
    seconds = time.perf_counter() - started_all
    return {
        "tickets": len(tickets),
        "batch": batch,
        "seconds": round(seconds, 2),
        "rows_per_second": round(len(tickets) / seconds, 1),
        "batch_rows_per_second": {"min": round(min(rates), 1), "median": round(statistics.median(rates), 1)},
    }


def _post_one_by_one(client: Client, tickets: list[dict]) -> dict:
    started = time.perf_counter()
    for ticket in tickets:
        response = client.post(ONE_URL, ticket, content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"ticket {ticket['ticket_no']} answered {response.status_code}")
    seconds = time.perf_counter() - started
    return {
        "tickets": len(tickets),
        "seconds": round(seconds, 2),
        "rows_per_second": round(len(tickets) / seconds, 1),
    }


def measure_intake(count: int, customers: int, batch: int, singles: int) -> dict:
    ServiceRequest.objects.filter(source="call_centre", external_no__startswith="BENCH-").delete()
    client = Client(HTTP_AUTHORIZATION=f"Token {integration_token()}")
    kinds = ("meter_fault", "billing_query", "fault_repair", "reconnection")
    tickets = [
        {
            "ticket_no": f"BENCH-{i:07d}",
            "kind": kinds[i % len(kinds)],
            "account_no": f"BSVC{(i * 7919) % customers:07d}",  # spread over the customers
            "description": "bench ticket",
        }
        for i in range(count + singles)
    ]
    figures = {"batches": _post_batches(client, tickets[:count], 201, batch)}
    print(f"  {count:,} new tickets in batches: {figures['batches']}", flush=True)
    figures["batches_posted_again"] = _post_batches(client, tickets[:count], 200, batch)
    print(f"  the same batches again: {figures['batches_posted_again']}", flush=True)
    if singles:
        figures["one_at_a_time"] = _post_one_by_one(client, tickets[count:])
        print(
            f"  {singles} tickets one at a time (call-centre/tickets/): {figures['one_at_a_time']}",
            flush=True,
        )
    made = ServiceRequest.objects.filter(external_no__startswith="BENCH-").count()
    figures["requests_made"] = made
    if made != count + singles:
        raise SystemExit(f"{made} requests for {count + singles} tickets")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="open requests")
    parser.add_argument("--closed", type=int, default=400_000, help="closed requests beside them")
    parser.add_argument(
        "--customers", type=int, default=1_000_000, help="customers (requests and tickets name them)"
    )
    parser.add_argument("--tickets", type=int, default=10_000, help="95598 tickets posted")
    parser.add_argument(
        "--batch", type=int, default=500, help="tickets per post to call-centre/tickets/batch/"
    )
    parser.add_argument("--single-tickets", type=int, default=200, help="tickets posted one at a time beside")
    parser.add_argument("--list-requests", type=int, default=30, help="measured requests per list case")
    parser.add_argument("--skip-build", action="store_true", help="reuse the data of the previous run")
    args = parser.parse_args()
    load_at_start = prepare_database("service.py")
    figures: dict = {
        "open_requests": args.requests,
        "closed_requests": args.closed,
        "customers": args.customers,
    }
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
        figures["intake"] = measure_intake(args.tickets, args.customers, args.batch, args.single_tickets)
    write_results("service", figures, load_at_start=load_at_start)


if __name__ == "__main__":
    main()
