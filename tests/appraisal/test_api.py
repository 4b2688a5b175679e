"""The appraisal API (api.md: appraisal-cycles/, appraisals/ with panel/, scores/ and the workflow):
answers, refusals (400 by field, 403, 409 for a wrong state), schema truth and bounded queries."""

import pytest

from appraisal import services
from appraisal.links import rater_for_token
from appraisal.models import Appraisal, AppraisalCycle, AppraisalStatus, Rater
from crm.accounts import roles
from tests.appraisal.core_helpers import all_scores, open_cycle
from tests.crm.test_schema import assert_matches_schema
from tests.factories import ManagerFactory, UserFactory

CYCLES = "/api/v1/appraisal-cycles/"
APPRAISALS = "/api/v1/appraisals/"


@pytest.fixture
def seated(world, appraisal_a, colleague):
    return services.panel_add(appraisal=appraisal_a, kind="collaborator", user=colleague, by=world.supervisor)


def _url(appraisal, step=""):
    return f"{APPRAISALS}{appraisal.pk}/{step + '/' if step else ''}"


def _score(world, appraisal, value=80):
    seat = Rater.objects.get(appraisal=appraisal, user=world.supervisor)
    services.scores_save(rater=seat, scores=all_scores(value), by=world.supervisor)


# ---------------------------------------------------------------- cycles
def test_an_administrator_creates_a_cycle_with_the_defaults(world, api):
    response = api(world.admin).post(CYCLES, {"year": 2026}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert [c["code"] for c in body["criteria"]] == [
        "plan_completion",
        "satisfaction",
        "market_expansion",
        "info_feedback",
        "collaboration",
    ]
    assert body["rater_weights"] == {"supervisor": 50, "customer_representative": 30, "collaborator": 20}


def test_a_cycle_with_its_own_criteria_and_weights(world, api):
    body = {
        "year": 2027,
        "criteria": [
            {"code": "plan", "name": "计划", "weight": 70},
            {"code": "service", "name": "服务", "weight": 30},
        ],
        "rater_weights": {"supervisor": 60, "customer_representative": 40, "collaborator": 0},
        "link_valid_days": 14,
    }
    response = api(world.admin).post(CYCLES, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["criteria"] == body["criteria"]
    assert response.json()["rater_weights"] == body["rater_weights"]
    assert response.json()["link_valid_days"] == 14


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"year": 2026, "criteria": [{"code": "a", "name": "甲", "weight": 99}]}, "criteria"),
        (
            {
                "year": 2026,
                "rater_weights": {"supervisor": 50, "customer_representative": 50, "collaborator": 50},
            },
            "rater_weights",
        ),
        ({"year": 2026, "rater_weights": {"supervisor": 50}}, "rater_weights"),
        ({"year": 2026, "criteria": "none"}, "criteria"),
        ({"year": "soon"}, "year"),
        ({}, "year"),
    ],
)
def test_a_broken_cycle_answers_400_on_its_field(world, api, body, field):
    response = api(world.admin).post(CYCLES, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not AppraisalCycle.objects.exists()


def test_a_second_cycle_for_a_year_answers_400_on_year(world, api):
    api(world.admin).post(CYCLES, {"year": 2026}, format="json")
    response = api(world.admin).post(CYCLES, {"year": 2026}, format="json")
    assert response.status_code == 400
    assert "year" in response.json()


def test_supervisors_and_managers_read_cycles_but_do_not_create_them(world, api, cycle):
    for user in (world.supervisor, world.manager_a.user):
        assert api(user).get(CYCLES).json()["count"] == 1
        assert api(user).post(CYCLES, {"year": 2030}, format="json").status_code == 403


def test_a_draft_is_edited_and_opened_then_fixed(world, api):
    client = api(world.admin)
    cycle_id = client.post(CYCLES, {"year": 2026}, format="json").json()["id"]
    only = [{"code": "all", "name": "综合", "weight": 100}]
    edited = client.patch(f"{CYCLES}{cycle_id}/", {"criteria": only}, format="json")
    assert edited.status_code == 200
    assert edited.json()["criteria"] == only
    opened = client.post(f"{CYCLES}{cycle_id}/open/")
    assert opened.status_code == 200
    assert opened.json()["created"] == 2
    assert opened.json()["cycle"]["status"] == "scoring"
    # then criteria, weights, a second opening and deletion all conflict with the state
    assert client.patch(f"{CYCLES}{cycle_id}/", {"criteria": only}, format="json").status_code == 409
    weights = {"supervisor": 100, "customer_representative": 0, "collaborator": 0}
    assert client.patch(f"{CYCLES}{cycle_id}/", {"rater_weights": weights}, format="json").status_code == 409
    assert client.post(f"{CYCLES}{cycle_id}/open/").status_code == 409
    assert client.delete(f"{CYCLES}{cycle_id}/").status_code == 409
    # the link validity may still change (it applies to links issued from then on)
    assert client.patch(f"{CYCLES}{cycle_id}/", {"link_valid_days": 10}, format="json").status_code == 200


def test_the_year_of_a_cycle_does_not_change(world, api):
    client = api(world.admin)
    cycle_id = client.post(CYCLES, {"year": 2026}, format="json").json()["id"]
    response = client.patch(f"{CYCLES}{cycle_id}/", {"year": 2027}, format="json")
    assert response.status_code == 400
    assert "year" in response.json()


def test_a_draft_cycle_is_deleted(world, api):
    client = api(world.admin)
    cycle_id = client.post(CYCLES, {"year": 2026}, format="json").json()["id"]
    assert client.delete(f"{CYCLES}{cycle_id}/").status_code == 204
    assert not AppraisalCycle.objects.exists()


# ---------------------------------------------------------------- appraisals
def test_appraisals_list_with_filters(world, api, cycle, appraisal_a):
    _score(world, appraisal_a, 92)
    client = api(world.admin)
    assert client.get(APPRAISALS).json()["count"] == 2
    assert client.get(APPRAISALS, {"cycle": cycle.pk}).json()["count"] == 2
    assert client.get(APPRAISALS, {"year": 2026}).json()["count"] == 2
    [row] = client.get(APPRAISALS, {"manager": world.manager_a.pk}).json()["results"]
    assert row["score"] == 92.0
    assert row["grade"] == "excellent"
    assert row["reward"]
    assert row["kind_scores"] == {"supervisor": 92.0, "customer_representative": None, "collaborator": None}
    assert row["effective_weights"]["supervisor"] == 100.0
    assert row["missing_kinds"] == ["customer_representative", "collaborator"]
    assert client.get(APPRAISALS, {"grade": "excellent"}).json()["count"] == 1
    assert client.get(APPRAISALS, {"status": "review"}).json()["count"] == 0
    assert client.get(APPRAISALS, {"status": "nope"}).status_code == 400


def test_an_appraisal_is_added_by_hand_for_a_manager_who_joined_late(world, api, cycle):
    newcomer = ManagerFactory(user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER))
    response = api(world.supervisor).post(
        APPRAISALS, {"cycle": cycle.pk, "manager": newcomer.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "scoring"
    again = api(world.supervisor).post(APPRAISALS, {"cycle": cycle.pk, "manager": newcomer.pk}, format="json")
    assert again.status_code == 400
    assert "manager" in again.json()
    outside = api(world.supervisor).post(
        APPRAISALS, {"cycle": cycle.pk, "manager": world.manager_b.pk}, format="json"
    )
    assert outside.status_code == 400  # manager B is outside the supervisor's scope: "does not exist"


# ---------------------------------------------------------------- panel
def test_the_supervisor_seats_a_representative_and_gets_a_working_link(world, api, appraisal_a):
    response = api(world.supervisor).post(
        _url(appraisal_a, "panel"),
        {"kind": "customer_representative", "name": "王厂长", "organisation": "甲钢铁厂"},
        format="json",
    )
    assert response.status_code == 201, response.content
    link = response.json()["link"]
    assert link.startswith("http://testserver/")
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert rater_for_token(token).pk == response.json()["id"]


def test_panel_answers_400_on_incomplete_seats(world, api, appraisal_a, colleague):
    client = api(world.supervisor)
    assert (
        "name"
        in client.post(_url(appraisal_a, "panel"), {"kind": "customer_representative"}, format="json").json()
    )
    assert "user" in client.post(_url(appraisal_a, "panel"), {"kind": "collaborator"}, format="json").json()
    assert (
        "kind"
        in client.post(
            _url(appraisal_a, "panel"), {"kind": "boss", "user": colleague.pk}, format="json"
        ).json()
    )
    assert (
        "user"
        in client.post(
            _url(appraisal_a, "panel"), {"kind": "collaborator", "user": 10**9}, format="json"
        ).json()
    )


def test_the_panel_shows_totals_and_links_only_to_who_manages_it(world, api, appraisal_a, seated, colleague):
    services.panel_add(
        appraisal=appraisal_a, kind="customer_representative", name="王厂长", by=world.supervisor
    )
    _score(world, appraisal_a, 90)
    services.scores_save(rater=seated, scores=all_scores(40), by=colleague)
    lead = {r["display_name"]: r for r in api(world.supervisor).get(_url(appraisal_a, "panel")).json()}
    assert lead["钱工"]["total"] == 40.0
    assert lead["王厂长"]["link"]
    assert lead["钱工"]["deviating"] is True  # mean 65: 25 points away
    # a panel member reads their own seat only (security test, Medium 4): no link, no total
    member = {r["display_name"]: r for r in api(colleague).get(_url(appraisal_a, "panel")).json()}
    assert set(member) == {"钱工"}
    assert member["钱工"]["link"] is None
    assert member["钱工"]["total"] is None
    assert member["钱工"]["scored"] == 5


def test_a_seat_is_removed_and_a_link_reissued(world, api, appraisal_a, seated):
    client = api(world.supervisor)
    representative = services.panel_add(
        appraisal=appraisal_a, kind="customer_representative", name="王", by=world.admin
    )
    reissued = client.post(f"{_url(appraisal_a, 'panel')}{representative.pk}/reissue/")
    assert reissued.status_code == 200
    assert reissued.json()["link"]
    assert client.delete(f"{_url(appraisal_a, 'panel')}{seated.pk}/").status_code == 204
    assert not Rater.objects.filter(pk=seated.pk).exists()
    assert client.delete(f"{_url(appraisal_a, 'panel')}{seated.pk}/").status_code == 404


def test_a_colleague_on_the_panel_does_not_change_it(world, api, appraisal_a, seated, colleague):
    response = api(colleague).post(
        _url(appraisal_a, "panel"), {"kind": "customer_representative", "name": "王"}, format="json"
    )
    assert response.status_code == 403
    assert api(colleague).delete(f"{_url(appraisal_a, 'panel')}{seated.pk}/").status_code == 403


# ---------------------------------------------------------------- scores
def test_a_rater_saves_and_reads_only_their_own_scores(world, api, appraisal_a, seated, colleague):
    _score(world, appraisal_a, 90)
    response = api(colleague).post(
        _url(appraisal_a, "scores"), {"scores": all_scores(70, comment="配合好")}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["rater"] == seated.pk
    assert body["submitted_at"] is not None
    assert {s["score"] for s in body["scores"]} == {70}
    assert body["panel"] == []  # the supervisor's 90s are not the colleague's to read
    lead = api(world.supervisor).get(_url(appraisal_a, "scores")).json()
    assert {s["score"] for s in lead["scores"]} == {90}
    assert {p["name"]: p["total"] for p in lead["panel"]} == {"李主管": 90.0, "钱工": 70.0}


def test_scores_without_a_seat_answer_403(world, api, appraisal_a):
    response = api(world.admin).post(_url(appraisal_a, "scores"), {"scores": all_scores()}, format="json")
    assert response.status_code == 403
    assert api(world.admin).get(_url(appraisal_a, "scores")).json()["rater"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"scores": [{"criterion": "plan_completion", "score": 101}]},
        {"scores": [{"criterion": "plan_completion", "score": -5}]},
        {"scores": [{"criterion": "plan_completion", "score": "lots"}]},
        {"scores": [{"criterion": "nope", "score": 80}]},
        {"scores": []},
        {"scores": "80"},
        {},
    ],
)
def test_bad_scores_answer_400_on_scores(world, api, appraisal_a, body):
    response = api(world.supervisor).post(_url(appraisal_a, "scores"), body, format="json")
    assert response.status_code == 400
    assert "scores" in response.json()


# ---------------------------------------------------------------- workflow
def test_the_whole_workflow_and_its_409s(world, api, appraisal_a):
    lead, admin = api(world.supervisor), api(world.admin)
    assert lead.post(_url(appraisal_a, "finalize")).status_code == 409  # still scoring
    assert admin.post(_url(appraisal_a, "reopen"), {"reason": "x"}, format="json").status_code == 409
    lead.post(_url(appraisal_a, "scores"), {"scores": all_scores(76)}, format="json")
    submitted = lead.post(_url(appraisal_a, "submit"))
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "review"
    assert lead.post(_url(appraisal_a, "submit")).status_code == 409
    assert (
        lead.post(_url(appraisal_a, "scores"), {"scores": all_scores(99)}, format="json").status_code == 409
    )
    finalized = lead.post(_url(appraisal_a, "finalize"))
    assert finalized.status_code == 200
    assert finalized.json()["status"] == "finalized"
    assert finalized.json()["grade"] == "good"
    # then it is read-only
    assert (
        lead.post(_url(appraisal_a, "scores"), {"scores": all_scores(99)}, format="json").status_code == 409
    )
    assert (
        lead.post(
            _url(appraisal_a, "panel"), {"kind": "customer_representative", "name": "王"}, format="json"
        ).status_code
        == 409
    )
    assert lead.post(_url(appraisal_a, "finalize")).status_code == 409
    assert lead.post(_url(appraisal_a, "submit")).status_code == 409
    # and only an administrator reopens it, with a reason
    assert lead.post(_url(appraisal_a, "reopen"), {"reason": "改分"}, format="json").status_code == 403
    missing = admin.post(_url(appraisal_a, "reopen"), {}, format="json")
    assert missing.status_code == 400
    assert "reason" in missing.json()
    assert admin.post(_url(appraisal_a, "reopen"), {"reason": " "}, format="json").status_code == 400
    reopened = admin.post(_url(appraisal_a, "reopen"), {"reason": "评分录入错误"}, format="json")
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "review"


def test_finalize_all_of_a_cycle(world, api, cycle, appraisal_a):
    _score(world, appraisal_a)
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    response = api(world.supervisor).post(f"{CYCLES}{cycle.pk}/finalize/")
    assert response.status_code == 200
    assert response.json() == {"finalized": 1}
    assert Appraisal.objects.get(pk=appraisal_a.pk).status == AppraisalStatus.FINALIZED
    assert api(world.manager_a.user).post(f"{CYCLES}{cycle.pk}/finalize/").status_code == 403


# ---------------------------------------------------------------- schema truth
@pytest.fixture
def spec(db, api):
    return api().get("/api/v1/schema/?format=json").json()


def test_answers_of_the_appraisal_resources_match_the_schema(
    world, api, spec, cycle, appraisal_a, seated, colleague
):
    lead, admin, member = api(world.supervisor), api(world.admin), api(colleague)
    rep = {"kind": "customer_representative", "name": "王厂长"}
    calls = [
        (admin, "get", CYCLES, None),
        (admin, "get", f"{CYCLES}{cycle.pk}/", None),
        (admin, "post", CYCLES, {"year": 2026}),
        (admin, "post", CYCLES, {"year": 2027}),
        (admin, "patch", f"{CYCLES}{cycle.pk}/", {"criteria": [{"code": "x", "name": "x", "weight": 100}]}),
        (admin, "post", f"{CYCLES}{cycle.pk}/open/", None),
        (lead, "get", APPRAISALS, None),
        (lead, "get", _url(appraisal_a), None),
        (lead, "get", f"{APPRAISALS}?status=nope", None),
        (lead, "post", _url(appraisal_a, "panel"), rep),
        (lead, "post", _url(appraisal_a, "panel"), {"kind": "collaborator"}),
        (lead, "get", _url(appraisal_a, "panel"), None),
        (member, "post", _url(appraisal_a, "scores"), {"scores": all_scores(70)}),
        (member, "post", _url(appraisal_a, "scores"), {"scores": [{"criterion": "x", "score": 1}]}),
        (lead, "post", _url(appraisal_a, "scores"), {"scores": all_scores(80)}),
        (lead, "get", _url(appraisal_a, "scores"), None),
        (lead, "post", _url(appraisal_a, "finalize"), None),
        (lead, "post", _url(appraisal_a, "submit"), None),
        (lead, "post", _url(appraisal_a, "finalize"), None),
        (lead, "post", _url(appraisal_a, "reopen"), {"reason": "x"}),
        (admin, "post", _url(appraisal_a, "reopen"), {}),
        (admin, "post", _url(appraisal_a, "reopen"), {"reason": "录错"}),
        (lead, "post", f"{CYCLES}{cycle.pk}/finalize/", None),
        (lead, "delete", f"{_url(appraisal_a, 'panel')}{seated.pk}/", None),
        (api(world.manager_b.user), "get", _url(appraisal_a), None),
    ]
    for client, method, url, body in calls:
        response = getattr(client, method)(url, body, format="json")
        assert_matches_schema(spec, method, url, response)


def test_the_schema_declares_the_409s_of_the_workflow(spec):
    for step in ("submit", "finalize", "reopen", "scores", "panel"):
        assert "409" in spec["paths"][f"/api/v1/appraisals/{{id}}/{step}/"]["post"]["responses"]
    assert "409" in spec["paths"]["/api/v1/appraisal-cycles/{id}/open/"]["post"]["responses"]


# ---------------------------------------------------------------- bounded queries
def _team(world, size):
    for _ in range(size):
        ManagerFactory(user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER))
    cycle = open_cycle(world)
    for appraisal in cycle.appraisals.filter(manager__user__supervisor=world.supervisor):
        _score(world, appraisal, 80)
        services.panel_add(
            appraisal=appraisal, kind="customer_representative", name="代表", by=world.supervisor
        )
    return cycle


