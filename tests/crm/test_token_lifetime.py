"""API tokens end: when they are older than API_TOKEN_TTL_DAYS, and when their user's password
changes (the user's own admin password page, an administrator's, or set_password in a service), but
not when Django only re-hashes the same password at log-in."""

import datetime as dt

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "correct-horse-battery"  # tests/factories.py UserFactory
NEW_PASSWORD = "glacier-lantern-quota-41"


def _client(token: str | None = None, **headers) -> APIClient:
    client = APIClient(**headers)
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _aged_token(user, days: float) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - dt.timedelta(days=days))
    return token


def _log_in(username: str = "billing", password: str = PASSWORD):
    return _client().post(TOKEN_URL, {"username": username, "password": password}, format="json")


# ---------------------------------------------------------------- expiry
def test_a_token_older_than_its_lifetime_answers_401_saying_it_expired(world):
    # given the integration client's token issued a day more than the lifetime ago
    token = _aged_token(world.integration, settings.API_TOKEN_TTL_DAYS + 1)
    # when it is used, by a client reading Chinese and by one reading English
    chinese = _client(token.key).get("/api/v1/customers/")
    english = _client(token.key, HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/customers/")
    # then both are refused with 401, saying what happened and what to do
    assert chinese.status_code == english.status_code == 401
    assert chinese.json()["detail"] == "令牌已过期，请通过 auth/token/ 重新获取。"
    assert english.json()["detail"] == "Token has expired; ask auth/token/ for a new one."
    assert chinese["WWW-Authenticate"] == "Token"


def test_a_token_inside_its_lifetime_authenticates(world):
    token = _aged_token(world.integration, settings.API_TOKEN_TTL_DAYS - 1)
    assert _client(token.key).get("/api/v1/customers/").status_code == 200


def test_the_token_lifetime_is_a_setting(world, settings):
    # given a lifetime of one day and a token two days old
    settings.API_TOKEN_TTL_DAYS = 1
    token = _aged_token(world.integration, 2)
    # when it is used; then it has expired
    assert _client(token.key).get("/api/v1/customers/").status_code == 401


def test_the_default_token_lifetime_is_90_days():
    assert settings.API_TOKEN_TTL_DAYS == 90


def test_logging_in_after_expiry_issues_a_new_token_and_deletes_the_old(world):
    # given an expired token
    old = _aged_token(world.integration, settings.API_TOKEN_TTL_DAYS + 1)
    # when the client logs in again
    response = _log_in()
    # then it gets a new token that works, and the old one is gone
    assert response.status_code == 200
    new = response.json()["token"]
    assert new != old.key
    assert not Token.objects.filter(key=old.key).exists()
    assert _client(new).get("/api/v1/customers/").status_code == 200


def test_logging_in_before_expiry_returns_the_existing_token(world):
    # given a token near the end of its lifetime
    token = _aged_token(world.integration, settings.API_TOKEN_TTL_DAYS - 1)
    issued = Token.objects.get(pk=token.pk).created
    # when the client logs in again; then it gets the same token, its lifetime not renewed
    assert _log_in().json() == {"token": token.key}
    assert Token.objects.get(pk=token.pk).created == issued


# ---------------------------------------------------------------- password changes
def test_changing_a_password_in_a_service_ends_the_users_tokens(world):
    # given the integration client holding a token
    token = _aged_token(world.integration, 0)
    # when its password is changed and saved, as a service or the shell does
    world.integration.set_password(NEW_PASSWORD)
    world.integration.save(update_fields=["password"])
    # then the token no longer authenticates
    assert not Token.objects.filter(user=world.integration).exists()
    assert _client(token.key).get("/api/v1/customers/").status_code == 401


def test_an_administrator_changing_a_users_password_in_the_admin_ends_their_tokens(world):
    # given the integration client holding a token, and an administrator in the admin
    token = _aged_token(world.integration, 0)
    admin = Client()
    admin.force_login(world.admin)
    # when the administrator sets a new password for the integration client
    response = admin.post(
        f"/admin/accounts/user/{world.integration.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    # then the password has changed and the token has ended
    assert response.status_code == 302, response.content[:500]
    world.integration.refresh_from_db()
    assert world.integration.check_password(NEW_PASSWORD)
    assert not Token.objects.filter(key=token.key).exists()


def test_changing_ones_own_password_ends_ones_tokens_and_keeps_the_session(world):
    # given the administrator signed in to the admin and holding a token
    token = _aged_token(world.admin, 0)
    browser = Client()
    browser.force_login(world.admin)
    # when they change their own password on the password-change page
    response = browser.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    # then their token has ended, and this browser is still signed in
    assert response.status_code == 302, response.content[:500]
    assert not Token.objects.filter(key=token.key).exists()
    assert browser.get("/").status_code == 200


def test_a_password_change_leaves_other_users_tokens_alone(world):
    other = _aged_token(world.admin, 0)
    world.integration.set_password(NEW_PASSWORD)
    world.integration.save()
    assert Token.objects.filter(key=other.key).exists()


def test_re_hashing_the_same_password_at_log_in_keeps_the_token(world):
    # given the integration client's password stored with a hash Django upgrades at the next log-in
    # (a salt too short for today's rules), and its token
    world.integration.password = make_password(PASSWORD, salt="ab", hasher="md5")
    world.integration.save(update_fields=["password"])
    token = _aged_token(world.integration, 0)
    # when it logs in: Django re-hashes the password, which is not a change of password
    response = _log_in()
    # then the hash was upgraded and the same token comes back
    world.integration.refresh_from_db()
    assert "$ab$" not in world.integration.password
    assert response.json() == {"token": token.key}
