"""auth/token/: obtain a token with username and password, use it, revoke it with DELETE."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

URL = "/api/v1/auth/token/"
PASSWORD = "correct-horse-battery"  # tests/factories.py UserFactory


def _client(token: str | None = None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_integration_client_obtains_a_token(world):
    response = _client().post(URL, {"username": "billing", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=world.integration).key


def test_token_authenticates_api_requests(world):
    token = _client().post(URL, {"username": "billing", "password": PASSWORD}, format="json").json()["token"]
    response = _client(token).get("/api/v1/customers/")
    assert response.status_code == 200
    assert response.json()["count"] == 2


def test_asking_twice_returns_the_same_token(world):
    first = _client().post(URL, {"username": "billing", "password": PASSWORD}, format="json").json()
    second = _client().post(URL, {"username": "billing", "password": PASSWORD}, format="json").json()
    assert first == second


def test_wrong_password_answers_400_with_a_message(world):
    response = _client().post(URL, {"username": "billing", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert response.json()["non_field_errors"]
    assert not Token.objects.filter(user=world.integration).exists()


def test_unknown_user_answers_like_a_wrong_password(world):
    unknown = _client().post(URL, {"username": "nobody", "password": PASSWORD}, format="json")
    wrong = _client().post(URL, {"username": "billing", "password": "wrong"}, format="json")
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json() == wrong.json()


def test_missing_fields_answer_400_per_field(db):
    response = _client().post(URL, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_inactive_user_gets_no_token(db):
    UserFactory(username="gone", is_active=False)
    response = _client().post(URL, {"username": "gone", "password": PASSWORD}, format="json")
    assert response.status_code == 400


def test_request_without_token_answers_401(world):
    assert _client().get("/api/v1/customers/").status_code == 401


def test_invented_token_answers_401(world):
    assert _client("0" * 40).get("/api/v1/customers/").status_code == 401


def test_delete_revokes_the_token(world):
    # Given a client holding a token
    token = _client().post(URL, {"username": "billing", "password": PASSWORD}, format="json").json()["token"]
    # when it revokes it
    response = _client(token).delete(URL)
    # then the token no longer works
    assert response.status_code == 204
    assert _client(token).get("/api/v1/customers/").status_code == 401


def test_after_revoking_a_new_login_gets_a_new_token(world):
    old = _client().post(URL, {"username": "billing", "password": PASSWORD}, format="json").json()["token"]
    _client(old).delete(URL)
    new = _client().post(URL, {"username": "billing", "password": PASSWORD}, format="json").json()["token"]
    assert new != old
    assert _client(new).get("/api/v1/customers/").status_code == 200


def test_delete_without_authentication_answers_401(db):
    assert _client().delete(URL).status_code == 401
