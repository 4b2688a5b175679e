"""Dead ends in Chromium, in Chinese, at 390 px (a phone) and 1366 px (a desk), issue 17 point 5: a
page outside the role (403), an object out of reach (404) and a form whose CSRF token was refused
each show the product's page, fitting the screen, with the way home (and back to the form); the
API's errors stay JSON. Screenshots go to test-artifacts/dead_end_*.png."""

import pytest

from tests.e2e.browser import ARTIFACTS, WIDTHS, fits, signed_in
from tests.factories import VisitTaskFactory


def _is_the_products_page(page, width: int, heading: str) -> None:
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert page.locator("header.topbar").count() == 1  # the product's frame, not Django's page
    assert page.inner_text("section.error-page h1") == heading
    assert page.locator("p.way-back a[href='/']").inner_text() == "返回首页"
    assert fits(page, width)


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_403_404_and_a_refused_form_show_the_way_home_in_chinese(
    transactional_db, world, live_server, module_browser, width
):
    base = live_server.url
    task = VisitTaskFactory(customer=world.customer_a)
    ARTIFACTS.mkdir(exist_ok=True)
    # given manager A signed in
    with signed_in(module_browser, base, "manager_a", width) as page:
        # when they open the supervisor's unassigned list, then it is the 403 page with the way home
        response = page.goto(f"{base}/managers/unassigned/")
        assert response.status == 403
        _is_the_products_page(page, width, "无权访问此页面")
        page.screenshot(path=str(ARTIFACTS / f"dead_end_403_{width}.png"), full_page=True)
        # and the way home leads home
        page.click("p.way-back a[href='/']")
        page.wait_for_url(f"{base}/")

        # when they open another manager's customer, then it is the 404 page
        response = page.goto(f"{base}/customers/{world.customer_b.pk}/")
        assert response.status == 404
        _is_the_products_page(page, width, "页面不存在")
        assert "乙水泥厂" not in page.content()
        page.screenshot(path=str(ARTIFACTS / f"dead_end_404_{width}.png"), full_page=True)

        # when a report form is sent with a token the server refuses (as after a long pause)
        page.goto(f"{base}/visits/tasks/{task.pk}/report/")
        page.locator("form.report input[name=csrfmiddlewaretoken]").evaluate(
            "input => { input.value = 'x'.repeat(64); }"
        )
        page.check("input[name=satisfaction][value='4']")
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.click("form.report button[type=submit]:not([data-add-row])")
        assert sent.value.status == 403
        # then the page says the form expired, with the way back to the form and home
        _is_the_products_page(page, width, "表单已过期")
        page.screenshot(path=str(ARTIFACTS / f"dead_end_csrf_{width}.png"), full_page=True)
        page.click("p.way-back a:has-text('返回表单')")
        page.wait_for_url(f"{base}/visits/tasks/{task.pk}/report/")

        # and the API answers the same 404 as JSON, not a page
        answer = page.request.get(f"{base}/api/v1/customers/{world.customer_b.pk}/")
        assert answer.status == 404
        assert answer.headers["content-type"].startswith("application/json")
        assert "detail" in answer.json()
