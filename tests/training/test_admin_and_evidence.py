"""The admin keeps qualification current like the API does; training hours as evidence for appraisal."""

import datetime as dt
from decimal import Decimal

from managers.models import Manager, Role
from tests.factories import CourseFactory, TrainingRecordFactory
from training.models import Course
from training.selectors import training_hours


def test_admin_adding_a_required_course_withdraws_qualification(client, world):
    # given two qualified key-account managers; when an administrator adds a course they must pass
    client.force_login(world.admin)
    response = client.post(
        "/admin/training/course/add/",
        {
            "code": "ZY09",
            "title": "业扩报装",
            "category": "professional",
            "delivery": "centralized",
            "hours": "8",
            "pass_mark": "60",
            "required_for_roles": ["key_account_manager"],
        },
    )
    # then the course requires it and nobody of the role is qualified any more
    assert response.status_code == 302
    assert Course.objects.get(code="ZY09").required_for_roles == ["key_account_manager"]
    assert not Manager.objects.filter(role=Role.KEY_ACCOUNT_MANAGER, qualified=True).exists()


def test_admin_deleting_a_pass_withdraws_qualification(client, world):
    course = CourseFactory(code="B01", required_for=[Role.KEY_ACCOUNT_MANAGER])
    record = TrainingRecordFactory(manager=world.manager_a, course=course)
    client.force_login(world.admin)
    response = client.post(f"/admin/training/trainingrecord/{record.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Manager.objects.get(pk=world.manager_a.pk).qualified


def test_training_hours_are_given_per_manager_and_category_for_the_year(world):
    basic = CourseFactory(code="B01", category="basic", hours=4)
    skills = CourseFactory(code="S01", category="skills", hours=2)
    TrainingRecordFactory(manager=world.manager_a, course=basic, session_date=dt.date(2026, 2, 1))
    TrainingRecordFactory(
        manager=world.manager_a, course=skills, session_date=dt.date(2026, 5, 1), result="failed"
    )
    TrainingRecordFactory(manager=world.manager_a, course=skills, session_date=dt.date(2025, 5, 1))
    hours = training_hours(manager_ids=[world.manager_a.pk, world.manager_b.pk], year=2026)
    assert hours == {
        world.manager_a.pk: {"basic": Decimal("4"), "professional": Decimal("0"), "skills": Decimal("2")}
    }
