"""The review table (appraisal.selectors.review_rows): what a supervisor sees side by side, in a
fixed number of queries."""

from decimal import Decimal

import pytest

from appraisal import services
from appraisal.models import Grade, RaterKind
from appraisal.selectors import panel_for, review_rows
from crm.accounts import roles
from tests.appraisal.core_helpers import all_scores, appraisal_of, open_cycle
from tests.factories import ManagerFactory, UserFactory


def _seat(appraisal, kind, by, **who):
    return services.panel_add(appraisal=appraisal, kind=kind, by=by, **who)


def test_review_rows_show_kind_scores_flags_and_the_grade(world):
    cycle = open_cycle(world)
    appraisal = appraisal_of(cycle, world.manager_a)
    supervisor_seat = appraisal.raters.get(user=world.supervisor)
    near, far = UserFactory(), UserFactory()
    near_seat = _seat(appraisal, RaterKind.COLLABORATOR, world.supervisor, user=near)
    far_seat = _seat(appraisal, RaterKind.COLLABORATOR, world.supervisor, user=far)
    silent = _seat(appraisal, RaterKind.CUSTOMER_REPRESENTATIVE, world.supervisor, name="王厂长")
    services.scores_save(rater=supervisor_seat, scores=all_scores(90), by=world.supervisor)
    services.scores_save(rater=near_seat, scores=all_scores(80), by=near)
    services.scores_save(rater=far_seat, scores=all_scores(40), by=far)
    # panel mean (90+80+40)/3 = 70: 40 is 30 away (flagged), 90 is 20 away (not)
    # collaborators mean 60; representatives missing: (90*50 + 60*20) / 70 = 5700/70 = 81.428... -> 81.43
    [row] = review_rows(cycle=cycle, user=world.supervisor)
    assert row.manager == world.manager_a
    assert row.score == Decimal("81.43")
    assert row.grade == Grade.GOOD
    assert row.reward
    assert row.kind_scores == {
        RaterKind.SUPERVISOR: Decimal("90.00"),
        RaterKind.CUSTOMER_REPRESENTATIVE: None,
        RaterKind.COLLABORATOR: Decimal("60.00"),
    }
    assert row.missing_kinds == [RaterKind.CUSTOMER_REPRESENTATIVE]
    assert [r.rater for r in row.deviating] == [far_seat]
    assert [r.rater for r in row.not_scored] == [silent]
    assert {r.rater.pk: r.total for r in row.raters}[near_seat.pk] == Decimal(80)


def test_review_rows_are_the_users_visible_appraisals(world):
    cycle = open_cycle(world)
    assert [r.manager for r in review_rows(cycle=cycle, user=world.supervisor)] == [world.manager_a]
    assert len(review_rows(cycle=cycle, user=world.admin)) == 2
    assert review_rows(cycle=cycle, user=world.manager_a.user) == []  # not finalized yet


def test_panel_for_gives_each_raters_total(world):
    cycle = open_cycle(world)
    appraisal = appraisal_of(cycle, world.manager_a)
    services.scores_save(rater=appraisal.raters.get(), scores=all_scores(77), by=world.supervisor)
    result, rows = panel_for(appraisal=appraisal)
    assert result.score == Decimal("77.00")
    assert [r.total for r in rows] == [Decimal(77)]


@pytest.mark.parametrize("size", [2, 12])
def test_review_rows_run_a_fixed_number_of_queries(world, size, django_assert_max_num_queries):
    for _ in range(size):
        user = UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER)
        ManagerFactory(user=user, station=world.station_a)
    cycle = open_cycle(world)
    for appraisal in cycle.appraisals.filter(manager__user__supervisor=world.supervisor):
        seat = appraisal.raters.get()
        services.scores_save(rater=seat, scores=all_scores(75), by=world.supervisor)
        _seat(appraisal, RaterKind.COLLABORATOR, world.admin, user=UserFactory())
    viewer = type(world.supervisor).objects.get(pk=world.supervisor.pk)  # no cached scope
    with django_assert_max_num_queries(7):  # 4, and 3 for the fresh user's scope and permissions
        rows = review_rows(cycle=cycle, user=viewer)
    assert len(rows) == size + 1
