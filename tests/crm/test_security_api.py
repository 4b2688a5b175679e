"""What schemathesis found at the edges of the API, fixed: an unmatched API path answers the
API's JSON 404, the schema declares the pagination bounds and nested validation errors."""

from rest_framework.test import APIClient


def test_an_api_path_that_matches_no_endpoint_answers_json_404(world, api):
    response = api(world.admin).get("/api/v1/customers/0.5/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


def test_pages_outside_the_api_keep_the_html_404(world, client):
    client.force_login(world.admin)
    response = client.get("/customers/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_schema_declares_that_pages_and_page_sizes_start_at_1(db):
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/customers/"]["get"]["parameters"]}
    assert parameters["page"]["schema"]["minimum"] == 1
    assert parameters["page_size"]["schema"]["minimum"] == 1


def test_schema_allows_nested_field_errors(db):
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    shapes = schema["components"]["schemas"]["ValidationError"]["additionalProperties"]["oneOf"]
    assert {"type": "object"} in shapes
