"""End to end in Chromium, in Chinese, at issue 17's widths: the supervisor's appraisal review of a
team of twelve at 1366 px (every row's 审定 and 打印 in sight with no sideways scroll, the grade
distribution drawn, a filter and sort kept by the paging) and at 390 px (a card per appraisal, no
table stack wider than the phone); the printed report within 390 px with criterion names on one
line, and on A4 (print media: a table no wider than the page, one A4 page as PDF); a score of 120
with a comment refused by the browser for its range, not for the comment. Screenshots in
test-artifacts/."""

import re

import pytest

from appraisal import services
from appraisal.models import Appraisal, RaterKind
from crm.accounts import roles
from tests.appraisal.core_helpers import all_scores, open_cycle, supervisor_scores
from tests.e2e.browser import ARTIFACTS, chromium, context_at, fits, log_in
from tests.factories import ManagerFactory, UserFactory

A4_CONTENT_WIDTH = 680  # 210 mm less the report's 15 mm margins, in CSS pixels (96 per inch)


@pytest.fixture
def browser(monkeypatch):
    with chromium(monkeypatch) as launched:
        yield launched


@pytest.fixture
def team(world):
    """Twelve under the supervisor in station A, scored 60 to 95; the last one's colleague scores
    30 (flagged); the first six submitted for review."""
    members = [world.manager_a] + [
        ManagerFactory(
            user=UserFactory(
                full_name=f"经理{i:02d}", supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER
            ),
            station=world.station_a,
        )
        for i in range(11)
    ]
    cycle = open_cycle(world)
    appraisals = [Appraisal.objects.get(cycle=cycle, manager=m) for m in members]
    for i, appraisal in enumerate(appraisals):
        supervisor_scores(world, appraisal, 60 + 3 * i)
        if i < 6:
            services.appraisal_submit(appraisal=appraisal, by=world.supervisor)
    last = appraisals[-1]
    for colleague, value in ((UserFactory(full_name="同意"), 90), (UserFactory(full_name="严格"), 30)):
        seat = services.panel_add(
            appraisal=last, kind=RaterKind.COLLABORATOR, user=colleague, by=world.supervisor
        )
        services.scores_save(rater=seat, scores=all_scores(value), by=colleague)
    return appraisals


def _page(browser, base, width, username="supervisor"):
    context = context_at(browser, width)
    page = context.new_page()
    log_in(page, base, username)
    return page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@pytest.mark.browser
