"""The SLA job (service.sla.sla_states_refresh, from beat through service.tasks.sla_refresh_task):
it moves the running clocks that crossed 80 % or their due instant, tells their people once, and
leaves waiting clocks frozen."""

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail

from crm.common.models import JobRun
from service.models import Alert, RequestStage, ServiceRequest, SlaState
from service.services import request_open, request_wait_customer, stage_advance
from service.sla import sla_states_refresh
from service.tasks import SLA_JOB, sla_refresh_task


def open_request(world, kind="meter_fault"):
    """A request of customer A (owner manager A, whose supervisor is world.supervisor) with one
    metering stage (world.staff's department)."""
    return request_open(kind=kind, source="manager", by=world.manager_a.user, customer=world.customer_a)


def stored(obj) -> str:
    return type(obj).objects.values_list("sla_state", flat=True).get(pk=obj.pk)


def told(**filters) -> set[tuple[str, str]]:
    return set(Alert.objects.filter(**filters).values_list("recipient__username", "state"))


@pytest.fixture
def request_a(world):
    return open_request(world)


def test_a_stage_past_80_percent_becomes_warning_and_tells_the_owner_and_the_departments_staff(
    world, request_a
):
    # given a running metering stage and the moment just after its warning instant (before the
    # request's own warning: a single stage's clock and the request's coincide, so the request moves too)
    stage = request_a.stages.get()
    now = stage.warn_at + dt.timedelta(minutes=1)
    # when the job runs
    counts = sla_states_refresh(now=now)
    # then the stage is at warning and the owner and the metering staff are told, not the supervisor
    assert stored(stage) == SlaState.WARNING
    assert counts["requeststage_warning"] == 1
    assert told(stage=stage) == {("manager_a", "warning"), ("staff_metering", "warning")}


def test_a_stage_past_due_becomes_breached_and_tells_the_supervisor_too(world, request_a):
    stage = request_a.stages.get()
    # when the job runs after the due instant
    sla_states_refresh(now=stage.due_at + dt.timedelta(minutes=1))
    # then the stage is breached and the owner, the staff and the owner's supervisor are told
    assert stored(stage) == SlaState.BREACHED
    assert told(stage=stage) == {
        ("manager_a", "breached"),
        ("staff_metering", "breached"),
        ("supervisor", "breached"),
    }


def test_a_rerun_moves_nothing_and_tells_nobody_twice(world, request_a):
    # given a job that moved a stage to breached and e-mailed its people
    stage = request_a.stages.get()
    now = stage.due_at + dt.timedelta(minutes=1)
    sla_states_refresh(now=now)
    alerts, messages = Alert.objects.count(), len(mail.outbox)
    # when it runs again, later
    counts = sla_states_refresh(now=now + dt.timedelta(hours=1))
    # then nothing moved, no alert was added and no e-mail sent
    assert counts == {key: 0 for key in counts}
    assert (Alert.objects.count(), len(mail.outbox)) == (alerts, messages)


def test_a_warning_then_a_breach_tells_each_person_once_per_state(world, request_a):
    stage = request_a.stages.get()
    sla_states_refresh(now=stage.warn_at + dt.timedelta(minutes=1))
    # when the job runs again past due
    sla_states_refresh(now=stage.due_at + dt.timedelta(minutes=1))
    # then the owner has one alert at warning and one at breach
    assert Alert.objects.filter(stage=stage, recipient=world.manager_a.user).count() == 2


def test_a_stage_waiting_for_the_customer_is_not_moved(world):
    # given an install stage waiting for the customer (its clock is paused)
    request = open_request(world, kind="load_control_install")
    stage = request.stages.get()
    request_wait_customer(request=request, reason="客户现场未具备安装条件", by=world.manager_a.user)
    # when the job runs long after its due instant
    counts = sla_states_refresh(now=stage.due_at + dt.timedelta(days=5))
    # then neither the stage nor the request moved, and nobody is told
    assert (stored(stage), stored(request)) == (SlaState.OK, SlaState.OK)
    assert counts["requeststage_breached"] == counts["servicerequest_breached"] == 0
    assert not Alert.objects.exists()


