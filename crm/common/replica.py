"""Reads off the primary (docs/scale.md, "Reads off the primary").

With DATABASE_REPLICA_URL set, the settings add a `replica` database, `ReplicaRouter` and
`PinAfterWriteMiddleware`. A query reads the replica only inside `replica_reads(request)`, which
this small, explicit set of views enters for the reads of their answer (and no other):

- the customer list: `GET /api/v1/customers/` (`CustomerViewSet`'s list action, by
  `ReplicaListMixin`; a customer's own endpoints read the primary) and its page
  (`customers.views.customer_list`);
- a report: training compliance (`training.views.compliance_report`);
- the exports: training compliance (`training.views.compliance_export`), the appraisal review
  (`appraisal.views.export`) and the industry trends (`forecasts.views.industry_export`).

Everything else reads the primary: every other view and what it reads before it writes, the user,
session and permission checks made before the view (authentication, `login_required`,
`permission_required`), anything inside `transaction.atomic()`, every Celery task, and all reads of
a user who made a successful POST, PUT, PATCH or DELETE in the last DATABASE_REPLICA_PIN_SECONDS
(pinned after write, below). Writes always go to the primary, the save of an object that was read
from the replica included; the replica gets no migrations.

The pin is kept in the cache (Redis in production, which every web process shares), by user: it
holds for the user's API token as much as for their browser, and for every tab and device of theirs.
Without a replica none of this is installed, and `replica_reads` does nothing (not even a cache
look-up)."""

import contextvars
import functools
import logging
import time
from contextlib import contextmanager

from celery import current_task
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
ROUTER = "crm.common.replica.ReplicaRouter"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

logger = logging.getLogger(__name__)

# True inside `replica_reads` for a request that may read the replica; a context variable, so it
# belongs to the thread (or the asyncio task) serving that request and to nothing else.
_replica_reads = contextvars.ContextVar("replica_reads", default=False)

# The clock of the pins: seconds since the epoch, the same in every web process (tests move it).
clock = time.time


def configured() -> bool:
    """Whether reads may go to a replica: the settings install the router with the `replica`
    database when DATABASE_REPLICA_URL is set (crm/settings/base.py)."""
    return ROUTER in settings.DATABASE_ROUTERS


def _pin_key(user) -> str:
    return f"replica-pin:{user.pk}"


def pin_to_primary(user) -> None:
    """Send `user`'s reads to the primary for DATABASE_REPLICA_PIN_SECONDS, from now."""
    seconds = settings.DATABASE_REPLICA_PIN_SECONDS
    try:
        cache.set(_pin_key(user), clock() + seconds, timeout=seconds + 1)
    except Exception:  # a cache that is down: `is_pinned` then answers True, so reads stay primary
        logger.exception("could not pin user %s to the primary database", user.pk)


def is_pinned(user) -> bool:
    """Whether `user` wrote within the last DATABASE_REPLICA_PIN_SECONDS (or the cache cannot say)."""
    try:
        until = cache.get(_pin_key(user))
    except Exception:
        logger.exception("could not read the primary-database pin of user %s", user.pk)
        return True
    return until is not None and until > clock()


@contextmanager
def replica_reads(request):
    """Inside: the reads of this request go to the replica, if there is one, the request is a safe
    one (GET, HEAD, OPTIONS) and its user is not pinned to the primary. Yields whether they do."""
    user = getattr(request, "user", None)
    use = (
        request.method in SAFE_METHODS
        and configured()
        and not (user is not None and user.is_authenticated and is_pinned(user))
    )
    token = _replica_reads.set(use)
    try:
        yield use
    finally:
        _replica_reads.reset(token)


def replica_reads_view(view):
    """A function view whose answer is read inside `replica_reads`. Goes below `login_required` and
    `permission_required`, so that they check the user against the primary."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with replica_reads(request):
            return view(request, *args, **kwargs)

    return wrapper


class ReplicaListMixin:
    """A DRF viewset whose list action reads inside `replica_reads`; DRF has authenticated the user
    and checked its permissions (against the primary) before the action runs, and the answer's data
    is serialized inside it."""

    def list(self, request, *args, **kwargs):
        with replica_reads(request):
            return super().list(request, *args, **kwargs)


class ReplicaRouter:
    """The replica for the reads inside `replica_reads`, except inside a transaction or a Celery task;
    the primary for every other read and every write. The two hold the same rows, so relations
    between their objects are allowed; migrations run on the primary only."""

    def db_for_read(self, model, **hints):
        if (
            _replica_reads.get()
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
            and not current_task  # a task run in-process (eager) inside a request
        ):
            return REPLICA
        # explicit: Django's fallback would be the database an instance was read from
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS  # explicit, as for reads: an object read from the replica saves here

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == REPLICA:
            return False
        return None


class PinAfterWriteMiddleware:
    """A request with an unsafe method (POST, PUT, PATCH, DELETE) that succeeded (an answer below
    400) pins its user to the primary (`pin_to_primary`) before the answer leaves, so the user's
    next reads see what they wrote however far the replica lags. The user is read after the view,
    so a user DRF authenticated by token, or one who just logged in, is the one pinned."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            request.method not in SAFE_METHODS
            and response.status_code < 400
            and user is not None
            and user.is_authenticated
        ):
            pin_to_primary(user)
        return response
