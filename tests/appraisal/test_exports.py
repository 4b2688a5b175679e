"""The year's review table as XLSX and the printable one-page report of one manager: scoped like the
review page, in a fixed number of queries."""

from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from appraisal import services
from appraisal.models import Appraisal, RaterKind
from crm.accounts import roles
from tests.appraisal.core_helpers import (
    all_scores,
    appraisal_of,
    open_cycle,
    seat_representative,
    supervisor_scores,
)
from tests.factories import ManagerFactory, UserFactory


def _rows(response) -> list[tuple]:
    sheet = load_workbook(BytesIO(response.content), read_only=True).active
    return list(sheet.iter_rows(values_only=True))


def test_export_has_a_row_per_appraisal_of_the_team_with_scores_and_grade(client, world, cycle):
    appraisal = appraisal_of(cycle, world.manager_a)
    Appraisal.objects.filter(pk=appraisal.pk).update(evidence={"on_time_rate": 95.0, "customers_gained": 4})
    supervisor_scores(world, appraisal, 91)
    client.force_login(world.supervisor)
    client.cookies.load({"django_language": "en"})
    response = client.get(reverse("appraisal:export", args=[cycle.year]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="appraisal-{cycle.year}.xlsx"'
    header, *rows = _rows(response)
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["Manager"] == world.manager_a.user.display_name
    assert row["On-time visit completion (%)"] == 95.0
    assert row["Customers gained"] == 4
    assert row["Supervisor"] == 91.0
    assert row["Final score"] == 91.0
    assert row["Grade"] == "Excellent"
    assert row["Kinds without a score (weight shared out)"] == "Customer representative, Collaborating staff"
    assert world.manager_b.user.display_name not in str(rows)


def test_export_of_another_supervisor_shows_none_of_this_team(client, world, cycle):
    client.force_login(UserFactory(username="lead2", role=roles.SUPERVISOR))
    _header, *rows = _rows(client.get(reverse("appraisal:export", args=[cycle.year])))
    assert rows == []


@pytest.mark.parametrize("team", [2, 10])
def test_export_runs_a_fixed_number_of_queries(client, world, team, django_assert_max_num_queries):
    for _ in range(team - 1):
        ManagerFactory(user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER))
    cycle = open_cycle(world)
    client.force_login(world.supervisor)
    # session, user, roles, cycle, permissions (2) and scope, then appraisals, criteria, raters, scores
    with django_assert_max_num_queries(11):
        response = client.get(reverse("appraisal:export", args=[cycle.year]))
    assert len(_rows(response)) == team + 1


def test_print_report_shows_the_manager_scores_per_kind_and_signature_lines(client, world, cycle):
    appraisal = appraisal_of(cycle, world.manager_a)
    seat_representative(world, appraisal)
    supervisor_scores(world, appraisal, 80)
    client.force_login(world.supervisor)
    client.cookies.load({"django_language": "en"})
    response = client.get(reverse("appraisal:print", args=[appraisal.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert world.manager_a.user.display_name in html
    assert "crm/appraisal-print.css" in html
    assert "Supervisor ____" in html
    criterion, _lines, means = response.context["rows"][0]
    assert criterion.code == "plan_completion"
    assert [(label, str(m) if m is not None else None) for label, m in means] == [
        ("Supervisor", "80.00"),
        ("Customer representative", None),
        ("Collaborating staff", None),
    ]


def test_print_report_is_not_for_a_colleague_on_the_panel(client, world, cycle):
    appraisal = appraisal_of(cycle, world.manager_a)
    colleague = UserFactory(role=roles.ACCOUNT_MANAGER)
    services.panel_add(appraisal=appraisal, kind=RaterKind.COLLABORATOR, user=colleague, by=world.supervisor)
    client.force_login(colleague)
    assert client.get(reverse("appraisal:print", args=[appraisal.pk])).status_code == 403


@pytest.mark.parametrize("panel", [2, 10])
def test_print_report_runs_a_fixed_number_of_queries(
    client, world, cycle, panel, django_assert_max_num_queries
):
    appraisal = appraisal_of(cycle, world.manager_a)
    for _ in range(panel):
        user = UserFactory()
        seat = services.panel_add(
            appraisal=appraisal, kind=RaterKind.COLLABORATOR, user=user, by=world.supervisor
        )
        services.scores_save(rater=seat, scores=all_scores(75), by=user)
    client.force_login(world.supervisor)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("appraisal:print", args=[appraisal.pk])).status_code == 200
