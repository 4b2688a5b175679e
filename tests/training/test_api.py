"""courses/, training-records/ and training-compliance/: scope, permissions and the requalification
that follows every write."""

import datetime as dt

import pytest

from managers.models import Manager, Role
from tests.factories import CourseFactory, SessionFactory, TrainingRecordFactory
from training.models import TrainingRecord

DAY = dt.date(2026, 3, 10)


@pytest.fixture
def course(world):
    return CourseFactory(code="B01", title="供电服务政策", required_for=[Role.KEY_ACCOUNT_MANAGER])


# ---------------------------------------------------------------- scope
def test_manager_lists_only_own_training_records(world, api, course):
    # given a record each for managers A and B
    own = TrainingRecordFactory(manager=world.manager_a, course=course)
    TrainingRecordFactory(manager=world.manager_b, course=course)
    # when manager A lists records
    response = api(world.manager_a.user).get("/api/v1/training-records/")
    # then only A's is there
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [own.pk]


def test_another_managers_training_record_answers_404(world, api, course):
    other = TrainingRecordFactory(manager=world.manager_b, course=course)
    response = api(world.manager_a.user).get(f"/api/v1/training-records/{other.pk}/")
    assert response.status_code == 404


def test_supervisor_cannot_change_a_record_outside_the_team(world, api, course):
    other = TrainingRecordFactory(manager=world.manager_b, course=course, result="failed", score=30)
    response = api(world.supervisor).patch(
        f"/api/v1/training-records/{other.pk}/", {"result": "passed", "score": 90}
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.result == "failed"


def test_supervisor_cannot_record_training_for_a_manager_outside_the_team(world, api, course):
    payload = {"manager": world.manager_b.pk, "course": course.pk, "session_date": "2026-03-10"}
    response = api(world.supervisor).post("/api/v1/training-records/", payload)
    assert response.status_code == 400
    assert "manager" in response.json()
    assert not TrainingRecord.objects.exists()


def test_compliance_lists_only_managers_in_scope(world, api, course):
    response = api(world.supervisor).get("/api/v1/training-compliance/?year=2026")
    assert response.status_code == 200
    assert [row["manager"] for row in response.json()["results"]] == [world.manager_a.pk]


# ---------------------------------------------------------------- permissions
def test_manager_cannot_create_training_records(world, api, course):
    payload = {"manager": world.manager_a.pk, "course": course.pk, "session_date": "2026-03-10"}
    response = api(world.manager_a.user).post(
        "/api/v1/training-records/", {**payload, "result": "passed", "score": 100}
    )
    assert response.status_code == 403
    assert not TrainingRecord.objects.exists()


def test_manager_cannot_create_courses(world, api):
    payload = {"code": "X1", "title": "x", "category": "basic", "delivery": "on_the_job", "hours": "2"}
    assert api(world.manager_a.user).post("/api/v1/courses/", payload).status_code == 403


def test_supervisor_cannot_delete_training_records(world, api, course):
    record = TrainingRecordFactory(manager=world.manager_a, course=course)
    response = api(world.supervisor).delete(f"/api/v1/training-records/{record.pk}/")
    assert response.status_code == 403
    assert TrainingRecord.objects.filter(pk=record.pk).exists()


def test_anonymous_client_cannot_read_compliance(world, api):
    assert api().get("/api/v1/training-compliance/").status_code == 401


# ---------------------------------------------------------------- writes requalify
def test_supervisor_records_a_pass_and_the_manager_becomes_qualified(world, api, course):
    Manager.objects.filter(pk=world.manager_a.pk).update(qualified=False)
    payload = {
        "manager": world.manager_a.pk,
        "course": course.pk,
        "session_date": "2026-03-10",
        "result": "passed",
        "score": 88,
    }
    response = api(world.supervisor).post("/api/v1/training-records/", payload)
    assert response.status_code == 201, response.json()
    assert response.json()["hours"] == 4.0  # the course's hours by default
    assert Manager.objects.get(pk=world.manager_a.pk).qualified


def test_administrator_deleting_the_pass_withdraws_qualification(world, api, course):
    record = TrainingRecordFactory(manager=world.manager_a, course=course)
    response = api(world.admin).delete(f"/api/v1/training-records/{record.pk}/")
    assert response.status_code == 204
    assert not Manager.objects.get(pk=world.manager_a.pk).qualified


def test_administrator_making_a_course_required_withdraws_qualification(world, api):
    # given two qualified key-account managers and a course nobody is required to pass
    other = CourseFactory(code="P09", title="业扩报装", category="professional")
    # when it becomes required for key-account managers
    response = api(world.admin).patch(
        f"/api/v1/courses/{other.pk}/", {"required_for_roles": ["key_account_manager"]}
    )
    # then they are unqualified
    assert response.status_code == 200, response.json()
    assert response.json()["required_for_roles"] == ["key_account_manager"]
    assert not Manager.objects.filter(role=Role.KEY_ACCOUNT_MANAGER, qualified=True).exists()


def test_record_of_a_session_takes_the_session_date(world, api, course):
    session = SessionFactory(course=course, date=DAY)
    payload = {"manager": world.manager_a.pk, "course": course.pk, "session": session.pk}
    response = api(world.supervisor).post("/api/v1/training-records/", payload)
    assert response.status_code == 201, response.json()
    assert response.json()["session_date"] == "2026-03-10"


def test_record_with_a_session_of_another_course_is_refused(world, api, course):
    session = SessionFactory(course=CourseFactory(code="Z9"), date=DAY)
    payload = {"manager": world.manager_a.pk, "course": course.pk, "session": session.pk}
    response = api(world.supervisor).post("/api/v1/training-records/", payload)
    assert response.status_code == 400
    assert "session" in response.json()


def test_second_record_of_the_same_course_and_day_is_refused(world, api, course):
    TrainingRecordFactory(manager=world.manager_a, course=course, session_date=DAY)
    payload = {"manager": world.manager_a.pk, "course": course.pk, "session_date": "2026-03-10"}
    response = api(world.supervisor).post("/api/v1/training-records/", payload)
    assert response.status_code == 400
    assert TrainingRecord.objects.count() == 1


def test_score_above_100_is_refused(world, api, course):
    payload = {
        "manager": world.manager_a.pk,
        "course": course.pk,
        "session_date": "2026-03-10",
        "result": "passed",
        "score": 101,
    }
    response = api(world.supervisor).post("/api/v1/training-records/", payload)
    assert response.status_code == 400
    assert "score" in response.json()


def test_deleting_a_course_with_records_answers_409(world, api, course):
    TrainingRecordFactory(manager=world.manager_a, course=course)
    response = api(world.admin).delete(f"/api/v1/courses/{course.pk}/")
    assert response.status_code == 409


# ---------------------------------------------------------------- compliance figures over the API
def test_compliance_row_shows_required_passed_missing_and_hours(world, api, course):
    # given manager A passed the required B01 (4 h) but not the required P01
    missing = CourseFactory(
        code="P01", title="电费回收", category="professional", required_for=[Role.KEY_ACCOUNT_MANAGER]
    )
    TrainingRecordFactory(manager=world.manager_a, course=course, session_date=DAY)
    # when the supervisor reads 2026's compliance
    row = api(world.supervisor).get("/api/v1/training-compliance/?year=2026").json()["results"][0]
    # then
    assert (row["required"], row["passed"], row["qualified"]) == (2, 1, False)
    assert [c["code"] for c in row["missing"]] == [missing.code]
    assert row["hours"] == {"basic": 4.0, "professional": 0.0, "skills": 0.0}
    assert row["hours_total"] == 4.0


def test_compliance_with_a_bad_year_answers_400(world, api):
    response = api(world.supervisor).get("/api/v1/training-compliance/?year=soon")
    assert response.status_code == 400
    assert "year" in response.json()


@pytest.mark.parametrize("name", ["station", "team"])
def test_compliance_with_an_id_past_the_largest_answers_400_not_a_server_error(world, api, name):
    # Given an id no database integer can hold (it was a 500 on SQLite)
    # When the compliance is asked for it
    response = api(world.admin).get("/api/v1/training-compliance/", {name: "99999999999999999999"})
    # Then the parameter is refused
    assert response.status_code == 400
    assert list(response.json()) == [name]


def test_compliance_filters_by_station(world, api, course):
    response = api(world.admin).get(f"/api/v1/training-compliance/?year=2026&station={world.station_b.pk}")
    assert [row["manager"] for row in response.json()["results"]] == [world.manager_b.pk]


@pytest.mark.parametrize("year", ["0.0", "abc", "99999999999", "1e3"])
def test_a_malformed_year_filter_answers_400(world, api, year):
    response = api(world.admin).get("/api/v1/training-records/", {"year": year})
    assert response.status_code == 400
    assert "year" in response.json()


# ---------------------------------------------------------------- an id outside the scope tells nothing
def _without(body: dict, manager_id: int) -> dict:
    """The answer with the id it echoes back taken out: the rest must not tell the two ids apart."""
    return {
        field: [str(m).replace(str(manager_id), "<id>") for m in messages] for field, messages in body.items()
    }


def test_an_out_of_scope_manager_answers_like_an_unknown_one(world, api, course):
    # given manager B (outside the supervisor's team) and an id that belongs to nobody
    unknown = Manager.objects.order_by("-pk").first().pk + 1000
    payload = {"course": course.pk, "session_date": "2026-03-10"}
    client = api(world.supervisor)
    # when the supervisor records training for each
    records, english = "/api/v1/training-records/", {"HTTP_ACCEPT_LANGUAGE": "en"}
    outside = client.post(records, {**payload, "manager": world.manager_b.pk}, **english)
    missing = client.post(records, {**payload, "manager": unknown}, **english)
    # then both answer the same 400 on `manager`: DRF's "object does not exist"
    assert (outside.status_code, missing.status_code) == (400, 400)
    assert _without(outside.json(), world.manager_b.pk) == _without(missing.json(), unknown)
    assert outside.json()["manager"] == [f'Invalid pk "{world.manager_b.pk}" - object does not exist.']
    assert not TrainingRecord.objects.exists()


def test_moving_a_record_to_an_out_of_scope_manager_answers_like_an_unknown_one(world, api, course):
    # given a record of manager A in the supervisor's team
    record = TrainingRecordFactory(manager=world.manager_a, course=course, session_date=DAY)
    unknown = Manager.objects.order_by("-pk").first().pk + 1000
    client = api(world.supervisor)
    url = f"/api/v1/training-records/{record.pk}/"
    # when the supervisor moves it to manager B, then to nobody's id
    outside = client.patch(url, {"manager": world.manager_b.pk})
    missing = client.patch(url, {"manager": unknown})
    # then the two answers are the same, and the record stays A's
    assert (outside.status_code, missing.status_code) == (400, 400)
    assert _without(outside.json(), world.manager_b.pk) == _without(missing.json(), unknown)
    record.refresh_from_db()
    assert record.manager_id == world.manager_a.pk
