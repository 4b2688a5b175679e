"""The API docs page renders with no internet: Swagger UI comes from this site's static files
(drf-spectacular-sidecar), not a CDN, under the content security policy. Drives Debian's Chromium
through Playwright with every request to another host refused, at 390 px (a phone) and 1366 px."""

from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import ARTIFACTS, WIDTHS, context_at, fits


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_the_api_docs_render_their_operations_without_internet(
    transactional_db, live_server, module_browser, width
):
    # given: a browser that can reach only the live server (every other host is refused, as offline)
    local = urlsplit(live_server.url).netloc
    refused = []
    csp_violations = []
    context = context_at(module_browser, width)

    def only_local(route):
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_violations.append(m.text))

    # when: the docs page is opened
    page.goto(f"{live_server.url}/api/v1/docs/")

    # then: Swagger UI drew the schema's operations, asking nothing of another host, and the
    # content security policy blocked nothing
    # (Swagger UI draws only the operations near the viewport, so a first screenful is the proof)
    page.locator(".opblock").nth(5).wait_for()
    assert page.locator(".opblock").count() > 5
    assert fits(page, width)
    page.screenshot(path=str(ARTIFACTS / f"api_docs_{width}.png"))
    context.close()
    assert refused == []
    assert csp_violations == []
