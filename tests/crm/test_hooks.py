"""Named hooks (crm/common/hooks.py): a name settings.CRM_HOOKS does not know is a mistake, said
at once, not a step silently skipped."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from crm.common import hooks


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
