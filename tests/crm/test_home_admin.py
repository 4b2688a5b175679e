"""The administrator's home (crm.pages.runs_and_imports): the latest classification runs, imports,
assignment runs and visit generation runs with their state, when, counts, the reason of a failure and
a link to each run's page, beside the company figures, at a fixed number of queries."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.common.models import JobRun
from crm.pages import RUN_ROWS
from customers.models import ClassificationRun, ImportJob
from managers.services import RECONCILE_JOB
from tests.factories import UserFactory
from visits.models import VisitRun

HOME = reverse("home")
NOW = timezone.now()


def _groups(client, user) -> dict:
    client.force_login(user)
    response = client.get(HOME)
    assert response.status_code == 200
    return {group.title: group for group in response.context["runs_home"]}, response.content.decode()


def _import(user, **fields) -> ImportJob:
    return ImportJob.objects.create(
        kind="consumption", file="imports/x.csv", original_name="十一月电量.csv", created_by=user, **fields
    )


def test_administrator_sees_each_kind_of_run_with_its_page(client, world):
    done = ClassificationRun.objects.create(trigger="schedule", status="done", examined=4832, changed=37)
    job = _import(world.admin, status="done", total_rows=4800, created_count=4700, updated_count=90)
    reconcile = JobRun.objects.create(
        job=RECONCILE_JOB, started_at=NOW, finished_at=NOW, counts={"assigned": 12, "unassigned": 1}
    )
    generation = VisitRun.objects.create(
        job="generate", day=NOW.date(), status="done", counts={"created": 143}
    )

    groups, html = _groups(client, world.admin)

    assert list(groups) == ["重新分级记录", "导入", "客户分配运行", "走访任务生成运行"]
    (run,) = groups["重新分级记录"].lines
    assert (run.state, run.counts) == ("done", "检查客户 4,832 户，分级变化 37 户")
    assert groups["导入"].lines[0].counts == "共 4,800 行：新增 4,700，更新 90，拒收 0"
    assert groups["客户分配运行"].lines[0].counts.startswith("分配 12 户")
    assert groups["走访任务生成运行"].lines[0].counts == "生成走访任务 143 条"
    for url in (
        reverse("customers:tier-run", args=[done.pk]),
        reverse("customers:import-detail", args=[job.pk]),
        reverse("admin:common_jobrun_change", args=[reconcile.pk]),
        reverse("visits:run", args=[generation.pk]),
    ):
        assert f'href="{url}"' in html


def test_a_failed_run_gives_its_reason(client, world):
    ClassificationRun.objects.create(
        trigger="manual",
        status="failed",
        error="Traceback (most recent call last):\n  File x\nOperationalError: database is locked",
    )
    VisitRun.objects.create(job="care", day=NOW.date(), status="failed", error="ValueError: no consumption")

    groups, html = _groups(client, world.admin)

    (run,) = groups["重新分级记录"].lines
    assert (run.state, run.reason) == ("failed", "OperationalError: database is locked")
    assert groups["走访任务生成运行"].lines[0].reason == "ValueError: no consumption"  # any failed visit job
    assert "OperationalError: database is locked" in html


def test_visit_runs_are_generation_and_failures_only(client, world):
    VisitRun.objects.create(job="overdue", day=NOW.date(), status="done")
    VisitRun.objects.create(job="generate", day=NOW.date(), status="done")

    groups, _html = _groups(client, world.admin)

    assert [line.what.split(" · ")[0] for line in groups["走访任务生成运行"].lines] == ["生成走访任务"]


def test_an_assignment_run_is_running_until_it_finishes_and_did_not_finish_when_left_behind(client, world):
    JobRun.objects.create(job=RECONCILE_JOB, started_at=NOW - dt.timedelta(minutes=1))
    JobRun.objects.create(job=RECONCILE_JOB, started_at=NOW - dt.timedelta(hours=5))
    JobRun.objects.create(job="sla_refresh", started_at=NOW)  # another job's record

    groups, _html = _groups(client, world.admin)

    assert [(line.state, line.state_label) for line in groups["客户分配运行"].lines] == [
        ("running", "进行中"),
        ("failed", "未能完成"),
    ]


def test_a_queued_import_shows_no_counts_and_a_rejected_one_says_nothing_was_written(client, world):
    _import(world.admin, status="rejected", total_rows=120, rejected_count=3)
    _import(world.admin)

    groups, _html = _groups(client, world.admin)

    queued, rejected = groups["导入"].lines
    assert (queued.state, queued.counts) == ("queued", "")
    assert rejected.state == "rejected"
    assert "未写入" in rejected.state_label


def test_each_kind_shows_its_latest_runs_only(client, world):
    ClassificationRun.objects.bulk_create(
        [ClassificationRun(trigger="schedule", status="done", examined=i) for i in range(RUN_ROWS + 3)]
    )

    groups, _html = _groups(client, world.admin)

    assert len(groups["重新分级记录"].lines) == RUN_ROWS


def test_the_runs_are_the_administrators_home_only(client, world):
    for user in (world.supervisor, world.manager_a.user):
        client.force_login(user)
        assert "runs_home" not in client.get(HOME).context


def test_the_company_figures_stay_beside_the_runs(client, world):
    _groups_, html = _groups(client, world.admin)

    assert "全公司" in html
    assert "最近的运行与导入" in html


@pytest.mark.parametrize("size", [2, 20])
def test_administrators_home_takes_a_fixed_number_of_queries(client, world, size, django_assert_num_queries):
    user = UserFactory()
    for i in range(size):
        ClassificationRun.objects.create(trigger="manual", status="failed", error="boom", started_by=user)
        _import(user, status="failed", error="bad file")
        JobRun.objects.create(job=RECONCILE_JOB, started_at=NOW - dt.timedelta(minutes=i), error="boom")
        VisitRun.objects.create(job="generate", day=NOW.date(), status="done", started_by=user)
    client.force_login(world.admin)
    client.get(HOME)

    with django_assert_num_queries(10):
        response = client.get(HOME)

    assert all(len(group.lines) == min(size, RUN_ROWS) for group in response.context["runs_home"])
