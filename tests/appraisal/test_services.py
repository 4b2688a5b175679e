"""The appraisal's writes (appraisal.services): cycles, opening, panels, scores and the workflow,
with every refusal: state errors (409 in the API), rule errors, and acting outside one's rights."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from appraisal import services
from appraisal.links import LinkUsed
from appraisal.models import (
    Appraisal,
    AppraisalCycle,
    AppraisalStatus,
    CycleStatus,
    Grade,
    Rater,
    RaterKind,
    Score,
)
from appraisal.services import AppraisalStateError
from crm.common.errors import Conflict
from tests.appraisal.core_helpers import CODES, all_scores, appraisal_of, seat_representative
from tests.factories import ManagerFactory, UserFactory


def _seat(appraisal, user):
    return Rater.objects.get(appraisal=appraisal, user=user)


# ---------------------------------------------------------------- cycles
def test_cycle_create_takes_the_default_criteria_and_weights(world):
    cycle = services.cycle_create(year=2026, by=world.admin)
    assert cycle.status == CycleStatus.DRAFT
    assert [(c.code, c.weight) for c in cycle.criteria.order_by("position")] == [
        ("plan_completion", 30),
        ("satisfaction", 25),
        ("market_expansion", 20),
        ("info_feedback", 15),
        ("collaboration", 10),
    ]
    assert cycle.rater_weights == {"supervisor": 50, "customer_representative": 30, "collaborator": 20}
    assert cycle.history.get().history_user == world.admin


def test_cycle_create_takes_given_criteria_weights_and_link_days(world):
    cycle = services.cycle_create(
        year=2027,
        criteria=[{"code": "a", "name": "甲", "weight": 60}, {"code": "b", "name": "乙", "weight": 40}],
        rater_weights={"supervisor": 60, "customer_representative": 20, "collaborator": 20},
        link_valid_days=7,
        by=world.admin,
    )
    assert list(cycle.criteria.values_list("code", "weight")) == [("a", 60), ("b", 40)]
    assert (cycle.supervisor_weight, cycle.link_valid_days) == (60, 7)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"criteria": [{"code": "a", "name": "甲", "weight": 90}]}, "criteria"),
        (
            {
                "criteria": [
                    {"code": "a", "name": "甲", "weight": 50},
                    {"code": "a", "name": "乙", "weight": 50},
                ]
            },
            "criteria",
        ),
        ({"criteria": [{"code": "a b", "name": "甲", "weight": 100}]}, "criteria"),
        ({"criteria": [{"code": "a", "name": "", "weight": 100}]}, "criteria"),
        ({"criteria": [{"code": "a", "name": "甲", "weight": "100"}]}, "criteria"),
        ({"criteria": []}, "criteria"),
        ({"criteria": "nope"}, "criteria"),
        (
            {"rater_weights": {"supervisor": 50, "customer_representative": 30, "collaborator": 30}},
            "rater_weights",
        ),
        ({"rater_weights": {"supervisor": 100}}, "rater_weights"),
        (
            {"rater_weights": {"supervisor": 101, "customer_representative": -1, "collaborator": 0}},
            "rater_weights",
        ),
        ({"link_valid_days": 0}, "link_valid_days"),
        ({"year": 1999}, "year"),
    ],
)
def test_cycle_create_refuses_broken_rules_by_field(world, arguments, field):
    arguments = {"year": 2026, **arguments}
    with pytest.raises(ValidationError) as caught:
        services.cycle_create(by=world.admin, **arguments)
    assert field in caught.value.message_dict
    assert not AppraisalCycle.objects.exists()


def test_one_cycle_per_year(world):
    services.cycle_create(year=2026, by=world.admin)
    with pytest.raises(ValidationError) as caught:
        services.cycle_create(year=2026, by=world.admin)
    assert "year" in caught.value.message_dict


def test_only_an_administrator_creates_cycles(world):
    with pytest.raises(PermissionDenied):
        services.cycle_create(year=2026, by=world.supervisor)


def test_cycle_update_replaces_criteria_while_draft(world):
    cycle = services.cycle_create(year=2026, by=world.admin)
    services.cycle_update(
        cycle=cycle, criteria=[{"code": "only", "name": "唯一", "weight": 100}], by=world.admin
    )
    assert list(cycle.criteria.values_list("code", flat=True)) == ["only"]


def test_cycle_update_of_criteria_after_opening_is_a_state_error(world, cycle):
    with pytest.raises(AppraisalStateError):
        services.cycle_update(
            cycle=cycle, criteria=[{"code": "x", "name": "x", "weight": 100}], by=world.admin
        )
    with pytest.raises(AppraisalStateError):
        services.cycle_update(
            cycle=cycle,
            rater_weights={"supervisor": 100, "customer_representative": 0, "collaborator": 0},
            by=world.admin,
        )


# ---------------------------------------------------------------- opening
def test_opening_creates_an_appraisal_per_active_manager_with_the_supervisor_seated(world):
    inactive = ManagerFactory(active=False)
    cycle = services.cycle_create(year=2026, by=world.admin)
    created = services.cycle_open(cycle=cycle, by=world.admin)
    cycle.refresh_from_db()
    assert created == 2
    assert cycle.status == CycleStatus.SCORING
    assert cycle.opened_by == world.admin
    assert cycle.opened_at is not None
    assert set(cycle.appraisals.values_list("manager_id", "status")) == {
        (world.manager_a.pk, AppraisalStatus.SCORING),
        (world.manager_b.pk, AppraisalStatus.SCORING),
    }
    assert not cycle.appraisals.filter(manager=inactive).exists()
    seats = Rater.objects.filter(appraisal__cycle=cycle)
    assert list(seats.values_list("appraisal__manager_id", "kind", "user_id")) == [
        (world.manager_a.pk, RaterKind.SUPERVISOR, world.supervisor.pk)
    ]
    assert appraisal_of(cycle, world.manager_a).history.get().history_user == world.admin


def test_opening_computes_the_evidence_once_committed(world, django_capture_on_commit_callbacks):
    cycle = services.cycle_create(year=2026, by=world.admin)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.cycle_open(cycle=cycle, by=world.admin)
    assert len(callbacks) == 1
    cycle.refresh_from_db()
    assert cycle.evidence_computed_at is not None
    assert all(a.evidence_computed_at and "visits_due" in a.evidence for a in cycle.appraisals.all())


def test_opening_twice_is_a_state_error(world, cycle):
    with pytest.raises(AppraisalStateError):
        services.cycle_open(cycle=cycle, by=world.admin)


def test_an_appraisal_added_to_a_draft_waits_and_starts_with_the_cycle(world):
    cycle = services.cycle_create(year=2026, by=world.admin)
    added = services.appraisal_create(cycle=cycle, manager=world.manager_a, by=world.admin)
    assert added.status == AppraisalStatus.DRAFT
    assert services.cycle_open(cycle=cycle, by=world.admin) == 1  # manager B only
    added.refresh_from_db()
    assert added.status == AppraisalStatus.SCORING
    assert added.raters.filter(kind=RaterKind.SUPERVISOR, user=world.supervisor).exists()


# ---------------------------------------------------------------- panels
def test_panel_add_seats_a_collaborator_and_a_representative_with_a_link(world, appraisal_a, colleague):
    seat = services.panel_add(
        appraisal=appraisal_a, kind=RaterKind.COLLABORATOR, user=colleague, by=world.supervisor
    )
    before = timezone.now()
    representative = seat_representative(world, appraisal_a, "王厂长", organisation="甲钢铁厂")
    assert seat.user == colleague
    assert seat.added_by == world.supervisor
    assert representative.link_expires_at - before >= dt.timedelta(days=30) - dt.timedelta(seconds=5)
    assert representative.history.get().history_user == world.supervisor


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"kind": "customer_representative", "name": ""}, "name"),
        ({"kind": "customer_representative", "name": "x" * 101}, "name"),
        ({"kind": "collaborator"}, "user"),
        ({"kind": "collaborator", "name": "王"}, "user"),
        ({"kind": "boss"}, "kind"),
    ],
)
def test_panel_add_refuses_incomplete_seats(world, appraisal_a, arguments, field):
    with pytest.raises(ValidationError) as caught:
        services.panel_add(appraisal=appraisal_a, by=world.supervisor, **arguments)
    assert field in caught.value.message_dict


def test_a_user_sits_once_and_never_on_their_own_panel(world, appraisal_a):
    with pytest.raises(ValidationError):
        services.panel_add(appraisal=appraisal_a, kind="collaborator", user=world.supervisor, by=world.admin)
    with pytest.raises(ValidationError):
        services.panel_add(
            appraisal=appraisal_a, kind="collaborator", user=world.manager_a.user, by=world.supervisor
        )


def test_only_the_managers_supervisor_or_an_administrator_changes_the_panel(world, cycle, colleague):
    appraisal_b = appraisal_of(cycle, world.manager_b)
    with pytest.raises(PermissionDenied):
        services.panel_add(appraisal=appraisal_b, kind="collaborator", user=colleague, by=world.supervisor)
    with pytest.raises(PermissionDenied):
        services.panel_add(
            appraisal=appraisal_of(cycle, world.manager_a),
            kind="collaborator",
            user=colleague,
            by=world.manager_a.user,
        )
    assert services.panel_add(appraisal=appraisal_b, kind="collaborator", user=colleague, by=world.admin)


def test_the_panel_is_fixed_once_in_review(world, appraisal_a, colleague):
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    with pytest.raises(AppraisalStateError):
        services.panel_add(appraisal=appraisal_a, kind="collaborator", user=colleague, by=world.supervisor)
    with pytest.raises(AppraisalStateError):
        services.panel_remove(rater=_seat(appraisal_a, world.supervisor), by=world.supervisor)


def _scored_80_and_70(world, appraisal, colleague):
    """The supervisor scores 80 on everything and `colleague`, seated as a collaborator, 70; the
    colleague's seat."""
    seat = services.panel_add(appraisal=appraisal, kind="collaborator", user=colleague, by=world.supervisor)
    services.scores_save(rater=_seat(appraisal, world.supervisor), scores=all_scores(80), by=world.supervisor)
    services.scores_save(rater=seat, scores=all_scores(70), by=colleague)
    return seat


