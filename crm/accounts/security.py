"""What the accounts app does for security beyond Django's own: the address brute-force lockout
counts by, and ending every session and token of a user who may no longer sign in."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authtoken.models import Token


def client_address(request: HttpRequest) -> str | None:
    """The address a log-in attempt came from: the connection's, never a header the client writes
    (X-Forwarded-For would let an attacker pick a fresh address for every guess)."""
    return request.META.get("REMOTE_ADDR")


# The lockout table's username column holds 255 characters; no username of ours is longer than 150.
ATTEMPT_USERNAME_MAX = 150


def attempted_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username a log-in attempt named, cut to what a username can be: a megabyte typed into the
    log-in form (whose field length Django checks only after it has tried to authenticate) must be
    counted as a failed attempt, not break the lockout's own bookkeeping."""
    if credentials:
        value = credentials.get("username")
    else:
        value = getattr(request, "data", request.POST).get("username")
    return value[:ATTEMPT_USERNAME_MAX] if isinstance(value, str) else value


def user_end_sessions(*, user) -> int:
    """Delete the user's API tokens and the browser sessions signed in as them; returns how many
    sessions ended. Sessions are stored signed and encoded, so the live ones are read to find the
    user's: a count that stays small next to the number of people who can sign in."""
    Token.objects.filter(user_id=user.pk).delete()
    own = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk)
    ]
    Session.objects.filter(pk__in=own).delete()
    # A cached session engine would still answer from its cache: drop those copies too.
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if hasattr(store, "cache_key_prefix"):
        caches[settings.SESSION_CACHE_ALIAS].delete_many([store.cache_key_prefix + key for key in own])
    return len(own)
