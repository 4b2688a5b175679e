"""The demo appraisal: last full year's cycle opened, the demo supervisor's team with panels (a
colleague and a named representative), most scores in, some under review, one finalized; the same
result for the same seed, nothing more on a second run, fast, and the review page shows it."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from appraisal.demo import seed_appraisal_demo
from appraisal.models import Appraisal, AppraisalCycle, AppraisalStatus, CycleStatus, Rater, RaterKind, Score
from crm.accounts import roles
from tests.factories import ManagerFactory, UserFactory

UNTIL = dt.date(2026, 9, 1)


@pytest.fixture
def team(world):
    """The supervisor's team: manager A and five more."""
    return [world.manager_a] + [
        ManagerFactory(
            user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER), station=world.station_a
        )
        for _ in range(5)
    ]


def _snapshot():
    return sorted(
        Score.objects.values_list(
            "rater__appraisal__manager_id", "rater__kind", "criterion__code", "score", "comment"
        )
    )


def test_demo_opens_last_full_years_cycle_and_works_the_supervisors_team(world, team):
    counts = seed_appraisal_demo(seed=7, until=UNTIL)
    cycle = AppraisalCycle.objects.get()
    assert cycle.year == 2025
    assert cycle.status in (CycleStatus.SCORING, CycleStatus.REVIEW)
    assert counts["appraisals"] == Appraisal.objects.count() == len(team) + 1  # manager B has one too
    mine = Appraisal.objects.filter(cycle=cycle, manager__user__supervisor=world.supervisor)
    for appraisal in mine:
        kinds = set(appraisal.raters.values_list("kind", flat=True))
        assert kinds == {RaterKind.SUPERVISOR, RaterKind.COLLABORATOR, RaterKind.CUSTOMER_REPRESENTATIVE}
        assert appraisal.evidence_computed_at is not None
    assert Rater.objects.filter(kind=RaterKind.CUSTOMER_REPRESENTATIVE).exclude(name="").count() == len(team)
    statuses = list(mine.values_list("status", flat=True))
    assert statuses.count(AppraisalStatus.FINALIZED) == 1
    assert statuses.count(AppraisalStatus.REVIEW) >= 1
    assert statuses.count(AppraisalStatus.SCORING) >= 1
    seats = Rater.objects.filter(appraisal__in=mine).count()
    sheets = Rater.objects.filter(appraisal__in=mine, scores__isnull=False).distinct().count()
    assert sheets > seats / 2  # most scores are in
    assert counts["finalized"] == 1


def test_demo_is_deterministic_and_a_second_run_adds_nothing(world, team):
    seed_appraisal_demo(seed=7, until=UNTIL)
    first = _snapshot()
    again = seed_appraisal_demo(seed=7, until=UNTIL)
    assert again["appraisals"] == 0
    assert _snapshot() == first
    Score.objects.all().delete()
    Rater.objects.all().delete()
    Appraisal.objects.all().delete()
    AppraisalCycle.objects.all().delete()
    seed_appraisal_demo(seed=7, until=UNTIL)
    assert _snapshot() == first


def test_demo_review_page_shows_the_team(client, world, team):
    seed_appraisal_demo(seed=7, until=UNTIL)
    client.force_login(world.supervisor)
    response = client.get(reverse("appraisal:review", args=[2025]))
    assert response.status_code == 200
    assert len(response.context["rows"]) == len(team)
    assert any(row.score is not None for row in response.context["rows"])


def test_seed_demo_builds_the_appraisal_and_another_year_on_demand(db):
    out = io.StringIO()
    call_command("seed_demo", customers=300, until="2026-06", stdout=out)
    cycle = AppraisalCycle.objects.get()
    assert cycle.year == 2025
    assert "2025" in out.getvalue()
    # the appraisal part alone, on a fresh cycle of another year (its speed is not a test's business:
    # seed_demo prints how long it took)
    counts = seed_appraisal_demo(seed=1, until=dt.date(2027, 6, 1))
    assert counts["finalized"] == 1
    assert Appraisal.objects.filter(
        cycle__year=2026, manager__user__supervisor__username="supervisor1"
    ).exists()