def test_removing_a_seat_removes_its_scores_and_recomputes(world, appraisal_a, colleague):
    seat = _scored_80_and_70(world, appraisal_a, colleague)
    appraisal_a.refresh_from_db()
    assert appraisal_a.score == Decimal("77.14")
    services.panel_remove(rater=seat, by=world.supervisor)
    appraisal_a.refresh_from_db()
    assert appraisal_a.score == Decimal("80.00")
    assert not Score.objects.filter(rater_id=seat.pk).exists()


# ---------------------------------------------------------------- scores
def test_scores_compute_the_final_score_grade_and_kind_scores(world, appraisal_a, colleague):
    # supervisor 80 on everything, colleague 70, no representative:
    # (80*50 + 70*20) / 70 = 77.142857 -> 77.14, good
    _scored_80_and_70(world, appraisal_a, colleague)
    appraisal_a.refresh_from_db()
    assert appraisal_a.score == Decimal("77.14")
    assert appraisal_a.grade == Grade.GOOD
    assert appraisal_a.kind_scores["supervisor"] == "80.00"
    assert appraisal_a.kind_scores["customer_representative"] is None
    assert appraisal_a.kind_scores["_weights"] == {
        "supervisor": "71.43",
        "customer_representative": "0.00",
        "collaborator": "28.57",
    }
    assert appraisal_a.kind_scores["_missing"] == ["customer_representative"]


