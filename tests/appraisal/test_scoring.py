"""The appraisal arithmetic (appraisal.scoring), with expected values computed by hand."""

from decimal import Decimal

import pytest

from appraisal.models import Grade, RaterKind
from appraisal.scoring import (
    DEFAULT_CRITERIA,
    DEFAULT_RATER_WEIGHTS,
    REWARD_FOR_GRADE,
    deviating_raters,
    final_score,
    grade_for,
    rater_total,
)

D = Decimal
WEIGHTS = {code: weight for code, _name, weight in DEFAULT_CRITERIA}
SUP, REP, COL = RaterKind.SUPERVISOR, RaterKind.CUSTOMER_REPRESENTATIVE, RaterKind.COLLABORATOR


def test_default_criteria_and_rater_weights_are_those_of_the_domain():
    assert WEIGHTS == {
        "plan_completion": 30,
        "satisfaction": 25,
        "market_expansion": 20,
        "info_feedback": 15,
        "collaboration": 10,
    }
    assert DEFAULT_RATER_WEIGHTS == {SUP: 50, REP: 30, COL: 20}


def test_rater_total_weights_the_criteria():
    # 90*30 + 80*25 + 70*20 + 60*15 + 100*10 = 2700+2000+1400+900+1000 = 8000 -> 80
    scores = {
        "plan_completion": 90,
        "satisfaction": 80,
        "market_expansion": 70,
        "info_feedback": 60,
        "collaboration": 100,
    }
    assert rater_total(scores, WEIGHTS) == D(80)


def test_rater_total_keeps_fractions_exact():
    # 81*30 + 80*70 = 2430 + 5600 = 8030 / 100 = 80.3
    assert rater_total({"a": 81, "b": 80}, {"a": 30, "b": 70}) == D("80.3")


def test_rater_total_is_none_until_every_criterion_is_scored():
    assert rater_total({"plan_completion": 90}, WEIGHTS) is None
    assert rater_total({}, WEIGHTS) is None


def test_final_score_with_every_kind_present():
    # supervisor 80, representatives mean(70, 90) = 80... use 60 and 90 -> 75, collaborators 90
    # 80*50 + 75*30 + 90*20 = 4000 + 2250 + 1800 = 8050 / 100 = 80.50
    result = final_score(
        rater_totals={SUP: [D(80)], REP: [D(60), D(90)], COL: [D(90)]}, kind_weights=DEFAULT_RATER_WEIGHTS
    )
    assert result.score == D("80.50")
    assert result.kind_scores == {SUP: D("80.00"), REP: D("75.00"), COL: D("90.00")}
    assert result.effective_weights == {SUP: D("50.00"), REP: D("30.00"), COL: D("20.00")}
    assert result.missing_kinds == []
    assert result.grade == Grade.GOOD


def test_a_missing_kind_has_its_weight_shared_out_in_proportion():
    # no representative: supervisor 50/70, collaborators 20/70
    # (80*50 + 70*20) / 70 = 5400 / 70 = 77.142857... -> 77.14
    result = final_score(rater_totals={SUP: [D(80)], COL: [D(70)]}, kind_weights=DEFAULT_RATER_WEIGHTS)
    assert result.score == D("77.14")
    assert result.missing_kinds == [REP]
    assert result.kind_scores[REP] is None
    assert result.effective_weights == {SUP: D("71.43"), REP: D("0.00"), COL: D("28.57")}
    assert result.shared_out


def test_two_missing_kinds_leave_all_the_weight_to_the_one_that_scored():
    result = final_score(rater_totals={REP: [D("66.6")]}, kind_weights=DEFAULT_RATER_WEIGHTS)
    assert result.score == D("66.60")
    assert result.effective_weights[REP] == D("100.00")
    assert result.missing_kinds == [SUP, COL]


def test_no_kind_scored_gives_no_score():
    result = final_score(rater_totals={}, kind_weights=DEFAULT_RATER_WEIGHTS)
    assert result.score is None
    assert result.grade is None
    assert result.missing_kinds == [SUP, REP, COL]


def test_a_kind_with_zero_weight_is_not_missing_and_counts_nothing():
    result = final_score(rater_totals={SUP: [D(80)], COL: [D(20)]}, kind_weights={SUP: 80, REP: 20, COL: 0})
    # (80*80) / 80 = 80: the representatives' 20 goes to the supervisor, collaborators count 0
    assert result.score == D("80.00")
    assert result.missing_kinds == [REP]
    assert result.kind_scores[COL] == D("20.00")


def test_rounding_happens_once_at_the_end_half_up():
    # supervisor 80.125 (exact), collaborators 80.125, representatives none: exact 80.125 -> 80.13
    # (rounding each kind first would give the same here; the next case shows the difference)
    result = final_score(
        rater_totals={SUP: [D("80.125")], COL: [D("80.125")]}, kind_weights=DEFAULT_RATER_WEIGHTS
    )
    assert result.score == D("80.13")
    # supervisor mean(80.004, 80.005) = 80.0045; alone it is the score: 80.0045 -> 80.00, whereas
    # rounding the raters first (80.00, 80.01 -> 80.005) and then again would give 80.01
    result = final_score(rater_totals={SUP: [D("80.004"), D("80.005")]}, kind_weights=DEFAULT_RATER_WEIGHTS)
    assert result.score == D("80.00")


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (D("59.99"), Grade.UNQUALIFIED),
        (D("60"), Grade.QUALIFIED),
        (D("60.00"), Grade.QUALIFIED),
        (D("74.99"), Grade.QUALIFIED),
        (D("75"), Grade.GOOD),
        (D("89.99"), Grade.GOOD),
        (D("90"), Grade.EXCELLENT),
        (D("100"), Grade.EXCELLENT),
        (D("0"), Grade.UNQUALIFIED),
        (D("89.994"), Grade.GOOD),  # rounds to 89.99
        (D("89.995"), Grade.EXCELLENT),  # rounds half up to 90.00
        (D("59.995"), Grade.QUALIFIED),
        (D("74.9949"), Grade.QUALIFIED),
    ],
)
def test_grade_boundaries_on_the_rounded_score(score, grade):
    assert grade_for(score) == grade


def test_no_score_has_no_grade():
    assert grade_for(None) is None


def test_every_grade_suggests_a_reward():
    assert set(REWARD_FOR_GRADE) == set(Grade.values)
    assert all(str(text) for text in REWARD_FOR_GRADE.values())


def test_a_rater_more_than_20_points_from_the_panel_mean_is_flagged():
    # mean of 90, 85, 40 = 71.67: 40 is 31.67 below (flagged), 90 is 18.33 above (not)
    assert deviating_raters({1: D(90), 2: D(85), 3: D(40)}) == {3}


def test_exactly_20_points_from_the_mean_is_not_flagged():
    # mean of 60 and 100 = 80: each is exactly 20 away
    assert deviating_raters({1: D(60), 2: D(100)}) == set()
    # 59 and 101: 21 away each
    assert deviating_raters({1: D(59), 2: D(101)}) == {1, 2}


def test_raters_without_a_total_and_lonely_raters_are_never_flagged():
    assert deviating_raters({1: D(10), 2: None}) == set()
    assert deviating_raters({}) == set()