def test_the_review_on_a_desk_shows_every_rows_actions_without_scrolling_sideways(
    transactional_db, world, team, live_server, browser
):
    page = _page(browser, live_server.url, 1366)
    page.goto(f"{live_server.url}/appraisal/2026/review/")
    assert page.locator("h1").inner_text().startswith("2026 年度考评审核")
    assert fits(page, 1366)
    wrap = page.locator(".review-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth")  # the table fits: no scroller either
    rows = page.locator("table.review tbody tr")
    assert rows.count() == 12
    for i in range(rows.count()):
        box = rows.nth(i).locator("td.actions a.button").bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 1366
        assert rows.nth(i).locator("td.actions a.button").inner_text() == "打印"
    assert page.locator("td.actions button", has_text="审定").count() == 6
    # the team's grade distribution, drawn by the server
    chart = page.locator(".grade-distribution svg.chart")
    assert chart.is_visible()
    assert chart.locator("rect.bar").count() >= 3
    _shot(page, "appraisal-review-1366.png")

    # filter and sort through the form, then page: the filters stay
    page.locator(".filter-form summary").click()
    page.select_option("select[name=status]", "review")
    page.select_option("select[name=sort]", "grade")
    page.click(".filter-form .field.actions button")
    assert "status=review" in page.url
    assert "sort=grade" in page.url
    assert page.locator("table.review tbody tr").count() == 6
    scores = [float(t) for t in page.locator("table.review td.final").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    assert page.locator("#review-count").inner_text() == "显示 6 份考评"
    page.select_option("select[name=flagged]", "yes")
    page.select_option("select[name=status]", "")
    page.click(".filter-form .field.actions button")
    assert page.locator("table.review tbody tr").count() == 1
    assert page.locator("table.review tbody tr .badge.flag").first.is_visible()
    _shot(page, "appraisal-review-1366-filtered.png")


@pytest.mark.browser
def test_the_review_on_a_phone_is_a_card_per_appraisal(transactional_db, world, team, live_server, browser):
    page = _page(browser, live_server.url, 390)
    page.goto(f"{live_server.url}/appraisal/2026/review/")
    assert fits(page, 390)
    rows = page.locator("table.review tbody tr")
    assert rows.count() == 12
    assert page.locator("table.review thead").is_hidden()
    first = rows.first
    assert first.evaluate("r => getComputedStyle(r).display") == "flex"
    assert first.locator("td.metric").first.is_hidden()  # the evidence is on the appraisal's page
    box = first.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    assert box["height"] < 300  # a card, not a stack of fifteen label lines
    actions = first.locator("td.actions a.button").bounding_box()
    assert actions["x"] + actions["width"] <= 390
    _shot(page, "appraisal-review-390.png")


@pytest.mark.browser
def test_the_printed_report_fits_a_phone_and_an_a4_page(transactional_db, world, team, live_server, browser):
    appraisal = team[-1]
    phone = _page(browser, live_server.url, 390)
    phone.goto(f"{live_server.url}/appraisal/a/{appraisal.pk}/print/")
    assert fits(phone, 390)
    names = phone.locator(".report-table tbody td.name")
    assert names.count() == 5
    for i in range(names.count()):
        # one line: the criterion's name is as tall as one line of its text
        height = names.nth(i).evaluate(
            "td => td.getBoundingClientRect().height / parseFloat(getComputedStyle(td).lineHeight)"
        )
        assert height < 1.5
    _shot(phone, "appraisal-print-390.png")

    desk = _page(browser, live_server.url, 1366)
    desk.goto(f"{live_server.url}/appraisal/a/{appraisal.pk}/print/")
    desk.set_viewport_size({"width": A4_CONTENT_WIDTH, "height": 960})
    desk.emulate_media(media="print")
    assert fits(desk, A4_CONTENT_WIDTH)
    table = desk.locator(".report-table")
    assert table.evaluate("t => getComputedStyle(t).display") == "table"
    assert table.bounding_box()["width"] <= A4_CONTENT_WIDTH
    assert desk.locator(".topbar").is_hidden()
    assert desk.locator(".no-print").first.is_hidden()
    _shot(desk, "appraisal-print-a4.png")
    pdf = desk.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one page
    assert re.search(rb"/MediaBox\s*\[0 0 595\.9\d* 842\.8\d*\]", pdf)  # A4: 210 x 297 mm in points
    (ARTIFACTS / "appraisal-print-a4.pdf").write_bytes(pdf)


@pytest.mark.browser
def test_a_score_of_120_is_refused_for_its_range_not_for_the_comment(
    transactional_db, world, live_server, browser
):
    cycle = open_cycle(world)
    appraisal = Appraisal.objects.get(cycle=cycle, manager=world.manager_a)
    page = _page(browser, live_server.url, 1366)
    page.goto(f"{live_server.url}/appraisal/a/{appraisal.pk}/")
    field = page.locator("input[name='s-score_plan_completion']")
    field.fill("120")
    page.fill("textarea[name='s-comment_plan_completion']", "服务及时")
    # the browser holds the form back for the range (max 100) ...
    assert field.evaluate("f => f.validity.rangeOverflow")
    # ... and sent anyway (validation off), the page names the range, not the comment
    page.evaluate("document.querySelector(\"input[name='s-score_plan_completion']\").form.noValidate = true")
    with page.expect_navigation():
        field.evaluate("f => f.form.requestSubmit()")
    errors = page.locator("fieldset.criterion").first.locator(".errorlist").all_inner_texts()
    assert errors == ["确保该值小于或等于100。"]
    assert "填写评语时请同时填写评分" not in page.content()
    _shot(page, "appraisal-score-120-1366.png")
