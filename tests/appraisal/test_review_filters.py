"""The supervisor's review: filter and sort by grade, status, flagged and station (GET, kept by the
paging), only the supervisor's own team whatever the filter, the grade distribution drawn above it,
the seat figures and flag stored with the score (and filled in for existing panels by migration
0002), and a fixed number of queries at two team sizes, filtered or not."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from appraisal import services, views
from appraisal.models import Appraisal, AppraisalStatus, Rater, RaterKind
from crm.accounts import roles
from tests.appraisal.core_helpers import all_scores, open_cycle, supervisor_scores
from tests.factories import ManagerFactory, UserFactory

pytestmark = pytest.mark.django_db
EN = {"django_language": "en"}


def _review(client, user, year=2026, **params):
    client.force_login(user)
    client.cookies.load(EN)
    return client.get(reverse("appraisal:review", args=[year]), params)


def _names(response) -> list[str]:
    return [row.manager.user.full_name for row in response.context["rows"]]


@pytest.fixture
def graded(world):
    """The supervisor's team of four, scored 95 (excellent), 80 (good), 65 (qualified) and 80 with
    colleagues scoring 80 and 30 (the 30 deviates: flagged; 72.86, qualified); manager A's in
    station A, the others in station B; the 95 one is under review. Another supervisor's team of
    one beside it, on whose panel the supervisor sits as a colleague."""
    members = [world.manager_a] + [
        ManagerFactory(
            user=UserFactory(full_name=name, supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER),
            station=world.station_b,
        )
        for name in ("钱优秀", "孙合格", "周偏差")
    ]
    other_lead = UserFactory(username="lead_b", full_name="王主管", role=roles.SUPERVISOR)
    world.manager_b.user.supervisor = other_lead
    world.manager_b.user.save()
    cycle = open_cycle(world)
    mine = {m.user.full_name: Appraisal.objects.get(cycle=cycle, manager=m) for m in members}
    for name, value in (("张经理", 80), ("钱优秀", 95), ("孙合格", 65), ("周偏差", 80)):
        supervisor_scores(world, mine[name], value)
    for colleague, value in ((UserFactory(full_name="同意"), 80), (UserFactory(full_name="严格"), 30)):
        seat = services.panel_add(
            appraisal=mine["周偏差"], kind=RaterKind.COLLABORATOR, user=colleague, by=world.supervisor
        )
        services.scores_save(rater=seat, scores=all_scores(value), by=colleague)
    services.appraisal_submit(appraisal=mine["钱优秀"], by=world.supervisor)
    theirs = Appraisal.objects.get(cycle=cycle, manager=world.manager_b)
    lead_seat = services.panel_add(
        appraisal=theirs, kind=RaterKind.COLLABORATOR, user=world.supervisor, by=world.admin
    )
    services.scores_save(rater=lead_seat, scores=all_scores(95), by=world.supervisor)
    return mine, other_lead


# ---------------------------------------------------------------- stored figures
def test_a_deviating_colleague_flags_the_appraisal_and_their_seat(world, graded):
    mine, _lead = graded
    flagged = Appraisal.objects.get(pk=mine["周偏差"].pk)
    seats = {r.display_name: r for r in Rater.objects.filter(appraisal=flagged)}
    assert flagged.flagged
    assert seats["严格"].deviating
    assert seats["严格"].total == 30
    assert seats["严格"].scored == 5
    assert not seats["李主管"].deviating
    assert seats["李主管"].total == 80
    assert not Appraisal.objects.get(pk=mine["张经理"].pk).flagged


def test_removing_the_deviating_seat_clears_the_flag(world, graded):
    mine, _lead = graded
    harsh = Rater.objects.get(appraisal=mine["周偏差"], user__full_name="严格")
    services.panel_remove(rater=harsh, by=world.supervisor)
    assert not Appraisal.objects.get(pk=mine["周偏差"].pk).flagged


def test_the_migration_fills_in_the_figures_of_existing_panels(world, graded):
    # given the stored figures wiped, as before migration 0002
    mine, _lead = graded
    Rater.objects.update(scored=0, total=None, deviating=False)
    Appraisal.objects.update(flagged=False)
    # when the migration's data step runs
    migration = importlib.import_module("appraisal.migrations.0002_review_seat_figures")
    migration.fill_in(apps, None)
    # then each seat and appraisal holds what the services would have stored
    assert set(Appraisal.objects.filter(flagged=True).values_list("pk", flat=True)) == {mine["周偏差"].pk}
    harsh = Rater.objects.get(appraisal=mine["周偏差"], user__full_name="严格")
    assert (harsh.scored, harsh.total, harsh.deviating) == (5, 30, True)


# ---------------------------------------------------------------- scope, filters and sort
def test_the_review_holds_the_team_only_not_the_panels_the_supervisor_sits_on(client, world, graded):
    # the supervisor scores manager B's appraisal as a colleague: it is not theirs to review
    response = _review(client, world.supervisor)
    assert sorted(_names(response)) == sorted(["张经理", "钱优秀", "孙合格", "周偏差"])
    assert "赵经理" not in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"grade": "excellent"}, ["钱优秀"]),
        ({"grade": "good"}, ["张经理"]),
        ({"grade": "qualified"}, ["孙合格", "周偏差"]),
        ({"status": AppraisalStatus.REVIEW}, ["钱优秀"]),
        ({"flagged": "yes"}, ["周偏差"]),
        ({"flagged": "no"}, ["张经理", "钱优秀", "孙合格"]),
        ({"station": "A"}, ["张经理"]),
        ({"q": "孙"}, ["孙合格"]),
        ({"grade": "qualified", "flagged": "yes"}, ["周偏差"]),
        ({"grade": "good", "flagged": "yes"}, []),
    ],
)
def test_the_filters_narrow_the_team(client, world, graded, params, expected):
    if params.get("station") == "A":
        params = {**params, "station": world.station_a.pk}
    response = _review(client, world.supervisor, **params)
    assert response.status_code == 200
    assert sorted(_names(response)) == sorted(expected)
    assert response.context["page"].paginator.count == len(expected)
    # the whole team still counts for "finalize all" and the distribution
    assert response.context["finalizable"] == 1
    assert response.context["team_size"] == 4


def test_no_filter_shows_another_supervisors_team(client, world, graded):
    _mine, lead = graded
    for params in ({"grade": "excellent"}, {"station": world.station_b.pk}, {"q": "赵"}, {"sort": "grade"}):
        assert "赵经理" not in _names(_review(client, world.supervisor, **params))
    # and the other supervisor sees only theirs
    assert _names(_review(client, lead)) == ["赵经理"]


def test_sort_by_grade_status_and_flag(client, world, graded):
    best = _names(_review(client, world.supervisor, sort="grade"))
    assert best[0] == "钱优秀"
    assert best[-1] == "孙合格"
    weakest = _names(_review(client, world.supervisor, sort="-grade"))
    assert weakest[0] == "孙合格"
    assert weakest[-1] == "钱优秀"
    assert _names(_review(client, world.supervisor, sort="status"))[-1] == "钱优秀"  # review after scoring
    assert _names(_review(client, world.supervisor, sort="flagged"))[0] == "周偏差"


def test_a_value_the_filter_does_not_know_is_an_error_on_its_field_not_a_crash(client, world, graded):
    response = _review(client, world.supervisor, grade="superb", sort="nonsense")
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"grade", "sort"}
    assert len(response.context["rows"]) == 4


def test_the_paging_keeps_the_filters(client, world, graded, monkeypatch):
    monkeypatch.setattr(views, "REVIEW_PAGE_SIZE", 1)
    response = _review(client, world.supervisor, flagged="no", sort="grade")
    html = response.content.decode()
    assert _names(response) == ["钱优秀"]
    assert "?flagged=no&amp;sort=grade&amp;page=2" in html
    second = _review(client, world.supervisor, flagged="no", sort="grade", page=2)
    assert _names(second) == ["张经理"]


def test_the_page_shows_the_team_grade_distribution_as_an_svg(client, world, graded):
    response = _review(client, world.supervisor, grade="excellent")
    html = response.content.decode()
    # drawn for the whole team, whatever the filter: one excellent, one good, two qualified (the
    # flagged one's colleagues pull it to 72.86)
    assert '<svg class="chart"' in html
    assert "<title>Excellent: 1 (25%)</title>" in html
    assert "<title>Good: 1 (25%)</title>" in html
    assert "<title>Qualified: 2 (50%)</title>" in html
    assert "<title>Unqualified: 0 (0%)</title>" in html
    assert "<script" not in html.split('<svg class="chart"')[1].split("</svg>")[0]


def test_a_flagged_row_and_its_actions_are_on_the_page(client, world, graded):
    mine, _lead = graded
    html = _review(client, world.supervisor).content.decode()
    row = html.split(f'id="row-{mine["周偏差"].pk}"')[1].split("</tr>")[0]
    assert 'class="flagged"' in html.split(f'id="row-{mine["周偏差"].pk}"')[1][:20]
    assert "deviates &gt; 20" in row
    assert reverse("appraisal:print", args=[mine["周偏差"].pk]) in row
    under_review = html.split(f'id="row-{mine["钱优秀"].pk}"')[1].split("</tr>")[0]
    assert reverse("appraisal:finalize", args=[mine["钱优秀"].pk]) in under_review
    assert 'name="csrfmiddlewaretoken"' in under_review


def test_names_are_escaped_in_the_rows(client, world):
    ManagerFactory(
        user=UserFactory(full_name="<b>x</b>", supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER)
    )
    open_cycle(world)
    html = _review(client, world.supervisor).content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x</b>" not in html


# ---------------------------------------------------------------- queries
@pytest.mark.parametrize("team", [3, 12])
@pytest.mark.parametrize("params", [{}, {"grade": "good", "flagged": "no", "sort": "grade", "q": "用户"}])
def test_the_review_runs_a_fixed_number_of_queries(
    client, world, team, params, django_assert_max_num_queries
):
    for _ in range(team - 1):
        ManagerFactory(user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER))
    cycle = open_cycle(world)
    for appraisal in Appraisal.objects.filter(cycle=cycle, manager__user__supervisor=world.supervisor):
        supervisor_scores(world, appraisal, 80)
        services.panel_add(
            appraisal=appraisal, kind=RaterKind.COLLABORATOR, user=UserFactory(), by=world.supervisor
        )
    client.force_login(world.supervisor)
    # user, permissions with roles, scope, cycle, the counts and grades, the page's ids, those
    # appraisals, their seats, the stations of the filter (the session comes from the cache)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("appraisal:review", args=[cycle.year]), params)
    assert response.status_code == 200
    assert len(response.context["rows"]) == (team if not params else team - 1)
