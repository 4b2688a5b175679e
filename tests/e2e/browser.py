"""Debian's Chromium through Playwright, for the end-to-end tests: launched headless, and a page in a
phone-sized context. Skips without the browser (fails with REQUIRE_BROWSER=1)."""

import contextlib
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


@contextlib.contextmanager
def chromium(monkeypatch):
    """A headless Chromium, closed afterwards."""
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test's set-up
    # and of pytest-django's teardown are still synchronous and safe here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def phone_page(monkeypatch, **context):
    """A page in a phone-sized context: PHONE, with `context` replacing any of its settings."""
    with chromium(monkeypatch) as browser:
        phone = browser.new_context(**{**PHONE, **context})
        phone.set_default_timeout(15_000)
        try:
            yield phone.new_page()
        finally:
            phone.close()


PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def log_in(page, base: str, username: str) -> None:
    """`username` logs in through the login form of the site at `base`, landing on the home page."""
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{base}/")


WIDTHS = (390, 1366)  # issue 17's phone and desk


def context_at(browser, width: int):
    """A Chinese context `width` pixels wide: the phone's settings at 390, a desk window otherwise."""
    if width <= PHONE["viewport"]["width"]:
        context = browser.new_context(**PHONE)
    else:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    return context


def fits(page, width: int) -> bool:
    """Nothing on the page is wider than the viewport."""
    return page.evaluate("document.documentElement.scrollWidth") <= width


@contextlib.contextmanager
def signed_in(browser, base: str, username: str, width: int):
    """A page `width` pixels wide, in Chinese, with `username` logged in; its context closed after."""
    context = context_at(browser, width)
    try:
        page = context.new_page()
        log_in(page, base, username)
        yield page
    finally:
        context.close()
