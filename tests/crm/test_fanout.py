"""The chunks of a run as tasks of their own (crm.common.fanout), in-process: planned once, each done
once whatever the order, the run finished and its chain moved on by the last chunk only, a chunk
failing for good failing its run and chain, and the sweep's view of the chunks left behind. With
real workers: tests/crm/test_fanout_workers.py."""

import datetime as dt

import pytest
from django.utils import timezone

from crm.common import chains, fanout
from crm.common.models import ChainRun, RunChunk
from crm.common.runs import Held
from customers.models import ClassificationRun, Customer, TierChange
from customers.tiering import classification
from tests.customers.test_classification_runs import build_varied_customers, snapshot
from tests.factories import CustomerFactory

State = ClassificationRun.State
LABEL = "customers.classificationrun"


def _started(size: int = 7) -> ClassificationRun:
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    return classification._begin(run.pk, size)


def _chunk_ids(run) -> list[int]:
    return list(RunChunk.objects.filter(run_id=run.pk).order_by("index").values_list("pk", flat=True))


@pytest.mark.django_db
def test_bounds_cover_every_id_once_in_chunks_of_the_size_asked_for_whatever_the_gaps():
    customers = CustomerFactory.create_batch(23)
    for gone in customers[3:9]:
        gone.delete()
    ids = sorted(Customer.objects.values_list("pk", flat=True))
    bounds = fanout.pk_bounds("customers_customer", upto=ids[-1], size=5)
    covered = [[pk for pk in ids if lo < pk <= hi] for lo, hi in bounds]
    assert [len(chunk) for chunk in covered] == [5, 5, 5, 2]
    assert sum(covered, []) == ids
    assert fanout.pk_bounds("customers_customer", after=ids[9], upto=ids[-1], size=5)[0][0] == ids[9]


@pytest.mark.django_db
def test_chunks_done_in_any_order_end_as_in_order_and_the_run_finishes_with_the_last():
    build_varied_customers()
    initial = list(Customer.objects.values_list("pk", "tier"))
    in_order = classification.classification_run_execute(
        run_id=ClassificationRun.objects.create(trigger="manual").pk, size=7
    )
    expected = snapshot()
    TierChange.objects.all().delete()
    for pk, tier in initial:
        Customer.objects.filter(pk=pk).update(tier=tier, annual_consumption_kwh=0, latest_period=None)
    run = _started()
    ids = _chunk_ids(run)
    assert len(ids) == in_order.chunks_done == 6
    for chunk_id in reversed(ids):
        assert ClassificationRun.objects.get(pk=run.pk).status == State.RUNNING
        assert fanout.chunk_run(chunk_id) is True
    run.refresh_from_db()
    assert run.status == State.DONE
    assert snapshot() == expected
    assert (run.examined, run.changed, run.transitions, run.last_pk) == (
        in_order.examined,
        in_order.changed,
        in_order.transitions,
        run.max_pk,
    )


@pytest.mark.django_db
def test_a_chunk_done_again_does_nothing_and_the_cursor_stops_at_the_first_undone_chunk():
    build_varied_customers()
    run = _started()
    first, second, third, *_rest = _chunk_ids(run)
    fanout.chunk_run(first)
    fanout.chunk_run(third)
    after = ClassificationRun.objects.get(pk=run.pk)
    changes = TierChange.objects.count()
    assert fanout.chunk_run(third) is False
    again = ClassificationRun.objects.get(pk=run.pk)
    assert (again.examined, again.chunks_done, TierChange.objects.count()) == (after.examined, 2, changes)
    assert again.last_pk == RunChunk.objects.get(pk=second).lo  # done up to the undone second chunk


@pytest.mark.django_db
def test_a_resumed_start_plans_nothing_more():
    build_varied_customers()
    run = _started()
    planned = _chunk_ids(run)
    assert classification._begin(run.pk, 3).status == State.RUNNING
    assert _chunk_ids(run) == planned


@pytest.mark.django_db
def test_a_run_that_was_running_before_chunks_existed_is_planned_from_its_cursor():
    build_varied_customers()
    ids = sorted(Customer.objects.values_list("pk", flat=True))
    run = ClassificationRun.objects.create(
        trigger="manual", status=State.RUNNING, max_pk=ids[-1], last_pk=ids[19]
    )
    run.policy = classification.TierPolicy.objects.effective(timezone.localdate())
    run.save()
    classification.classification_run_execute(run_id=run.pk, size=7)
    run.refresh_from_db()
    assert (run.status, run.examined) == (State.DONE, len(ids) - 20)
    assert RunChunk.objects.filter(run_id=run.pk).order_by("index").first().lo == ids[19]


