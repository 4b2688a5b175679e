"""The sweep of runs left behind (crm/jobs.py): a run recorded in the database whose message was lost
(Redis restarted with nothing on disk) or whose worker died is sent again, once, and completes; a run
that a live worker holds, that still waits in the queue, or that moved recently is left alone.

Tasks run in-process here (eager), so "sent again" means "run to the end"; which runs a live worker
holds and which messages wait in the broker are given by the test."""

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.utils import timezone

from crm import jobs
from crm.common import chains
from crm.common.models import ChainRun, PendingHook
from customers.models import ClassificationRun, Customer, ImportJob, Tier, TierChange
from managers.reassignment import COUNTS
from tests.customers.tiering_helpers import add_consumption
from tests.factories import CustomerFactory
from visits.models import VisitRun, VisitTask

pytestmark = pytest.mark.django_db
LONG_AGO = timezone.now() - dt.timedelta(hours=1)


@pytest.fixture
def nothing_held(monkeypatch):
    """No live worker holds a task and no message waits in the broker: the queue was lost."""
    held: set = set()
    monkeypatch.setattr(jobs, "_held_by_workers", lambda: held)
    monkeypatch.setattr(jobs, "_waiting_in_broker", set)
    return held


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """The sweep as beat's worker runs it: outside a transaction, so what it sends once its own
    transactions commit is sent (here, run in-process) before it returns."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return jobs.runs_sweep(**kwargs)

    return run


def _left_behind(model, **fields):
    """A run recorded long ago whose message is gone."""
    run = model.objects.create(**fields)
    model.objects.filter(pk=run.pk).update(updated_at=LONG_AGO)
    return run


@pytest.fixture
def vip_to_be(world):
    """Customer A consumes like a VIP: a classification moves it (and reassigns it)."""
    add_consumption(world.customer_a, total="12000000")
    return world.customer_a


def test_a_queued_classification_run_whose_message_was_lost_is_sent_again_and_completes(
    sweep, vip_to_be, nothing_held
):
    run = _left_behind(ClassificationRun, trigger=ClassificationRun.Trigger.MANUAL)
    swept = sweep()
    assert swept["classification"] == [run.pk]
    run.refresh_from_db()
    assert run.status == ClassificationRun.State.DONE
    assert Customer.objects.get(pk=vip_to_be.pk).tier == Tier.VIP
    assert TierChange.objects.filter(run=run, customer=vip_to_be, new_tier=Tier.VIP).count() == 1
    # the chain went on past the classification: every changed customer was reassigned
    counts = run.reassignment
    assert counts["finished"]
    assert sum(counts[key] for key in COUNTS) == TierChange.objects.filter(run=run).count()


def test_a_running_run_resumes_after_its_last_chunk(sweep, world, nothing_held):
    # Given a run whose worker died after the chunk that holds customer A
    CustomerFactory(station=world.station_b)
    add_consumption(world.customer_b, total="12000000")
    run = _left_behind(
        ClassificationRun,
        trigger=ClassificationRun.Trigger.MANUAL,
        status=ClassificationRun.State.RUNNING,
        policy_id=1,
        started_at=LONG_AGO,
        max_pk=Customer.objects.order_by("-pk").values_list("pk", flat=True).first(),
        last_pk=world.customer_a.pk,
        examined=1,
        chunks_done=1,
    )
    sweep()
    run.refresh_from_db()
    assert run.status == ClassificationRun.State.DONE
    assert run.examined == Customer.objects.count()  # 1 from before plus the rest, none twice
    changed = set(TierChange.objects.filter(run=run).values_list("customer_id", flat=True))
    assert world.customer_b.pk in changed
    assert world.customer_a.pk not in changed  # its chunk was done before the worker died


def test_a_run_a_live_worker_holds_is_left_alone(sweep, vip_to_be, nothing_held):
    run = _left_behind(ClassificationRun, trigger=ClassificationRun.Trigger.MANUAL)
    nothing_held.add((jobs.CLASSIFY_TASK, (run.pk,)))
    assert sweep()["classification"] == []
    assert ClassificationRun.objects.get(pk=run.pk).status == ClassificationRun.State.QUEUED


def test_a_run_whose_message_waits_in_the_broker_is_left_alone(sweep, vip_to_be, monkeypatch):
    run = _left_behind(ClassificationRun, trigger=ClassificationRun.Trigger.MANUAL)
    monkeypatch.setattr(jobs, "_held_by_workers", lambda: None)  # a broker that cannot broadcast
    monkeypatch.setattr(jobs, "_waiting_in_broker", lambda: {(jobs.CLASSIFY_TASK, (run.pk,))})
    assert sweep()["classification"] == []


def test_a_run_that_moved_within_the_grace_period_is_left_alone(sweep, vip_to_be, nothing_held):
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    assert sweep()["classification"] == []
    assert ClassificationRun.objects.get(pk=run.pk).status == ClassificationRun.State.QUEUED


def test_a_second_sweep_sends_nothing_again(sweep, world, nothing_held, monkeypatch):
    # Given the sweep sent a lost run again, and its message is not consumed yet
    run = _left_behind(ClassificationRun, trigger=ClassificationRun.Trigger.MANUAL)
    sent = []
    monkeypatch.setattr(jobs, "classification_queued", lambda *, run_id: sent.append(run_id))
    assert sweep()["classification"] == [run.pk]
    # When the next sweep comes before the grace period is over; then it sends nothing
    assert sweep()["classification"] == []
    assert sent == [run.pk]


def test_a_chain_whose_next_step_was_lost_is_sent_again_and_ends(sweep, vip_to_be, nothing_held):
    # Given a run whose classification step finished, and then Redis lost the reassignment's message
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    from customers.tiering.classification import classification_run_execute

    chain = ChainRun.objects.create(
        name="classification",
        subject_id=run.pk,
        steps=[["classify", {"run_id": run.pk}], *map(list, jobs._after_classification(run.pk))],
        done=1,
        token="lost",
    )
    classification_run_execute(run_id=run.pk)
    ChainRun.objects.filter(pk=chain.pk).update(updated_at=LONG_AGO)
    ClassificationRun.objects.filter(pk=run.pk).update(updated_at=LONG_AGO)
    # When the sweep runs; then it sends the chain's next step again, and the chain ends
    swept = sweep()
    assert swept["chains"] == [chain.pk]
    assert swept["classification"] == []  # a chained run is swept through its chain
    chain.refresh_from_db()
    assert chain.finished_at is not None
    assert chain.done == len(chain.steps)
    assert chain.resends == 1
    reassignment = ClassificationRun.objects.get(pk=run.pk).reassignment
    assert (
        reassignment["moved"] + reassignment["unassigned"] == TierChange.objects.filter(run=run).count() > 0
    )


def test_the_lost_message_coming_back_runs_nothing_and_is_counted(sweep, vip_to_be, nothing_held):
    # Given a chain the sweep sent again under a new token after its message was lost
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    chain = ChainRun.objects.create(
        name="classification", subject_id=run.pk, steps=[["classify", {"run_id": run.pk}]], token="first"
    )
    ChainRun.objects.filter(pk=chain.pk).update(updated_at=LONG_AGO)
    assert sweep()["chains"] == [chain.pk]
    assert ClassificationRun.objects.get(pk=run.pk).status == ClassificationRun.State.DONE
    # When the first message comes back (Redis gives it back after its visibility timeout)
    chains.chain_step_task.delay(chain.pk, 0, "first")
    # Then it runs nothing and is counted as ignored
    chain.refresh_from_db()
    assert chain.ignored_messages == 1
    assert chain.done == 1
    assert chain.resends == 1


def test_a_step_recorded_with_a_write_that_never_ran_is_run_by_the_sweep(sweep, vip_to_be, nothing_held):
    # Given a web process that died after its COMMIT: the queued run and its hook are recorded
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    hook = PendingHook.objects.create(target="crm.jobs.classification_queued", kwargs={"run_id": run.pk})
    PendingHook.objects.filter(pk=hook.pk).update(created_at=LONG_AGO)
    # When the sweep runs; then it runs the hook (its chain classifies) and the row is gone
    swept = sweep()
    assert swept["hooks"] == [hook.pk]
    assert not PendingHook.objects.exists()
    assert ClassificationRun.objects.get(pk=run.pk).status == ClassificationRun.State.DONE
    assert ChainRun.objects.get(name="classification", subject_id=run.pk).finished_at is not None


def test_an_import_whose_message_was_lost_completes(sweep, world, nothing_held):
    job = ImportJob(kind=ImportJob.Kind.CONSUMPTION, original_name="march.csv", created_by=world.admin)
    account = world.customer_a.account_no
    job.file.save("march.csv", ContentFile(f"account_no,period,kwh\n{account},2026-03,1200\n".encode()))
    ImportJob.objects.filter(pk=job.pk).update(updated_at=LONG_AGO)
    assert sweep()["imports"] == [job.pk]
    job.refresh_from_db()
    assert job.status == ImportJob.State.DONE, job.error
    assert world.customer_a.consumption.get(period=dt.date(2026, 3, 1)).kwh == Decimal("1200")


def test_a_visit_run_left_running_by_a_dead_worker_completes(sweep, world, nothing_held):
    importlib.import_module("visits.migrations.0002_default_policies").create_defaults(apps, None)
    run = _left_behind(VisitRun, job=VisitRun.Job.GENERATE, day=timezone.localdate(), status="running")
    assert sweep()["visits"] == [run.pk]
    run.refresh_from_db()
    assert run.status == VisitRun.State.DONE
    assert VisitTask.objects.filter(customer=world.customer_a).exists()


def test_a_visit_run_whose_scheduled_task_a_live_worker_runs_is_left_alone(sweep, world, nothing_held):
    _left_behind(VisitRun, job=VisitRun.Job.GENERATE, day=timezone.localdate(), status="running")
    nothing_held.add((jobs.VISIT_JOB_TASKS["generate"], ()))
    assert sweep()["visits"] == []


def test_beat_runs_the_sweep_every_few_minutes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-runs"]
    assert entry["task"] == "crm.jobs.sweep_runs_task"
    assert entry["schedule"] <= 600
