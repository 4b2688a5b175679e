"""Authentication hardening: brute-force lockout, password rules, a fresh session at log-in,
deactivation ending sessions and tokens, throttling, and the security headers."""

from importlib import import_module

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "correct-horse-battery"  # tests/factories.py UserFactory


def _fail_login_page(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        client.post("/login/", {"username": username, "password": "wrong"})


def _fail_token(client: APIClient, username: str, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        client.post(
            TOKEN_URL, {"username": username, "password": "wrong"}, format="json", REMOTE_ADDR=address
        )


def test_login_page_locks_a_username_after_the_failure_limit(world):
    # given a browser that got the password wrong as often as allowed
    client = Client()
    _fail_login_page(client, "manager_a", settings.AXES_FAILURE_LIMIT)
    # when the right password comes next
    response = client.post("/login/", {"username": "manager_a", "password": PASSWORD})
    # then it is refused with the lockout page and no session is opened
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_login_page_accepts_the_password_before_the_limit(world):
    client = Client()
    _fail_login_page(client, "manager_a", settings.AXES_FAILURE_LIMIT - 1)
    response = client.post("/login/", {"username": "manager_a", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.manager_a.user.pk)


def test_a_successful_login_resets_the_failure_count(world):
    client = Client()
    _fail_login_page(client, "manager_a", settings.AXES_FAILURE_LIMIT - 1)
    client.post("/login/", {"username": "manager_a", "password": PASSWORD})
    assert not AccessAttempt.objects.filter(username="manager_a", failures_since_start__gt=0).exists()


def test_token_endpoint_locks_a_username_with_429(world):
    # given an integration client that guessed wrong as often as allowed
    client = APIClient()
    _fail_token(client, "billing", settings.AXES_FAILURE_LIMIT)
    # when it sends the right password
    response = client.post(
        TOKEN_URL, {"username": "billing", "password": PASSWORD}, format="json", REMOTE_ADDR="10.0.0.1"
    )
    # then the answer is the API's 429 and no token is issued
    assert response.status_code == 429
    assert response.json()["detail"]
    assert not Token.objects.filter(user=world.integration).exists()


def test_lockout_is_by_username_and_address_together(world):
    # given billing locked from one address
    client = APIClient()
    _fail_token(client, "billing", settings.AXES_FAILURE_LIMIT, address="10.0.0.1")
    # when the same user signs in from another address
    response = client.post(
        TOKEN_URL, {"username": "billing", "password": PASSWORD}, format="json", REMOTE_ADDR="10.0.0.2"
    )
    # then that address is not locked
    assert response.status_code == 200


def test_lockout_ignores_a_forwarded_address_the_client_writes(world):
    client = APIClient()
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            TOKEN_URL,
            {"username": "billing", "password": "wrong"},
            format="json",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
    response = client.post(
        TOKEN_URL,
        {"username": "billing", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )
    assert response.status_code == 429


@pytest.mark.parametrize(
    ("password", "reason"),
    [("Xk3!short", "password_too_short"), ("password1234", "password_too_common")],
)
def test_password_rules_refuse_short_and_common_passwords(db, password, reason):
    user = UserFactory(username="newcomer")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=user)
    assert reason in {error.code for error in refused.value.error_list}


def test_password_rules_accept_a_long_uncommon_password(db):
    validate_password("glacier-lantern-quota-41", user=UserFactory(username="newcomer"))


def test_login_starts_a_new_session(world):
    # given a browser with an anonymous session
    client = Client()
    client.get("/login/")
    session = client.session
    session["planted"] = "by an attacker"
    session.save()
    before = session.session_key
    # when it logs in
    client.post("/login/", {"username": "manager_a", "password": PASSWORD})
    # then the session key has changed and the old one is gone
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()


def test_deactivating_a_user_deletes_their_tokens_and_sessions(world):
    # given manager A signed in in a browser and holding a token; manager B signed in too
    user = world.manager_a.user
    browser, other = Client(), Client()
    browser.post("/login/", {"username": "manager_a", "password": PASSWORD})
    other.post("/login/", {"username": "manager_b", "password": PASSWORD})
    Token.objects.create(user=user)
    # when an administrator deactivates manager A
    user.is_active = False
    user.save()
    # then A's token and session are gone and B's session lives on
    assert not Token.objects.filter(user=user).exists()
    assert browser.get("/").status_code == 302
    assert not Session.objects.filter(session_key=browser.session.session_key).exists()
    assert other.get("/").status_code == 200


def test_deactivating_a_user_drops_their_session_from_the_session_cache(world):
    # given manager A signed in: the session engine keeps a copy of the session in the cache
    store = import_module(settings.SESSION_ENGINE).SessionStore
    browser = Client()
    browser.post("/login/", {"username": "manager_a", "password": PASSWORD})
    key = browser.session.session_key
    assert store().exists(key)
    # when an administrator deactivates manager A
    world.manager_a.user.is_active = False
    world.manager_a.user.save()
    # then neither the database nor the cache still knows the session
    assert not store().exists(key)


def test_deactivated_users_token_no_longer_authenticates(world, api):
    client = api(world.integration)
    world.integration.is_active = False
    world.integration.save()
    assert client.get("/api/v1/customers/").status_code == 401


def test_saving_an_active_user_keeps_their_token(world):
    token = Token.objects.create(user=world.integration)
    world.integration.full_name = "营销系统二期"
    world.integration.save()
    assert Token.objects.filter(pk=token.pk).exists()


def test_revoked_token_no_longer_authenticates(world, api):
    client = api(world.integration)
    assert client.delete(TOKEN_URL).status_code == 204
    assert client.get("/api/v1/customers/").status_code == 401


@pytest.fixture
def throttle_rates(settings):
    """Set some throttle rates for one test. DRF reads the rates into the throttle class when it
    loads, and keeps the counts in the cache: both are reset before and after."""
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    saved = SimpleRateThrottle.THROTTLE_RATES

    def set_rates(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }
        SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES

    cache.clear()
    yield set_rates
    SimpleRateThrottle.THROTTLE_RATES = saved
    cache.clear()


def test_token_endpoint_is_throttled(world, throttle_rates):
    throttle_rates(auth="2/min")
    client = APIClient()
    answers = [
        client.post(TOKEN_URL, {"username": "billing", "password": PASSWORD}, format="json").status_code
        for _ in range(3)
    ]
    assert answers == [200, 200, 429]


def test_imports_are_throttled(world, api, throttle_rates):
    throttle_rates(imports="1/min")
    client = api(world.admin)
    answers = [client.post("/api/v1/imports/", {}, format="multipart").status_code for _ in range(2)]
    assert answers[0] != 429
    assert answers[1] == 429


def test_pages_carry_a_content_security_policy_without_unsafe_inline(client):
    response = client.get("/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"


def test_api_docs_inline_scripts_carry_the_policys_nonce(world, client):
    client.force_login(world.admin)
    response = client.get("/api/v1/docs/")
    nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert response.content.decode().count(f'nonce="{nonce}"') >= 3
