"""The browser pages: compliance report and its XLSX, a manager's own page, and a session's results
entered in one go. Each page's query count stays fixed whatever the data size."""

import datetime as dt
from io import BytesIO

import pytest
from django.contrib import messages
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from managers.models import Manager, Role
from tests.factories import (
    CourseFactory,
    ManagerFactory,
    SessionFactory,
    TrainingRecordFactory,
    UserFactory,
)
from training.models import Result, Session, TrainingRecord

DAY = dt.date(2026, 3, 10)


@pytest.fixture
def courses(world):
    """Two courses key-account managers must pass, and one nobody must."""
    return {
        "policy": CourseFactory(
            code="B01", title="供电服务政策", category="basic", required_for=[Role.KEY_ACCOUNT_MANAGER]
        ),
        "billing": CourseFactory(
            code="P01",
            title="电费抄核收",
            category="professional",
            hours=8,
            pass_mark=70,
            required_for=[Role.KEY_ACCOUNT_MANAGER],
        ),
        "writing": CourseFactory(code="S01", title="公文写作", category="skills", hours=2),
    }


def _team(supervisor, station, n, role=Role.KEY_ACCOUNT_MANAGER):
    return [
        ManagerFactory(
            user=UserFactory(supervisor=supervisor, role="account_manager"), station=station, role=role
        )
        for _ in range(n)
    ]


def _records_for(managers, courses):
    for manager in managers:
        TrainingRecordFactory(manager=manager, course=courses["policy"], session_date=DAY)
        TrainingRecordFactory(manager=manager, course=courses["writing"], session_date=DAY, score=90)


# ---------------------------------------------------------------- compliance report
def test_compliance_page_shows_what_each_manager_lacks(client, world, courses):
    # given manager A passed the policy course only
    TrainingRecordFactory(manager=world.manager_a, course=courses["policy"], session_date=DAY)
    client.force_login(world.supervisor)
    # when the supervisor opens 2026's report
    response = client.get(reverse("training:compliance"), {"year": 2026})
    # then A's row shows 1 of 2 passed and the missing course, linked to the session entry
    assert response.status_code == 200
    [row] = response.context["page"].object_list
    assert (row.manager, len(row.passed), len(row.required), row.qualified) == (world.manager_a, 1, 2, False)
    assert [c.code for c in row.missing] == ["P01"]
    assert f"?course={courses['billing'].pk}&amp;station={world.station_a.pk}" in response.content.decode()
    assert response.context["summary"].unqualified == 1


def test_compliance_counts_hours_of_the_year_per_category(client, world, courses):
    # given passed and failed training in 2026, a failed attempt, and training in 2025
    TrainingRecordFactory(manager=world.manager_a, course=courses["policy"], session_date=DAY)
    TrainingRecordFactory(
        manager=world.manager_a, course=courses["billing"], session_date=DAY, result="failed", score=50
    )
    TrainingRecordFactory(
        manager=world.manager_a, course=courses["writing"], session_date=dt.date(2025, 6, 1)
    )
    TrainingRecordFactory(
        manager=world.manager_a,
        course=courses["writing"],
        session_date=dt.date(2026, 12, 1),
        result="enrolled",
        score=None,
    )
    client.force_login(world.supervisor)
    row = client.get(reverse("training:compliance"), {"year": 2026}).context["page"].object_list[0]
    # then 2026's hours count attended training only (passed or failed), per category
    assert {k: float(v) for k, v in row.hours.items()} == {"basic": 4.0, "professional": 8.0, "skills": 0.0}


def test_compliance_for_a_past_year_counts_passes_up_to_its_end(client, world, courses):
    TrainingRecordFactory(manager=world.manager_a, course=courses["policy"], session_date=dt.date(2025, 5, 1))
    TrainingRecordFactory(manager=world.manager_a, course=courses["billing"], session_date=DAY, score=80)
    client.force_login(world.supervisor)
    row_2025 = client.get(reverse("training:compliance"), {"year": 2025}).context["page"].object_list[0]
    row_2026 = client.get(reverse("training:compliance"), {"year": 2026}).context["page"].object_list[0]
    assert (row_2025.qualified, row_2026.qualified) == (False, True)


def test_compliance_gaps_filter_keeps_only_managers_missing_courses(client, world, courses):
    done = _team(world.supervisor, world.station_a, 1)[0]
    TrainingRecordFactory(manager=done, course=courses["policy"])
    TrainingRecordFactory(manager=done, course=courses["billing"], score=90)
    client.force_login(world.supervisor)
    response = client.get(reverse("training:compliance"), {"year": 2026, "gaps": "on"})
    assert [row.manager for row in response.context["page"].object_list] == [world.manager_a]


