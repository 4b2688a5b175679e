"""Where the background steps are chained: each app's tasks know only their own app; this module
may see them all (conventions.md, "A cross-app reaction is never a signal")."""

import datetime as dt

from celery import shared_task
from django.utils.module_loading import import_string

from crm.common import chains, fanout, hooks
from crm.common.chains import Step, chain_start, register_step
from crm.common.runs import RUN_KINDS, Held, RunKind, register_run_kind


def portfolios_changed() -> None:
    """Customers or territories changed: give every customer the manager the rules choose."""
    from managers.tasks import reconcile_assignments_task

    reconcile_assignments_task.delay()


def consumption_landed() -> None:
    """A month of consumption landed: queue a reclassification (classification_queued follows),
    which writes the customers' annual figures from the new readings, then their tiers, and ends by
    opening the care visits the new month calls for (_after_classification)."""
    from customers.models import ClassificationRun
    from customers.tiering.classification import classification_run_start

    classification_run_start(trigger=ClassificationRun.Trigger.CONSUMPTION)


def classification_queued(*, run_id: int) -> None:
    """A reclassification was queued (on demand, monthly, or after consumption landed): classify,
    then the steps after a classification, as one recorded chain per run (crm.common.chains): a
    second call for the same run sends its next step again instead of starting another chain."""
    chain_start(
        "classification",
        [("classify", {"run_id": run_id}), *_after_classification(run_id)],
        subject_id=run_id,
    )


def _after_classification(run_id: int) -> list[tuple[str, dict]]:
    """Move the customers whose tier changed, then cancel their old tier's open visits and open a
    welcome visit with the new manager, then let every other customer find its manager. After a run
    that consumption started, last, open the care visits of a drop in the month just landed (the
    classification wrote `latest_period`, the reconciliation the managers the visits go to): the
    supervisor sees them the same day, not after the nightly detection, which still runs and opens
    nothing twice (one care visit per customer and month, visits.care)."""
    from customers.models import ClassificationRun

    steps = [
        ("reassign", {"run_id": run_id}),
        ("visits_after_classification", {"run_id": run_id}),
        ("reconcile", {}),
    ]
    trigger = ClassificationRun.objects.filter(pk=run_id).values_list("trigger", flat=True).first()
    if trigger == ClassificationRun.Trigger.CONSUMPTION:
        steps.append(("care_visits", {}))
        # the month just landed is the last of the history every customer's baseline starts from
        steps.append(("baselines", {"trigger": "consumption"}))
    return steps


def tier_changed(*, customer_ids: list[int]) -> None:
    """Tiers changed outside a run (a pin): move those customers to a manager of the new role."""
    chain_start(
        "tier_pin",
        [
            ("reassign_customers", {"customer_ids": customer_ids}),
            ("visits_after_pin", {"customer_ids": customer_ids}),
        ],
    )


# The steps of the chains above, by name: a chain's row stores the names (crm.common.chains). The
# functions are named by their paths, so that this module imports no app when it loads.
def _step(function: str, *, waits: tuple[str, ...] = (), failed: str | None = None) -> Step:
    return Step(function=_lazy(function), waits=waits, failed=_lazy(failed) if failed else None)


def _lazy(path: str):
    def call(**kwargs):
        return import_string(path)(**kwargs)

    call.__qualname__ = path
    return call


for _name, _definition in {
    "classify": _step(
        "customers.tiering.classification.classification_run_dispatch",
        waits=("customers.tiering.classification.RunBusy",),
        failed="customers.tiering.classification.classification_run_fail",
    ),
    "reassign": _step("managers.reassignment.reassign_after_run"),
    "visits_after_classification": _step("visits.generation.tier_changes_handle_for_run"),
    "reconcile": _step("managers.tasks.reconcile_recorded"),
    "care_visits": _step("visits.generation.care_visits_run"),
    "baselines": _step("forecasts.tasks.baselines_start_and_dispatch"),
    "reassign_customers": _step("managers.reassignment.customers_reassign"),
    "visits_after_pin": _step("visits.generation.tier_changes_handle_for_customers"),
}.items():
    register_step(_name, _definition)


def manager_changed(*, manager_id: int) -> None:
    """A manager profile was created or changed (perhaps its role): training keeps `qualified` current."""
    from training.services import manager_changed as training_manager_changed

    training_manager_changed(manager_id=manager_id)


