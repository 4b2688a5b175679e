"""The delivery job: claim due deliveries, send them signed in the Standard Webhooks format, and
record each try (integration.md, "Delivery promises").

Claiming is a short transaction: `SELECT ... FOR UPDATE SKIP LOCKED` takes due rows no other
worker holds (on SQLite, which has one writer at a time, a plain select), counts the try and moves
`next_attempt_at` past a lease. The HTTP calls run outside any transaction, a few at a time; each
answer is then recorded. A worker that dies mid-try leaves its rows pending with the lease as their
next attempt: once it passes they are claimed again and sent with the same `webhook-id`, so every
event is delivered at least once (a receiver deduplicates on the id).

After a try: 2xx succeeded; 410 failed and the endpoint is turned off at once; a timeout, a
connection error, 429 and 5xx are tried again after the schedule's next wait (settings.
WEBHOOKS_RETRY_SCHEDULE, or the answer's Retry-After when it gives one), and after the last the
delivery is exhausted, the endpoint turned off and its owner told; any other answer (a 4xx) failed."""

import datetime as dt
import email.utils
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from integrations.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from integrations.services import endpoint_disable
from integrations.urlguard import UrlRefused, url_check

CLAIM_BATCH = 100
MAX_RETRY_AFTER = 24 * 3600
USER_AGENT = "power-crm-webhooks/1"


def retry_schedule() -> list[int]:
    return [int(s) for s in getattr(settings, "WEBHOOKS_RETRY_SCHEDULE", [5])]


@dataclass
class Claimed:
    delivery_id: int
    endpoint_id: int
    url: str
    secrets: list[str]
    msg_id: str
    body: str
    attempt: int


@dataclass
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int
    retry_after: int | None = None


