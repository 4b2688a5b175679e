"""The chunks of a run as tasks of their own, which any worker takes.

A chunked job done by one task runs on one worker however many there are. Here the run's start plans
its chunks (primary-key ranges) as RunChunk rows, in the same transaction, and one message per chunk
is sent; each worker takes the next. A chunk's transaction (crm.common.chunks.chunk_transaction)
locks the chunk's row, does the work, adds the chunk's counts to the run, marks the row done and, if
no chunk of the run is left undone, finishes the run and moves on the chain that waits for it
(crm.common.chains.fan_in): all or nothing. So a chunk is never done twice (a second message for it
finds the row done), the order and the number of workers change nothing, and the run finishes once.

Why it finishes exactly once: every chunk takes the run's row lock before it counts the chunks left
undone, so the counts of two chunks ending together are taken one after the other, and the second
sees the first's commit (READ COMMITTED: each statement sees what committed before it began). The
lock is FOR NO KEY UPDATE, which does not conflict with the key-share locks the chunks' own inserts
take on the run through their foreign keys (FOR UPDATE would deadlock two chunks on them). The chain
step that planned the chunks takes the same lock before it records that it waits
(chains._wait_for): either it sees the run finished, or the last chunk sees the chain waiting.

A chunk whose worker died (its message unacknowledged until Redis' visibility timeout) or whose
message was lost is sent again by the runs' sweep (crm.jobs.runs_sweep; `left_behind` below), as a
chain's step is: not moved within the grace, and neither a live worker nor the broker's queue
holding its message.

Each kind of run registers its work (`register_fan`, in the module that does it): `work(run_id, lo, hi)` runs
inside the chunk's transaction and adds the chunk's counts to the run (locking the run's row, with
`lock_run`, only after its heavy statements, so chunks overlap, and `chunk_counted`); the last
chunk's transaction marks the run done (`finish_run`); `failed(run_id, error)` records a chunk that
failed for good."""

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from celery import shared_task
from django.apps import apps
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from crm.common import chains
from crm.common.chunks import chunk_transaction
from crm.common.hooks import BROKER_AWAY
from crm.common.models import RunChunk, RunRecord, RunState

logger = logging.getLogger(__name__)
TASK = "crm.common.fanout.run_chunk_task"


@dataclass(frozen=True)
class Fan:
    work: Callable[..., object]
    failed: Callable[..., object] | None = None


FANS: dict[str, Fan] = {}


def register_fan(model: str, fan: Fan) -> Fan:
    """`model`: the run table, "app_label.ModelName" (its label_lower is the key)."""
    FANS[model.lower()] = fan
    return fan


def label(run: RunRecord | type[RunRecord]) -> str:
    return run._meta.label_lower


def lock_run(run_label: str, run_id: int) -> RunRecord:
    """The run's row, locked for the rest of the transaction (module docstring: why NO KEY)."""
    return apps.get_model(run_label).objects.select_for_update(no_key=True).get(pk=run_id)


def chunk_counted(run: RunRecord) -> None:
    """Save a run (locked, its counts added by `work`) one chunk further: `chunks_done`, and
    `last_pk`, the id up to which every chunk is done."""
    run.chunks_done += 1
    run.last_pk = done_up_to(label(run), run.pk, upto=run.max_pk or 0)
    run.save()


def finish_run(run_label: str, run_id: int) -> None:
    now = timezone.now()
    apps.get_model(run_label).objects.filter(pk=run_id).update(
        status=RunState.DONE, finished_at=now, updated_at=now
    )