def test_a_partial_set_is_kept_but_counts_only_when_complete(world, appraisal_a):
    seat = _seat(appraisal_a, world.supervisor)
    services.scores_save(rater=seat, scores=all_scores(90)[:2], by=world.supervisor)
    appraisal_a.refresh_from_db()
    seat.refresh_from_db()
    assert appraisal_a.score is None
    assert seat.submitted_at is None
    assert seat.scores.count() == 2
    services.scores_save(rater=seat, scores=all_scores(90)[2:], by=world.supervisor)
    appraisal_a.refresh_from_db()
    seat.refresh_from_db()
    assert appraisal_a.score == Decimal("90.00")
    assert appraisal_a.grade == Grade.EXCELLENT
    assert seat.submitted_at is not None


def test_a_rater_changes_their_own_scores(world, appraisal_a):
    seat = _seat(appraisal_a, world.supervisor)
    services.scores_save(rater=seat, scores=all_scores(90), by=world.supervisor)
    services.scores_save(
        rater=seat, scores=[{"criterion": CODES[0], "score": 60, "comment": "计划滞后"}], by=world.supervisor
    )
    # 60*30 + 90*70 = 1800 + 6300 = 8100 -> 81
    appraisal_a.refresh_from_db()
    assert appraisal_a.score == Decimal("81.00")
    assert seat.scores.get(criterion__code=CODES[0]).comment == "计划滞后"


