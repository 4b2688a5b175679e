"""The SMS rate is one limit for every sender together (crm.common.sms.SharedRateLimiter): a turn is
taken from one database row, so two senders at once share the rate instead of each having it."""

import threading
import time

import pytest
from django.db import connection

from crm.common.models import RateSlot
from crm.common.sms import SharedRateLimiter

RATE = 20  # turns a second
TOLERANCE = 0.05  # seconds a sleep may overrun by


def _turns(limiter: SharedRateLimiter, count: int, into: list[float]) -> None:
    """The instants the limiter granted (what it promises; when a thread then runs is the OS's: on
    a busy machine a turn read from the clock afterwards can look late, its window short)."""
    for _ in range(count):
        into.append(limiter.wait())


def _within_the_rate(instants: list[float]) -> bool:
    """No RATE + 1 turns within one second: every turn is RATE turns' time after the RATE-th before."""
    instants = sorted(instants)
    return all(instants[i + RATE] - instants[i] >= 1.0 - TOLERANCE for i in range(len(instants) - RATE))


@pytest.mark.django_db
def test_one_sender_keeps_to_the_rate():
    instants: list[float] = []
    _turns(SharedRateLimiter("test", RATE), RATE + 10, instants)
    assert _within_the_rate(instants)
    assert RateSlot.objects.get(name="test").next_at > time.time()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_share_the_rate():
    # given two workers sending at the same time, each with its own limiter of the same name
    instants: list[float] = []

    def sender():
        try:
            _turns(SharedRateLimiter("sms-shared", RATE), RATE, instants)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then their 2 x RATE turns together take two seconds' worth of the rate, not one
    assert len(instants) == 2 * RATE
    assert _within_the_rate(instants)
    assert time.monotonic() - started >= (2 * RATE - 1) / RATE - TOLERANCE


@pytest.mark.django_db
def test_no_rate_is_no_wait():
    started = time.monotonic()
    for _ in range(50):
        SharedRateLimiter("free", 0).wait()
    assert time.monotonic() - started < 1.0
    assert not RateSlot.objects.filter(name="free").exists()
