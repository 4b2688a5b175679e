"""The SMS gateway as a component: one interface, a backend per provider (committee.md).

- `ConsoleBackend` (`make run`): writes each message to the console and accepts it;
- `HttpGatewayBackend`: a plain HTTP gateway: a JSON POST `{"message_id", "mobile", "text"}`
  signed with HMAC-SHA256 of `timestamp.body` under the provider's key (headers `X-Timestamp`,
  `X-Signature`), URL and key from the environment (SMS_GATEWAY_URL, SMS_GATEWAY_KEY).
  An Aliyun or Tencent backend is another class with the same `send`.

A backend never raises for the gateway's behaviour: it answers an `SmsResult`, `transient` when a
retry may succeed (a timeout, a refused connection, a 5xx, a 429) and not when the gateway refused
the message itself (a 4xx). The `message_id` goes with every attempt so that the gateway drops a
retry of a message it already took: a retried send is never a second message. Any app may send
through it; the messages and their retries are the sender's (notices.sms)."""

import hashlib
import hmac
import json
import logging
import sys
import time
from dataclasses import dataclass, field

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, FloatField, Value
from django.db.models.functions import Greatest
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsResult:
    accepted: bool
    transient: bool = False
    answer: dict = field(default_factory=dict)


class SmsBackend:
    def send(self, *, message_id: str, mobile: str, text: str) -> SmsResult:
        raise NotImplementedError


class ConsoleBackend(SmsBackend):
    """Prints the message (the console of `make run` shows what customers would receive)."""

    def send(self, *, message_id: str, mobile: str, text: str) -> SmsResult:
        sys.stdout.write(f"[SMS {message_id}] {mobile}: {text}\n")
        sys.stdout.flush()
        return SmsResult(accepted=True, answer={"console": True})


def signature(key: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 hex of `timestamp.body`: the gateway checks it and the timestamp's age."""
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class HttpGatewayBackend(SmsBackend):
    def __init__(self, url: str | None = None, key: str | None = None, timeout: float | None = None):
        self.url = url or settings.SMS_GATEWAY_URL
        self.key = key or settings.SMS_GATEWAY_KEY
        self.timeout = timeout or settings.SMS_GATEWAY_TIMEOUT
        # one connection for the whole batch (keep-alive): a sending task makes one backend and sends
        # hundreds of messages through it, where a connection (and TLS) per message would cost more
        # than the message
        self.session = requests.Session()

    def send(self, *, message_id: str, mobile: str, text: str) -> SmsResult:
        body = json.dumps(
            {"message_id": message_id, "mobile": mobile, "text": text}, ensure_ascii=False
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Timestamp": timestamp,
            "X-Signature": signature(self.key, timestamp, body),
        }
        try:
            response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            return SmsResult(accepted=False, transient=True, answer={"error": "timeout"})
        except requests.RequestException as exc:
            return SmsResult(accepted=False, transient=True, answer={"error": type(exc).__name__})
        try:
            answer = response.json()
        except ValueError:
            answer = {"body": response.text[:500]}
        if not isinstance(answer, dict):
            answer = {"body": answer}
        answer["http_status"] = response.status_code
        if 200 <= response.status_code < 300:
            return SmsResult(accepted=True, answer=answer)
        transient = response.status_code >= 500 or response.status_code == 429
        return SmsResult(accepted=False, transient=transient, answer=answer)


def sms_backend() -> SmsBackend:
    """The backend settings.SMS_BACKEND names (a dotted path)."""
    return import_string(settings.SMS_BACKEND)()


class SharedRateLimiter:
    """At most `per_second` sends a second from every sender together: each send takes the next free
    instant of the limit `name` from one database row (crm.common.models.RateSlot) and waits for it.
    The UPDATE comes first, so on PostgreSQL the row lock and on SQLite the write lock serialise the
    senders for the two statements only; call it outside a transaction, never while holding another
    lock. The gateway's rate is the provider's contract: several workers sending one notice's chunks
    at once keep inside it together."""

    def __init__(self, name: str, per_second: float):
        self.name = name
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._row_made = False  # the limit's row exists: made once per limiter, not per send

    def wait(self) -> float | None:
        """Wait for this send's turn; returns the instant granted (seconds since the epoch), None
        when there is no rate to keep."""
        from crm.common.models import RateSlot

        if not self.interval:
            return None
        if not self._row_made:
            RateSlot.objects.get_or_create(name=self.name)
            self._row_made = True
        with transaction.atomic():
            now = time.time()
            slots = RateSlot.objects.filter(name=self.name)
            now_value = Value(now, output_field=FloatField())
            slots.update(next_at=Greatest(F("next_at"), now_value) + self.interval)
            turn = slots.values_list("next_at", flat=True).get() - self.interval
        if turn > now:
            time.sleep(turn - now)
        return max(turn, now)
