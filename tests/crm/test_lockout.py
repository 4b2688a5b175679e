"""The brute-force lockout beyond one username from one address (tests/crm/test_security.py has
that): an address guessing many usernames (password spraying) is locked on its own, and an attempt
during a lock-out does not extend it."""

import datetime as dt

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import F
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "correct-horse-battery"  # tests/factories.py UserFactory
SPRAYER = "10.0.0.66"


def _spray_token(count: int, address: str = SPRAYER) -> None:
    """One wrong password each for `count` different usernames: never the per-username limit."""
    client = APIClient()
    for n in range(count):
        client.post(TOKEN_URL, {"username": f"guess{n}", "password": "wrong"}, REMOTE_ADDR=address)


def _token_log_in(address: str, username: str = "billing"):
    return APIClient().post(TOKEN_URL, {"username": username, "password": PASSWORD}, REMOTE_ADDR=address)


def _page_log_in(client: Client, username: str, password: str, address: str):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def _lock_started(minutes_ago: int) -> None:
    """Move every recorded failure this many minutes into the past."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(minutes=minutes_ago))


def test_the_address_limit_is_well_above_the_username_limit():
    assert settings.LOGIN_ADDRESS_FAILURE_LIMIT == 30 > settings.AXES_FAILURE_LIMIT


def test_an_address_spraying_usernames_on_the_token_endpoint_is_locked_for_every_username(world):
    # given an address that got one password wrong for each of as many usernames as the address
    # limit allows in all
    _spray_token(settings.LOGIN_ADDRESS_FAILURE_LIMIT)
    # when a real user's right password comes from that address
    response = _token_log_in(SPRAYER)
    # then it is refused with the API's 429 and no token is issued
    assert response.status_code == 429
    assert not Token.objects.filter(user=world.integration).exists()


def test_an_address_below_its_limit_still_logs_in(world):
    _spray_token(settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1)
    assert _token_log_in(SPRAYER).status_code == 200


def test_the_address_lock_leaves_other_addresses_alone(world):
    _spray_token(settings.LOGIN_ADDRESS_FAILURE_LIMIT)
    assert _token_log_in("10.0.0.67").status_code == 200


def test_an_address_spraying_usernames_on_the_log_in_page_is_locked(world):
    # given an address that tried many usernames on the log-in page, each once
    client = Client()
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        _page_log_in(client, f"guess{n}", "wrong", SPRAYER)
    # when manager A's right password comes from it
    response = _page_log_in(client, "manager_a", PASSWORD, SPRAYER)
    # then it answers the lockout page and opens no session
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_success_from_the_address_does_not_reset_the_address_count(world):
    # given an address one failure short of its limit, from which someone then logs in rightly
    _spray_token(settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1)
    assert _token_log_in(SPRAYER, username="billing").status_code == 200
    # when one more username is guessed from it
    _spray_token(1)
    # then the address is locked (the success reset only billing's own count)
    assert _token_log_in(SPRAYER, username="billing").status_code == 429


def test_the_address_lock_ends_after_the_cool_off(world):
    _spray_token(settings.LOGIN_ADDRESS_FAILURE_LIMIT)
    _lock_started(minutes_ago=settings.AXES_COOLOFF_TIME // dt.timedelta(minutes=1) + 1)
    assert _token_log_in(SPRAYER).status_code == 200


def test_the_right_password_during_a_lock_out_does_not_extend_it(world):
    # given billing locked out from an address ten minutes ago
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(TOKEN_URL, {"username": "billing", "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    _lock_started(minutes_ago=10)
    # when the right password comes during the lock-out, it is refused
    assert _token_log_in("10.0.0.1").status_code == 429
    # then the lock still ends when the cool-off after the last counted failure is over
    _lock_started(minutes_ago=settings.AXES_COOLOFF_TIME // dt.timedelta(minutes=1) - 10 + 1)
    assert _token_log_in("10.0.0.1").status_code == 200


def test_a_wrong_password_during_a_lock_out_is_not_counted(world):
    # given manager A locked out on the log-in page from an address
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _page_log_in(client, "manager_a", "wrong", "10.0.0.1")
    before = AccessAttempt.objects.get(username="manager_a")
    # when another guess comes during the lock-out
    assert _page_log_in(client, "manager_a", "wrong", "10.0.0.1").status_code == 429
    # then the record of failures, and with it the end of the lock-out, is unchanged
    after = AccessAttempt.objects.get(username="manager_a")
    assert (after.failures_since_start, after.attempt_time) == (
        before.failures_since_start,
        before.attempt_time,
    )
