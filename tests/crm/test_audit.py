"""The audit trail: who changed a customer's tier, pin or manager, a tier policy, a manager profile
or a training result, when, and from what to what; the customer page shows it."""

import datetime as dt
import logging

from django.template.loader import render_to_string
from django.utils import timezone, translation

from customers.models import Customer, Tier
from customers.services import customer_update
from customers.tiering.services import customer_pin_tier, customer_unpin_tier, tier_policy_create
from customers.views import audit_section
from managers.models import Manager
from managers.services import assignment_move, assignments_reconcile, manager_save
from tests.factories import CourseFactory, CustomerFactory, ManagerFactory, UserFactory
from training.models import Result, TrainingRecord
from training.services import session_results_record, training_record_save


def _newest(obj):
    return obj.history.order_by("-history_date", "-history_id").first()


def test_pinning_a_tier_records_who_why_and_the_tier_before_and_after(world):
    # when the supervisor pins customer A's tier
    customer_pin_tier(
        customer=world.customer_a, tier=Tier.VIP, reason="市重点项目", until=None, by=world.supervisor
    )
    # then the newest history row has the new tier and pin, the supervisor and the reason
    record = _newest(world.customer_a)
    assert (record.tier, record.tier_pinned, record.history_user) == (Tier.VIP, True, world.supervisor)
    assert record.history_change_reason == "市重点项目"
    assert record.prev_record.tier == Tier.KEY_ACCOUNT


def test_releasing_a_pin_records_who_released_it(world):
    customer_pin_tier(
        customer=world.customer_a, tier=Tier.VIP, reason="市重点项目", until=None, by=world.supervisor
    )
    customer_unpin_tier(customer=world.customer_a, by=world.admin)
    record = _newest(world.customer_a)
    assert (record.tier_pinned, record.history_user) == (False, world.admin)


def test_moving_a_customer_records_the_manager_before_and_after(world):
    # given a second key-account manager in station A
    other = ManagerFactory(station=world.station_a, role=world.manager_a.role, qualified=True)
    # when the administrator moves customer A to them
    assignment_move(customer=world.customer_a, manager=other, reason="调整片区", by=world.admin)
    # then the history holds both managers, the administrator and the reason
    record = _newest(world.customer_a)
    delta = record.diff_against(record.prev_record)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("manager", world.manager_a.user_id, other.user_id)
    ]
    assert (record.history_user, record.history_change_reason) == (world.admin, "调整片区")


def test_editing_master_data_records_the_acting_user(world):
    customer_update(customer=world.customer_a, by=world.admin, address="城关镇一路1号")
    record = _newest(world.customer_a)
    assert (record.address, record.history_user) == ("城关镇一路1号", world.admin)


def test_consumption_figures_stay_out_of_the_customer_history(world):
    fields = {f.name for f in Customer.history.model._meta.get_fields()}
    assert "annual_consumption_kwh" not in fields
    assert "tier" in fields


def test_a_new_tier_policy_records_its_author(world):
    policy = tier_policy_create(by=world.admin, effective_from=timezone.localdate(), key_kwh=900000)
    record = _newest(policy)
    assert (record.history_type, record.history_user, record.key_kwh) == ("+", world.admin, 900000)


def test_changing_a_manager_profile_records_before_and_after(world):
    manager_save(manager=world.manager_a, by=world.admin, max_customers=120)
    record = _newest(Manager.objects.get(pk=world.manager_a.pk))
    assert (record.prev_record.max_customers, record.max_customers) == (500, 120)
    assert record.history_user == world.admin


def test_a_training_result_records_who_entered_it(world):
    course = CourseFactory()
    record = training_record_save(
        record=None,
        by=world.admin,
        manager=world.manager_a,
        course=course,
        session_date=timezone.localdate() - dt.timedelta(days=1),
        result=Result.PASSED,
        score=88,
    )
    trail = _newest(record)
    assert (trail.history_type, trail.result, trail.score, trail.history_user) == (
        "+",
        "passed",
        88,
        world.admin,
    )


