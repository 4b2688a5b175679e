"""The appraisal pages: cycles (administrators create, edit while draft, open), the supervisor's
review, one appraisal (evidence, panel, own scores, workflow, history), a manager's own appraisal.
Scope (another team's appraisal is 404), CSRF, own-score-only, the 409 of a finalized appraisal, and
fixed query counts at two team sizes."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appraisal import services, views
from appraisal.links import link_token
from appraisal.models import Appraisal, AppraisalCycle, AppraisalStatus, CycleStatus, Rater, RaterKind, Score
from crm.accounts import roles
from tests.appraisal.core_helpers import (
    CODES,
    all_scores,
    appraisal_of,
    open_cycle,
    seat_representative,
    supervisor_scores,
)
from tests.factories import ManagerFactory, UserFactory

EN = {"django_language": "en"}


def _english(client):
    client.cookies.load(EN)
    return client


def _form_scores(value: int = 80, comment: str = "") -> dict:
    data = {}
    for code in CODES:
        data[f"s-score_{code}"] = str(value)
        data[f"s-comment_{code}"] = comment
    return data


def _cycle_post(**overrides) -> dict:
    data = {
        "year": "2025",
        "supervisor_weight": "50",
        "customer_representative_weight": "30",
        "collaborator_weight": "20",
        "link_valid_days": "30",
        "criteria-TOTAL_FORMS": "3",
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "12",
        "criteria-0-code": "plan",
        "criteria-0-name": "计划完成",
        "criteria-0-weight": "60",
        "criteria-1-code": "service",
        "criteria-1-name": "服务",
        "criteria-1-weight": "40",
    }
    data.update(overrides)
    return data


def _finalized(world, appraisal):
    supervisor_scores(world, appraisal, 85)
    services.appraisal_submit(appraisal=appraisal, by=world.supervisor)
    services.appraisal_finalize(appraisal=appraisal, by=world.supervisor)
    appraisal.refresh_from_db()
    return appraisal


# ---------------------------------------------------------------- cycles
def test_cycles_page_offers_administrators_a_new_cycle_with_the_default_criteria(client, world):
    client.force_login(world.admin)
    response = client.get(reverse("appraisal:cycles"))
    assert response.status_code == 200
    formset = response.context["formset"]
    assert [f.initial["code"] for f in formset.initial_forms] == CODES
    assert [f.initial["weight"] for f in formset.initial_forms] == [30, 25, 20, 15, 10]
    assert response.context["form"].initial["supervisor_weight"] == 50


def test_administrator_creates_a_cycle_with_edited_criteria(client, world):
    client.force_login(world.admin)
    response = client.post(reverse("appraisal:cycles"), _cycle_post())
    cycle = AppraisalCycle.objects.get(year=2025)
    assert response.status_code == 302
    assert response["Location"] == reverse("appraisal:cycle", args=[cycle.pk])
    assert [(c.code, c.weight) for c in cycle.criteria.order_by("position")] == [
        ("plan", 60),
        ("service", 40),
    ]
    assert cycle.status == CycleStatus.DRAFT


def test_criteria_not_adding_up_to_100_are_marked_on_each_weight_and_nothing_is_saved(client, world):
    client.force_login(world.admin)
    response = _english(client).post(reverse("appraisal:cycles"), _cycle_post(**{"criteria-1-weight": "30"}))
    assert response.status_code == 400
    forms = response.context["formset"].forms
    assert "add up to 90" in str(forms[0].errors["weight"])
    assert "add up to 90" in str(forms[1].errors["weight"])
    assert not AppraisalCycle.objects.exists()


def test_rater_weights_not_adding_up_to_100_are_marked_on_each_rater_weight(client, world):
    client.force_login(world.admin)
    response = client.post(reverse("appraisal:cycles"), _cycle_post(collaborator_weight="10"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"supervisor_weight", "customer_representative_weight", "collaborator_weight"} <= set(errors)
    assert not AppraisalCycle.objects.exists()


def test_a_supervisor_cannot_create_a_cycle(client, world):
    client.force_login(world.supervisor)
    response = client.post(reverse("appraisal:cycles"), _cycle_post())
    assert response.status_code == 403
    assert not AppraisalCycle.objects.exists()


def test_draft_criteria_are_editable_and_opening_locks_them(client, world):
    cycle = services.cycle_create(year=2025, by=world.admin)
    client.force_login(world.admin)
    edit = _cycle_post(**{"criteria-0-weight": "70", "criteria-1-weight": "30"})
    assert client.post(reverse("appraisal:cycle", args=[cycle.pk]), edit).status_code == 302
    assert sorted(cycle.criteria.values_list("code", "weight")) == [("plan", 70), ("service", 30)]
    # when the cycle is opened
    response = client.post(reverse("appraisal:cycle-open", args=[cycle.pk]))
    assert response["Location"] == reverse("appraisal:review", args=[2025])
    assert Appraisal.objects.filter(cycle=cycle, status=AppraisalStatus.SCORING).count() == 2
    # then the criteria can no longer change
    assert client.get(reverse("appraisal:cycle", args=[cycle.pk])).context["editable"] is False
    assert client.post(reverse("appraisal:cycle", args=[cycle.pk]), edit).status_code == 403


def test_opening_an_open_cycle_again_says_why_and_creates_nothing(client, world, cycle):
    client.force_login(world.admin)
    response = _english(client).post(reverse("appraisal:cycle-open", args=[cycle.pk]), follow=True)
    assert "Only a draft cycle can be opened." in response.content.decode()
    assert Appraisal.objects.filter(cycle=cycle).count() == 2


# ---------------------------------------------------------------- review
def test_review_shows_the_supervisors_team_only(client, world, cycle):
    client.force_login(world.supervisor)
    response = client.get(reverse("appraisal:review", args=[cycle.year]))
    assert response.status_code == 200
    assert [row.manager for row in response.context["rows"]] == [world.manager_a]
    assert world.manager_b.user.display_name not in response.content.decode()


def test_review_is_not_for_account_managers(client, world, cycle):
    client.force_login(world.manager_a.user)
    assert client.get(reverse("appraisal:review", args=[cycle.year])).status_code == 403
    assert client.get(reverse("appraisal:export", args=[cycle.year])).status_code == 403


def test_review_of_a_year_without_cycle_is_404(client, world):
    client.force_login(world.supervisor)
    assert client.get(reverse("appraisal:review", args=[1999])).status_code == 404


def test_review_flags_deviating_and_missing_raters_and_the_shared_out_weight(client, world, appraisal_a):
    # given the supervisor scores 95, one colleague 40 and another has not scored; no representative
    lenient, harsh = UserFactory(full_name="宽松"), UserFactory(full_name="严格")
    idle = UserFactory(full_name="未评")
    for user in (lenient, harsh, idle):
        services.panel_add(appraisal=appraisal_a, kind=RaterKind.COLLABORATOR, user=user, by=world.supervisor)
    for user, value in ((world.supervisor, 95), (lenient, 95), (harsh, 40)):
        seat = services.rater_seat_for(appraisal=appraisal_a, user=user)
        services.scores_save(rater=seat, scores=all_scores(value), by=user)
    client.force_login(world.supervisor)
    response = _english(client).get(reverse("appraisal:review", args=[appraisal_a.cycle.year]))
    [row] = response.context["rows"]
    assert [r.name for r in row.deviating] == ["严格"]
    assert [r.name for r in row.not_scored] == ["未评"]
    assert row.missing_kinds == [RaterKind.CUSTOMER_REPRESENTATIVE]
    html = response.content.decode()
    assert "No score from: Customer representative; that weight is shared out among the others." in html
    assert "deviates" in html
    assert "not scored" in html


def test_review_page_shows_a_page_of_the_team_and_counts_the_whole_team(client, world, monkeypatch):
    # given a team of five, two of them under review, and review pages of three rows
    monkeypatch.setattr(views, "REVIEW_PAGE_SIZE", 3)
    for _ in range(4):
        ManagerFactory(user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER))
    cycle = open_cycle(world)
    team = list(
        Appraisal.objects.filter(cycle=cycle, manager__user__supervisor=world.supervisor).order_by(
            "manager__station__code", "manager__employee_no"
        )
    )
    for appraisal in (team[0], team[4]):
        supervisor_scores(world, appraisal, 80)
        services.appraisal_submit(appraisal=appraisal, by=world.supervisor)
    client.force_login(world.supervisor)
    # when the supervisor reads the first and the second page
    first = client.get(reverse("appraisal:review", args=[cycle.year]))
    second = client.get(reverse("appraisal:review", args=[cycle.year]), {"page": 2})
    # then each page holds its part of the team, in order, and "finalize all" counts the whole team
    assert [row.appraisal.pk for row in first.context["rows"]] == [a.pk for a in team[:3]]
    assert [row.appraisal.pk for row in second.context["rows"]] == [a.pk for a in team[3:]]
    assert first.context["finalizable"] == second.context["finalizable"] == 2
    assert first.context["page"].paginator.count == 5


def test_finalize_all_finalizes_the_team_under_review(client, world, appraisal_a):
    supervisor_scores(world, appraisal_a, 88)
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    client.force_login(world.supervisor)
    response = client.post(reverse("appraisal:finalize-all", args=[appraisal_a.cycle.year]))
    assert response.status_code == 302
    appraisal_a.refresh_from_db()
    assert appraisal_a.status == AppraisalStatus.FINALIZED
    assert appraisal_a.finalized_by == world.supervisor


# ---------------------------------------------------------------- one appraisal
def test_appraisal_of_another_supervisors_team_is_404(client, world, cycle):
    other = UserFactory(username="other_lead", role=roles.SUPERVISOR)
    client.force_login(other)
    appraisal_b = appraisal_of(cycle, world.manager_b)
    assert client.get(reverse("appraisal:appraisal", args=[appraisal_b.pk])).status_code == 404
    client.force_login(world.supervisor)
    for name in ("appraisal", "print"):
        assert client.get(reverse(f"appraisal:{name}", args=[appraisal_b.pk])).status_code == 404
    assert client.post(reverse("appraisal:scores", args=[appraisal_b.pk]), _form_scores()).status_code == 404


def test_appraisal_page_shows_each_criterion_with_its_evidence(client, world, appraisal_a):
    Appraisal.objects.filter(pk=appraisal_a.pk).update(
        evidence={"on_time_rate": 93.5, "visits_due": 24, "visits_on_time": 22, "satisfaction_mean": 4.6}
    )
    client.force_login(world.supervisor)
    response = _english(client).get(reverse("appraisal:appraisal", args=[appraisal_a.pk]))
    html = response.content.decode()
    plan = next(row for row in response.context["rows"] if row.criterion.code == "plan_completion")
    assert [(line.label, line.value) for line in plan.evidence][:2] == [
        ("On-time visit completion", 93.5),
        ("Visits done on time", 22),
    ]
    assert "93.5" in html
    assert "4.6" in html
    assert "Evidence not computed yet." in html  # no computation stamp on this hand-set evidence


def test_supervisor_enters_own_scores_through_the_form(client, world, appraisal_a):
    client.force_login(world.supervisor)
    response = client.post(reverse("appraisal:scores", args=[appraisal_a.pk]), _form_scores(77, "稳定"))
    assert response.status_code == 302
    seat = Rater.objects.get(appraisal=appraisal_a, user=world.supervisor)
    assert sorted(seat.scores.values_list("score", flat=True)) == [77] * 5
    appraisal_a.refresh_from_db()
    assert appraisal_a.score is not None


def test_a_score_above_100_is_refused_on_its_field(client, world, appraisal_a):
    client.force_login(world.supervisor)
    data = _form_scores(80) | {"s-score_satisfaction": "101"}
    response = client.post(reverse("appraisal:scores", args=[appraisal_a.pk]), data)
    assert response.status_code == 400
    assert "s-score_satisfaction" in {f"s-{k}" for k in response.context["scores_form"].errors}
    assert not Score.objects.exists()


def test_a_panel_member_sees_and_saves_only_their_own_scores(client, world, appraisal_a, colleague):
    services.panel_add(
        appraisal=appraisal_a, kind=RaterKind.COLLABORATOR, user=colleague, by=world.supervisor
    )
    lead_seat = services.rater_seat_for(appraisal=appraisal_a, user=world.supervisor)
    services.scores_save(rater=lead_seat, scores=all_scores(61, comment="主管评语"), by=world.supervisor)
    client.force_login(colleague)
    page = client.get(reverse("appraisal:appraisal", args=[appraisal_a.pk]))
    assert page.status_code == 200
    assert "主管评语" not in page.content.decode()
    assert page.context["seats"] == []
    # when the colleague posts the form, only their own seat changes
    assert (
        client.post(reverse("appraisal:scores", args=[appraisal_a.pk]), _form_scores(90)).status_code == 302
    )
    assert set(Score.objects.filter(rater__user=colleague).values_list("score", flat=True)) == {90}
    assert set(Score.objects.filter(rater=lead_seat).values_list("score", flat=True)) == {61}


def test_someone_without_a_seat_cannot_post_scores(client, world, appraisal_a):
    client.force_login(world.admin)  # sees every appraisal but sits on no panel
    response = client.post(reverse("appraisal:scores", args=[appraisal_a.pk]), _form_scores())
    assert response.status_code == 403
    assert not Score.objects.exists()


def test_scores_form_needs_the_csrf_token(world, appraisal_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.supervisor)
    response = client.post(reverse("appraisal:scores", args=[appraisal_a.pk]), _form_scores())
    assert response.status_code == 403
    assert not Score.objects.exists()


def test_a_finalized_appraisal_is_read_only_on_the_page(client, world, appraisal_a):
    _finalized(world, appraisal_a)
    client.force_login(world.supervisor)
    page = _english(client).get(reverse("appraisal:appraisal", args=[appraisal_a.pk]))
    assert page.context["scores_form"] is None
    assert page.context["can_finalize"] is False
    assert "This appraisal is finalized and read-only." in page.content.decode()
    # when the supervisor posts scores anyway
    response = client.post(reverse("appraisal:scores", args=[appraisal_a.pk]), _form_scores(10))
    assert response.status_code == 409
    assert "Scores can only be entered while the appraisal is in scoring." in response.content.decode()
    assert set(Score.objects.values_list("score", flat=True)) == {85}
    assert client.post(reverse("appraisal:finalize", args=[appraisal_a.pk])).status_code == 409


def test_supervisor_adds_a_colleague_and_a_representative_and_sees_the_link(
    client, world, appraisal_a, colleague
):
    client.force_login(world.supervisor)
    url = reverse("appraisal:panel-add", args=[appraisal_a.pk])
    assert client.post(url, {"kind": "collaborator", "c-user": colleague.pk}).status_code == 302
    assert client.post(
        url, {"kind": "customer_representative", "r-name": "周代表", "r-organisation": "甲钢铁厂"}
    )
    page = client.get(reverse("appraisal:appraisal", args=[appraisal_a.pk]))
    seats = {s.rater.display_name: s for s in page.context["seats"]}
    assert set(seats) == {world.supervisor.display_name, "钱工", "周代表"}
    link = seats["周代表"].link
    assert link.startswith("http://testserver/appraisal/r/")
    assert link in page.content.decode()
    assert seats["钱工"].link == ""


def test_a_colleague_cannot_manage_the_panel(client, world, appraisal_a, colleague):
    services.panel_add(
        appraisal=appraisal_a, kind=RaterKind.COLLABORATOR, user=colleague, by=world.supervisor
    )
    client.force_login(colleague)
    url = reverse("appraisal:panel-add", args=[appraisal_a.pk])
    assert client.post(url, {"kind": "customer_representative", "r-name": "X"}).status_code == 403
    assert Rater.objects.filter(appraisal=appraisal_a).count() == 2


def test_supervisor_removes_a_seat(client, world, appraisal_a, colleague):
    seat = services.panel_add(
        appraisal=appraisal_a, kind=RaterKind.COLLABORATOR, user=colleague, by=world.supervisor
    )
    client.force_login(world.supervisor)
    response = client.post(reverse("appraisal:panel-remove", args=[appraisal_a.pk, seat.pk]))
    assert response.status_code == 302
    assert not Rater.objects.filter(pk=seat.pk).exists()


def test_submit_then_finalize_from_the_page(client, world, appraisal_a):
    supervisor_scores(world, appraisal_a, 92)
    client.force_login(world.supervisor)
    assert client.post(reverse("appraisal:submit", args=[appraisal_a.pk])).status_code == 302
    assert client.post(reverse("appraisal:finalize", args=[appraisal_a.pk])).status_code == 302
    appraisal_a.refresh_from_db()
    assert (appraisal_a.status, appraisal_a.grade) == (AppraisalStatus.FINALIZED, "excellent")


def test_the_manager_sees_their_appraisal_only_once_finalized(client, world, appraisal_a):
    client.force_login(world.manager_a.user)
    assert client.get(reverse("appraisal:appraisal", args=[appraisal_a.pk])).status_code == 404
    empty = client.get(reverse("appraisal:mine"))
    assert empty.status_code == 200
    assert empty.context["own"] == []
    _finalized(world, appraisal_a)
    assert client.get(reverse("appraisal:mine"))["Location"] == reverse(
        "appraisal:appraisal", args=[appraisal_a.pk]
    )
    page = client.get(reverse("appraisal:appraisal", args=[appraisal_a.pk]))
    assert page.status_code == 200
    assert page.context["own_view"] is True
    assert page.context["seats"] == []


def test_administrator_reopens_with_a_reason_shown_in_the_history(client, world, appraisal_a):
    _finalized(world, appraisal_a)
    client.force_login(world.admin)
    url = reverse("appraisal:reopen", args=[appraisal_a.pk])
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "复核满意度数据"}).status_code == 302
    appraisal_a.refresh_from_db()
    assert appraisal_a.status == AppraisalStatus.REVIEW
    page = _english(client).get(reverse("appraisal:appraisal", args=[appraisal_a.pk]))
    reasons = [entry.reason for entry in page.context["history"]]
    assert "复核满意度数据" in reasons
    assert "复核满意度数据" in page.content.decode()


def test_a_supervisor_cannot_reopen(client, world, appraisal_a):
    _finalized(world, appraisal_a)
    client.force_login(world.supervisor)
    assert client.post(reverse("appraisal:reopen", args=[appraisal_a.pk]), {"reason": "x"}).status_code == 403


def test_history_lists_score_changes_with_who_made_them(client, world, appraisal_a):
    seat = services.rater_seat_for(appraisal=appraisal_a, user=world.supervisor)
    services.scores_save(rater=seat, scores=all_scores(70), by=world.supervisor)
    services.scores_save(
        rater=seat, scores=[{"criterion": "satisfaction", "score": 75, "comment": ""}], by=world.supervisor
    )
    client.force_login(world.supervisor)
    history = client.get(reverse("appraisal:appraisal", args=[appraisal_a.pk])).context["history"]
    changes = [
        (e.who, c.old, c.new) for e in history for c in e.changes if "by" in c.label or "由" in c.label
    ]
    assert (world.supervisor.display_name, "70", "75") in changes


@pytest.mark.parametrize("panel", [2, 10])
def test_appraisal_page_runs_a_fixed_number_of_queries(
    client, world, appraisal_a, panel, django_assert_max_num_queries
):
    for _ in range(panel):
        user = UserFactory()
        seat = services.panel_add(
            appraisal=appraisal_a, kind=RaterKind.COLLABORATOR, user=user, by=world.supervisor
        )
        services.scores_save(rater=seat, scores=all_scores(70), by=user)
    seat_representative(world, appraisal_a, "代表")
    client.force_login(world.supervisor)
    # user, permissions with roles, scope, then the appraisal, criteria, panel with scores (2), the
    # collaborator picker, and the history of the appraisal and of its scores (the session is cached)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("appraisal:appraisal", args=[appraisal_a.pk]))
    assert len(response.context["seats"]) == panel + 2


def test_finalizing_a_row_of_the_review_page_returns_to_the_review(client, world, appraisal_a):
    seat = services.rater_seat_for(appraisal=appraisal_a, user=world.supervisor)
    services.scores_save(rater=seat, scores=all_scores(70), by=world.supervisor)
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    client.force_login(world.supervisor)
    response = client.post(reverse("appraisal:finalize", args=[appraisal_a.pk]), {"back": "review"})
    assert response["Location"] == reverse("appraisal:review", args=[2026]) + f"#row-{appraisal_a.pk}"
    appraisal_a.refresh_from_db()
    assert appraisal_a.status == AppraisalStatus.FINALIZED


@pytest.mark.parametrize(
    "path",
    [
        "/appraisal/99999999999999999999/review/",
        "/appraisal/99999999999999999999/export.xlsx",
        "/appraisal/a/99999999999999999999/",
        "/appraisal/a/99999999999999999999/print/",
        "/appraisal/cycles/99999999999999999999/",
    ],
)
def test_an_out_of_range_number_in_the_path_is_404_not_500(client, world, path):
    client.force_login(world.admin)
    assert client.get(path).status_code == 404


def test_the_appraisal_page_says_whose_weight_is_shared_out(client, world, appraisal_a, colleague):
    # given the supervisor has scored, a colleague sits on the panel without scoring, no representative
    services.panel_add(
        appraisal=appraisal_a, kind=RaterKind.COLLABORATOR, user=colleague, by=world.supervisor
    )
    seat = services.rater_seat_for(appraisal=appraisal_a, user=world.supervisor)
    services.scores_save(rater=seat, scores=all_scores(80), by=world.supervisor)
    client.force_login(world.supervisor)
    response = _english(client).get(reverse("appraisal:appraisal", args=[appraisal_a.pk]))
    assert response.context["missing_kinds"] == ["Customer representative", "Collaborating staff"]
    assert "No score from: Customer representative, Collaborating staff." in response.content.decode()


def test_supervisor_issues_a_new_link_when_the_old_one_expired(client, world, appraisal_a):
    seat = seat_representative(world, appraisal_a)
    Rater.objects.filter(pk=seat.pk).update(link_expires_at=timezone.now() - dt.timedelta(days=1))
    seat.refresh_from_db()
    old = reverse("appraisal:representative", args=[link_token(seat)])
    assert client.get(old).status_code == 410
    client.force_login(world.supervisor)
    page = client.get(reverse("appraisal:appraisal", args=[appraisal_a.pk]))
    assert next(s for s in page.context["seats"] if s.rater.pk == seat.pk).expired is True
    # when the supervisor asks for a new link
    response = client.post(reverse("appraisal:panel-new-link", args=[appraisal_a.pk, seat.pk]))
    assert response.status_code == 302
    seat.refresh_from_db()
    new = reverse("appraisal:representative", args=[link_token(seat)])
    assert client.get(new).status_code == 200
    assert client.get(old).status_code == 404