def test_compliance_team_filter_narrows_to_a_leads_team(client, world, courses):
    # given a second-level lead under the supervisor with a team of their own
    lead = UserFactory(username="lead", supervisor=world.supervisor, role="supervisor")
    [member] = _team(lead, world.station_a, 1)
    client.force_login(world.supervisor)
    response = client.get(reverse("training:compliance"), {"year": 2026, "team": lead.pk})
    assert [row.manager for row in response.context["page"].object_list] == [member]


def test_manager_sees_only_own_row_in_the_compliance_report(client, world, courses):
    client.force_login(world.manager_b.user)
    response = client.get(reverse("training:compliance"), {"year": 2026})
    assert [row.manager for row in response.context["page"].object_list] == [world.manager_b]


def test_compliance_page_says_a_bad_year_was_left_out_and_shows_this_year(client, world, courses):
    # Given a supervisor; when they ask for the report of a year that is not one
    client.force_login(world.supervisor)
    response = client.get(reverse("training:compliance"), {"year": "soon"})
    # Then the page says so, marks the field, and shows this year's report
    assert response.status_code == 200
    assert 'id="filter-errors"' in response.content.decode()
    assert "year" in response.context["form"].errors
    assert response.context["year"] == timezone.localdate().year


@pytest.mark.parametrize("team_size", [3, 30])
def test_compliance_page_queries_do_not_grow_with_the_team(
    client, world, courses, team_size, django_assert_max_num_queries
):
    _records_for(_team(world.supervisor, world.station_a, team_size), courses)
    client.force_login(world.supervisor)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("training:compliance"), {"year": 2026})
    assert len(response.context["page"].object_list) == team_size + 1


def test_compliance_xlsx_has_a_row_per_manager_with_the_report_figures(client, world, courses):
    TrainingRecordFactory(manager=world.manager_a, course=courses["policy"], session_date=DAY)
    client.force_login(world.admin)
    response = client.get(reverse("training:compliance-xlsx"), {"year": 2026})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="training-compliance-2026.xlsx"'
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3  # header + managers A and B
    by_employee = {row[0]: row for row in rows[1:]}
    a = by_employee[world.manager_a.employee_no]
    assert (a[1], a[4], a[5], a[7], a[10], a[11]) == ("张经理", 2, 1, 4, 4, "电费抄核收")
    assert by_employee[world.manager_b.employee_no][5] == 0


def test_compliance_xlsx_respects_scope(client, world, courses):
    client.force_login(world.supervisor)
    response = client.get(reverse("training:compliance-xlsx"), {"year": 2026})
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [world.manager_a.employee_no]


# ---------------------------------------------------------------- a manager's own page
def test_own_page_shows_passed_courses_hours_and_what_is_still_required(client, world, courses):
    TrainingRecordFactory(manager=world.manager_a, course=courses["policy"], session_date=DAY, score=77)
    TrainingRecordFactory(manager=world.manager_a, course=courses["writing"], session_date=DAY)
    client.force_login(world.manager_a.user)
    response = client.get(reverse("training:me"), follow=True)
    assert response.status_code == 200
    training = response.context["training"]
    assert [r.course.code for r in training.passed] == ["B01", "S01"]
    assert [c.code for c in training.missing] == ["P01"]
    page = response.content.decode()
    assert "电费抄核收" in page
    assert "供电服务政策" in page


def test_own_page_hours_are_for_the_year_shown(client, world, courses):
    TrainingRecordFactory(manager=world.manager_a, course=courses["policy"], session_date=DAY)
    TrainingRecordFactory(
        manager=world.manager_a, course=courses["writing"], session_date=dt.date(2025, 1, 5)
    )
    client.force_login(world.manager_a.user)
    training = client.get(reverse("training:manager", args=[world.manager_a.pk]), {"year": 2026}).context[
        "training"
    ]
    assert {k: float(v) for k, v in training.hours.items()} == {
        "basic": 4.0,
        "professional": 0.0,
        "skills": 0.0,
    }


def test_another_managers_training_page_answers_404(client, world):
    client.force_login(world.manager_a.user)
    assert client.get(reverse("training:manager", args=[world.manager_b.pk])).status_code == 404


@pytest.mark.parametrize("records", [2, 40])
def test_manager_page_queries_do_not_grow_with_records(
    client, world, courses, records, django_assert_max_num_queries
):
    for i in range(records):
        TrainingRecordFactory(
            manager=world.manager_a, course=courses["writing"], session_date=DAY - dt.timedelta(days=i)
        )
    client.force_login(world.manager_a.user)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("training:manager", args=[world.manager_a.pk]))
    assert len(response.context["training"].records) == records


