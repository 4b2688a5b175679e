"""The transaction of one chunk of a background job, with its statements bounded, and how long a run
may go without moving before it is shown as stalled.

Without bounds, a chunk waiting on a lock someone else holds (a long transaction in psql, a stuck
request, another job) waits as long as that lock is held, while its run reads "running" and the
health check "ok". In `chunk_transaction()` every statement on PostgreSQL waits at most
CHUNK_LOCK_TIMEOUT_MS for a lock and runs at most CHUNK_STATEMENT_TIMEOUT_MS (SET LOCAL: for this
transaction only, so the web's requests and a test's own transaction keep theirs): a blocked chunk
fails with an OperationalError, its transaction rolls back whole, and the job's task retries it as
any transient database error (or the runs' sweep sends it again). A run that has not moved for
RUN_STALLED_AFTER_SECONDS (by default twice the longest a chunk's statement may take) is shown as
stalled, with for how long, on its page and by /api/v1/health/ (`stalled_runs`).

SQLite has one writer at a time and its own busy timeout (settings.DATABASES): nothing to bound."""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from crm.common.models import RunRecord, RunState

STALLED_LISTED = 20  # runs listed per table by the health check; more are counted, not listed


def statement_bounds(using: str = DEFAULT_DB_ALIAS) -> None:
    """Bound the statements of the transaction in progress (one round trip; PostgreSQL only)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
            [f"{settings.CHUNK_LOCK_TIMEOUT_MS}ms", f"{settings.CHUNK_STATEMENT_TIMEOUT_MS}ms"],
        )


@contextmanager
def chunk_transaction(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """`transaction.atomic()` for one chunk of a job, its statements bounded (module docstring).
    Usable as a decorator too: `@chunk_transaction()`."""
    with transaction.atomic(using=using):
        statement_bounds(using)
        yield


def stalled_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.RUN_STALLED_AFTER_SECONDS)


def run_stalled_for(run: RunRecord, *, now: dt.datetime | None = None) -> dt.timedelta | None:
    """How long a running run has gone without moving, when that is longer than its chunks take."""
    if run.status != RunState.RUNNING or run.updated_at is None:
        return None
    idle = (now or timezone.now()) - run.updated_at
    return idle if idle > stalled_after() else None


def run_tables() -> list[type[RunRecord]]:
    """Every run table (the concrete RunRecord models), whichever app holds it."""
    return [model for model in apps.get_models() if issubclass(model, RunRecord)]


def stalled_runs(*, now: dt.datetime | None = None) -> list[dict]:
    """The runs that have stalled, most stalled first: table, id and seconds without moving. One
    query per run table."""
    now = now or timezone.now()
    found = []
    for model in run_tables():
        rows = (
            model.objects.filter(status=RunState.RUNNING, updated_at__lt=now - stalled_after())
            .order_by("updated_at")
            .values_list("pk", "updated_at")[:STALLED_LISTED]
        )
        found += [
            {"run": model._meta.label_lower, "id": pk, "stalled_seconds": int((now - moved).total_seconds())}
            for pk, moved in rows
        ]
    return sorted(found, key=lambda row: -row["stalled_seconds"])
