"""Chains of background steps that the runs' sweep can see, step by step.

A Celery chain lives only in its messages: the next step's message is sent by the worker that ends
the step before it. A worker killed there, or a Redis that restarts while the message waits
unacknowledged, loses the rest of the chain for good (and Redis gives an unacknowledged message back
only after its visibility timeout, an hour). Here a chain is a row (ChainRun): its steps, how many
are done, and a token. Each message carries only (chain, step, token); the step runs only while the
row says that step is next under that token, and the row moves on in one transaction after the step
returns, the next message sent once that commits. The sweep (crm.jobs.runs_sweep) sends a step left
behind again under a new token; the old message, if it comes back, runs nothing and is counted in
`ignored_messages`. A step runs again only if its worker died while running it, and every step
resumes from its own run's record (a chunked job after its last committed chunk).

Steps are named functions registered by crm/jobs.py (`register_step`), where every app is seen; the
row stores the names and keyword arguments, so a chain can be read in the admin and resumed by any
worker.

A step may hand its work to chunks that any worker takes (crm.common.fanout): it returns
`FannedOut(run table, run id)`, the chain records that it waits on them (`waiting_on`), and the last
chunk moves it on (`fan_in`). The sweep then leaves the chain to its chunks."""

import datetime as dt
import logging
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from celery import shared_task
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from crm.common.hooks import BROKER_AWAY
from crm.common.models import ChainRun

logger = logging.getLogger(__name__)
TASK = "crm.common.chains.chain_step_task"
TRANSIENT = (ConnectionError, OperationalError, InterfaceError)
TRANSIENT_RETRIES = 5


@dataclass(frozen=True)
class Step:
    """A step's function (called with the step's keyword arguments); `waits`: exceptions that mean
    "not yet" (another run holds the place), retried after `wait_seconds` for as long as it takes;
    `failed`: called with the same arguments and the error's text when the step fails for good.
    `waits` may name the exceptions by their dotted paths (resolved when the step runs)."""

    function: Callable[..., object]
    waits: tuple[type[BaseException] | str, ...] = ()
    wait_seconds: int = 30
    failed: Callable[..., object] | None = field(default=None)


STEPS: dict[str, Step] = {}


@dataclass(frozen=True)
class FannedOut:
    """What a step returns when its run goes on in chunks of its own (crm.common.fanout)."""

    run_label: str
    run_id: int

    @property
    def key(self) -> str:
        return f"{self.run_label}:{self.run_id}"


def register_step(name: str, step: Step) -> Step:
    STEPS[name] = step
    return step


def _token() -> str:
    return uuid.uuid4().hex


def chain_start(name: str, steps: list[tuple[str, dict]], *, subject_id: int | None = None) -> ChainRun:
    """Record a chain and send its first step once the transaction commits. A chain of the same name
    and subject that exists already is not doubled: an unfinished one has its next step sent again
    (under a new token), a finished one is returned as it is."""
    unknown = [step for step, _kwargs in steps if step not in STEPS]
    if unknown:
        raise KeyError(f"unregistered chain steps: {unknown}")
    with transaction.atomic():
        if subject_id is not None:
            existing = ChainRun.objects.select_for_update().filter(name=name, subject_id=subject_id).first()
            if existing is not None:
                if existing.finished_at is None and not existing.error:
                    _send_again(existing)
                return existing
        try:
            with transaction.atomic():
                chain = ChainRun.objects.create(
                    name=name,
                    subject_id=subject_id,
                    steps=[list(step) for step in steps],
                    token=_token(),
                    sends=1,
                )
        except IntegrityError:  # the same chain started at the same moment elsewhere
            return ChainRun.objects.get(name=name, subject_id=subject_id)
        _send_on_commit(chain)
    return chain


def _send_on_commit(chain: ChainRun) -> None:
    chain_id, step, token = chain.pk, chain.done, chain.token
    transaction.on_commit(lambda: _send(chain_id, step, token))


def _send(chain_id: int, step: int, token: str) -> None:
    try:
        chain_step_task.apply_async((chain_id, step, token))
    except BROKER_AWAY as exc:  # the chain is recorded: the sweep sends the step when it can
        logger.warning("chain %s step %s left for the sweep: the broker is away (%s)", chain_id, step, exc)


def _send_again(chain: ChainRun) -> None:
    """Under a new token (inside the caller's transaction, the row locked)."""
    chain.token = _token()
    chain.sends += 1
    chain.resends += 1
    chain.save(update_fields=["token", "sends", "resends", "updated_at"])
    _send_on_commit(chain)


def _ignore(chain_id: int, step: int, why: str) -> None:
    ChainRun.objects.filter(pk=chain_id).update(ignored_messages=F("ignored_messages") + 1)
    logger.info("chain %s step %s: message ignored (%s)", chain_id, step, why)


