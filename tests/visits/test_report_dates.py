"""How far back a visit report may be dated (visits.reports.visit_report_submit): never before its task
was created, and at most VISIT_REPORT_MAX_BACKDATE_DAYS before it is entered (security test, Medium 7)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.factories import VisitTaskFactory
from tests.visits.report_forms import post_report, quick_report_form
from visits import reports
from visits.models import TaskStatus, VisitReport, VisitTask

TODAY = timezone.localdate()


@pytest.fixture
def old_task(world):
    """A task of manager A whose period began two months ago, created then."""
    period = (TODAY.replace(day=1) - dt.timedelta(days=40)).replace(day=1)
    task = VisitTaskFactory(customer=world.customer_a, period=period, due_date=period + dt.timedelta(days=27))
    created = timezone.make_aware(dt.datetime.combine(period - dt.timedelta(days=7), dt.time(9)))
    VisitTask.objects.filter(pk=task.pk).update(created_at=created)
    task.refresh_from_db()
    return task


def _submit(task, by, visited_on):
    return reports.visit_report_submit(
        task=task, by=by, visited_on=visited_on, channel="on_site", business_trend="stable", satisfaction=5
    )


def test_a_report_dated_before_its_task_was_created_is_refused(world, api):
    # given an ad hoc task made today for a period that began weeks ago
    period = (TODAY - dt.timedelta(days=20)).replace(day=1)
    task = VisitTaskFactory(customer=world.customer_a, kind="ad_hoc", period=period, due_date=TODAY)
    # when manager A reports it as visited yesterday (inside the period, the day before the task existed)
    yesterday = TODAY - dt.timedelta(days=1)
    response = post_report(api(world.manager_a.user), task, yesterday)
    # then it is refused on the visit date and the task stays open
    assert response.status_code == 400
    assert "visited_on" in response.json()
    task.refresh_from_db()
    assert task.status == TaskStatus.PLANNED


@pytest.mark.parametrize("days_back", [8, 30])
def test_a_report_back_dated_beyond_the_limit_is_refused(world, old_task, settings, days_back):
    # given the limit of 7 days and a task created long ago
    settings.VISIT_REPORT_MAX_BACKDATE_DAYS = 7
    visited_on = TODAY - dt.timedelta(days=days_back)
    # when the report is dated further back than 7 days
    with pytest.raises(ValidationError) as refused:
        _submit(old_task, world.manager_a.user, visited_on)
    # then it is refused on the visit date and nothing is written
    assert "visited_on" in refused.value.message_dict
    assert not VisitReport.objects.exists()


def test_a_report_back_dated_within_the_limit_is_accepted(world, old_task, settings):
    # given the limit of 7 days
    settings.VISIT_REPORT_MAX_BACKDATE_DAYS = 7
    # when the report is dated exactly 7 days back
    report = _submit(old_task, world.manager_a.user, TODAY - dt.timedelta(days=7))
    # then it is recorded
    assert report.visited_on == TODAY - dt.timedelta(days=7)


def test_the_back_dating_limit_is_a_setting(world, old_task, settings):
    # given the limit raised to 30 days
    settings.VISIT_REPORT_MAX_BACKDATE_DAYS = 30
    # when the report is dated 20 days back (after the task was created)
    report = _submit(old_task, world.manager_a.user, TODAY - dt.timedelta(days=20))
    # then it is recorded
    assert report.pk is not None


def test_the_back_dating_refusal_is_worded_in_chinese(world, old_task, api, settings):
    # given the limit of 7 days
    settings.VISIT_REPORT_MAX_BACKDATE_DAYS = 7
    # when manager A posts a report 10 days back, in Chinese
    visited_on = TODAY - dt.timedelta(days=10)
    response = post_report(api(world.manager_a.user), old_task, visited_on, HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then the visit date's message names the limit in Chinese
    assert response.status_code == 400
    assert "7" in response.json()["visited_on"][0]
    assert "天" in response.json()["visited_on"][0]


def test_the_quick_report_page_shows_the_back_dating_refusal_on_its_field(client, world, old_task, settings):
    # given the limit of 7 days
    settings.VISIT_REPORT_MAX_BACKDATE_DAYS = 7
    client.force_login(world.manager_a.user)
    data = quick_report_form(TODAY - dt.timedelta(days=12), satisfaction="5")
    # when manager A posts the quick report 12 days back
    response = client.post(reverse("visits:report", args=[old_task.pk]), data)
    # then the form shows it on the visit date and nothing is written
    assert response.status_code == 200
    assert "visited_on" in response.context["form"].errors
    assert not VisitReport.objects.exists()
