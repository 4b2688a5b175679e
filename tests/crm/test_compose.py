"""docker-compose.yml, the Dockerfile and .env.example: valid, complete and consistent.

No Docker engine is needed: the compose file is checked against the Compose Specification's JSON
schema (tests/crm/compose-spec.json, the schema embedded in Docker Compose v2.40.3, Apache-2.0),
and its structure is read with PyYAML."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).with_name("compose-spec.json")
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_compose_file_follows_the_compose_specification(compose):
    # given the Compose Specification's schema
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    # when / then
    jsonschema.Draft7Validator(schema).validate(compose)


def test_compose_runs_the_database_the_broker_web_worker_and_beat(services):
    # given / then
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    assert services["db"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")


def test_web_worker_and_beat_run_the_one_image_built_from_the_dockerfile(services):
    # given the three application services
    builds = {name: json.dumps(services[name].get("build"), sort_keys=True) for name in APP_SERVICES}
    images = {services[name].get("image") for name in APP_SERVICES}
    # then
    assert len(set(builds.values())) == 1
    assert json.loads(builds["web"]) in (".", {"context": "."})
    assert len(images) == 1
    assert "gunicorn crm.wsgi" in " ".join(services["web"]["command"])
    assert services["worker"]["command"][:4] == ["celery", "-A", "crm", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "crm", "beat"]


def test_db_and_redis_have_healthchecks_and_the_app_waits_for_them_to_be_healthy(services):
    # given / then
    for name in ("db", "redis"):
        assert services[name]["healthcheck"]["test"]
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_web_migrates_before_serving_and_worker_and_beat_wait_for_it(services):
    # given the web command
    command = " ".join(services["web"]["command"])
    # then
    assert command.index("migrate") < command.index("gunicorn")
    assert services["web"]["healthcheck"]["test"]
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_database_and_uploaded_files_live_on_named_volumes(compose, services):
    # given / then
    assert {"pgdata", "media"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    mounts = {name: services[name]["volumes"] for name in ("web", "worker")}
    assert mounts["web"] == mounts["worker"]
    assert "media:/app/media" in mounts["web"]
    assert services["web"]["environment"]["DJANGO_MEDIA_ROOT"] == "/app/media"


def test_the_app_points_at_the_compose_database_and_redis(services):
    # given / then
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert "@db:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert any(str(f.get("path", f)) == ".env" for f in services[name]["env_file"])


def test_env_example_documents_every_variable_of_the_compose_file_and_the_settings():
    # given the variables compose interpolates and the settings read
    compose_text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose_text))
    for path in (ROOT / "crm" / "settings").glob("*.py"):
        used |= set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", path.read_text(encoding="utf-8")))
    # then
    missing = used - env_example_names()
    assert not missing, f"document {sorted(missing)} in .env.example"


def test_env_example_leaves_the_secret_key_to_be_set():
    # given / then
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert re.search(r"^DJANGO_SECRET_KEY=$", text, flags=re.MULTILINE)


def test_dockerfile_builds_a_slim_python_311_image_run_by_a_non_root_user():
    # given
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    # then
    assert re.search(r"^FROM python:3\.11-slim\b", text, flags=re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")
    assert "collectstatic" in text
    assert re.search(r'^CMD \["gunicorn", "crm\.wsgi:application"', text, flags=re.MULTILINE)


def test_dockerfile_installs_the_runtime_lock_and_the_project_without_dependencies():
    # given
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    # then the image holds the versions of requirements.txt (`make lock`), checked by their hashes,
    # and nothing resolved from pyproject.toml's ranges
    assert re.search(r"^COPY requirements\.txt \./$", text, flags=re.MULTILINE)
    assert re.search(r"pip install --require-hashes -r requirements\.txt$", text, flags=re.MULTILINE)
    assert re.search(r"pip install --no-deps -e \.", text)
    assert "tomllib" not in text