@pytest.mark.parametrize("size", [2, 15])
def test_list_and_detail_run_a_fixed_number_of_queries(world, api, size, django_assert_max_num_queries):
    cycle = _team(world, size)
    client = api(world.supervisor)
    with django_assert_max_num_queries(9):
        response = client.get(APPRAISALS, {"page_size": 100})
    assert response.json()["count"] == size + 1
    appraisal = cycle.appraisals.filter(manager__user__supervisor=world.supervisor).first()
    with django_assert_max_num_queries(8):
        assert client.get(_url(appraisal)).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(CYCLES).status_code == 200


@pytest.mark.parametrize("panel", [1, 12])
def test_panel_and_scores_run_a_fixed_number_of_queries(
    world, api, appraisal_a, panel, django_assert_max_num_queries
):
    _score(world, appraisal_a)
    for _ in range(panel):
        user = UserFactory()
        seat = services.panel_add(appraisal=appraisal_a, kind="collaborator", user=user, by=world.supervisor)
        services.scores_save(rater=seat, scores=all_scores(70), by=user)
        services.panel_add(
            appraisal=appraisal_a, kind="customer_representative", name="代表", by=world.supervisor
        )
    client = api(world.supervisor)
    with django_assert_max_num_queries(12):
        assert len(client.get(_url(appraisal_a, "panel")).json()) == 2 * panel + 1
    with django_assert_max_num_queries(14):
        assert len(client.get(_url(appraisal_a, "scores")).json()["panel"]) == 2 * panel + 1