def _current(chain_id: int, step: int, token: str) -> ChainRun | None:
    """The chain, if this message is the one it waits for; else the message is counted as ignored."""
    chain = ChainRun.objects.filter(pk=chain_id).first()
    if chain is None:
        logger.info("chain %s step %s: no such chain", chain_id, step)
        return None
    if chain.finished_at is not None or chain.error:
        why = "the chain has ended"
    elif chain.token != token:
        why = "a newer message was sent for it"
    elif chain.done != step:
        why = f"the chain is at step {chain.done}"
    elif chain.waiting_on:
        why = "the step's chunks are under way"
    else:
        return chain
    _ignore(chain_id, step, why)
    return None


def _advance(chain_id: int, step: int, token: str) -> None:
    with transaction.atomic():
        chain = ChainRun.objects.select_for_update().get(pk=chain_id)
        if chain.token != token or chain.done != step:
            _ignore(chain_id, step, "the chain moved on while the step ran")
            return
        _move_on(chain)


def _move_on(chain: ChainRun) -> None:
    """The current step is done (the row locked by the caller's transaction): send the next."""
    chain.done += 1
    chain.waiting_on = ""
    if chain.done >= len(chain.steps):
        chain.finished_at = timezone.now()
    else:
        chain.sends += 1
    chain.save(update_fields=["done", "waiting_on", "finished_at", "sends", "updated_at"])
    if chain.finished_at is None:
        _send_on_commit(chain)


def _wait_for(chain_id: int, step: int, token: str, fanned: FannedOut) -> None:
    """The step handed its run to chunks: wait on them, unless they are all done already. The run's
    lock first, as the last chunk takes it (crm.common.fanout: why this is exactly once)."""
    from crm.common import fanout  # here: fanout imports this module

    with transaction.atomic():
        fanout.lock_run(fanned.run_label, fanned.run_id)
        chain = ChainRun.objects.select_for_update().get(pk=chain_id)
        if chain.token != token or chain.done != step:
            _ignore(chain_id, step, "the chain moved on while the step ran")
            return
        if fanout.undone(fanned.run_label, fanned.run_id).exists():
            chain.waiting_on = fanned.key
            chain.save(update_fields=["waiting_on", "updated_at"])
        else:
            _move_on(chain)


def fan_in(fanned: FannedOut) -> None:
    """The last chunk of a run is done (in its transaction, the run's row locked): move on the
    chain that waits on it."""
    for chain in ChainRun.objects.select_for_update().filter(
        waiting_on=fanned.key, finished_at__isnull=True, error=""
    ):
        _move_on(chain)


def fan_failed(fanned: FannedOut, *, error: str) -> None:
    """A chunk failed for good: so has the chain that waits on its run."""
    ChainRun.objects.filter(waiting_on=fanned.key, finished_at__isnull=True).update(
        error=error[:4000], updated_at=timezone.now()
    )


def _fail(chain: ChainRun, step: Step, kwargs: dict) -> None:
    error = traceback.format_exc()
    ChainRun.objects.filter(pk=chain.pk).update(error=error[:4000], updated_at=timezone.now())
    if step.failed is not None:
        step.failed(**kwargs, error=error)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True)
def chain_step_task(self, chain_id: int, step: int, token: str) -> None:
    """Run step `step` of chain `chain_id` if the chain waits for it under `token`, then move on."""
    chain = _current(chain_id, step, token)
    if chain is None:
        return
    name, kwargs = chain.steps[step]
    definition = STEPS[name]
    waits = tuple(import_string(w) if isinstance(w, str) else w for w in definition.waits)
    try:
        result = definition.function(**kwargs)
    except waits as exc:
        raise self.retry(exc=exc, countdown=definition.wait_seconds) from exc
    except TRANSIENT as exc:
        if self.request.retries < TRANSIENT_RETRIES:
            raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
        _fail(chain, definition, kwargs)
        raise
    except Exception:
        _fail(chain, definition, kwargs)
        raise
    if isinstance(result, FannedOut):
        _wait_for(chain_id, step, token, result)
    else:
        _advance(chain_id, step, token)


# ---------------------------------------------------------------- for the sweep
def left_behind(*, before: dt.datetime, held) -> list[int]:
    """Unfinished chains that have not moved since `before` and whose step no worker holds (a chain
    waiting on chunks is left to them: the sweep sends those)."""
    chains = ChainRun.objects.filter(finished_at__isnull=True, error="", waiting_on="", updated_at__lt=before)
    return [pk for pk in chains.values_list("pk", flat=True) if not held.holds(TASK, pk)]


def send_again(chain_ids: list[int]) -> None:
    for chain_id in chain_ids:
        with transaction.atomic():
            chain = ChainRun.objects.select_for_update().filter(pk=chain_id, finished_at__isnull=True).first()
            if chain is not None:
                _send_again(chain)