# ---------------------------------------------------------------- planning
def pk_bounds(table: str, *, after: int = 0, upto: int, size: int) -> list[tuple[int, int]]:
    """The ranges (lo, hi] of `size` rows each that cover the ids of `table` after `after` up to
    `upto`, from one scan of its primary key. `table` is a model's db_table (the caller's constant)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM {table} "  # noqa: S608  # nosec B608
            "WHERE id > %s AND id <= %s) t WHERE n %% %s = 0 ORDER BY id",
            [after, upto, size],
        )
        ends = [row[0] for row in cursor.fetchall()]
    bounds, lo = [], after
    for hi in ends:
        bounds.append((lo, hi))
        lo = hi
    if lo < upto:
        bounds.append((lo, upto))
    return bounds


def planned(run: RunRecord) -> bool:
    return RunChunk.objects.filter(run_label=label(run), run_id=run.pk).exists()


def plan(run: RunRecord, *, table: str, size: int) -> None:
    """Plan a running run's chunks once (in the caller's transaction, its row locked): the ids of
    `table` after `run.last_pk` (0 for a new run; a run that was running before its chunks were
    planned, while this version was deployed, resumes there) up to `run.max_pk`. A run with nothing
    to chunk is done at once."""
    if planned(run):
        return
    bounds = pk_bounds(table, after=run.last_pk, upto=run.max_pk or 0, size=size)
    if bounds:
        chunks_plan(run, bounds)
    else:
        run.status, run.finished_at = RunState.DONE, timezone.now()
        run.save(update_fields=["status", "finished_at", "updated_at"])


def dispatch(run: RunRecord) -> chains.FannedOut | None:
    """Send a started run's undone chunks to the workers; what a chain's step returns to wait on
    them (None: the run is not running, nothing to wait for)."""
    if run.status != RunState.RUNNING:
        return None
    with transaction.atomic():
        chunks_send(list(undone(label(run), run.pk).values_list("pk", flat=True)))
    return chains.FannedOut(label(run), run.pk)


def chunks_plan(run: RunRecord, bounds: list[tuple[int, int]]) -> None:
    """Record the run's chunks, in the caller's transaction (the run's start): once, as the caller
    checks with `planned` (a resumed start plans nothing more)."""
    RunChunk.objects.bulk_create(
        RunChunk(run_label=label(run), run_id=run.pk, index=i, lo=lo, hi=hi)
        for i, (lo, hi) in enumerate(bounds)
    )


def unplanned(runs):
    """The runs of a QuerySet that have no chunks yet (a run with chunks is swept chunk by chunk)."""
    return runs.exclude(pk__in=RunChunk.objects.filter(run_label=label(runs.model)).values("run_id"))


def undone(run_label: str, run_id: int):
    return RunChunk.objects.filter(run_label=run_label, run_id=run_id, done_at__isnull=True)


def done_up_to(run_label: str, run_id: int, *, upto: int) -> int:
    """The id up to which every chunk is done (chunks below an undone one may still be running)."""
    first = undone(run_label, run_id).order_by("index").values_list("lo", flat=True).first()
    return upto if first is None else first


# ---------------------------------------------------------------- doing a chunk
def chunk_run(chunk_id: int) -> bool:
    """Do one chunk, if it is not done and its run is running; False when there was nothing to do."""
    with chunk_transaction():
        chunk = RunChunk.objects.select_for_update().filter(pk=chunk_id).first()
        if chunk is None or chunk.done_at is not None:
            return False
        model = apps.get_model(chunk.run_label)
        if not model.objects.filter(pk=chunk.run_id, status=RunState.RUNNING).exists():
            return False  # the run failed (or was given up) meanwhile
        fan = FANS[chunk.run_label]
        # Marked first, so that `work` sees its own chunk done (all or nothing: one transaction).
        chunk.done_at = timezone.now()
        chunk.save(update_fields=["done_at", "updated_at"])
        fan.work(run_id=chunk.run_id, lo=chunk.lo, hi=chunk.hi)
        lock_run(chunk.run_label, chunk.run_id)  # taken by `work` already, as a rule: taken again, no cost
        if not undone(chunk.run_label, chunk.run_id).exists():
            finish_run(chunk.run_label, chunk.run_id)
            chains.fan_in(chains.FannedOut(chunk.run_label, chunk.run_id))
        return True


def run_inline(run_label: str, run_id: int) -> None:
    """Do the run's undone chunks in this process, one after the other (a test, a benchmark, a
    command): the same chunks the workers would do, with the same end."""
    for chunk_id in undone(run_label, run_id).order_by("index").values_list("pk", flat=True):
        chunk_run(chunk_id)


def chunks_send(chunk_ids: list[int]) -> None:
    """One message per chunk, once the transaction in progress commits."""
    if not chunk_ids:
        return
    RunChunk.objects.filter(pk__in=chunk_ids).update(sends=F("sends") + 1)
    transaction.on_commit(lambda: _send(chunk_ids))


def _send(chunk_ids: list[int]) -> None:
    try:
        for chunk_id in chunk_ids:
            run_chunk_task.delay(chunk_id)
    except BROKER_AWAY as exc:  # the chunks are recorded: the sweep sends them when it can
        logger.warning("chunks left for the sweep: the broker is away (%s)", exc)


def _fail(chunk_id: int) -> None:
    error = traceback.format_exc()
    chunk = RunChunk.objects.filter(pk=chunk_id).first()
    if chunk is None:
        return
    fan = FANS[chunk.run_label]
    with transaction.atomic():
        if fan.failed is not None:
            fan.failed(run_id=chunk.run_id, error=error)
        chains.fan_failed(chains.FannedOut(chunk.run_label, chunk.run_id), error=error)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True)
def run_chunk_task(self, chunk_id: int) -> bool:
    """Do chunk `chunk_id` of its run (chunk_run); a transient database error is retried."""
    try:
        return chunk_run(chunk_id)
    except chains.TRANSIENT as exc:
        if self.request.retries < chains.TRANSIENT_RETRIES:
            raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
        _fail(chunk_id)
        raise
    except Exception:
        _fail(chunk_id)
        raise


# ---------------------------------------------------------------- for the sweep
def left_behind(*, before, held) -> list[int]:
    """Undone chunks of running runs that have not moved since `before` and that no worker holds."""
    left = []
    for run_label in FANS:
        running = apps.get_model(run_label).objects.filter(status=RunState.RUNNING).values("pk")
        chunks = RunChunk.objects.filter(
            run_label=run_label, run_id__in=running, done_at__isnull=True, updated_at__lt=before
        )
        left += [pk for pk in chunks.values_list("pk", flat=True) if not held.holds(TASK, pk)]
    return left


def send_again(chunk_ids: list[int]) -> list[int]:
    """Send the chunks again (those no chunk transaction holds at this moment); returns them."""
    with transaction.atomic():
        ids = list(
            RunChunk.objects.select_for_update(skip_locked=True)
            .filter(pk__in=chunk_ids, done_at__isnull=True)
            .values_list("pk", flat=True)
        )
        RunChunk.objects.filter(pk__in=ids).update(updated_at=timezone.now())
        chunks_send(ids)
    return ids
