"""The appraisal in the admin: every list opens, a cycle created there goes through the service (with
the default criteria), criteria weights must sum to 100, the open action opens, and an appraisal's
history page shows who changed it and why it was reopened."""

import pytest
from django.urls import reverse

from appraisal import services
from appraisal.models import AppraisalCycle, CycleStatus
from tests.appraisal.core_helpers import all_scores, appraisal_of, open_cycle


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)
    client.cookies["django_language"] = "en"
    return client


@pytest.mark.parametrize("model", ["appraisalcycle", "appraisal", "rater", "score", "criterion"])
def test_every_appraisal_list_opens(world, admin_client, model):
    cycle = open_cycle(world)
    services.scores_save(
        rater=appraisal_of(cycle, world.manager_a).raters.get(), scores=all_scores(80), by=world.supervisor
    )
    response = admin_client.get(reverse(f"admin:appraisal_{model}_changelist"), {"q": "1"})
    assert response.status_code == 200


def _add_cycle(admin_client, *, collaborator_weight: int):
    """The admin's form for a 2026 cycle: supervisor 50, representatives 30, collaborators as given."""
    form = {
        "year": 2026,
        "supervisor_weight": 50,
        "customer_representative_weight": 30,
        "collaborator_weight": collaborator_weight,
        "link_valid_days": 30,
    }
    return admin_client.post(reverse("admin:appraisal_appraisalcycle_add"), form)


def test_a_cycle_created_in_the_admin_has_the_default_criteria(world, admin_client):
    response = _add_cycle(admin_client, collaborator_weight=20)
    assert response.status_code == 302, response.content.decode()[:2000]
    cycle = AppraisalCycle.objects.get(year=2026)
    assert cycle.criteria.count() == 5
    assert cycle.history.first().history_user == world.admin


def test_rater_weights_not_summing_to_100_are_refused(world, admin_client):
    response = _add_cycle(admin_client, collaborator_weight=30)
    assert response.status_code == 200
    assert "must sum to 100" in response.content.decode()
    assert not AppraisalCycle.objects.exists()


def _criteria_post(cycle, weights):
    data = {
        "supervisor_weight": 50,
        "customer_representative_weight": 30,
        "collaborator_weight": 20,
        "link_valid_days": 30,
        "criteria-TOTAL_FORMS": len(weights),
        "criteria-INITIAL_FORMS": len(weights),
        "criteria-MIN_NUM_FORMS": 0,
        "criteria-MAX_NUM_FORMS": 1000,
    }
    for index, (criterion, weight) in enumerate(
        zip(cycle.criteria.order_by("position"), weights, strict=True)
    ):
        data |= {
            f"criteria-{index}-id": criterion.pk,
            f"criteria-{index}-cycle": cycle.pk,
            f"criteria-{index}-position": criterion.position,
            f"criteria-{index}-code": criterion.code,
            f"criteria-{index}-name": criterion.name,
            f"criteria-{index}-weight": weight,
        }
    return data


def test_criteria_weights_edited_in_the_admin_must_sum_to_100(world, admin_client):
    cycle = services.cycle_create(year=2026, by=world.admin)
    url = reverse("admin:appraisal_appraisalcycle_change", args=[cycle.pk])
    refused = admin_client.post(url, _criteria_post(cycle, [30, 25, 20, 15, 20]))
    assert refused.status_code == 200
    assert "must sum to 100" in refused.content.decode()
    accepted = admin_client.post(url, _criteria_post(cycle, [40, 25, 20, 5, 10]))
    assert accepted.status_code == 302
    assert cycle.criteria.get(code="plan_completion").weight == 40


def test_the_open_action_opens_a_draft(world, admin_client):
    cycle = services.cycle_create(year=2026, by=world.admin)
    response = admin_client.post(
        reverse("admin:appraisal_appraisalcycle_changelist"),
        {"action": "open_cycles", "_selected_action": [cycle.pk]},
    )
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.SCORING
    assert cycle.appraisals.count() == 2


def test_an_appraisals_history_shows_who_and_the_reopen_reason(world, admin_client):
    appraisal = appraisal_of(open_cycle(world), world.manager_a)
    services.scores_save(rater=appraisal.raters.get(), scores=all_scores(80), by=world.supervisor)
    services.appraisal_submit(appraisal=appraisal, by=world.supervisor)
    services.appraisal_finalize(appraisal=appraisal, by=world.supervisor)
    services.appraisal_reopen(appraisal=appraisal, reason="评分录入错误", by=world.admin)
    response = admin_client.get(reverse("admin:appraisal_appraisal_history", args=[appraisal.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "评分录入错误" in html
    assert "李主管" in html or world.supervisor.username in html