def test_nobody_enters_anothers_scores(world, appraisal_a, colleague):
    seat = _seat(appraisal_a, world.supervisor)
    for intruder in (colleague, world.admin, world.manager_a.user, None):
        with pytest.raises(PermissionDenied):
            services.scores_save(rater=seat, scores=all_scores(10), by=intruder)
    assert not seat.scores.exists()


@pytest.mark.parametrize(
    "bad",
    [
        [{"criterion": "plan_completion", "score": 101}],
        [{"criterion": "plan_completion", "score": -1}],
        [{"criterion": "plan_completion", "score": True}],
        [{"criterion": "plan_completion", "score": "80"}],
        [{"criterion": "plan_completion", "score": 80.5}],
        [{"criterion": "nope", "score": 80}],
        [{"criterion": "plan_completion", "score": 80}, {"criterion": "plan_completion", "score": 70}],
        [{"criterion": "plan_completion", "score": 80, "comment": "x" * 2001}],
        ["plan_completion"],
        [],
    ],
)
def test_scores_refuse_bad_input_on_the_scores_field(world, appraisal_a, bad):
    with pytest.raises(ValidationError) as caught:
        services.scores_save(rater=_seat(appraisal_a, world.supervisor), scores=bad, by=world.supervisor)
    assert "scores" in caught.value.message_dict
    assert not Score.objects.exists()


def test_a_representative_sends_every_criterion_once_and_the_link_is_spent(world, appraisal_a):
    seat = services.panel_add(
        appraisal=appraisal_a, kind="customer_representative", name="王厂长", by=world.supervisor
    )
    with pytest.raises(ValidationError):
        services.scores_save(rater=seat, scores=all_scores(85)[:3])
    services.scores_save(rater=seat, scores=all_scores(85))
    seat.refresh_from_db()
    assert seat.submitted_at is not None
    with pytest.raises(LinkUsed):
        services.scores_save(rater=seat, scores=all_scores(10))
    assert set(seat.scores.values_list("score", flat=True)) == {85}


def test_a_representatives_seat_is_not_scored_by_a_signed_in_user(world, appraisal_a):
    seat = services.panel_add(
        appraisal=appraisal_a, kind="customer_representative", name="王厂长", by=world.supervisor
    )
    with pytest.raises(PermissionDenied):
        services.scores_save(rater=seat, scores=all_scores(85), by=world.supervisor)


@pytest.mark.parametrize("status", [AppraisalStatus.DRAFT, AppraisalStatus.REVIEW, AppraisalStatus.FINALIZED])
def test_scores_outside_scoring_are_a_state_error(world, appraisal_a, status):
    Appraisal.objects.filter(pk=appraisal_a.pk).update(status=status)
    with pytest.raises(AppraisalStateError):
        services.scores_save(
            rater=_seat(appraisal_a, world.supervisor), scores=all_scores(), by=world.supervisor
        )


def test_a_state_error_is_a_409_conflict():
    assert issubclass(AppraisalStateError, Conflict)
    assert AppraisalStateError().status_code == 409


# ---------------------------------------------------------------- workflow
def _scored(world, appraisal, value=80):
    services.scores_save(
        rater=_seat(appraisal, world.supervisor), scores=all_scores(value), by=world.supervisor
    )


