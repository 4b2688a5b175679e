"""Named hooks (crm/common/hooks.py): a name settings.CRM_HOOKS does not know is a mistake, said
at once, not a step silently skipped; and every step a write asks for is recorded with the write,
kept when it could not run (the broker away), and run by the sweep once its grace is over."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from kombu.exceptions import OperationalError

from crm.common import hooks
from crm.common.models import PendingHook


def test_an_unknown_hook_name_is_refused_with_its_name(settings):
    # Given the hooks of the settings
    settings.CRM_HOOKS = {"portfolios_changed": "crm.jobs.portfolios_changed"}
    # When a caller asks for a hook nobody configured (a typo, say)
    # Then it is refused, naming the hook
    with pytest.raises(ImproperlyConfigured, match="portfolio_changed"):
        hooks.after_commit("portfolio_changed")


def test_a_known_hook_runs_after_commit(settings, django_capture_on_commit_callbacks, db):
    # Given a configured hook
    settings.CRM_HOOKS = {"ping": "tests.crm.test_hooks.record"}
    record.calls = []
    # When it is asked for inside a transaction that commits
    with django_capture_on_commit_callbacks(execute=True):
        hooks.after_commit("ping", n=1)
    # Then its function ran with the arguments
    assert record.calls == [{"n": 1}]


def record(**kwargs):
    record.calls.append(kwargs)


def broker_away(**kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_step_that_ran_leaves_no_record(settings, django_capture_on_commit_callbacks, db):
    settings.CRM_HOOKS = {"ping": "tests.crm.test_hooks.record"}
    record.calls = []
    with django_capture_on_commit_callbacks(execute=True):
        hooks.after_commit("ping", n=1)
        # recorded in the write's own transaction, before it commits
        assert PendingHook.objects.get().kwargs == {"n": 1}
    assert not PendingHook.objects.exists()


def test_a_step_whose_broker_is_away_is_kept_and_run_by_the_sweep_later(
    settings, django_capture_on_commit_callbacks, db
):
    # Given a hook whose send finds the broker away
    settings.CRM_HOOKS = {"ping": "tests.crm.test_hooks.broker_away"}
    with django_capture_on_commit_callbacks(execute=True):
        hooks.after_commit("ping", n=2)  # no error reaches the caller: the write stands
    hook = PendingHook.objects.get()
    assert hook.attempts == 1
    assert "Connection refused" in hook.error
    # When the broker is back and the grace is over
    settings.CRM_HOOKS = {"ping": "tests.crm.test_hooks.record"}
    hook.target = "tests.crm.test_hooks.record"
    hook.save()
    record.calls = []
    PendingHook.objects.filter(pk=hook.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5))
    # Then the sweep runs it once and the record is gone
    assert hooks.run_left_behind() == [hook.pk]
    assert record.calls == [{"n": 2}]
    assert hooks.run_left_behind() == []
    assert not PendingHook.objects.exists()


def test_a_step_within_its_grace_is_left_to_its_own_process(settings, db):
    PendingHook.objects.create(target="tests.crm.test_hooks.record", kwargs={"n": 3})
    record.calls = []
    assert hooks.run_left_behind() == []
    assert record.calls == []


def test_a_task_sent_after_commit_is_recorded_with_the_write(
    django_capture_on_commit_callbacks, db, monkeypatch
):
    from crm.common.tasks import heartbeat_task as task

    real = task._get_current_object()  # the task itself, not the proxy shared_task returns
    sent = []
    monkeypatch.setattr(real, "apply_async", lambda args=None, **kw: sent.append(tuple(args or ())))
    with django_capture_on_commit_callbacks(execute=True):
        hooks.send_after_commit(task)
        assert PendingHook.objects.get().target == "crm.common.tasks.heartbeat_task"
        assert sent == []  # not before the commit
    assert sent == [()]
    assert not PendingHook.objects.exists()
