"""Where the background steps are chained: each app's tasks know only their own app; this module
may see them all (conventions.md, "A cross-app reaction is never a signal")."""

import datetime as dt

from celery import shared_task

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
    then the steps after a classification (classification_done)."""
    from celery import chain

    from customers.tiering.tasks import reclassify_customers_task

    chain(reclassify_customers_task.si(run_id), *_after_classification(run_id)).delay()


def classification_done(*, run_id: int) -> None:
    """The steps after a classification, on their own: what the sweep sends for a finished run whose
    reassignment was never recorded."""
    from celery import chain

    chain(*_after_classification(run_id)).delay()


def _after_classification(run_id: int) -> list:
    """Move the customers whose tier changed, then cancel their old tier's open visits and open a
    welcome visit with the new manager, then let every other customer find its manager. After a run
    that consumption started, last, open the care visits of a drop in the month just landed (the
    classification wrote `latest_period`, the reconciliation the managers the visits go to): the
    supervisor sees them the same day, not after the nightly detection, which still runs and opens
    nothing twice (one care visit per customer and month, visits.care)."""
    from customers.models import ClassificationRun
    from managers.tasks import reassign_after_classification_task, reconcile_assignments_task
    from visits.tasks import detect_care_visits_task, visits_after_classification_task

    steps = [
        reassign_after_classification_task.si(run_id),
        visits_after_classification_task.si(run_id),
        reconcile_assignments_task.si(),
    ]
    trigger = ClassificationRun.objects.filter(pk=run_id).values_list("trigger", flat=True).first()
    if trigger == ClassificationRun.Trigger.CONSUMPTION:
        from forecasts.tasks import baselines_after_consumption_task

        steps.append(detect_care_visits_task.si())
        # the month just landed is the last of the history every customer's baseline starts from
        steps.append(baselines_after_consumption_task.si())
    return steps


def tier_changed(*, customer_ids: list[int]) -> None:
    """Tiers changed outside a run (a pin): move those customers to a manager of the new role."""
    from celery import chain

    from managers.tasks import reassign_customers_task
    from visits.tasks import visits_after_tier_pin_task

    chain(reassign_customers_task.si(customer_ids), visits_after_tier_pin_task.si(customer_ids)).delay()


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
# ClassificationRun, ImportJob, VisitRun). If Redis loses its queue (it restarts and keeps nothing
# on disk) or a worker dies holding a message, the record stays `queued` or `running` and nothing
# would ever finish it. The sweep, run by beat every few minutes, sends such a run's message again.
# It leaves alone a run that moved within SWEEP_GRACE (each chunk of a run saves the run; a
# re-enqueued run is touched too, so the next sweep waits again), a run whose task a live worker
# holds (running, prefetched or waiting for its retry), and a run whose message still waits in the
# broker's queue. Sending twice would still be harmless (every task resumes from the run's recorded
# progress, and the database's locks and unique constraints stop a chunk being done twice) but
# wasteful. Each kind of run is one line of the registry below (crm.common.runs.RUN_KINDS): a new
# run table is swept once it is registered there (tests/crm/test_run_registry.py checks that every
# RunRecord table is). JobRun is not swept: its jobs record a run only once it starts and take no
# id to resume; beat runs them whole again.

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
    """(task name, args) of the messages waiting in the default queue, when the broker is Redis."""
    import ast

    from django.conf import settings
    from kombu.utils.json import loads

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return set()
    from crm.celery import app

    waiting = set()
    with app.connection_for_read() as conn:
        client = conn.default_channel.client
        for raw in client.lrange(app.conf.task_default_queue, 0, -1):
            headers = loads(raw).get("headers") or {}
            try:
                args = tuple(ast.literal_eval(headers.get("argsrepr") or "()"))
            except (ValueError, SyntaxError):
                args = ()
            waiting.add((headers.get("task"), args))
    return waiting


def _reassignment_lost(runs, now: dt.datetime):
    """The classification's special case: a run finished within the day whose reassignment was
    never recorded lost the rest of its chain, which is sent again without the classification."""
    return runs.filter(status="done", reassignment={}, finished_at__gte=now - dt.timedelta(days=1))


# One line per kind of run: its key in the sweep's answer, its RunRecord model, the task that
# resumes one run from its id, and (when it is more than `task.delay(id)`) how to send it again.
register_run_kind(
    RunKind(
        "classification",
        "customers.ClassificationRun",
        CLASSIFY_TASK,
        resend=lambda run_id: classification_queued(run_id=run_id),
    )
)
register_run_kind(
    RunKind(
        "classification_tail",
        "customers.ClassificationRun",
        "managers.tasks.reassign_after_classification_task",
        left=_reassignment_lost,
        resend=lambda run_id: classification_done(run_id=run_id),
    )
)
register_run_kind(RunKind("imports", "customers.ImportJob", "customers.imports.tasks.import_run_task"))
register_run_kind(RunKind("baselines", "forecasts.BaselineRun", "forecasts.tasks.compute_baselines_task"))
register_run_kind(
    RunKind(
        "visits",
        "visits.VisitRun",
        "visits.tasks.visit_run_task",
        scheduled_task=lambda run: VISIT_JOB_TASKS.get(run.job),
    )
)


def runs_sweep(*, grace_minutes: int = SWEEP_GRACE_MINUTES) -> dict[str, list[int]]:
    """Send again the message of every run left queued or running with no live worker on it.
    Returns the ids re-enqueued per kind (RUN_KINDS' keys)."""
    from django.utils import timezone

    now = timezone.now()
    before = now - dt.timedelta(minutes=grace_minutes)
    held = Held((_held_by_workers() or set()) | _waiting_in_broker())
    done = {key: kind.left_behind(held, before=before, now=now) for key, kind in RUN_KINDS.items()}
    # Touch first, so that a sweep running at the same moment or the next one does not send again.
    for key, kind in RUN_KINDS.items():
        if done[key]:
            kind.run_model.objects.filter(pk__in=done[key]).update(updated_at=now)
    _resend(done)
    return done


def _resend(done: dict[str, list[int]]) -> None:
    for key, run_ids in done.items():
        for run_id in run_ids:
            RUN_KINDS[key].send_again(run_id)


@shared_task(ignore_result=True)
def sweep_runs_task() -> dict[str, list[int]]:
    """From beat, every few minutes: re-enqueue the runs left behind (runs_sweep)."""
    return runs_sweep()
