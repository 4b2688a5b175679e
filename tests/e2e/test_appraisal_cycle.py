"""End to end in Chromium: a supervisor with a team of ten takes a whole appraisal cycle through the
browser. The administrator creates and opens the cycle; the supervisor puts a colleague and a
customer representative on one panel and scores the team; the colleague scores; the representative
scores through the link on a phone; the supervisor submits, sees the evidence on the review page,
finalizes all and downloads the XLSX, which opens with ten rows."""

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from appraisal.models import Appraisal, AppraisalStatus, Score
from crm.accounts import roles
from tests.e2e.browser import ARTIFACTS, PHONE, chromium, log_in
from tests.factories import ManagerFactory, UserFactory, VisitReportFactory, VisitTaskFactory

YEAR = 2025
CODES = ["plan_completion", "satisfaction", "market_expansion", "info_feedback", "collaboration"]
DESK = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}


@pytest.fixture
def browser(monkeypatch):
    with chromium(monkeypatch) as launched:
        yield launched


def _signed_in(browser, base: str, username: str, **context):
    page = browser.new_context(**(context or DESK)).new_page()
    page.set_default_timeout(15_000)
    log_in(page, base, username)
    return page


def _fill_scores(page, value: int, comment: str = "") -> None:
    for code in CODES:
        page.fill(f"input[name='s-score_{code}']", str(value))
        if comment:
            page.fill(f"textarea[name='s-comment_{code}']", comment)


@pytest.fixture
def team(world):
    """Manager A and nine more under the supervisor; manager A's visits of the year give evidence:
    three of four done on time."""
    members = [world.manager_a] + [
        ManagerFactory(
            user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER), station=world.station_a
        )
        for _ in range(9)
    ]
    for month in (3, 4, 5):
        task = VisitTaskFactory(
            customer=world.customer_a,
            period=dt.date(YEAR, month, 1),
            due_date=dt.date(YEAR, month, 28),
            status="done",
        )
        VisitReportFactory(task=task, visited_on=dt.date(YEAR, month, 20), satisfaction=4)
    VisitTaskFactory(
        customer=world.customer_a, period=dt.date(YEAR, 6, 1), due_date=dt.date(YEAR, 6, 28), status="overdue"
    )
    return members


@pytest.mark.browser
def test_a_supervisor_takes_a_team_of_ten_through_a_whole_cycle(
    transactional_db, world, team, live_server, browser
):
    base = live_server.url
    colleague = UserFactory(username="colleague", full_name="钱工", role=roles.ACCOUNT_MANAGER)

    # the administrator creates the cycle with the default criteria and opens it
    admin = _signed_in(browser, base, "admin")
    admin.click("nav a[href='/appraisal/']")
    admin.fill("#new-cycle input[name=year]", str(YEAR))
    admin.click("#new-cycle button[type=submit]")
    admin.click("#open-cycle button[type=submit]")
    admin.wait_for_url(f"{base}/appraisal/{YEAR}/review/")
    assert Appraisal.objects.filter(cycle__year=YEAR).count() == 11  # the team and manager B

    # the supervisor puts a colleague and a customer representative on manager A's panel
    lead = _signed_in(browser, base, "supervisor")
    lead.goto(f"{base}/appraisal/{YEAR}/review/")
    rows = lead.locator("table.review tbody tr")
    assert rows.count() == 10
    appraisal_a = Appraisal.objects.get(cycle__year=YEAR, manager=world.manager_a)
    lead.click(f"#row-{appraisal_a.pk} td.name a")
    lead.select_option("#add-collaborator select[name='c-user']", str(colleague.pk))
    lead.click("#add-collaborator button[type=submit]")
    lead.fill("#add-representative input[name='r-name']", "周代表")
    lead.fill("#add-representative input[name='r-organisation']", "甲钢铁厂")
    lead.click("#add-representative button[type=submit]")
    link = lead.locator(".copy-link input").input_value()
    assert "/appraisal/r/" in link
    ARTIFACTS.mkdir(exist_ok=True)
    lead.screenshot(path=str(ARTIFACTS / "appraisal-panel.png"), full_page=True)

    # the supervisor scores the whole team, each beside its evidence
    for appraisal in Appraisal.objects.filter(cycle__year=YEAR, manager__in=team).order_by("pk"):
        lead.goto(f"{base}/appraisal/a/{appraisal.pk}/")
        _fill_scores(lead, 86, "全年表现稳定")
        lead.click("#my-scores button[type=submit]")
        lead.wait_for_selector(".messages .success")

    # the colleague scores manager A, seeing only their own seat
    peer = _signed_in(browser, base, "colleague")
    peer.goto(f"{base}/appraisal/a/{appraisal_a.pk}/")
    assert "全年表现稳定" not in peer.content()
    _fill_scores(peer, 80)
    peer.click("#my-scores button[type=submit]")
    peer.wait_for_selector(".messages .success")

    # the representative scores through the link on a phone, without an account
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(link)
    assert phone.get_attribute("html", "lang") == "zh-hans"
    assert "全年表现稳定" not in phone.content()
    _fill_scores(phone, 92, "服务周到")
    phone.screenshot(path=str(ARTIFACTS / "appraisal-representative-phone.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    phone.click("form.representative-form button[type=submit]")
    phone.wait_for_selector(".representative-done")
    assert Score.objects.filter(rater__name="周代表").count() == len(CODES)

    # the supervisor submits each appraisal for review
    for appraisal in Appraisal.objects.filter(cycle__year=YEAR, manager__in=team).order_by("pk"):
        lead.goto(f"{base}/appraisal/a/{appraisal.pk}/")
        lead.click("#workflow form[action$='/submit/'] button[type=submit]")
        lead.wait_for_selector(".messages .success")

    # the review page shows the evidence with when it was computed, and the scores of every kind
    lead.goto(f"{base}/appraisal/{YEAR}/review/")
    row_a = lead.locator(f"#row-{appraisal_a.pk}")
    assert "75" in row_a.inner_text()  # visits done on time: 3 of 4
    assert "92.00" in row_a.inner_text()  # the representative's score
    lead.screenshot(path=str(ARTIFACTS / "appraisal-review.png"), full_page=True)

    # finalize all, confirming the browser's question
    lead.once("dialog", lambda dialog: dialog.accept())
    lead.click("#finalize-all button[type=submit]")
    lead.wait_for_selector(".messages .success")
    finalized = Appraisal.objects.filter(cycle__year=YEAR, manager__in=team, status=AppraisalStatus.FINALIZED)
    assert finalized.count() == 10

    # and download the year as XLSX: ten rows under the header
    with lead.expect_download() as download:
        lead.click(f"a[href='/appraisal/{YEAR}/export.xlsx']")
    data = Path(download.value.path()).read_bytes()
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    header, *lines = list(sheet.iter_rows(values_only=True))
    assert len(lines) == 10
    assert all(line[-5] is not None for line in lines)  # a final score each
