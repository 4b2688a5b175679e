"""The hourly reconcile of assignments leaves one record per run with its counts (issue 7, audit)."""

import pytest

from crm.common.models import JobRun
from managers import tasks
from managers.tasks import reconcile_assignments_task
from tests.factories import CustomerFactory


def test_a_reconcile_run_records_when_it_ran_and_what_it_changed(world):
    # given a customer of station A that nobody serves yet
    CustomerFactory(station=world.station_a, tier=world.customer_a.tier, manager=None)
    # when the hourly job runs twice
    first = reconcile_assignments_task()
    second = reconcile_assignments_task()
    # then each run left one record with the counts it returned, the second having moved nobody
    runs = list(JobRun.objects.filter(job="reconcile_assignments").order_by("pk"))
    assert [run.counts for run in runs] == [first, second]
    assert first["assigned"] == 1
    assert second["assigned"] == 0
    assert all(run.finished_at >= run.started_at and run.error == "" for run in runs)


def test_a_failed_reconcile_run_records_its_error_and_still_fails(world, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(tasks, "assignments_reconcile", broken)
    with pytest.raises(RuntimeError):
        reconcile_assignments_task()
    [run] = JobRun.objects.filter(job="reconcile_assignments")
    assert run.error == "RuntimeError: the database went away"
    assert run.finished_at is not None
    assert run.counts == {}