# ---------------------------------------------------------------- a session's results in one go
def _post_results(client, course, data, **query):
    url = (
        reverse("training:session-record")
        + "?"
        + "&".join(f"{k}={v}" for k, v in {"course": course.pk, **query}.items())
    )
    return client.post(url, {"date": "2026-03-10", "place": "城关供电所会议室", "trainer": "王老师", **data})


def test_session_roster_lists_the_teams_managers_whose_role_requires_the_course(client, world, courses):
    vip = _team(world.supervisor, world.station_a, 1, role=Role.VIP_MANAGER)[0]
    client.force_login(world.supervisor)
    response = client.get(reverse("training:session-record"), {"course": courses["billing"].pk})
    assert response.status_code == 200
    assert [row[0] for row in response.context["rows"]] == [world.manager_a]
    assert vip not in [row[0] for row in response.context["rows"]]


def test_session_results_create_records_and_qualify_who_passed(client, world, courses):
    # given manager A already passed the policy course, and a colleague with nothing
    TrainingRecordFactory(manager=world.manager_a, course=courses["policy"])
    [colleague] = _team(world.supervisor, world.station_a, 1)
    Manager.objects.filter(pk__in=[world.manager_a.pk, colleague.pk]).update(qualified=False)
    client.force_login(world.supervisor)
    # when the supervisor records the billing session: A scores 70 (the pass mark), the colleague 69
    response = _post_results(
        client,
        courses["billing"],
        {
            f"attended_{world.manager_a.pk}": "on",
            f"score_{world.manager_a.pk}": "70",
            f"attended_{colleague.pk}": "on",
            f"score_{colleague.pk}": "69",
        },
    )
    # then both records exist with the session and results by the pass mark, and A is qualified
    assert response.status_code == 302
    session = Session.objects.get()
    assert (session.course, session.place, session.trainer) == (
        courses["billing"],
        "城关供电所会议室",
        "王老师",
    )
    results = dict(TrainingRecord.objects.filter(session=session).values_list("manager_id", "result"))
    assert results == {world.manager_a.pk: Result.PASSED, colleague.pk: Result.FAILED}
    assert TrainingRecord.objects.get(session=session, manager=world.manager_a).hours == 8
    assert Manager.objects.get(pk=world.manager_a.pk).qualified
    assert not Manager.objects.get(pk=colleague.pk).qualified


@pytest.mark.parametrize(
    ("entries", "error_field"),
    [
        ({"attended": "on", "score": ""}, "score"),  # ticked without a score
        ({"score": "80"}, "score"),  # a score without the tick
        ({"attended": "on", "score": "101"}, "score"),  # out of range
        ({"attended": "on", "score": "abc"}, "score"),  # not a number
    ],
)
def test_bad_entry_reshows_the_form_and_writes_nothing(client, world, courses, entries, error_field):
    # given a valid entry for a colleague and a bad one for manager A
    [colleague] = _team(world.supervisor, world.station_a, 1)
    data = {f"attended_{colleague.pk}": "on", f"score_{colleague.pk}": "90"}
    data.update({f"{key}_{world.manager_a.pk}": value for key, value in entries.items()})
    client.force_login(world.supervisor)
    response = _post_results(client, courses["billing"], data)
    # then the form comes back with the error on A's field and a message, and nothing is written
    assert response.status_code == 400
    assert f"{error_field}_{world.manager_a.pk}" in response.context["form"].errors
    assert [m.level for m in response.context["messages"]] == [messages.ERROR]
    assert not TrainingRecord.objects.exists()
    assert not Session.objects.exists()


def test_results_for_a_future_date_are_refused(client, world, courses):
    client.force_login(world.supervisor)
    response = _post_results(
        client,
        courses["billing"],
        {"date": "2999-01-01", f"attended_{world.manager_a.pk}": "on", f"score_{world.manager_a.pk}": "90"},
    )
    assert response.status_code == 400
    assert "date" in response.context["form"].errors
    assert not TrainingRecord.objects.exists()


def test_session_with_nobody_ticked_is_refused(client, world, courses):
    client.force_login(world.supervisor)
    response = _post_results(client, courses["billing"], {})
    assert response.status_code == 400
    assert not Session.objects.exists()


