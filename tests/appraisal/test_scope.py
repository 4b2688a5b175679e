"""Who sees which appraisal (Appraisal.objects.visible_to, used by every endpoint): another
supervisor's team answers 404; a manager sees their own only once finalized; a panel member sees
the appraisals they sit on; an integration client without the permission gets 403."""

import pytest

from appraisal import services
from crm.accounts import roles
from tests.appraisal.core_helpers import all_scores, appraisal_of, open_cycle
from tests.factories import ManagerFactory, UserFactory

APPRAISALS = "/api/v1/appraisals/"
STEPS = ["", "panel/", "scores/"]
WRITES = ["submit/", "finalize/", "scores/", "panel/"]


@pytest.fixture
def other_team(world):
    """A second supervisor with their own manager."""
    lead = UserFactory(username="supervisor2", full_name="周主管", role=roles.SUPERVISOR)
    manager = ManagerFactory(
        user=UserFactory(username="manager_c", supervisor=lead, role=roles.ACCOUNT_MANAGER),
        station=world.station_b,
    )
    return lead, manager


@pytest.fixture
def cycle(world, other_team):
    return open_cycle(world)


def _finalize(world, appraisal):
    seat = appraisal.raters.get(user=world.supervisor)
    services.scores_save(rater=seat, scores=all_scores(70), by=world.supervisor)
    services.appraisal_submit(appraisal=appraisal, by=world.supervisor)
    services.appraisal_finalize(appraisal=appraisal, by=world.supervisor)


def test_another_supervisors_team_answers_404_everywhere(world, api, cycle, other_team):
    _lead, manager_c = other_team
    theirs = appraisal_of(cycle, manager_c)
    client = api(world.supervisor)
    ids = {row["id"] for row in client.get(APPRAISALS).json()["results"]}
    assert ids == {appraisal_of(cycle, world.manager_a).pk}
    for step in STEPS:
        assert client.get(f"{APPRAISALS}{theirs.pk}/{step}").status_code == 404, step
    for step in WRITES:
        assert client.post(f"{APPRAISALS}{theirs.pk}/{step}", {}, format="json").status_code == 404, step
    assert client.get(APPRAISALS, {"manager": manager_c.pk}).json()["count"] == 0


def test_a_manager_sees_their_own_appraisal_only_once_finalized(world, api, cycle):
    mine = appraisal_of(cycle, world.manager_a)
    client = api(world.manager_a.user)
    assert client.get(APPRAISALS).json()["count"] == 0
    assert client.get(f"{APPRAISALS}{mine.pk}/").status_code == 404
    assert client.get(f"{APPRAISALS}{mine.pk}/scores/").status_code == 404
    _finalize(world, mine)
    assert client.get(APPRAISALS).json()["count"] == 1
    detail = client.get(f"{APPRAISALS}{mine.pk}/")
    assert detail.status_code == 200
    assert detail.json()["score"] == 70.0
    # they read it, but do not act on it
    assert client.post(f"{APPRAISALS}{mine.pk}/reopen/", {"reason": "不服"}, format="json").status_code == 403
    assert client.get(f"{APPRAISALS}{mine.pk}/scores/").json()["panel"] == []


def test_a_panel_member_sees_the_appraisals_they_sit_on_only(world, api, cycle):
    colleague = UserFactory(role=roles.ACCOUNT_MANAGER)
    seat_on = appraisal_of(cycle, world.manager_b)
    services.panel_add(appraisal=seat_on, kind="collaborator", user=colleague, by=world.admin)
    client = api(colleague)
    assert [row["id"] for row in client.get(APPRAISALS).json()["results"]] == [seat_on.pk]
    assert client.get(f"{APPRAISALS}{appraisal_of(cycle, world.manager_a).pk}/").status_code == 404
    assert (
        client.post(
            f"{APPRAISALS}{seat_on.pk}/scores/", {"scores": all_scores(66)}, format="json"
        ).status_code
        == 200
    )


def test_a_member_of_another_team_scores_with_nothing_but_a_seat(world, api, cycle, other_team):
    # given manager C (another team, the account-manager role: view permissions only) on A's panel
    _lead, manager_c = other_team
    appraisal = appraisal_of(cycle, world.manager_a)
    services.panel_add(appraisal=appraisal, kind="collaborator", user=manager_c.user, by=world.supervisor)
    # when they score, then it is saved
    response = api(manager_c.user).post(
        f"{APPRAISALS}{appraisal.pk}/scores/", {"scores": all_scores(75)}, format="json"
    )
    assert response.status_code == 200
    # and they cannot act as the supervisor
    assert api(manager_c.user).post(f"{APPRAISALS}{appraisal.pk}/submit/").status_code == 403


def test_an_integration_client_without_the_permission_gets_403(world, api, cycle):
    client = api(world.integration)
    assert client.get(APPRAISALS).status_code == 403
    assert client.get(f"{APPRAISALS}{appraisal_of(cycle, world.manager_a).pk}/").status_code == 403


def test_an_administrator_sees_every_appraisal(world, api, cycle):
    assert api(world.admin).get(APPRAISALS).json()["count"] == 3


def test_the_appraised_manager_is_not_shown_who_sat_on_their_panel(world, api, cycle):
    mine = appraisal_of(cycle, world.manager_a)
    _finalize(world, mine)
    response = api(world.manager_a.user).get(f"{APPRAISALS}{mine.pk}/panel/")
    assert response.status_code == 403
    assert "李主管" not in response.content.decode()


@pytest.mark.parametrize("bad", ["null,null", "1.5", "9" * 30, "-1"])
def test_an_id_that_is_no_number_answers_404(world, api, cycle, bad):
    client = api(world.admin)
    for path in (f"{APPRAISALS}{bad}/", f"{APPRAISALS}{bad}/panel/", f"/api/v1/appraisal-cycles/{bad}/open/"):
        response = client.get(path) if path.endswith(f"{bad}/") else client.post(path)
        assert response.status_code == 404, path
