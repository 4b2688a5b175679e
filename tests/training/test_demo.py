"""The demo training data: the courses of domain.md, and records that leave a few managers unqualified."""

import datetime as dt

import pytest

from managers.models import Manager, Role
from tests.factories import ManagerFactory
from training.demo import seed_training_demo
from training.models import Category, Course, TrainingRecord
from training.selectors import compliance


@pytest.fixture
def staff(world):
    roles = list(Role.values)
    return [ManagerFactory(role=roles[i % len(roles)], station=world.station_a) for i in range(14)]


def test_demo_creates_basic_professional_and_skills_courses_required_by_every_role(staff):
    seed_training_demo(seed=7)
    assert set(Course.objects.values_list("category", flat=True)) == set(Category.values)
    for role in Role.values:
        assert Course.objects.required_for(role).exists()


def test_demo_leaves_a_few_managers_unqualified_and_they_lack_a_required_course(world, staff):
    counts = seed_training_demo(seed=7, until=dt.date(2026, 9, 1))
    unqualified = Manager.objects.filter(qualified=False)
    assert 0 < unqualified.count() < Manager.objects.count() / 2
    assert counts["unqualified"] == unqualified.count()
    rows = compliance(user=world.admin, year=2026)
    assert {row.manager.pk for row in rows if row.missing} == set(unqualified.values_list("pk", flat=True))


def test_a_second_demo_run_changes_nothing(staff):
    first = seed_training_demo(seed=7)
    snapshot = sorted(TrainingRecord.objects.values_list("manager_id", "course__code", "result", "score"))
    again = seed_training_demo(seed=7)
    assert again["records"] == 0
    assert (
        sorted(TrainingRecord.objects.values_list("manager_id", "course__code", "result", "score"))
        == snapshot
    )
    assert first["records"] == len(snapshot)