def test_results_for_managers_outside_the_team_are_ignored(client, world, courses):
    # manager B is not in the supervisor's team: a hand-made POST for B writes nothing for B
    client.force_login(world.supervisor)
    _post_results(
        client,
        courses["billing"],
        {
            f"attended_{world.manager_a.pk}": "on",
            f"score_{world.manager_a.pk}": "80",
            f"attended_{world.manager_b.pk}": "on",
            f"score_{world.manager_b.pk}": "99",
        },
    )
    assert list(TrainingRecord.objects.values_list("manager_id", flat=True)) == [world.manager_a.pk]


def test_editing_a_session_updates_scores_and_removes_the_unticked(client, world, courses):
    # given a recorded session with A passed and a colleague passed
    [colleague] = _team(world.supervisor, world.station_a, 1)
    session = SessionFactory(course=courses["billing"], date=DAY, place="会议室", trainer="王老师")
    TrainingRecordFactory(manager=world.manager_a, course=courses["billing"], session=session, score=90)
    TrainingRecordFactory(manager=colleague, course=courses["billing"], session=session, score=85)
    client.force_login(world.supervisor)
    # when A's score is corrected to 50 and the colleague unticked
    url = reverse("training:session-record") + f"?session={session.pk}"
    form = client.get(url).context["form"]
    assert form[f"score_{world.manager_a.pk}"].value() == 90
    response = client.post(
        url,
        {"trainer": "李老师", f"attended_{world.manager_a.pk}": "on", f"score_{world.manager_a.pk}": "50"},
    )
    # then A failed, the colleague has no record of the session, and the session kept its date and place
    assert response.status_code == 302
    assert list(TrainingRecord.objects.values_list("manager_id", "result")) == [
        (world.manager_a.pk, "failed")
    ]
    session.refresh_from_db()
    assert (session.date, session.place, session.trainer) == (DAY, "会议室", "李老师")


def test_account_manager_cannot_record_session_results(client, world, courses):
    client.force_login(world.manager_a.user)
    response = _post_results(
        client,
        courses["billing"],
        {f"attended_{world.manager_a.pk}": "on", f"score_{world.manager_a.pk}": "100"},
    )
    assert response.status_code == 403
    assert not TrainingRecord.objects.exists()


@pytest.mark.parametrize("team_size", [3, 30])
def test_session_page_queries_do_not_grow_with_the_team(
    client, world, courses, team_size, django_assert_max_num_queries
):
    team = _team(world.supervisor, world.station_a, team_size)
    session = SessionFactory(course=courses["billing"], date=DAY)
    for manager in team:
        TrainingRecordFactory(manager=manager, course=courses["billing"], session=session)
    client.force_login(world.supervisor)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("training:session-record"), {"session": session.pk})
    assert len(response.context["rows"]) == team_size + 1


@pytest.mark.parametrize("team_size", [3, 30])
def test_saving_results_queries_do_not_grow_with_the_team(
    client, world, courses, team_size, django_assert_max_num_queries
):
    team = _team(world.supervisor, world.station_a, team_size)
    data = {}
    for manager in team:
        data[f"attended_{manager.pk}"] = "on"
        data[f"score_{manager.pk}"] = "88"
    client.force_login(world.supervisor)
    with django_assert_max_num_queries(30):
        response = _post_results(client, courses["billing"], data)
    assert response.status_code == 302
    assert TrainingRecord.objects.count() == team_size


def test_an_upcoming_sessions_enrolments_are_not_shown_as_attendance(client, world, courses):
    # given manager A enrolled in a session next week
    next_week = timezone.localdate() + dt.timedelta(days=7)
    session = SessionFactory(course=courses["billing"], date=next_week)
    TrainingRecordFactory(
        manager=world.manager_a, course=courses["billing"], session=session, result="enrolled", score=None
    )
    client.force_login(world.supervisor)
    response = client.get(reverse("training:session-record"), {"session": session.pk})
    # then A is not ticked, and the page offers no save until the session has taken place
    assert response.context["upcoming"]
    assert not response.context["form"][f"attended_{world.manager_a.pk}"].value()
    assert 'name="save"' not in response.content.decode()


def test_compliance_page_links_keep_the_filters(client, world, courses):
    # given 51 managers in the supervisor's team missing courses: two pages of gaps
    _team(world.supervisor, world.station_a, 50)
    client.force_login(world.supervisor)
    # when the supervisor filters on gaps
    response = client.get(reverse("training:compliance"), {"year": 2026, "gaps": "on"})
    # then the link to page 2 keeps the filters and only replaces the page
    assert len(response.context["page"].object_list) == 50
    assert 'href="?year=2026&amp;gaps=on&amp;page=2"' in response.content.decode()