def test_submit_moves_to_review_and_recomputes_the_evidence(
    world, cycle, appraisal_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    appraisal_a.refresh_from_db()
    assert appraisal_a.status == AppraisalStatus.REVIEW
    assert appraisal_a.evidence_computed_at is not None
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.SCORING  # manager B is still in scoring


def test_the_cycle_follows_its_appraisals(world, cycle, appraisal_a):
    appraisal_b = appraisal_of(cycle, world.manager_b)
    for appraisal in (appraisal_a, appraisal_b):
        services.scores_save(
            rater=services.panel_add(
                appraisal=appraisal, kind="collaborator", user=UserFactory(), by=world.admin
            ),
            scores=all_scores(70),
            by=Rater.objects.filter(appraisal=appraisal, kind="collaborator").get().user,
        )
        services.appraisal_submit(appraisal=appraisal, by=world.admin)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.REVIEW
    services.appraisal_finalize(appraisal=appraisal_a, by=world.supervisor)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.REVIEW
    services.appraisal_finalize(appraisal=appraisal_b, by=world.admin)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.FINALIZED
    services.appraisal_reopen(appraisal=appraisal_b, reason="分数录入错误", by=world.admin)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.REVIEW


def test_finalize_records_who_and_when(world, appraisal_a):
    _scored(world, appraisal_a)
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    services.appraisal_finalize(appraisal=appraisal_a, by=world.supervisor)
    appraisal_a.refresh_from_db()
    assert appraisal_a.status == AppraisalStatus.FINALIZED
    assert appraisal_a.finalized_by == world.supervisor
    assert appraisal_a.finalized_at is not None


@pytest.mark.parametrize(
    ("status", "step"),
    [
        (AppraisalStatus.REVIEW, "submit"),
        (AppraisalStatus.FINALIZED, "submit"),
        (AppraisalStatus.DRAFT, "submit"),
        (AppraisalStatus.SCORING, "finalize"),
        (AppraisalStatus.FINALIZED, "finalize"),
        (AppraisalStatus.DRAFT, "finalize"),
        (AppraisalStatus.SCORING, "reopen"),
        (AppraisalStatus.REVIEW, "reopen"),
    ],
)
def test_a_step_from_the_wrong_state_is_a_state_error(world, appraisal_a, status, step):
    _scored(world, appraisal_a)
    Appraisal.objects.filter(pk=appraisal_a.pk).update(status=status)
    calls = {
        "submit": lambda: services.appraisal_submit(appraisal=appraisal_a, by=world.admin),
        "finalize": lambda: services.appraisal_finalize(appraisal=appraisal_a, by=world.admin),
        "reopen": lambda: services.appraisal_reopen(appraisal=appraisal_a, reason="r", by=world.admin),
    }
    with pytest.raises(AppraisalStateError):
        calls[step]()
    appraisal_a.refresh_from_db()
    assert appraisal_a.status == status


def test_an_appraisal_nobody_scored_cannot_be_finalized(world, appraisal_a):
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    with pytest.raises(AppraisalStateError):
        services.appraisal_finalize(appraisal=appraisal_a, by=world.supervisor)


def test_workflow_steps_belong_to_the_supervisor_or_an_administrator(world, cycle, appraisal_a, colleague):
    for outsider in (world.manager_a.user, colleague, world.integration):
        with pytest.raises(PermissionDenied):
            services.appraisal_submit(appraisal=appraisal_a, by=outsider)
    with pytest.raises(PermissionDenied):
        services.appraisal_submit(appraisal=appraisal_of(cycle, world.manager_b), by=world.supervisor)


def test_finalize_all_finalizes_the_users_team_under_review_with_a_score(world, cycle, appraisal_a):
    appraisal_b = appraisal_of(cycle, world.manager_b)
    _scored(world, appraisal_a)
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    seat_b = services.panel_add(
        appraisal=appraisal_b, kind="collaborator", user=UserFactory(), by=world.admin
    )
    services.scores_save(rater=seat_b, scores=all_scores(70), by=seat_b.user)
    services.appraisal_submit(appraisal=appraisal_b, by=world.admin)
    assert services.appraisals_finalize(cycle=cycle, by=world.supervisor) == 1
    assert set(Appraisal.objects.values_list("manager_id", "status")) == {
        (world.manager_a.pk, AppraisalStatus.FINALIZED),
        (world.manager_b.pk, AppraisalStatus.REVIEW),
    }
    assert services.appraisals_finalize(cycle=cycle, by=world.admin) == 1


def test_only_an_administrator_reopens_and_must_say_why(world, appraisal_a):
    _scored(world, appraisal_a)
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    services.appraisal_finalize(appraisal=appraisal_a, by=world.supervisor)
    with pytest.raises(PermissionDenied):
        services.appraisal_reopen(appraisal=appraisal_a, reason="想改分", by=world.supervisor)
    for reason in ("", "   ", None, "x" * 101):
        with pytest.raises(ValidationError) as caught:
            services.appraisal_reopen(appraisal=appraisal_a, reason=reason, by=world.admin)
        assert "reason" in caught.value.message_dict
    services.appraisal_reopen(appraisal=appraisal_a, reason="客户代表评分录错", by=world.admin)
    appraisal_a.refresh_from_db()
    assert appraisal_a.status == AppraisalStatus.REVIEW
    assert appraisal_a.finalized_at is None
    assert appraisal_a.finalized_by is None
    latest = appraisal_a.history.order_by("-history_date", "-history_id").first()
    assert (latest.history_change_reason, latest.history_user) == ("客户代表评分录错", world.admin)
