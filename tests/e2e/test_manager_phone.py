"""End to end on a phone-sized screen: an account manager logs in through the form and finds their
own customers, and only theirs. Drives Debian's Chromium through Playwright."""

import os
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "locale": "zh-CN",
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36"
    ),
}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str:
    """The first Chromium binary found; skips (or fails when REQUIRE_BROWSER=1) if there is none."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.path.exists(candidate) and os.access(candidate, os.X_OK):
            return candidate
    reason = "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def phone(monkeypatch):
    """A Playwright page in a phone-sized Chromium context."""
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test's set-up
    # and of pytest-django's teardown are still synchronous and safe here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(**PHONE)
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


@pytest.mark.browser
def test_manager_on_a_phone_logs_in_and_finds_only_their_own_customers(
    transactional_db, world, live_server, phone
):
    # given: the standard cast; manager A serves 甲钢铁厂, manager B serves 乙水泥厂
    page = phone

    # when: manager A logs in through the form and opens the customer list
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "manager_a")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
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
    monkeypatch.setattr(f"{__name__}.CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.delenv("REQUIRE_BROWSER", raising=False)

    with pytest.raises(pytest.skip.Exception, match=r"apt-get install chromium\); \.ci/run installs it"):
        chromium_path()


def test_without_chromium_the_browser_test_fails_where_a_browser_is_required(monkeypatch):
    monkeypatch.setattr(f"{__name__}.CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.setenv("REQUIRE_BROWSER", "1")

    with pytest.raises(pytest.fail.Exception, match="REQUIRE_BROWSER=1"):
        chromium_path()