def _body(event) -> str:
    """The message: Standard Webhooks' `type`, `timestamp` and `data` (the thin payload)."""
    return json.dumps(
        {"type": event.event_type, "timestamp": event.occurred_at.isoformat(), "data": event.payload},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def deliveries_claim(*, limit: int = CLAIM_BATCH, now=None) -> list[Claimed]:
    """Take up to `limit` due deliveries for this worker (see the module's docstring)."""
    now = now or timezone.now()
    lease = dt.timedelta(seconds=int(getattr(settings, "WEBHOOKS_LEASE_SECONDS", 120)))
    with transaction.atomic():
        query = WebhookDelivery.objects.due(now).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True, of=("self",))
        ids = list(query.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        rows = list(
            WebhookDelivery.objects.filter(pk__in=ids)
            .select_related("endpoint", "event")
            .order_by("next_attempt_at", "pk")
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(
            attempts=F("attempts") + 1, next_attempt_at=now + lease, last_attempt_at=now, updated_at=now
        )
    claimed = []
    for row in rows:
        endpoint = row.endpoint
        keys = [endpoint.secret]
        if (
            endpoint.previous_secret
            and endpoint.previous_secret_until
            and endpoint.previous_secret_until > now
        ):
            keys.append(endpoint.previous_secret)  # a rotation: both signatures, for 24 hours
        claimed.append(
            Claimed(
                delivery_id=row.pk,
                endpoint_id=endpoint.pk,
                url=endpoint.url,
                secrets=keys,
                msg_id=f"msg_{row.event.uid.hex}",
                body=_body(row.event),
                attempt=row.attempts + 1,
            )
        )
    return claimed


def signed_headers(*, msg_id: str, body: str, secrets: list[str], at: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers; one `v1,` signature per secret, space-separated."""
    signatures = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _retry_after(value: str | None) -> int | None:
    """Retry-After in seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(int(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0, min(int((when - timezone.now()).total_seconds()), MAX_RETRY_AFTER))


def send(claimed: Claimed, session: requests.Session) -> Outcome:
    """One HTTP POST; never raises for the receiver's faults."""
    start = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - start) * 1000)

    try:
        url_check(claimed.url)
    except UrlRefused as exc:
        return Outcome(None, f"refused: {exc}", took())
    headers = signed_headers(
        msg_id=claimed.msg_id, body=claimed.body, secrets=claimed.secrets, at=dt.datetime.now(tz=dt.UTC)
    )
    timeout = float(getattr(settings, "WEBHOOKS_TIMEOUT_SECONDS", 15))
    try:
        answer = session.post(
            claimed.url, data=claimed.body.encode(), headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.Timeout:
        return Outcome(None, "timeout", took())
    except requests.RequestException as exc:
        return Outcome(None, f"connection error: {type(exc).__name__}", took())
    answer.close()
    return Outcome(answer.status_code, "", took(), _retry_after(answer.headers.get("Retry-After")))


def _retryable(outcome: Outcome) -> bool:
    code = outcome.status_code
    if code is None:
        return not outcome.error.startswith("refused")
    return code == 429 or code >= 500


def _next_state(claimed: Claimed, outcome: Outcome, now, schedule: list[int]) -> dict:
    code = outcome.status_code
    if code is not None and 200 <= code < 300:
        return {"status": DeliveryStatus.SUCCEEDED, "delivered_at": now, "next_attempt_at": None}
    if _retryable(outcome) and claimed.attempt <= len(schedule):
        wait = outcome.retry_after if outcome.retry_after is not None else schedule[claimed.attempt - 1]
        return {"status": DeliveryStatus.PENDING, "next_attempt_at": now + dt.timedelta(seconds=wait)}
    if _retryable(outcome):
        return {"status": DeliveryStatus.EXHAUSTED, "next_attempt_at": None}
    return {"status": DeliveryStatus.FAILED, "next_attempt_at": None}


def record(results: list[tuple[Claimed, Outcome]]) -> list[str]:
    """Write a batch's tries and the deliveries' new states in one transaction: the tries in one
    INSERT, the deliveries that succeeded in one UPDATE (most of them), the others one by one.
    Turns off the endpoints that answered 410 or whose delivery is exhausted. Returns the statuses."""
    now = timezone.now()
    schedule = retry_schedule()
    states = [_next_state(claimed, outcome, now, schedule) for claimed, outcome in results]
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create(
            [
                DeliveryAttempt(
                    delivery_id=claimed.delivery_id,
                    at=now,
                    status_code=outcome.status_code,
                    error=outcome.error[:500],
                    duration_ms=outcome.duration_ms,
                )
                for claimed, outcome in results
            ]
        )
        succeeded = [
            c.delivery_id for (c, o), s in zip(results, states, strict=True) if s["status"] == "succeeded"
        ]
        if succeeded:
            WebhookDelivery.objects.filter(pk__in=succeeded).update(
                status=DeliveryStatus.SUCCEEDED,
                delivered_at=now,
                next_attempt_at=None,
                last_status_code=200,
                last_error="",
                updated_at=now,
            )
        for (claimed, outcome), state in zip(results, states, strict=True):
            if state["status"] == DeliveryStatus.SUCCEEDED:
                if outcome.status_code != 200:  # another 2xx: its own code in the log
                    WebhookDelivery.objects.filter(pk=claimed.delivery_id).update(
                        last_status_code=outcome.status_code
                    )
                continue
            WebhookDelivery.objects.filter(pk=claimed.delivery_id).update(
                last_status_code=outcome.status_code, last_error=outcome.error[:500], updated_at=now, **state
            )
            if outcome.status_code == 410:
                endpoint_disable(
                    endpoint_id=claimed.endpoint_id,
                    reason=_("The receiver answered 410 Gone: it wants no more events."),
                )
            elif state["status"] == DeliveryStatus.EXHAUSTED:
                endpoint_disable(
                    endpoint_id=claimed.endpoint_id,
                    reason=_("A delivery failed %(n)s times over the whole retry schedule (last: %(last)s).")
                    % {"n": claimed.attempt, "last": outcome.status_code or outcome.error},
                )
    return [state["status"] for state in states]


def deliveries_send_due(*, budget_seconds: float | None = None, limit: int = CLAIM_BATCH) -> dict[str, int]:
    """Claim, send and record due deliveries in batches until none is due or the time budget is
    spent; returns the counts per outcome."""
    budget = float(budget_seconds if budget_seconds is not None else settings.WEBHOOKS_TASK_SECONDS)
    concurrency = max(1, int(getattr(settings, "WEBHOOKS_CONCURRENCY", 8)))
    deadline = time.monotonic() + budget
    counts: dict[str, int] = {}
    with requests.Session() as session, ThreadPoolExecutor(concurrency) as pool:
        adapter = requests.adapters.HTTPAdapter(pool_connections=concurrency, pool_maxsize=concurrency)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        while time.monotonic() < deadline:
            batch = deliveries_claim(limit=limit)
            if not batch:
                break
            outcomes = list(pool.map(lambda c: send(c, session), batch))
            for status in record(list(zip(batch, outcomes, strict=True))):
                counts[str(status)] = counts.get(str(status), 0) + 1
    return counts
