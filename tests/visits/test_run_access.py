"""visit-runs/: the company-wide records of the visit jobs are for supervisors and administrators;
an account manager, who cannot start a run, cannot read them either."""

from django.utils import timezone

from visits.models import VisitRun


def _a_run() -> VisitRun:
    return VisitRun.objects.create(
        job=VisitRun.Job.GENERATE, day=timezone.localdate(), counts={"created": 1200}
    )


def test_a_manager_cannot_list_the_visit_runs(world, api):
    # given a run of the generation job
    _a_run()
    # when manager A lists the runs; then the answer is 403, with no run in it
    response = api(world.manager_a.user).get("/api/v1/visit-runs/")
    assert response.status_code == 403
    assert "results" not in response.json()


def test_a_manager_cannot_read_a_visit_run(world, api):
    run = _a_run()
    response = api(world.manager_a.user).get(f"/api/v1/visit-runs/{run.pk}/")
    assert response.status_code == 403
    assert "1200" not in response.content.decode()


def test_supervisors_and_administrators_still_read_the_visit_runs(world, api):
    run = _a_run()
    for user in (world.supervisor, world.admin):
        listed = api(user).get("/api/v1/visit-runs/").json()["results"]
        assert [row["id"] for row in listed] == [run.pk]
        assert api(user).get(f"/api/v1/visit-runs/{run.pk}/").status_code == 200
