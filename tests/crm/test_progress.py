"""Progress of every long job where it was started (issue 17, point 8): the run pages and the progress
fragments they poll (templates/_progress.html, crm/static/crm/progress.js) say queued while nothing
is counted, x of y with a bar while running, the result once done and the reason once failed; each
fragment is scoped like its page; and the jobs record x and y as they go, once per chunk."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.common.models import JobRun
from customers.models import ClassificationRun, ImportJob, Tier
from customers.tiering.classification import classification_run_execute
from managers.services import RECONCILE_JOB
from tests.factories import CustomerFactory
from visits.generation import visit_run_execute, visit_tasks_generate
from visits.models import VisitRun, VisitTask

pytestmark = pytest.mark.django_db

QUEUED = "排队中"
TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: 门限配置缺失'


def _get(client, user, url: str):
    client.force_login(user)
    return client.get(url)


def _html(client, user, url: str) -> str:
    response = _get(client, user, url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# ---------------------------------------------------------------- reclassification
def _run_urls(run) -> tuple[str, str]:
    return reverse("customers:tier-run", args=[run.pk]), reverse("customers:tier-run-progress", args=[run.pk])


def test_a_queued_reclassification_says_queued_and_never_no_tier_changed(world, client):
    # given a run just queued by "reclassify now" (its message not yet taken by a worker)
    client.force_login(world.admin)
    client.post(reverse("customers:tier-run-start"))
    run = ClassificationRun.objects.get()
    # when the administrator reads its page and its progress fragment
    for url in _run_urls(run):
        html = _html(client, world.admin, url)
        # then both say it is queued, with nothing counted, and no result that is not one
        assert QUEUED in html
        assert "尚未计入任何数据" in html
        assert 'data-state="queued"' in html
        assert "<progress" not in html  # no bar, full or moving, for what has not started
        assert "暂无客户级别变化" not in html
        assert "没有客户的分级发生变化" not in html
        assert "0 户" not in html


def test_a_running_reclassification_shows_x_of_y_with_a_bar(world, client):
    run = ClassificationRun.objects.create(
        trigger=ClassificationRun.Trigger.MANUAL, status="running", total=12, examined=5
    )
    for url in _run_urls(run):
        html = _html(client, world.admin, url)
        assert "已分级 5 户，共 12 户。" in html
        assert '<progress max="12" value="5">' in html
        assert f'data-progress-url="{_run_urls(run)[1]}"' in html


def test_a_failed_reclassification_shows_the_reason(world, client):
    run = ClassificationRun.objects.create(
        trigger=ClassificationRun.Trigger.MANUAL, status="failed", error=TRACEBACK
    )
    html = _html(client, world.admin, _run_urls(run)[1])
    assert 'data-state="failed"' in html
    assert "ValueError: 门限配置缺失" in html
    assert "Traceback" not in html  # the reason, not the trace (the run page keeps it under a fold)


def test_a_finished_reclassification_polled_gives_its_result_and_the_way_to_the_details(world, client):
    run = ClassificationRun.objects.create(
        trigger=ClassificationRun.Trigger.MANUAL, status="done", total=3, examined=3, changed=1
    )
    html = _html(client, world.admin, _run_urls(run)[1])
    assert "共检查 3 户，1 户级别变化" in html
    assert "data-reload" in html  # the page's tables are drawn outside the fragment


def test_reclassification_progress_is_for_those_who_see_the_runs(world, client):
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    progress = _run_urls(run)[1]
    assert _get(client, world.supervisor, progress).status_code == 403
    assert _get(client, world.manager_a.user, progress).status_code == 403
    missing = reverse("customers:tier-run-progress", args=[run.pk + 1])
    assert _get(client, world.admin, missing).status_code == 404


def test_a_reclassification_counts_its_customers_as_it_starts_and_each_chunk_moves_on(world, monkeypatch):
    # given five more active customers (seven in all) and a queued run, classified two at a time
    CustomerFactory.create_batch(5, station=world.station_a)
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    seen = []
    from customers.tiering import classification

    classify = classification.classify_range

    def watched(**kwargs):
        seen.append(ClassificationRun.objects.values_list("examined", "total").get(pk=run.pk))
        return classify(**kwargs)

    monkeypatch.setattr(classification, "classify_range", watched)
    # when it runs
    classification_run_execute(run_id=run.pk, size=2)
    # then the total was known before the first chunk, and each chunk's commit moved `examined` on
    assert seen == [(0, 7), (2, 7), (4, 7), (6, 7)]
    run.refresh_from_db()
    assert (run.status, run.examined, run.total) == ("done", 7, 7)


# ---------------------------------------------------------------- imports
def _job(world, **fields) -> ImportJob:
    return ImportJob.objects.create(
        kind="customers", original_name="大客户.csv", file="imports/x.csv", created_by=world.admin, **fields
    )


def _job_urls(job) -> tuple[str, str]:
    return reverse("customers:import-detail", args=[job.pk]), reverse(
        "customers:import-progress", args=[job.pk]
    )


def test_a_queued_import_says_queued_and_never_0_rows(world, client):
    job = _job(world)
    for url in _job_urls(job):
        html = _html(client, world.admin, url)
        assert QUEUED in html
        assert "共约 0 行" not in html
        assert "<progress" not in html
        assert "0 行" not in html
        assert 'data-state="queued"' in html


def test_a_running_import_shows_rows_checked_of_the_files_rows(world, client):
    job = _job(world, status="running", total_rows=40000, processed_rows=12000)
    for url in _job_urls(job):
        html = _html(client, world.admin, url)
        assert "已检查 12000 行，共约 40000 行。" in html
        assert '<progress max="40000" value="12000">' in html


def test_a_failed_import_shows_the_reason(world, client):
    job = _job(world, status="failed", error="文件第 3 行无法读取；未写入任何数据。")
    html = _html(client, world.admin, _job_urls(job)[1])
    assert 'data-state="failed"' in html
    assert "文件第 3 行无法读取；未写入任何数据。" in html


def test_import_progress_is_scoped_like_the_import_page(world, client):
    # given the administrator's import: the supervisor, who sees only their own imports, gets 404
    job = _job(world, status="running", total_rows=10, processed_rows=1)
    for url in _job_urls(job):
        assert _get(client, world.supervisor, url).status_code == 404
        assert _get(client, world.manager_a.user, url).status_code == 403  # no imports at all


# ---------------------------------------------------------------- visit generation
def _visit_urls(run) -> tuple[str, str]:
    return reverse("visits:run", args=[run.pk]), reverse("visits:run-progress", args=[run.pk])


def test_a_queued_visit_run_says_queued(world, client):
    run = VisitRun.objects.create(day=timezone.localdate())
    for url in _visit_urls(run):
        html = _html(client, world.supervisor, url)
        assert QUEUED in html
        assert 'data-state="queued"' in html


def test_a_running_generation_shows_its_steps_and_the_tasks_so_far(world, client):
    run = VisitRun.objects.create(
        day=timezone.localdate(), status="running", counts={"steps_done": 3, "steps_total": 8, "created": 120}
    )
    for url in _visit_urls(run):
        html = _html(client, world.supervisor, url)
        assert "第 3 步，共 8 步：已生成 120 项走访任务。" in html
        assert '<progress max="8" value="3">' in html


def test_a_failed_visit_run_shows_the_reason(world, client):
    run = VisitRun.objects.create(
        day=timezone.localdate(), status="failed", error="OperationalError('磁盘已满')"
    )
    html = _html(client, world.supervisor, _visit_urls(run)[1])
    assert "OperationalError(&#x27;磁盘已满&#x27;)" in html


def test_visit_runs_are_for_those_who_oversee_the_work(world, client):
    run = VisitRun.objects.create(day=timezone.localdate())
    for url in _visit_urls(run):
        assert _get(client, world.manager_a.user, url).status_code == 403
    assert (
        _get(client, world.supervisor, reverse("visits:run-progress", args=[run.pk + 1])).status_code == 404
    )


def test_generation_reports_each_step_with_the_total_known_from_the_start(world):
    # given key accounts in ten primary-key chunks of one
    CustomerFactory.create_batch(
        3, station=world.station_a, manager=world.manager_a.user, tier=Tier.KEY_ACCOUNT
    )
    calls = []
    # when the tasks due are generated
    counts = visit_tasks_generate(day=dt.date(2026, 3, 15), size=1, progress=lambda **kw: calls.append(kw))
    # then the first call (before any chunk) already knows how many steps there are, each step moves
    # on by one, and the last has every task created
    total = calls[0]["total"]
    assert calls[0] == {"done": 0, "total": total, "added": dict.fromkeys(calls[0]["added"], 0)}
    assert [c["done"] for c in calls] == list(range(total + 1))
    assert {c["total"] for c in calls} == {total}
    # each chunk says what it added, by tier: together, every task created
    assert sum(n for c in calls for n in c["added"].values()) == counts["created"] > 0


def test_a_generation_run_keeps_its_progress_on_the_run_and_its_result_at_the_end(world, monkeypatch):
    CustomerFactory(station=world.station_a, manager=world.manager_a.user, tier=Tier.KEY_ACCOUNT)
    run = VisitRun.objects.create(day=dt.date(2026, 3, 15))
    saved = []
    from visits import generation

    generate = generation.visit_tasks_generate

    def watched(**kwargs):
        progress = kwargs.pop("progress")

        def record(**step):
            progress(**step)
            saved.append(VisitRun.objects.get(pk=run.pk).counts)

        return generate(progress=record, **kwargs)

    monkeypatch.setitem(generation.JOBS, VisitRun.Job.GENERATE, watched)
    visit_run_execute(run_id=run.pk)
    assert saved[0]["steps_done"] == 0
    assert saved[-1]["steps_done"] == saved[-1]["steps_total"]
    run.refresh_from_db()
    assert run.status == "done"
    assert "steps_total" not in run.counts
    assert run.counts["created"] >= 1


def test_generating_from_the_admin_lands_on_the_runs_page(world, client):
    VisitRun.objects.create(day=dt.date(2020, 1, 1), status="done")  # the admin's action needs a row ticked
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:visits_visitrun_changelist"),
        {"action": "generate_now", "_selected_action": [VisitRun.objects.get().pk]},
    )
    run = VisitRun.objects.order_by("-pk").first()
    assert response.status_code == 302
    assert response["Location"] == reverse("visits:run", args=[run.pk])


# ---------------------------------------------------------------- the reconcile
def test_the_unassigned_page_shows_the_running_reconcile_x_of_y(world, client):
    run = JobRun.objects.create(
        job=RECONCILE_JOB,
        started_at=timezone.now(),
        counts={"assigned": 300, "followed_territory": 20, "unassigned": 0, "examined": 320, "total": 2000},
    )
    html = _html(client, world.supervisor, reverse("managers:unassigned"))
    assert "已检查 320 户，共 2000 户。" in html
    assert '<progress max="2000" value="320">' in html
    assert f'data-progress-url="{reverse("managers:reconcile-progress", args=[run.pk])}"' in html


def test_the_reconcile_fragment_says_done_and_failed(world, client):
    now = timezone.now()
    done = JobRun.objects.create(
        job=RECONCILE_JOB, started_at=now, finished_at=now, counts={"assigned": 7, "followed_territory": 1}
    )
    failed = JobRun.objects.create(
        job=RECONCILE_JOB, started_at=now, finished_at=now, error="IntegrityError: 重复"
    )
    html = _html(client, world.supervisor, reverse("managers:reconcile-progress", args=[done.pk]))
    assert 'data-state="done"' in html
    assert "分配 7 户" in html
    html = _html(client, world.supervisor, reverse("managers:reconcile-progress", args=[failed.pk]))
    assert 'data-state="failed"' in html
    assert "IntegrityError: 重复" in html


def test_reconcile_progress_is_for_those_who_assign_and_only_for_reconcile_runs(world, client):
    run = JobRun.objects.create(job=RECONCILE_JOB, started_at=timezone.now())
    other = JobRun.objects.create(job="sla_refresh", started_at=timezone.now())
    assert (
        _get(client, world.manager_a.user, reverse("managers:reconcile-progress", args=[run.pk])).status_code
        == 403
    )
    assert (
        _get(client, world.supervisor, reverse("managers:reconcile-progress", args=[other.pk])).status_code
        == 404
    )


def test_a_generation_run_killed_midway_counts_every_task_once_when_resumed(world, settings, monkeypatch):
    # Given key accounts generated one per chunk, and a worker killed in the third chunk
    CustomerFactory.create_batch(
        3, station=world.station_a, manager=world.manager_a.user, tier=Tier.KEY_ACCOUNT
    )
    settings.VISIT_GENERATION_CHUNK_SIZE = 1
    run = VisitRun.objects.create(day=dt.date(2026, 3, 15))
    from visits import generation

    real = generation.tasks_spread
    calls = []

    def killed_in_the_third_chunk(**kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise SystemExit("worker killed")
        return real(**kwargs)

    monkeypatch.setattr(generation, "tasks_spread", killed_in_the_third_chunk)
    with pytest.raises(SystemExit):
        visit_run_execute(run_id=run.pk)
    assert VisitRun.objects.get(pk=run.pk).status == "running"
    made_before = VisitTask.objects.count()
    assert made_before > 0
    # When the message comes back and the run is executed again
    monkeypatch.setattr(generation, "tasks_spread", real)
    visit_run_execute(run_id=run.pk)
    # Then the run counts every task created, those of the first attempt too, none twice
    run.refresh_from_db()
    assert run.status == "done"
    assert run.counts["created"] == VisitTask.objects.count() > made_before
    assert run.counts["key_account"] == VisitTask.objects.filter(customer__tier=Tier.KEY_ACCOUNT).count()
