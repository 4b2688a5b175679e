"""What the accounts app does for security beyond Django's own: the brute-force lockout (the
address and username it counts by, and its limit per address), and ending every session and token
of a user who may no longer sign in."""

from importlib import import_module

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from crm.accounts.tokens import user_end_tokens


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


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with a second limit: an address with
    LOGIN_ADDRESS_FAILURE_LIMIT failed log-ins within the cool-off, whatever the usernames, is
    locked for every username (password spraying tries each username only a few times, under the
    per-username limit). Every log-in path asks axes, so the log-in page, the admin and auth/token/
    all keep both limits.

    Why not axes' own settings: AXES_LOCKOUT_PARAMETERS can count several combinations, but compares
    them all with the one AXES_FAILURE_LIMIT (a callable limit is not told which combination it is
    asked about), and on a success AXES_RESET_ON_SUCCESS deletes the records of every combination,
    so with the address among them anyone holding an account could clear their address's count by
    logging in. Here a success resets only that username's count from that address."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # axes compares this with AXES_FAILURE_LIMIT, both before checking a password and after a
        # failure; an address past its own limit answers as a username past the limit would.
        failures = super().get_failures(request, credentials)
        if address_failures(request) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(failures, get_failure_limit(request, credentials))
        return failures


def address_failures(request: HttpRequest) -> int:
    """Failed log-ins from the request's address within the cool-off, for any username (none
    without an address: counting every such request together would lock out everyone)."""
    if not request.axes_ip_address:
        return 0
    recent = AccessAttempt.objects.filter(
        ip_address=request.axes_ip_address, attempt_time__gte=get_cool_off_threshold(request)
    )
    return recent.aggregate(total=Sum("failures_since_start"))["total"] or 0


def user_end_sessions(*, user) -> int:
    """Delete the user's API tokens and the browser sessions signed in as them; returns how many
    sessions ended. Sessions are stored signed and encoded, so the live ones are read to find the
    user's: a count that stays small next to the number of people who can sign in."""
    user_end_tokens(user=user)
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
