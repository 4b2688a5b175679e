"""Department staff on an appraisal panel (service.md: they "can sit on an appraisal panel as
collaborators and score there"). A seated staff user opens their seat's appraisal and scores through
the API and the page, and reads no result, no other seat and nothing of the portfolios; unseated,
the appraisal is not there for them (404)."""

import pytest

from appraisal import services
from appraisal.models import Score
from tests.appraisal.core_helpers import all_scores, appraisal_of, open_cycle, supervisor_scores

APPRAISALS = "/api/v1/appraisals/"


@pytest.fixture
def appraisal_a(world):
    return appraisal_of(open_cycle(world), world.manager_a)


@pytest.fixture
def seat(world, appraisal_a):
    return services.panel_add(
        appraisal=appraisal_a, kind="collaborator", user=world.staff, by=world.supervisor
    )


def test_seated_staff_score_through_the_api(world, api, seat, appraisal_a):
    # given the metering staff user seated as a collaborator on manager A's appraisal
    # when they post a score for every criterion
    response = api(world.staff).post(
        f"{APPRAISALS}{appraisal_a.pk}/scores/", {"scores": all_scores(75)}, format="json"
    )
    # then their sheet is saved and complete
    assert response.status_code == 200, response.content
    assert response.json()["submitted_at"] is not None
    assert sorted(Score.objects.filter(rater=seat).values_list("score", flat=True)) == [75] * len(
        all_scores()
    )


def test_seated_staff_score_through_the_page(world, client, seat, appraisal_a):
    # given the seated staff user signed in
    client.force_login(world.staff)
    form = {f"s-score_{item['criterion']}": 66 for item in all_scores()}
    # when they send the scores form of the appraisal page
    response = client.post(f"/appraisal/a/{appraisal_a.pk}/scores/", form)
    # then it is saved and they are back on the page
    assert response.status_code == 302
    assert set(Score.objects.filter(rater=seat).values_list("score", flat=True)) == {66}


def test_seated_staff_open_the_appraisal_page(world, client, seat, appraisal_a):
    client.force_login(world.staff)

    response = client.get(f"/appraisal/a/{appraisal_a.pk}/")

    assert response.status_code == 200
    assert response.context["mine"].rater == seat
    assert response.context["scores_form"] is not None


def test_seated_staff_read_no_result_and_no_other_seat(world, api, seat, appraisal_a):
    # given the supervisor's full sheet on the same appraisal
    supervisor_scores(world, appraisal_a, 90)
    client = api(world.staff)
    # when the staff user reads the appraisal, its panel and the scores
    detail = client.get(f"{APPRAISALS}{appraisal_a.pk}/").json()
    panel = client.get(f"{APPRAISALS}{appraisal_a.pk}/panel/").json()
    scores = client.get(f"{APPRAISALS}{appraisal_a.pk}/scores/").json()
    # then no result, only their own seat, and none of the others' scores
    assert (detail["score"], detail["grade"], detail["kind_scores"]) == (None, None, None)
    assert [row["user"] for row in panel] == [world.staff.pk]
    assert scores["panel"] == []


def test_seated_staff_page_shows_no_result_and_no_other_seat(world, client, seat, appraisal_a):
    supervisor_scores(world, appraisal_a, 90)
    client.force_login(world.staff)

    response = client.get(f"/appraisal/a/{appraisal_a.pk}/")

    assert response.context["leads"] is False
    assert response.context["seats"] == []
    assert world.supervisor.full_name not in response.content.decode()


def test_seated_staff_read_nothing_of_the_portfolio(world, api, seat):
    client = api(world.staff)

    customers = client.get("/api/v1/customers/")
    portfolio = client.get(f"/api/v1/managers/{world.manager_a.pk}/portfolio/")

    assert customers.status_code == 403
    assert portfolio.status_code in (403, 404)


def test_unseated_staff_find_no_appraisal(world, api, client, appraisal_a):
    # given an appraisal the staff user does not sit on
    client.force_login(world.staff)
    # when they open it over the API and as a page, or try to score it
    detail = api(world.staff).get(f"{APPRAISALS}{appraisal_a.pk}/")
    scored = api(world.staff).post(
        f"{APPRAISALS}{appraisal_a.pk}/scores/", {"scores": all_scores(75)}, format="json"
    )
    page = client.get(f"/appraisal/a/{appraisal_a.pk}/")
    # then it is not there for them
    assert detail.status_code == scored.status_code == page.status_code == 404
    assert not Score.objects.filter(rater__user=world.staff).exists()


def test_the_cycles_page_lists_the_seat_to_score(world, client, seat):
    client.force_login(world.staff)

    response = client.get("/appraisal/")

    assert response.status_code == 200
    assert [s.pk for s in response.context["seats"]] == [seat.pk]