def test_session_results_entered_in_one_go_are_each_recorded_with_their_author(world):
    course = CourseFactory(pass_mark=60)
    date = timezone.localdate() - dt.timedelta(days=1)
    session_results_record(
        course=course,
        date=date,
        place="培训中心",
        trainer="王老师",
        roster=[world.manager_a, world.manager_b],
        scores={world.manager_a.pk: 90, world.manager_b.pk: 40},
        by=world.admin,
    )
    rows = TrainingRecord.history.filter(course_id=course.pk)
    assert sorted((r.manager_id, r.result, r.history_user_id) for r in rows) == sorted(
        [(world.manager_a.pk, "passed", world.admin.pk), (world.manager_b.pk, "failed", world.admin.pk)]
    )


def test_changing_session_results_records_the_score_before_and_after(world):
    course = CourseFactory(pass_mark=60)
    date = timezone.localdate() - dt.timedelta(days=1)
    common = {"course": course, "date": date, "place": "培训中心", "trainer": "王老师", "by": world.admin}
    session_results_record(roster=[world.manager_a], scores={world.manager_a.pk: 50}, **common)
    session_results_record(roster=[world.manager_a], scores={world.manager_a.pk: 75}, **common)
    record = TrainingRecord.objects.get(course=course, manager=world.manager_a)
    newest = _newest(record)
    assert (newest.prev_record.score, newest.score, newest.result) == (50, 75, "passed")


def test_removing_an_absent_manager_from_a_session_records_the_deletion(world):
    course = CourseFactory(pass_mark=60)
    date = timezone.localdate() - dt.timedelta(days=1)
    common = {"course": course, "date": date, "place": "培训中心", "trainer": "王老师", "by": world.admin}
    roster = [world.manager_a, world.manager_b]
    session_results_record(roster=roster, scores={world.manager_a.pk: 80, world.manager_b.pk: 70}, **common)
    session_results_record(roster=roster, scores={world.manager_a.pk: 80}, **common)
    deleted = TrainingRecord.history.get(manager_id=world.manager_b.pk, history_type="-")
    assert deleted.history_user == world.admin


def _trail_html(customer) -> str:
    """The audit trail as the customer page includes it (templates/customers/_audit_trail.html)."""
    return render_to_string("customers/_audit_trail.html", audit_section(customer))


def test_audit_trail_shows_who_changed_the_tier_from_what_to_what(world):
    # given the supervisor pinned customer A's tier
    customer_pin_tier(
        customer=world.customer_a, tier=Tier.VIP, reason="市重点项目", until=None, by=world.supervisor
    )
    # when the trail is shown in English
    with translation.override("en"):
        html = _trail_html(world.customer_a)
        moved = f"{Tier.KEY_ACCOUNT.label} → {Tier.VIP.label}"
    # then it names the supervisor, the reason and both tiers
    assert "李主管" in html
    assert "市重点项目" in html
    assert moved in html


def test_audit_trail_names_the_managers_of_a_manager_change(world):
    other = ManagerFactory(
        user=UserFactory(full_name="钱经理"),
        station=world.station_a,
        role=world.manager_a.role,
        qualified=True,
    )
    assignment_move(customer=world.customer_a, manager=other, reason="调整片区", by=world.admin)
    assert "张经理 → 钱经理" in _trail_html(world.customer_a)


def test_audit_trail_runs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    other = ManagerFactory(station=world.station_a, role=world.manager_a.role, qualified=True)
    for n in range(10):
        target = other if n % 2 == 0 else world.manager_a
        assignment_move(customer=world.customer_a, manager=target, reason=f"第{n}次", by=world.admin)
    with django_assert_max_num_queries(2):  # the history with its users, then the managers named
        _trail_html(world.customer_a)


def test_an_assignment_run_logs_its_counts(world, caplog):
    # given an unassigned customer that manager A's station can serve
    CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    Manager.objects.filter(pk=world.manager_a.pk).update(qualified=True)
    # when the assignment job runs
    with caplog.at_level(logging.INFO, logger="managers.services"):
        counts = assignments_reconcile()
    # then one log record carries the run's counts
    (record,) = [r for r in caplog.records if r.name == "managers.services"]
    assert str(counts) in record.getMessage()
    assert counts["assigned"] == 1
