"""Chains of steps the sweep can see (crm/common/chains.py): each step runs once, in order, while the
chain waits for it under its token; a chain is not doubled; a failure is recorded on the chain and
told to the step's owner; a chain whose message could not be sent is left for the sweep."""

import datetime as dt

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from crm.common import chains
from crm.common.chains import Step, chain_start, register_step
from crm.common.models import ChainRun
from crm.common.runs import Held

pytestmark = pytest.mark.django_db
CALLS: list = []


def _note(**kwargs):
    CALLS.append(kwargs)


def _breaks(**kwargs):
    raise ValueError("no thresholds")


def _failed(**kwargs):
    CALLS.append(("failed", kwargs["n"], "ValueError" in kwargs["error"]))


register_step("test_note", Step(function=_note))
register_step("test_breaks", Step(function=_breaks, failed=_failed))


@pytest.fixture(autouse=True)
def fresh_calls():
    CALLS.clear()


def test_a_chain_runs_its_steps_in_order_once_and_ends(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        chain = chain_start("test", [("test_note", {"n": 1}), ("test_note", {"n": 2})], subject_id=7)
    chain.refresh_from_db()
    assert CALLS == [{"n": 1}, {"n": 2}]
    assert chain.done == 2
    assert chain.finished_at is not None
    assert chain.sends == 2
    assert chain.resends == 0
    assert chain.ignored_messages == 0


def test_starting_the_same_chain_again_sends_its_next_step_again_instead_of_a_second_chain(
    django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(chains, "_send", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        first = chain_start("test", [("test_note", {"n": 1})], subject_id=8)
        again = chain_start("test", [("test_note", {"n": 1})], subject_id=8)
    assert again.pk == first.pk
    assert ChainRun.objects.count() == 1
    again.refresh_from_db()
    assert again.resends == 1
    assert [token for _chain, _step, token in sent] == [first.token, again.token]
    assert first.token != again.token


def test_a_failing_step_is_recorded_on_the_chain_and_told_to_its_owner(django_capture_on_commit_callbacks):
    with pytest.raises(ValueError, match="no thresholds"), django_capture_on_commit_callbacks(execute=True):
        chain_start("test", [("test_breaks", {"n": 3}), ("test_note", {"n": 4})])
    chain = ChainRun.objects.get()
    assert "no thresholds" in chain.error
    assert chain.done == 0
    assert chain.finished_at is None
    assert CALLS == [("failed", 3, True)]  # and the next step never ran


def test_a_chain_whose_first_message_found_the_broker_away_is_left_for_the_sweep(
    django_capture_on_commit_callbacks, monkeypatch
):
    def away(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(chains.chain_step_task, "apply_async", away)
    with django_capture_on_commit_callbacks(execute=True):
        chain = chain_start("test", [("test_note", {"n": 5})], subject_id=9)
    assert CALLS == []
    ChainRun.objects.filter(pk=chain.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=2))
    before = timezone.now() - dt.timedelta(minutes=1)
    assert chains.left_behind(before=before, held=Held([])) == [chain.pk]
    # a step a worker holds is not left behind
    assert chains.left_behind(before=before, held=Held([(chains.TASK, (chain.pk, 0, chain.token))])) == []


def test_an_unregistered_step_is_refused_before_anything_is_recorded():
    with pytest.raises(KeyError, match="nonesuch"):
        chain_start("test", [("nonesuch", {})])
    assert not ChainRun.objects.exists()
