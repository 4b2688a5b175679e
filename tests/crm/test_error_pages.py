"""The pages a user hits at a dead end (403, 404, 500, a refused form): the product's, in the user's
language, saying what happened and how to go on; the API's stay JSON."""

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.utils import translation

from crm.common.views import server_error

MISSING = "/no-such-page/"


def test_a_missing_page_is_the_products_page_in_chinese_with_a_way_home(client, world):
    # given: a signed-in manager
    client.force_login(world.manager_a.user)

    # when: they open an address that is no page
    response = client.get(MISSING)

    # then: a 404 in the product's frame, in Chinese, saying so and linking home
    page = response.content.decode()
    assert response.status_code == 404
    assert 'class="topbar"' in page
    assert 'lang="zh-hans"' in page
    assert "页面不存在" in page
    assert 'href="/"' in page
    assert "返回首页" in page
    assert "Not Found" not in page


def test_a_missing_page_offers_an_anonymous_visitor_the_log_in(client, db):
    # when: someone not signed in opens an address that is no page
    response = client.get(MISSING)

    # then: the page links to the log-in
    assert response.status_code == 404
    assert 'href="/login/"' in response.content.decode()


def test_a_missing_page_is_in_english_for_who_chose_english(client, world):
    # given: a manager who switched to English
    client.force_login(world.manager_a.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    # when / then: the 404 is in English
    page = client.get(MISSING).content.decode()
    assert "Page not found" in page
    assert "Back to the home page" in page


@pytest.mark.parametrize("where", ["unknown address", "object out of reach"])
def test_with_debug_on_a_missing_page_is_still_the_products(client, world, settings, where):
    # given: DEBUG on, as under `make run`, and a signed-in manager
    settings.DEBUG = True
    client.force_login(world.manager_a.user)
    url = MISSING if where == "unknown address" else f"/customers/{world.customer_b.pk}/"

    # when: they open an unknown address, or another manager's customer
    response = client.get(url)

    # then: the product's 404, not Django's technical page
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_with_debug_on_an_address_without_its_slash_is_still_redirected(client, world, settings):
    # given: DEBUG on and a signed-in manager
    settings.DEBUG = True
    client.force_login(world.manager_a.user)

    # when / then: /customers (no slash) still goes to /customers/
    response = client.get("/customers")
    assert response.status_code == 301
    assert response["Location"] == "/customers/"


def test_with_debug_on_the_api_still_answers_404_in_json(client, world, settings):
    settings.DEBUG = True
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_a_refused_page_is_the_products_page_in_chinese(client, world):
    # given: the integration client, whose role has no training records
    client.force_login(world.integration)

    # when: it opens the training compliance report
    response = client.get("/training/compliance/")

    # then: a 403 in the product's frame, in Chinese, saying the page is not theirs, linking home
    page = response.content.decode()
    assert response.status_code == 403
    assert 'class="topbar"' in page
    assert "无权访问" in page
    assert "返回首页" in page
    assert "Forbidden" not in page


def test_a_form_refused_by_the_csrf_check_is_explained_in_chinese(db):
    # given: a browser whose form carries no CSRF token (an expired page, cookies blocked)
    client = Client(enforce_csrf_checks=True)

    # when: it posts the log-in form
    response = client.post("/login/", {"username": "x", "password": "y"})

    # then: the product's 403 says the form expired and how to go on, in Chinese
    page = response.content.decode()
    assert response.status_code == 403
    assert 'class="topbar"' in page
    assert "表单已过期" in page
    assert 'href="/login/"' in page
    assert "CSRF verification failed" not in page


def test_the_500_page_needs_neither_the_database_nor_a_signed_in_user():
    # given: no database (this test has no db fixture) and a bare request, in Chinese
    request = RequestFactory().get("/customers/")

    # when: the server-error page is rendered
    with translation.override("zh-hans"):
        response = server_error(request)

    # then: a Chinese page saying so, with a way home, in the product's colours
    page = response.content.decode()
    assert response.status_code == 500
    assert "服务器出错" in page
    assert 'href="/"' in page
    assert "/static/crm/app.css" in page


@pytest.mark.urls("tests.crm.error_page_urls")
def test_a_page_that_fails_answers_the_products_500_page(client, db):
    client.raise_request_exception = False
    response = client.get("/broken/")
    assert response.status_code == 500
    assert "服务器出错" in response.content.decode()


@pytest.mark.urls("tests.crm.error_page_urls")
def test_an_api_endpoint_that_fails_answers_500_in_json(client, db):
    # given: an endpoint with a bug
    client.raise_request_exception = False

    # when: it is called
    response = client.get("/api/v1/broken/", HTTP_ACCEPT_LANGUAGE="en")

    # then: the API's error shape, not an HTML page
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "A server error occurred."}
