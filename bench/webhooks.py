"""Benchmark of the webhooks on PostgreSQL (issue 22, "Speed").

1. A reclassification that changes N tiers (default 30,000: households in a community still in the
   transformer-district tier) through classification_run_execute, as the Celery task runs it: its
   time, the `customer.tier_changed` events it wrote and how many statements wrote them (one per
   chunk, inside the chunk's statement), and, on its own, the time of one INSERT ... SELECT writing
   N events from the run's tier changes (rolled back) - the share of the run the events cost.
2. The fan-out of the N events to one endpoint (deliveries_fan_out), in events per second.
3. Delivery of D of them (default 5,000) to a receiver on 127.0.0.1 that answers 200 at once (a
   process of its own, http.server), through deliveries_send_due as the task runs it: claimed with
   FOR UPDATE SKIP LOCKED, signed with standardwebhooks, sent WEBHOOKS_CONCURRENCY at a time, each
   try recorded; in deliveries per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_webhooks .venv/bin/python bench/webhooks.py
    ... bench/webhooks.py --changes 30000 --deliveries 5000
"""

import subprocess
import sys
import textwrap
import time

# isort: split
# harness sets Django up: import it first
from harness import arguments, bench_station, prepare_database, sql, write_results

# isort: split

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crm.common.models import OutboxEvent
from crm.common.outbox import outbox_insert_select
from customers.models import ClassificationRun, TierPolicy
from customers.tiering.classification import _event_fields, classification_run_execute
from integrations.delivery import deliveries_send_due
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.services import deliveries_fan_out, endpoint_save

RECEIVER = textwrap.dedent(
    """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


def build(n: int) -> None:
    """N active households in one community, classified transformer-district: each run moves all."""
    sql(
        "TRUNCATE integrations_deliveryattempt, integrations_webhookdelivery, integrations_webhookendpoint, "
        "common_outboxevent, customers_tierchange, customers_classificationrun, "
        "customers_consumptionrecord, customers_customer CASCADE"
    )
    station = bench_station()
    sql(
        """INSERT INTO customers_community (station_id, code, name, created_at, updated_at)
           VALUES (%s, 'BWH', 'bench community', now(), now()) ON CONFLICT (code) DO NOTHING""",
        [station.pk],
    )
    community = sql("SELECT id FROM customers_community WHERE code = 'BWH'")[0][0]
    sql(
        """INSERT INTO customers_customer (account_no, name, category, industry_code, voltage_kv,
            contracted_capacity_kva, importance, station_id, community_id, transformer_district_id,
            address, status, tier, tier_pinned, tier_pin_reason, tier_pinned_until, tier_pinned_by_id,
            manager_id, annual_consumption_kwh, latest_period, created_at, updated_at)
        SELECT 'W' || lpad(i::text, 10, '0'), 'bench ' || i, 'residential', '', 0.38, 8, 'none',
            %s, %s, NULL, '', 'active', 'transformer_district', false, '', NULL, NULL, NULL, 0, NULL,
            now(), now()
        FROM generate_series(1, %s) i""",
        [station.pk, community, n],
    )
    sql("ANALYZE customers_customer")
    TierPolicy.objects.get_or_create(version=1, defaults={"effective_from": "2000-01-01"})


def reclassify() -> dict:
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        classification_run_execute(run_id=run.pk)
        seconds = time.perf_counter() - started
    statements = sum(1 for q in queries.captured_queries if "common_outboxevent" in q["sql"])
    events = OutboxEvent.objects.filter(event_type="customer.tier_changed").count()
    # the events' statement alone, over the same tier changes, rolled back
    with transaction.atomic():
        started = time.perf_counter()
        written = outbox_insert_select(
            event_type="customer.tier_changed",
            fields=_event_fields("t"),
            from_sql="customers_tierchange t WHERE t.run_id = %(run)s",
            params={"run": run.pk},
        )
        events_only = time.perf_counter() - started
        transaction.set_rollback(True)
    return {
        "tier_changes": run.__class__.objects.get(pk=run.pk).changed,
        "events": events,
        "statements_writing_events": statements,
        "run_seconds": round(seconds, 2),
        "events_statement_alone_seconds": round(events_only, 2),
        "events_statement_rows": written,
    }


def fan_out() -> dict:
    started = time.perf_counter()
    dispatched = deliveries_fan_out()
    seconds = time.perf_counter() - started
    return {
        "events": dispatched,
        "seconds": round(seconds, 2),
        "events_per_second": round(dispatched / seconds),
    }


def deliver(count: int) -> dict:
    # keep `count` deliveries to send; the others are marked done so they are not claimed
    keep = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True)[:count])
    WebhookDelivery.objects.exclude(pk__in=keep).update(status=DeliveryStatus.SUCCEEDED)
    started = time.perf_counter()
    counts = deliveries_send_due(budget_seconds=600)
    seconds = time.perf_counter() - started
    sent = sum(counts.values())
    return {
        "deliveries": sent,
        "outcomes": counts,
        "seconds": round(seconds, 2),
        "deliveries_per_second": round(sent / seconds),
        "concurrency": settings.WEBHOOKS_CONCURRENCY,
    }


def main() -> None:
    parser = arguments("webhooks: events of a reclassification, fan-out and delivery")
    parser.add_argument("--changes", type=int, default=30_000)
    parser.add_argument("--deliveries", type=int, default=5_000)
    options = parser.parse_args()
    load = prepare_database("webhooks.py")
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the receiver is on loopback
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        port = int(receiver.stdout.readline())
        build(options.changes)
        endpoint = endpoint_save(
            endpoint=None, by=None, url=f"http://127.0.0.1:{port}/hooks", events=["customer.tier_changed"]
        )
        figures = {
            "reclassification": reclassify(),
            "fan_out": fan_out(),
            "delivery": deliver(options.deliveries),
        }
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
    finally:
        receiver.terminate()
        receiver.wait()
    for step, values in figures.items():
        print(f"{step:18} {values}")
    write_results("webhooks", figures, load_at_start=load)


if __name__ == "__main__":
    main()