def test_a_request_whose_last_stage_is_done_in_time_is_not_breached_while_it_waits_to_close(world, request_a):
    # given a request whose only stage was done in time by the metering staff, not yet closed
    stage = request_a.stages.get()
    stage_advance(
        request=request_a, stage_code=stage.code, by=world.staff, at=stage.started_at + dt.timedelta(hours=1)
    )
    request_a.refresh_from_db()
    # when the job runs after the request's own due instant
    counts = sla_states_refresh(now=request_a.due_at + dt.timedelta(days=3))
    # then the stopped clock keeps the state it stopped with, and nobody is told
    assert stored(request_a) == SlaState.OK
    assert counts["servicerequest_breached"] == 0
    assert not Alert.objects.exists()


def test_a_clock_before_its_warning_instant_is_left_alone(world, request_a):
    stage = request_a.stages.get()
    counts = sla_states_refresh(now=stage.warn_at - dt.timedelta(minutes=1))
    assert stored(stage) == SlaState.OK
    assert sum(counts.values()) == 0


def test_a_request_breaches_its_total_while_every_stage_is_on_time(world, request_a):
    # given a request whose total is due before its running stage's own limit
    stage = request_a.stages.get()
    now = stage.warn_at - dt.timedelta(hours=1)
    ServiceRequest.objects.filter(pk=request_a.pk).update(
        warn_at=now - dt.timedelta(hours=2), due_at=now - dt.timedelta(hours=1)
    )
    # when the job runs
    counts = sla_states_refresh(now=now)
    # then the request is breached, the stage still on time, and the owner and supervisor are told
    # about the whole request (no department: its staff are not)
    assert (stored(request_a), stored(stage)) == (SlaState.BREACHED, SlaState.OK)
    assert counts["servicerequest_breached"] == 1
    assert told(request=request_a, stage__isnull=True) == {
        ("manager_a", "breached"),
        ("supervisor", "breached"),
    }


def test_the_job_moves_every_clock_in_chunks(world):
    # given three requests past due and chunks of one
    requests = [open_request(world) for _ in range(3)]
    now = max(r.due_at for r in requests) + dt.timedelta(minutes=1)
    # when the job runs
    counts = sla_states_refresh(now=now, size=1)
    # then all three stages and requests are breached
    assert counts["requeststage_breached"] == counts["servicerequest_breached"] == 3
    assert set(RequestStage.objects.values_list("sla_state", flat=True)) == {SlaState.BREACHED}


def test_the_task_records_each_run_with_its_counts(world, request_a):
    # when beat's task runs (eagerly in tests)
    sla_refresh_task()
    # then a JobRun of the SLA job records the counts
    run = JobRun.objects.get(job=SLA_JOB)
    assert run.finished_at is not None
    assert run.counts["requeststage_breached"] == 0


def test_beat_runs_the_sla_job_every_few_minutes():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == sla_refresh_task.name)
    assert entry["schedule"] <= 300


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_move_each_clock_once_and_email_each_alert_once(world):
    import threading

    from django.db import connection

    # given three requests past due
    requests = [open_request(world) for _ in range(3)]
    now = max(r.due_at for r in requests) + dt.timedelta(minutes=1)
    start = threading.Barrier(2)
    results = []

    def run():
        try:
            start.wait()
            results.append(sla_states_refresh(now=now, size=1))
        finally:
            connection.close()

    # when two runs start at the same moment
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then between them every clock moved once, and every alert was e-mailed in one message only
    assert sum(r["requeststage_breached"] for r in results) == 3
    assert sum(r["servicerequest_breached"] for r in results) == 3
    told = [(tuple(m.to), line) for m in mail.outbox for line in m.body.splitlines() if line.startswith("- ")]
    assert len(told) == len(set(told)) == Alert.objects.count() == 3 * 3 + 3 * 2
