"""Dates given to the API (outside test, Low 10): every date field, in every app, is
crm.common.fields.DateField (model serializers map to it), which takes a year from 1900 to 2100 in
ASCII digits; every date the API writes is YYYY-MM-DD with four digits of year, and the OpenAPI
schema says so."""

import datetime as dt
import re

import pytest
from rest_framework import serializers

from crm.common.fields import DateField
from tests.factories import CourseFactory, VisitTaskFactory

YEAR_MESSAGE = "Enter a date as YYYY-MM-DD with a year from 1900 to 2100."


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


# ---------------------------------------------------------------- the field
@pytest.mark.parametrize("value", ["0471-08-31", "1899-12-31", "2101-01-01", "0001-01-01"])
def test_a_year_outside_1900_to_2100_is_refused(value):
    # given a date no customer data names; when it is read; then it is refused, saying which years
    with pytest.raises(serializers.ValidationError) as refused:
        DateField().run_validation(value)
    assert refused.value.detail == [YEAR_MESSAGE]


def test_a_date_object_outside_the_years_is_refused_too():
    with pytest.raises(serializers.ValidationError):
        DateField().run_validation(dt.date(471, 8, 31))


@pytest.mark.parametrize(
    ("value", "day"), [("1900-01-01", dt.date(1900, 1, 1)), ("2100-12-31", dt.date(2100, 12, 31))]
)
def test_the_first_and_last_years_are_accepted(value, day):
    assert DateField().run_validation(value) == day


@pytest.mark.parametrize("value", ["２０２６-０９-０１", "٢٠٢٦-٠٩-٠١", "२०२६-०९-०१"])
def test_digits_other_than_ascii_are_refused(value):
    # given a date in fullwidth or another script's digits (Django's parse_date reads them all)
    with pytest.raises(serializers.ValidationError) as refused:
        DateField().run_validation(value)
    # then it is refused as a malformed date
    assert "wrong format" in str(refused.value.detail[0])


def test_a_year_before_1000_is_written_with_four_digits():
    # given a date of the year 471 (a row written before years were bounded); then it reads 0471-08-31
    assert DateField().to_representation(dt.date(471, 8, 31)) == "0471-08-31"


# ---------------------------------------------------------------- through the API, app by app
def test_a_visit_task_due_in_2101_is_refused(world, api):
    task = VisitTaskFactory(
        customer=world.customer_a, period=dt.date(2026, 1, 1), due_date=dt.date(2026, 1, 28)
    )
    response = api(world.manager_a.user).patch(f"/api/v1/visit-tasks/{task.pk}/", {"due_date": "2101-01-01"})
    assert response.status_code == 400
    assert response.json() == {"due_date": [YEAR_MESSAGE]}


def test_a_visit_task_of_the_year_471_reads_with_four_digits(world, api):
    # given a task written before years were bounded (by the ORM here)
    task = VisitTaskFactory(
        customer=world.customer_a, period=dt.date(471, 8, 1), due_date=dt.date(471, 8, 31)
    )
    # when it is read through the API
    body = api(world.manager_a.user).get(f"/api/v1/visit-tasks/{task.pk}/").json()
    # then its dates keep the schema's YYYY-MM-DD
    assert (body["period"], body["due_date"]) == ("0471-08-01", "0471-08-31")


def test_a_training_session_in_the_year_471_is_refused(world, api):
    course = CourseFactory()
    payload = {"manager": world.manager_a.pk, "course": course.pk, "session_date": "0471-08-31"}
    response = api(world.supervisor).post("/api/v1/training-records/", payload)
    assert response.status_code == 400
    assert response.json() == {"session_date": [YEAR_MESSAGE]}


def test_a_pin_until_2101_is_refused(world, api):
    response = api(world.supervisor).post(
        f"/api/v1/customers/{world.customer_a.pk}/pin-tier/",
        {"tier": "vip", "reason": "x", "until": "2101-01-01"},
    )
    assert response.status_code == 400
    assert response.json() == {"until": [YEAR_MESSAGE]}


def test_a_tier_policy_effective_in_the_year_471_is_refused(world, api):
    response = api(world.admin).post("/api/v1/tier-policies/", {"effective_from": "0471-01-01"})
    assert response.status_code == 400
    assert response.json() == {"effective_from": [YEAR_MESSAGE]}


# ---------------------------------------------------------------- the schema
def _date_properties(schema: dict, suffix: str):
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            for field, prop in component.get("properties", {}).items():
                if prop.get("format") == "date":
                    yield f"{name}.{field}", prop


def test_every_date_the_api_takes_declares_its_years_in_the_schema(db, api):
    # given the OpenAPI schema; when every date property of a request body is read
    schema = api().get("/api/v1/schema/?format=json").json()
    dates = dict(_date_properties(schema, "Request"))
    # then there are some, and each carries the pattern of YYYY-MM-DD in the years 1900..2100
    assert {
        "PatchedVisitTaskRequest.due_date",
        "TrainingRecordRequest.session_date",
        "PinRequest.until",
    } <= set(dates)
    for where, prop in dates.items():
        pattern = re.compile(prop.get("pattern", ""))
        accepted = [day for day in ("1900-01-01", "2026-09-30", "2100-12-31") if pattern.search(day)]
        refused = [
            day
            for day in ("1899-12-31", "2101-01-01", "0471-08-31", "２０２６-０９-０１")
            if pattern.search(day)
        ]
        assert (len(accepted), refused) == (3, []), where