def follow_ups_raised(*, follow_up_ids: list[int]) -> None:
    """A visit report raised follow-ups: each for a department's work opens its service request.
    Run at once, not queued: the manager sees the request on the report's next page, and opening a
    few requests is a few queries (service.follow_ups logs, and leaves plain, one that fails)."""
    from service.follow_ups import follow_ups_raised as open_requests

    open_requests(follow_up_ids=follow_up_ids)


# ---------------------------------------------------------------- the sweep of runs left behind
# Every run is recorded in the database before its message is sent (the RunRecord tables:
# ClassificationRun, ImportJob, VisitRun, BaselineRun), every step a write asks for is recorded with
# the write (PendingHook, crm.common.hooks), and every chain of steps has its row (ChainRun,
# crm.common.chains). If Redis loses its queue (it restarts and keeps nothing on disk), a worker dies
# holding a message, or a web process dies between its COMMIT and its send, the record stays and
# nothing would ever finish it. The sweep, run by beat every minute, sends such a run's message (or
# a chain's step) again and runs the steps left recorded.
# It leaves alone a run that moved within the grace (each chunk of a run saves the run; a run or
# chain sent again is touched too, so the next sweep waits again), a run whose task a live worker
# holds (running, prefetched or waiting for its retry), and a run whose message still waits in the
# broker's queue. The grace is short (CRM_SWEEP_GRACE_SECONDS) when every worker alive by its
# heartbeat (crm.common.tasks: each worker's main process writes one every
# CRM_WORKER_HEARTBEAT_SECONDS) answered the broadcast, so what no one holds is truly lost; it is
# SWEEP_GRACE_MINUTES when one that beats did not answer (a solo worker busy with a long task cannot),
# or the broker cannot broadcast. Sending twice would still be harmless (every task resumes from the
# run's recorded progress, a chain's old message is ignored by its token, and the database's locks
# and unique constraints stop a chunk being done twice) but wasteful. Each kind of run is one line of
# the registry below (crm.common.runs.RUN_KINDS): a new run table is swept once it is registered
# there (tests/crm/test_run_registry.py checks that every RunRecord table is). JobRun is not swept:
# its jobs record a run only once it starts and take no id to resume; beat runs them whole again.

SWEEP_GRACE_MINUTES = 10
CLASSIFY_TASK = "customers.tiering.tasks.reclassify_customers_task"
# The scheduled visit jobs record their run only once they start, under a task that takes no id.
VISIT_JOB_TASKS = {
    "generate": "visits.tasks.generate_visit_tasks_task",
    "overdue": "visits.tasks.mark_overdue_visits_task",
    "care": "visits.tasks.detect_care_visits_task",
    "reminders": "visits.tasks.send_visit_reminders_task",
    "digest": "visits.tasks.send_overdue_digest_task",
}


def _held_by_workers() -> set[tuple[str, tuple]] | None:
    """(task name, args) of every task the live workers hold: executing, prefetched, or waiting for
    an ETA (a retry). None when the broker cannot broadcast (the filesystem transport of `make run`)."""
    from crm.celery import app

    inspect = app.control.inspect(timeout=1.0)
    held: set[tuple[str, tuple]] = set()
    try:
        replies = [inspect.active(), inspect.reserved(), inspect.scheduled()]
    except NotImplementedError:
        return None
    for reply in replies:
        for tasks in (reply or {}).values():
            for task in tasks:
                request = task.get("request", task)  # scheduled() wraps the request
                held.add((request.get("name"), tuple(request.get("args") or ())))
    return held


def _waiting_in_broker() -> set[tuple[str, tuple]]:
    """(task name, args) of the messages waiting in the default queue and the chunks' queue
    (settings.CHUNK_QUEUE), when the broker is Redis."""
    import ast

    from django.conf import settings
    from kombu.utils.json import loads

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return set()
    from crm.celery import app

    waiting = set()
    with app.connection_for_read() as conn:
        client = conn.default_channel.client
        queues = {app.conf.task_default_queue, settings.CHUNK_QUEUE}
        for raw in (raw for queue in sorted(queues) for raw in client.lrange(queue, 0, -1)):
            headers = loads(raw).get("headers") or {}
            try:
                args = tuple(ast.literal_eval(headers.get("argsrepr") or "()"))
            except (ValueError, SyntaxError):
                args = ()
            waiting.add((headers.get("task"), args))
    return waiting


