"""What a browser or a proxy may keep of our answers: nothing that a signed-in user was shown
(Cache-Control: no-store, private), the language cookie only over HTTPS, out of scripts' reach and
not sent by other sites' requests; and the API schema and docs, open to anyone by design."""

from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from crm.common.middleware import PrivateCacheMiddleware
from tests.crm.production import run_with_production_settings

CANARY = "乙水泥厂"  # customer B's name (tests/conftest.py)


def _no_store(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


# ---------------------------------------------------------------- Cache-Control
def test_a_page_shown_to_a_signed_in_user_is_not_stored(world, client):
    client.force_login(world.manager_a.user)
    response = client.get(f"/customers/{world.customer_a.pk}/")
    assert response.status_code == 200
    assert _no_store(response)


def test_an_api_answer_to_a_token_is_not_stored(world, api):
    response = api(world.integration).get("/api/v1/customers/")
    assert response.status_code == 200
    assert _no_store(response)


def test_an_export_is_not_stored(world, client):
    client.force_login(world.admin)
    response = client.get(reverse("training:compliance-xlsx"), {"year": 2026})
    assert response.status_code == 200
    assert _no_store(response)


def test_an_answer_that_sets_its_own_cache_control_keeps_it(world):
    # given a view that says how it may be cached, answering a signed-in user
    request = RequestFactory().get("/somewhere/")
    request.user = world.admin

    def view(request):
        response = HttpResponse("public")
        response["Cache-Control"] = "public, max-age=60"
        return response

    # when the middleware sees the answer; then it leaves the view's word alone
    assert PrivateCacheMiddleware(view)(request)["Cache-Control"] == "public, max-age=60"


# ---------------------------------------------------------------- the language cookie
def test_the_language_cookie_is_http_only_and_same_site_lax(db, client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    cookie = response.cookies["django_language"]
    assert cookie.value == "en"
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_production_sends_the_language_cookie_only_over_https():
    started = run_with_production_settings(
        "print(settings.LANGUAGE_COOKIE_SECURE, settings.LANGUAGE_COOKIE_HTTPONLY, "
        "settings.LANGUAGE_COOKIE_SAMESITE)",
        DJANGO_SECRET_KEY="k" * 48,
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["True", "True", "Lax"]


# ---------------------------------------------------------------- the schema and docs
def test_the_schema_and_docs_are_open_to_anonymous_visitors_and_carry_no_data(world, client):
    # the contract is public (shared/spec/api.md) and integration clients read it before they hold
    # a token; it describes the API's shapes, never its data
    schema = client.get("/api/v1/schema/")
    docs = client.get("/api/v1/docs/")
    assert schema.status_code == docs.status_code == 200
    assert CANARY not in schema.content.decode()
    assert world.customer_b.account_no not in schema.content.decode()
