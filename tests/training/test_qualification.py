"""Manager.qualified follows every kind of change: a record passes, fails, is deleted; a course
becomes required or not; a manager changes role."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Tier
from managers.models import Manager, Role
from managers.services import manager_save
from tests.factories import CourseFactory, CustomerFactory, ManagerFactory, TrainingRecordFactory
from training.models import Result, TrainingRecord
from training.services import (
    course_delete,
    course_save,
    qualification_refresh,
    training_record_delete,
    training_record_save,
)

DAY = dt.date(2026, 3, 10)


def _qualified(manager) -> bool:
    return Manager.objects.get(pk=manager.pk).qualified


def _enter(manager, course, result, score, *, day=DAY) -> TrainingRecord:
    """A new record of `manager` on `course`, entered by nobody in particular."""
    return training_record_save(
        record=None, by=None, manager=manager, course=course, session_date=day, result=result, score=score
    )


@pytest.fixture
def course(db):
    """A course every key-account manager must pass."""
    return CourseFactory(code="B01", title="供电服务政策", required_for=[Role.KEY_ACCOUNT_MANAGER])


@pytest.fixture
def manager(db):
    return ManagerFactory(role=Role.KEY_ACCOUNT_MANAGER, qualified=False)


def test_passing_the_only_required_course_qualifies_the_manager(course, manager):
    # when the manager's record of the required course is saved as passed
    _enter(manager, course, Result.PASSED, 75)
    # then the manager is qualified
    assert _qualified(manager)


def test_a_failed_record_leaves_the_manager_unqualified(course, manager):
    _enter(manager, course, Result.FAILED, 40)
    assert not _qualified(manager)


def test_a_passed_record_changed_to_failed_withdraws_qualification(course, manager):
    # given a qualified manager
    record = _enter(manager, course, Result.PASSED, 75)
    assert _qualified(manager)
    # when the result is corrected to failed
    training_record_save(record=record, by=None, result=Result.FAILED, score=45)
    # then the manager is no longer qualified
    assert not _qualified(manager)


def test_deleting_the_passed_record_withdraws_qualification(course, manager):
    record = _enter(manager, course, Result.PASSED, 75)
    training_record_delete(record=record, by=None)
    assert not _qualified(manager)


def test_a_failed_attempt_after_a_pass_keeps_the_manager_qualified(course, manager):
    # given a pass, then a later failed retake
    _enter(manager, course, Result.PASSED, 75)
    _enter(manager, course, Result.FAILED, 30, day=DAY + dt.timedelta(days=30))
    # then the earlier pass still counts
    assert _qualified(manager)


def test_a_course_becoming_required_withdraws_qualification_from_those_without_it(course, manager):
    # given a qualified manager
    _enter(manager, course, Result.PASSED, 75)
    other = CourseFactory(code="P01", title="电费回收", category="professional")
    assert _qualified(manager)
    # when a second course becomes required for their role
    course_save(course=other, by=None, required_for_roles=[Role.KEY_ACCOUNT_MANAGER])
    # then they are unqualified until they pass it
    assert not _qualified(manager)


def test_a_course_no_longer_required_qualifies_those_who_lacked_only_it(course, manager):
    # given an unqualified manager who lacks only `course`
    assert not _qualified(manager)
    # when the course is no longer required for their role
    course_save(course=course, by=None, required_for_roles=[])
    # then they are qualified
    assert _qualified(manager)


def test_deleting_a_required_course_without_records_qualifies_the_role(course, manager):
    course_delete(course=course, by=None)
    assert _qualified(manager)


def test_a_manager_changing_role_is_requalified_after_commit(
    course, manager, django_capture_on_commit_callbacks
):
    # given a key-account manager who passed their required course
    _enter(manager, course, Result.PASSED, 75)
    CourseFactory(code="S01", title="优质服务", category="skills", required_for=[Role.VIP_MANAGER])
    assert _qualified(manager)
    # when they become a VIP manager, whose required course they have not passed
    with django_capture_on_commit_callbacks(execute=True):
        manager_save(manager=manager, by=None, role=Role.VIP_MANAGER)
    # then they are no longer qualified
    assert not _qualified(manager)


def test_a_new_manager_of_a_role_without_requirements_is_qualified_after_commit(
    db, django_capture_on_commit_callbacks
):
    from tests.factories import StationFactory, UserFactory

    with django_capture_on_commit_callbacks(execute=True):
        created = manager_save(
            manager=None,
            by=None,
            user=UserFactory(),
            employee_no="E90001",
            role=Role.COMMUNITY_MANAGER,
            station=StationFactory(),
        )
    assert _qualified(created)


def test_refresh_touches_only_managers_whose_answer_changed(course, manager):
    # given one stale flag among consistent ones
    consistent = ManagerFactory(role=Role.COMMUNITY_MANAGER, qualified=True)  # no requirements: qualified
    # when everyone is refreshed
    change = qualification_refresh()
    # then nothing changes: `manager` lacks the course and is already unqualified
    assert (change.gained, change.lost) == (0, 0)
    assert _qualified(consistent)


def test_refresh_corrects_a_stale_flag(course, manager):
    Manager.objects.filter(pk=manager.pk).update(qualified=True)
    change = qualification_refresh()
    assert (change.gained, change.lost) == (0, 1)
    assert not _qualified(manager)


def test_becoming_qualified_gives_waiting_customers_a_manager(
    course, manager, django_capture_on_commit_callbacks
):
    # given an unassigned key account in the unqualified manager's station
    customer = CustomerFactory(station=manager.station, tier=Tier.KEY_ACCOUNT, manager=None)
    # when the manager passes the required course
    with django_capture_on_commit_callbacks(execute=True):
        _enter(manager, course, Result.PASSED, 90)
    # then the assignment step gives the customer to them
    customer.refresh_from_db()
    assert customer.manager_id == manager.pk


def test_an_unqualified_manager_receives_no_customer_automatically(
    course, manager, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(station=manager.station, tier=Tier.KEY_ACCOUNT, manager=None)
    with django_capture_on_commit_callbacks(execute=True):
        _enter(manager, course, Result.FAILED, 20)
        from managers.services import assignments_reconcile

        assignments_reconcile()
    customer.refresh_from_db()
    assert customer.manager_id is None


def test_a_result_for_a_session_in_the_future_is_refused(course, manager):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        _enter(manager, course, Result.PASSED, 80, day=tomorrow)
    assert "result" in excinfo.value.message_dict
    assert not TrainingRecord.objects.exists()


def test_an_enrolment_defaults_its_hours_to_the_course_hours(course, manager):
    record = training_record_save(
        record=None, by=None, manager=manager, course=course, session_date=DAY, result=Result.ENROLLED
    )
    assert record.hours == course.hours


def test_refreshing_one_manager_reads_records_written_without_the_services(course, manager):
    # given a passed record written straight to the table (an import, a fixture)
    TrainingRecordFactory(manager=manager, course=course)
    assert not _qualified(manager)
    qualification_refresh(manager_ids=[manager.pk])
    assert _qualified(manager)