def _not_chained(runs, now: dt.datetime):
    """Classification runs are swept through their chain (the "chains" line); this line sends a run
    that has none (its hook was lost before it could record one) into a chain of its own."""
    from crm.common.models import ChainRun

    chained = ChainRun.objects.filter(name="classification").values("subject_id")
    return runs.unfinished().exclude(pk__in=chained)


# One line per kind of run: its key in the sweep's answer, its RunRecord model, the task that
# resumes one run from its id, and (when it is more than `task.delay(id)`) how to send it again.
register_run_kind(
    RunKind(
        "classification",
        "customers.ClassificationRun",
        CLASSIFY_TASK,
        left=_not_chained,
    )
)
register_run_kind(RunKind("imports", "customers.ImportJob", "customers.imports.tasks.import_run_task"))


def _unplanned(runs, now: dt.datetime):
    """A run whose chunks are planned is swept chunk by chunk (the "chunks" line); this line sends
    one that has none yet (queued, or started before it could plan them)."""
    return fanout.unplanned(runs.unfinished())


register_run_kind(
    RunKind("baselines", "forecasts.BaselineRun", "forecasts.tasks.compute_baselines_task", left=_unplanned)
)
register_run_kind(
    RunKind(
        "visits",
        "visits.VisitRun",
        "visits.tasks.visit_run_task",
        scheduled_task=lambda run: VISIT_JOB_TASKS.get(run.job),
    )
)


def _answering_nodes() -> set[str] | None:
    """The workers that answer a ping (None: the broker cannot broadcast)."""
    from crm.celery import app

    try:
        replies = app.control.inspect(timeout=1.0).ping() or {}
    except NotImplementedError:
        return None
    return set(replies)


def sweep_grace(*, now: dt.datetime, sweeping_node: str | None = None) -> dt.timedelta:
    """Short when every worker alive by its heartbeat answered (module comment), else long."""
    from django.conf import settings

    from crm.common.tasks import fresh_nodes

    long = dt.timedelta(minutes=SWEEP_GRACE_MINUTES)
    answered = _answering_nodes()
    if answered is None:
        return long
    if sweeping_node:  # a solo worker cannot answer while it sweeps; it holds nothing else
        answered.add(sweeping_node)
    if fresh_nodes(now=now) <= answered:
        return dt.timedelta(seconds=settings.CRM_SWEEP_GRACE_SECONDS)
    return long


def runs_sweep(
    *, grace_minutes: float | None = None, sweeping_node: str | None = None
) -> dict[str, list[int]]:
    """Send again the message of every run (chain step, chunk) left queued or running with no live
    worker on it, and run the steps left recorded. Returns the ids sent again per kind (RUN_KINDS'
    keys, "chains", "chunks" and "hooks")."""
    from django.utils import timezone

    from crm.common.models import ChainRun

    now = timezone.now()
    if grace_minutes is None:
        grace = sweep_grace(now=now, sweeping_node=sweeping_node)
    else:
        grace = dt.timedelta(minutes=grace_minutes)
    before = now - grace
    # First the steps left recorded: one of them may start a chain or send a run the lines below
    # would otherwise see as lost.
    ran_hooks = hooks.run_left_behind(now=now)
    held = Held((_held_by_workers() or set()) | _waiting_in_broker())
    done = {key: kind.left_behind(held, before=before, now=now) for key, kind in RUN_KINDS.items()}
    left_chains = chains.left_behind(before=before, held=held)
    left_chunks = fanout.left_behind(before=before, held=held)
    # Touch first, so that a sweep running at the same moment or the next one does not send again.
    for key, kind in RUN_KINDS.items():
        if done[key]:
            kind.run_model.objects.filter(pk__in=done[key]).update(updated_at=now)
    if left_chains:
        ChainRun.objects.filter(pk__in=left_chains).update(updated_at=now)
    _resend(done)
    chains.send_again(left_chains)
    sent_chunks = fanout.send_again(left_chunks)  # touched as they are sent, under their own lock
    return {**done, "chains": left_chains, "chunks": sent_chunks, "hooks": ran_hooks}


def _resend(done: dict[str, list[int]]) -> None:
    for key, run_ids in done.items():
        for run_id in run_ids:
            RUN_KINDS[key].send_again(run_id)


@shared_task(bind=True, ignore_result=True)
def sweep_runs_task(self) -> dict[str, list[int]]:
    """From beat, every minute: re-enqueue the runs left behind (runs_sweep)."""
    return runs_sweep(sweeping_node=self.request.hostname)
