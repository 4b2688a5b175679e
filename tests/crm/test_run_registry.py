"""The registry of swept runs (crm.common.runs.RUN_KINDS, filled in crm/jobs.py): every run table
recorded before its message is sent (a RunRecord) is in it, and the sweep sends again a run of each
registered kind that was left behind, through the very task the registry names for it.

A new kind of run gets its line in the registry and its case in LEFT_BEHIND below (the parametrized
test fails until it has one)."""

import datetime as dt
import uuid

import pytest
from celery import states
from celery.app.task import Task
from celery.result import EagerResult
from django.apps import apps
from django.utils import timezone
from django.utils.module_loading import import_string

from crm import jobs
from crm.common.models import JobRun, RunRecord
from crm.common.runs import RUN_KINDS
from customers.models import ClassificationRun, ImportJob
from forecasts.models import BaselineRun
from visits.models import VisitRun

LONG_AGO = timezone.now() - dt.timedelta(hours=1)

# How a run of each registered kind is left behind: recorded long ago (the caller sets updated_at),
# its message lost.
LEFT_BEHIND = {
    "classification": lambda: ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL),
    "classification_tail": lambda: ClassificationRun.objects.create(
        trigger=ClassificationRun.Trigger.MANUAL,
        status=ClassificationRun.State.DONE,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    ),
    "imports": lambda: ImportJob.objects.create(
        kind=ImportJob.Kind.CONSUMPTION, original_name="march.csv", file="imports/march.csv"
    ),
    "visits": lambda: VisitRun.objects.create(job=VisitRun.Job.GENERATE, day=timezone.localdate()),
    "baselines": lambda: BaselineRun.objects.create(
        made_for=timezone.localdate().replace(day=1), trigger=BaselineRun.Trigger.MANUAL
    ),
}


@pytest.fixture
def sent(monkeypatch):
    """No live worker holds a task and no message waits in the broker; what the sweep sends is
    recorded as (task name, args) instead of run (eager mode would run it: Task.apply)."""
    monkeypatch.setattr(jobs, "_held_by_workers", set)
    monkeypatch.setattr(jobs, "_waiting_in_broker", set)
    messages: list[tuple[str, tuple]] = []

    def record(task, args=None, kwargs=None, **options):
        messages.append((task.name, tuple(args or ())))
        return EagerResult(str(uuid.uuid4()), None, states.SUCCESS)

    monkeypatch.setattr(Task, "apply", record)
    return messages


def test_every_run_table_recorded_before_its_message_is_sent_is_in_the_registry():
    # Given every concrete model on RunRecord; when the registry is read
    run_tables = {model for model in apps.get_models() if issubclass(model, RunRecord)}
    registered = {kind.run_model for kind in RUN_KINDS.values()}
    # then it sweeps each of them: the classification runs, the imports and the visit runs
    assert registered == run_tables == {ClassificationRun, ImportJob, VisitRun, BaselineRun}
    # and not JobRun, whose jobs record a run only as it starts and take no id to resume
    assert not issubclass(JobRun, RunRecord)


@pytest.mark.parametrize("key", sorted(RUN_KINDS))
def test_a_registered_kind_of_run_is_named_by_the_celery_task_it_sends(key):
    # Given a line of the registry; then its task name is a task's dotted path (what the default
    # resend imports) and Celery's name for it (what the workers and the broker report)
    kind = RUN_KINDS[key]
    assert import_string(kind.task).name == kind.task


@pytest.mark.django_db
@pytest.mark.parametrize("key", sorted(RUN_KINDS))
def test_a_run_of_each_registered_kind_left_behind_is_sent_again(key, sent):
    # Given a run of this kind left behind longer than the grace, its message lost
    assert key in LEFT_BEHIND, f"say in LEFT_BEHIND how a {key!r} run is left behind"
    run = LEFT_BEHIND[key]()
    type(run).objects.filter(pk=run.pk).update(updated_at=LONG_AGO)
    # When the sweep runs
    swept = jobs.runs_sweep()
    # Then it found the run, touched it, and sent the task the registry names with the run's id
    assert swept[key] == [run.pk]
    assert all(ids == [] for other, ids in swept.items() if other != key)
    assert (RUN_KINDS[key].task, (run.pk,)) in sent
    assert type(run).objects.get(pk=run.pk).updated_at > LONG_AGO