def _chain(run) -> ChainRun:
    return ChainRun.objects.create(
        name="test", steps=[["classify", {"run_id": run.pk}], ["reconcile", {}]], token="t", sends=1
    )


def _waiting_chain() -> tuple[ClassificationRun, ChainRun]:
    """A started run over varied customers, and a chain whose step handed it to its chunks."""
    build_varied_customers()
    run = _started()
    chain = _chain(run)
    chains._wait_for(chain.pk, 0, "t", chains.FannedOut(LABEL, run.pk))
    return run, chain


@pytest.mark.django_db
def test_the_chain_waits_on_the_chunks_and_the_last_moves_it_on_once(django_capture_on_commit_callbacks):
    run, chain = _waiting_chain()
    chain.refresh_from_db()
    assert (chain.done, chain.waiting_on) == (0, f"{LABEL}:{run.pk}")
    assert chains._current(chain.pk, 0, "t") is None  # the step's message again: ignored
    with django_capture_on_commit_callbacks() as sent:
        fanout.run_inline(LABEL, run.pk)
    chain.refresh_from_db()
    assert (chain.done, chain.waiting_on, chain.sends, len(sent)) == (1, "", 2, 1)


@pytest.mark.django_db
def test_a_chain_whose_chunks_ended_before_it_could_wait_moves_on_at_once():
    build_varied_customers()
    run = _started()
    fanout.run_inline(LABEL, run.pk)
    chain = _chain(run)
    chains._wait_for(chain.pk, 0, "t", chains.FannedOut(LABEL, run.pk))
    chain.refresh_from_db()
    assert (chain.done, chain.waiting_on) == (1, "")


@pytest.mark.django_db
def test_a_chunk_failing_for_good_fails_its_run_and_its_chain(monkeypatch):
    run, chain = _waiting_chain()

    def broken(**kwargs):
        raise ValueError("no such column")

    monkeypatch.setitem(fanout.FANS, LABEL, fanout.Fan(work=broken, failed=fanout.FANS[LABEL].failed))
    with pytest.raises(ValueError, match="no such column"):
        fanout.run_chunk_task.apply(args=(_chunk_ids(run)[0],), throw=True)
    run.refresh_from_db()
    chain.refresh_from_db()
    assert run.status == State.FAILED
    assert "no such column" in run.error
    assert "no such column" in chain.error
    assert not RunChunk.objects.filter(run_id=run.pk, done_at__isnull=False).exists()


@pytest.mark.django_db
def test_the_sweep_sends_again_the_undone_chunks_of_running_runs_that_no_worker_holds():
    build_varied_customers()
    run = _started()
    first, second, *_rest = _chunk_ids(run)
    fanout.chunk_run(first)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    RunChunk.objects.update(updated_at=long_ago)
    now = timezone.now()
    held = Held([(fanout.TASK, (second,))])
    left = fanout.left_behind(before=now, held=held)
    assert first not in left
    assert second not in left
    assert len(left) == len(_rest)
    assert fanout.left_behind(before=long_ago, held=held) == []  # within the grace
    assert sorted(fanout.send_again(left)) == sorted(left)
    assert fanout.left_behind(before=now, held=held) == []  # touched as they were sent
    ClassificationRun.objects.filter(pk=run.pk).update(status=State.FAILED)
    RunChunk.objects.update(updated_at=long_ago)
    assert fanout.left_behind(before=now, held=Held([])) == []  # a failed run's chunks stay


@pytest.mark.django_db
def test_a_run_abandoned_for_a_new_one_ends_the_chain_waiting_on_its_chunks():
    stale, chain = _waiting_chain()
    ClassificationRun.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - dt.timedelta(hours=3))
    fresh = classification.classification_run_execute(
        run_id=ClassificationRun.objects.create(trigger="manual").pk, size=7
    )
    chain.refresh_from_db()
    assert (ClassificationRun.objects.get(pk=stale.pk).status, fresh.status) == (State.FAILED, State.DONE)
    assert "Abandoned" in chain.error or "放弃" in chain.error
    assert chains.left_behind(before=timezone.now(), held=Held([])) == []
