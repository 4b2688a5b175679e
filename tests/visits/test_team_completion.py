"""The team's visit completion: the reads (visits.selectors.team_glance, completion_by_month), the
chart of it (visits.charts.completion_chart) and the team page's table and chart."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from crm.common.months import add_months, month_start
from tests.factories import VisitReportFactory, VisitTaskFactory
from visits.charts import completion_chart
from visits.models import Kind, TaskStatus
from visits.selectors import MonthCompletion, completion_by_month, team_glance

MONTH = dt.date(2026, 9, 1)
DAY = dt.date(2026, 9, 15)


def _task(world, *, due: dt.date, status=TaskStatus.PLANNED, visited: dt.date | None = None, manager=None):
    task = VisitTaskFactory(
        customer=world.customer_a,
        manager=(manager or world.manager_a).user,
        kind=Kind.AD_HOC,
        period=month_start(due),
        due_date=due,
        status=status,
    )
    if visited:
        VisitReportFactory(task=task, visited_on=visited)
    return task


def test_team_glance_counts_this_months_visits_and_every_overdue_one_as_of_the_day(world):
    _task(world, due=dt.date(2026, 9, 30), status=TaskStatus.DONE, visited=dt.date(2026, 9, 10))
    _task(world, due=dt.date(2026, 9, 10), status=TaskStatus.DONE, visited=dt.date(2026, 9, 12))  # late
    _task(world, due=dt.date(2026, 9, 14))  # this month, and overdue on the 15th though stored planned
    _task(world, due=dt.date(2026, 6, 30), status=TaskStatus.OVERDUE)  # an older month, still overdue
    _task(world, due=dt.date(2026, 9, 30), status=TaskStatus.CANCELLED)

    (row,) = team_glance(user=world.supervisor, month=MONTH, day=DAY)

    assert (row.name, row.due, row.done, row.on_time, row.overdue) == ("张经理", 3, 2, 1, 2)
    assert row.rate == 66.7


def test_team_glance_stays_inside_the_users_scope(world):
    _task(world, due=dt.date(2026, 9, 30), manager=world.manager_b)

    assert team_glance(user=world.supervisor, month=MONTH, day=DAY) == []
    assert [r.name for r in team_glance(user=world.admin, month=MONTH, day=DAY)] == ["赵经理"]


def test_completion_by_month_gives_every_month_oldest_first_with_zeros_for_empty_ones(world):
    _task(world, due=dt.date(2026, 7, 31), status=TaskStatus.DONE, visited=dt.date(2026, 7, 1))
    _task(world, due=dt.date(2026, 9, 30))

    rows = completion_by_month(user=world.supervisor, since=dt.date(2026, 7, 1), until=dt.date(2026, 10, 1))

    assert [(r.month, r.due, r.done, r.on_time, r.rate) for r in rows] == [
        (dt.date(2026, 7, 1), 1, 1, 1, 100.0),
        (dt.date(2026, 8, 1), 0, 0, 0, None),
        (dt.date(2026, 9, 1), 1, 0, 0, 0.0),
    ]


def test_completion_chart_draws_a_bar_per_month_with_something_due_on_a_100_axis():
    rows = [
        MonthCompletion(dt.date(2026, 7, 1), due=4, done=3, on_time=3),
        MonthCompletion(dt.date(2026, 8, 1), due=0, done=0, on_time=0),
        MonthCompletion(dt.date(2026, 9, 1), due=2, done=1, on_time=1),
    ]

    svg = completion_chart(rows)

    assert svg.count("<rect") == 2
    assert ">100</text>" in svg
    assert 'class="bar latest"' in svg
    assert "2026-07：75.0%（应访 4，已完成 3）" in svg
    assert ">2026-08</text>" in svg  # its place is kept, under no bar


def test_completion_chart_of_no_months_is_empty():
    assert completion_chart([]) == ""


def test_team_page_shows_completion_as_a_table_with_the_teams_row_and_the_chart(client, world):
    today = timezone.localdate()
    month = month_start(today)
    end = add_months(month, 1) - dt.timedelta(days=1)
    _task(world, due=end, status=TaskStatus.DONE, visited=today)
    _task(world, due=end)
    client.force_login(world.supervisor)

    response = client.get(reverse("visits:team"))

    html = response.content.decode()
    table = html[html.index('<table class="completion-grid">') : html.index("</table>")]
    assert '<th scope="row">张经理</th>' in table
    assert "团队合计" in table
    assert "50%<small" in table
    assert 'class="stack"' not in table  # a table on a phone too, not a run of label: value pairs
    assert str(response.context["chart"]) in html
    assert len(response.context["team_months"]) == 6


def test_team_page_lists_twenty_overdue_visits_and_links_the_rest_to_the_plan(client, world):
    # given 23 visits past their due date in the supervisor's team
    for day in range(1, 24):
        _task(world, due=dt.date(2026, 1, day), status=TaskStatus.OVERDUE)
    client.force_login(world.supervisor)

    # when the supervisor opens the team page
    response = client.get(reverse("visits:team"))

    # then the overdue table holds 20 rows and the other 3 are one link to the plan's overdue list
    html = response.content.decode()
    section = html[html.index('id="overdue"') : html.index('id="follow-ups"')]
    assert section.count("<tr><td") == 20
    assert f'href="{reverse("visits:plan-week")}#overdue">另有 3 项逾期走访</a>' in section
