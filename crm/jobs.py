"""Where the background steps are chained: each app's tasks know only their own app; this module
may see them all (conventions.md, "A cross-app reaction is never a signal")."""

import datetime as dt

from celery import shared_task


def portfolios_changed() -> None:
    """Customers or territories changed: give every customer the manager the rules choose."""
    from managers.tasks import reconcile_assignments_task

    reconcile_assignments_task.delay()


def consumption_landed() -> None:
    """A month of consumption landed: queue a reclassification (classification_queued follows),
    which writes the customers' annual figures from the new readings, then their tiers."""
    from customers.models import ClassificationRun
    from customers.tiering.classification import classification_run_start

    classification_run_start(trigger=ClassificationRun.Trigger.CONSUMPTION)


def classification_queued(*, run_id: int) -> None:
    """A reclassification was queued (on demand, monthly, or after consumption landed): classify,
    then move the customers whose tier changed, then cancel their old tier's open visits and open a
    welcome visit with the new manager, then let every other customer find its manager."""
    from celery import chain

    from customers.tiering.tasks import reclassify_customers_task
    from managers.tasks import reassign_after_classification_task, reconcile_assignments_task
    from visits.tasks import visits_after_classification_task

    chain(
        reclassify_customers_task.si(run_id),
        reassign_after_classification_task.si(run_id),
        visits_after_classification_task.si(run_id),
        reconcile_assignments_task.si(),
    ).delay()


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


# ---------------------------------------------------------------- the sweep of runs left behind
# Every run is recorded in the database before its message is sent (ClassificationRun, ImportJob,
# VisitRun). If Redis loses its queue (it restarts and keeps nothing on disk) or a worker dies
# holding a message, the record stays `queued` or `running` and nothing would ever finish it. The
# sweep, run by beat every few minutes, sends such a run's message again. It leaves alone a run that
# moved within SWEEP_GRACE (each chunk of a run saves the run; a re-enqueued run is touched too, so
# the next sweep waits again), a run whose task a live worker holds (running, prefetched or waiting
# for its retry), and a run whose message still waits in the broker's queue. Sending twice would
# still be harmless (every task resumes from the run's recorded progress, and the database's locks
# and unique constraints stop a chunk being done twice) but wasteful.

SWEEP_GRACE_MINUTES = 10
CLASSIFY_TASK = "customers.tiering.tasks.reclassify_customers_task"
REASSIGN_TASK = "managers.tasks.reassign_after_classification_task"
IMPORT_TASK = "customers.imports.tasks.import_run_task"
VISIT_RUN_TASK = "visits.tasks.visit_run_task"
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


def runs_sweep(*, grace_minutes: int = SWEEP_GRACE_MINUTES) -> dict[str, list[int]]:
    """Send again the message of every run left queued or running with no live worker on it.
    Returns the ids re-enqueued per kind."""
    from django.utils import timezone

    from customers.models import ClassificationRun, ImportJob
    from visits.models import VisitRun

    now = timezone.now()
    before = now - dt.timedelta(minutes=grace_minutes)
    held = _held_by_workers() or set()
    held |= _waiting_in_broker()
    busy = {name for name, _args in held}
    done: dict[str, list[int]] = {
        "classification": [],
        "classification_tail": [],
        "imports": [],
        "visits": [],
    }

    open_states = ["queued", "running"]
    for run in ClassificationRun.objects.filter(status__in=open_states, updated_at__lt=before):
        if (CLASSIFY_TASK, (run.pk,)) not in held:
            done["classification"].append(run.pk)
    # A finished run whose reassignment was never recorded lost the rest of its chain.
    for run in ClassificationRun.objects.filter(
        status="done", reassignment={}, finished_at__gte=now - dt.timedelta(days=1), updated_at__lt=before
    ):
        if (REASSIGN_TASK, (run.pk,)) not in held:
            done["classification_tail"].append(run.pk)
    for job in ImportJob.objects.filter(status__in=open_states, updated_at__lt=before):
        if not any(name == IMPORT_TASK and args[:1] == (job.pk,) for name, args in held):
            done["imports"].append(job.pk)
    for run in VisitRun.objects.filter(status__in=open_states, updated_at__lt=before):
        if (VISIT_RUN_TASK, (run.pk,)) not in held and VISIT_JOB_TASKS.get(run.job) not in busy:
            done["visits"].append(run.pk)

    # Touch first, so that a sweep running at the same moment or the next one does not send again.
    ClassificationRun.objects.filter(pk__in=done["classification"] + done["classification_tail"]).update(
        updated_at=now
    )
    ImportJob.objects.filter(pk__in=done["imports"]).update(updated_at=now)
    VisitRun.objects.filter(pk__in=done["visits"]).update(updated_at=now)
    _resend(done)
    return done


def _resend(done: dict[str, list[int]]) -> None:
    from celery import chain

    from customers.imports.tasks import import_run_task
    from managers.tasks import reassign_after_classification_task, reconcile_assignments_task
    from visits.tasks import visit_run_task, visits_after_classification_task

    for run_id in done["classification"]:
        classification_queued(run_id=run_id)
    for run_id in done["classification_tail"]:
        chain(
            reassign_after_classification_task.si(run_id),
            visits_after_classification_task.si(run_id),
            reconcile_assignments_task.si(),
        ).delay()
    for job_id in done["imports"]:
        import_run_task.delay(job_id)
    for run_id in done["visits"]:
        visit_run_task.delay(run_id)


@shared_task(ignore_result=True)
def sweep_runs_task() -> dict[str, list[int]]:
    """From beat, every few minutes: re-enqueue the runs left behind (runs_sweep)."""
    return runs_sweep()
