"""End to end on a phone-sized screen: an account manager logs in through the form and finds their
own customers, and only theirs. Drives Debian's Chromium through Playwright."""

import pytest

from tests.e2e.browser import ARTIFACTS, chromium_path, log_in, phone_page


@pytest.fixture
def phone(monkeypatch):
    """A Playwright page in a phone-sized Chromium context."""
    with phone_page(monkeypatch) as page:
        yield page


@pytest.mark.browser
def test_manager_on_a_phone_logs_in_and_finds_only_their_own_customers(
    transactional_db, world, live_server, phone
):
    # given: the standard cast; manager A serves 甲钢铁厂, manager B serves 乙水泥厂
    page = phone

    # when: manager A logs in through the form and opens the customer list
    log_in(page, live_server.url, "manager_a")
    page.click("nav a[href='/customers/']")
    page.wait_for_url(f"{live_server.url}/customers/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "manager-phone-customers.png"), full_page=True)

    # then: their own customer is listed, the other manager's is not, and nothing overflows the screen
    rows = page.locator("table.customers tbody tr")
    assert rows.count() == 1
    assert "甲钢铁厂" in rows.first.inner_text()
    assert "乙水泥厂" not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.get_attribute("html", "lang") == "zh-hans"  # a Chinese phone gets the Chinese pages


def test_without_chromium_the_browser_test_skips_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr("tests.e2e.browser.CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.delenv("REQUIRE_BROWSER", raising=False)

    with pytest.raises(pytest.skip.Exception, match=r"apt-get install chromium\); \.ci/run installs it"):
        chromium_path()


def test_without_chromium_the_browser_test_fails_where_a_browser_is_required(monkeypatch):
    monkeypatch.setattr("tests.e2e.browser.CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.setenv("REQUIRE_BROWSER", "1")

    with pytest.raises(pytest.fail.Exception, match="REQUIRE_BROWSER=1"):
        chromium_path()
