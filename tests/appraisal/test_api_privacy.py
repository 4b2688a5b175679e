"""What a panel member reads of an appraisal over the API: their own seat and scores, as the pages
show them, and nothing of the running result or of the other raters (the security test's "panel
members read the others' results"). The supervisor running the appraisal, an administrator and,
once finalized, the appraised manager read what they always did."""

import pytest

from appraisal import services
from appraisal.models import Grade, Rater
from crm.accounts import roles
from tests.appraisal.core_helpers import all_scores
from tests.crm.test_schema import assert_matches_schema
from tests.factories import ManagerFactory, UserFactory

APPRAISALS = "/api/v1/appraisals/"
RESULTS = ("score", "grade", "reward", "kind_scores", "effective_weights", "missing_kinds")


def _url(appraisal, step=""):
    return f"{APPRAISALS}{appraisal.pk}/{step + '/' if step else ''}"


@pytest.fixture
def seated(world, appraisal_a, colleague):
    return services.panel_add(appraisal=appraisal_a, kind="collaborator", user=colleague, by=world.supervisor)


@pytest.fixture
def scored(world, appraisal_a, seated, colleague):
    """The supervisor scored 92 everywhere, the colleague 60; a representative is seated too."""
    services.panel_add(
        appraisal=appraisal_a, kind="customer_representative", name="王厂长", by=world.supervisor
    )
    supervisor_seat = Rater.objects.get(appraisal=appraisal_a, user=world.supervisor)
    services.scores_save(rater=supervisor_seat, scores=all_scores(92), by=world.supervisor)
    services.scores_save(rater=seated, scores=all_scores(60), by=colleague)
    return appraisal_a


def _results(body: dict) -> dict:
    return {name: body[name] for name in RESULTS}


def test_a_colleague_on_the_panel_reads_no_running_result_while_scoring(api, scored, colleague):
    # given an appraisal in scoring whose running score, grade and kind totals are known
    # when the colleague on its panel reads it, alone and in the list
    detail = api(colleague).get(_url(scored))
    [row] = api(colleague).get(APPRAISALS).json()["results"]
    # then every result field is null: one rater per kind, so a kind's total is that rater's
    assert detail.status_code == 200
    assert _results(detail.json()) == dict.fromkeys(RESULTS)
    assert _results(row) == dict.fromkeys(RESULTS)
    # while what the scoring page shows them (the evidence) is still there
    assert detail.json()["manager"] == scored.manager_id
    assert "evidence" in detail.json()


def test_a_colleague_on_the_panel_reads_no_result_in_review_either(world, api, scored, colleague):
    # given the appraisal sent to review (the appraisal page shows a panel member no result then too)
    services.appraisal_submit(appraisal=scored, by=world.supervisor)
    # when the colleague reads it
    body = api(colleague).get(_url(scored)).json()
    # then
    assert body["status"] == "review"
    assert _results(body) == dict.fromkeys(RESULTS)


def test_the_supervisor_and_an_administrator_read_the_running_result(world, api, scored):
    for user in (world.supervisor, world.admin):
        # when they read the appraisal in scoring
        body = api(user).get(_url(scored)).json()
        # then the running result is there, each kind's total with it
        assert body["score"] is not None
        assert body["grade"]
        assert body["reward"]
        assert body["kind_scores"]["supervisor"] == 92.0
        assert body["kind_scores"]["collaborator"] == 60.0
        assert body["effective_weights"]["supervisor"] is not None
        assert body["missing_kinds"] == ["customer_representative"]


def test_the_manager_reads_the_result_once_finalized(world, api, scored):
    # given the appraisal finalized
    services.appraisal_submit(appraisal=scored, by=world.supervisor)
    services.appraisal_finalize(appraisal=scored, by=world.supervisor)
    # when the appraised manager reads it
    body = api(world.manager_a.user).get(_url(scored)).json()
    # then they see the score, grade and kind scores
    assert body["score"] is not None
    assert body["grade"]
    assert body["kind_scores"]["supervisor"] == 92.0


def test_a_colleague_on_the_panel_sees_only_their_own_seat(api, scored, seated, colleague):
    # when the colleague reads the panel
    response = api(colleague).get(_url(scored, "panel"))
    # then only their own seat is listed, with their own progress
    assert response.status_code == 200
    [seat] = response.json()
    assert seat["id"] == seated.pk
    assert seat["scored"] == 5


def test_the_supervisor_still_sees_every_seat_and_its_progress(world, api, scored):
    panel = api(world.supervisor).get(_url(scored, "panel")).json()
    assert {seat["display_name"]: seat["scored"] for seat in panel} == {"李主管": 5, "钱工": 5, "王厂长": 0}


def test_a_colleague_cannot_find_the_grade_by_filtering_or_ordering(world, api, scored, colleague, cycle):
    # given a second appraisal the colleague sits on, scored far lower than the first
    newcomer = ManagerFactory(user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER))
    other = services.appraisal_create(cycle=cycle, manager=newcomer, by=world.admin)
    seat = services.panel_add(appraisal=other, kind="collaborator", user=colleague, by=world.admin)
    services.scores_save(rater=seat, scores=all_scores(10), by=colleague)
    client = api(colleague)
    # when the colleague filters by grade or orders by score or grade
    by_grade = {grade: client.get(APPRAISALS, {"grade": grade}).json()["count"] for grade in Grade.values}
    ascending = [r["id"] for r in client.get(APPRAISALS, {"ordering": "score"}).json()["results"]]
    descending = [r["id"] for r in client.get(APPRAISALS, {"ordering": "-score"}).json()["results"]]
    by_grade_order = [r["id"] for r in client.get(APPRAISALS, {"ordering": "grade"}).json()["results"]]
    by_grade_reverse = [r["id"] for r in client.get(APPRAISALS, {"ordering": "-grade"}).json()["results"]]
    # then no filter matches, and the orders do not move with the hidden scores and grades
    assert by_grade == dict.fromkeys(Grade.values, 0)
    assert len(ascending) == 2
    assert ascending == descending
    assert by_grade_order == by_grade_reverse


def test_the_supervisor_still_filters_and_orders_by_score_and_grade(world, api, scored):
    client = api(world.supervisor)
    expected = client.get(_url(scored)).json()["grade"]
    assert client.get(APPRAISALS, {"grade": expected}).json()["count"] == 1
    ordered = client.get(APPRAISALS, {"ordering": "-score"}).json()["results"]
    assert ordered[0]["id"] == scored.pk


def test_what_a_panel_member_reads_matches_the_schema(world, api, scored, colleague):
    # given the schema the server publishes
    spec = api().get("/api/v1/schema/?format=json").json()
    member = api(colleague)
    # then the colleague's answers, with their null results and single seat, fit it
    for url in (APPRAISALS, _url(scored), _url(scored, "panel"), _url(scored, "scores")):
        assert_matches_schema(spec, "get", url, member.get(url))
