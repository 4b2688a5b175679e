"""The events of visits, service requests and appraisals, written where the change happens."""

import pytest
from django.utils import timezone

from appraisal import services as appraisal_services
from appraisal.models import Rater
from crm.common.models import OutboxEvent
from service.services import request_close, request_open, stage_advance
from tests.appraisal.core_helpers import all_scores, appraisal_of, open_cycle
from tests.factories import VisitTaskFactory
from visits import reports

pytestmark = pytest.mark.django_db


def _types() -> list[str]:
    return list(OutboxEvent.objects.order_by("pk").values_list("event_type", flat=True))


@pytest.fixture(autouse=True)
def calendar_2026(db):
    from service.calendar import calendar_seed_from_package

    calendar_seed_from_package(years=[2026])


def test_a_visit_report_writes_visit_task_done(world):
    task = VisitTaskFactory(customer=world.customer_a, kind="ad_hoc")
    report = reports.visit_report_submit(
        task=task,
        by=world.manager_a.user,
        visited_on=timezone.localdate(),
        channel="on_site",
        business_trend="stable",
        satisfaction=5,
    )
    event = OutboxEvent.objects.get(event_type="visit_task.done")
    assert event.payload["visit_task"] == task.pk
    assert event.payload["visit_report"] == report.pk
    assert event.payload["link"] == f"/api/v1/visit-tasks/{task.pk}/"


def test_a_service_request_writes_created_stage_changed_and_closed(world):
    request = request_open(
        kind="meter_fault", source="manager", by=world.manager_a.user, customer=world.customer_a
    )
    assert _types() == ["service_request.created"]
    for stage in request.stages.order_by("position"):
        stage_advance(request=request, stage_code=stage.code, by=world.admin)
    request_close(request=request, by=world.admin)
    types = _types()
    assert types[0] == "service_request.created"
    assert types[-1] == "service_request.closed"
    assert types.count("service_request.stage_changed") == request.stages.count()
    closed = OutboxEvent.objects.get(event_type="service_request.closed").payload
    assert closed["service_request"] == request.pk
    assert closed["status"] == "closed"


def test_a_finalized_appraisal_writes_appraisal_finalized(world):
    appraisal = appraisal_of(open_cycle(world), world.manager_a)
    seat = Rater.objects.get(appraisal=appraisal, user=world.supervisor)
    appraisal_services.scores_save(rater=seat, scores=all_scores(80), by=world.supervisor)
    appraisal_services.appraisal_submit(appraisal=appraisal, by=world.supervisor)
    appraisal_services.appraisal_finalize(appraisal=appraisal, by=world.supervisor)
    event = OutboxEvent.objects.get(event_type="appraisal.finalized")
    assert event.payload["appraisal"] == appraisal.pk
    assert event.payload["manager"] == world.manager_a.user_id
