"""Reads off the primary (crm/common/replica.py, docs/scale.md): the views it names read a replica,
a user who has just written reads the primary until the pin expires, transactions and tasks read the
primary, writes never go to the replica, and without DATABASE_REPLICA_URL nothing changes.

The replica is a second PostgreSQL database: a copy of the test database made in the test (after its
data), in which customer A has another name; a read that answers that name came from the replica."""

import json
import os
import subprocess
import sys

import psycopg2
import pytest
from celery import shared_task
from django.conf import settings as django_settings
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.utils import load_backend
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from psycopg2 import sql

from crm.common import replica
from crm.common.replica import REPLICA, ReplicaRouter, replica_reads
from customers.models import Contact, Customer
from tests.appraisal.core_helpers import open_cycle

PRIMARY_NAME = "甲钢铁厂"  # customer A in `world`
REPLICA_NAME = "甲钢铁厂（副本）"
PIN_MIDDLEWARE = "crm.common.replica.PinAfterWriteMiddleware"
CUSTOMERS = "/api/v1/customers/"


def _admin_sql(params: dict, statement: sql.Composable, args=()) -> None:
    """One statement on the server's `postgres` database, outside a transaction (CREATE DATABASE)."""
    conn = psycopg2.connect(
        dbname="postgres",
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement, args)
    finally:
        conn.close()


# The replica's connection is made by the test, not from settings.DATABASES, as Django allows for
# a connection made while a test runs; when DATABASE_REPLICA_URL is set for the run, the alias is in
# the settings (a mirror of the test database) and the tests name it among their databases.
DATABASES = [DEFAULT_DB_ALIAS, REPLICA] if REPLICA in django_settings.DATABASES else [DEFAULT_DB_ALIAS]
on_a_replica = pytest.mark.django_db(transaction=True, databases=DATABASES)


@pytest.fixture
def make_replica(world, settings):
    """make_replica(): copies the test database, as it is now, into a second database, gives customer
    A another name there, and makes it the `replica` connection with the router and the pin
    middleware installed, as DATABASE_REPLICA_URL would. Afterwards the alias is as it was (absent,
    or the mirror of the test database) and the copy is dropped."""
    primary = connections[DEFAULT_DB_ALIAS]
    params = primary.settings_dict
    name = f"{params['NAME']}_replica"
    saved = connections[REPLICA] if REPLICA in connections else None  # noqa: SIM401 - it has no get()
    made = []

    def make() -> None:
        primary.close()  # a template may have no other sessions
        _admin_sql(
            params,
            sql.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"),
            [params["NAME"]],
        )
        _admin_sql(params, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        _admin_sql(
            params,
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(params["NAME"])
            ),
        )
        copy = {**params, "NAME": name, "TEST": {**params["TEST"], "MIRROR": None}}
        connections[REPLICA] = load_backend(copy["ENGINE"]).DatabaseWrapper(copy, REPLICA)
        made.append(connections[REPLICA])
        settings.DATABASE_ROUTERS = [replica.ROUTER]
        if PIN_MIDDLEWARE not in settings.MIDDLEWARE:
            settings.MIDDLEWARE = [*settings.MIDDLEWARE, PIN_MIDDLEWARE]
        Customer.objects.using(REPLICA).filter(pk=world.customer_a.pk).update(name=REPLICA_NAME)

    yield make
    if made:
        made[0].close()
        if saved is None:
            del connections[REPLICA]
        else:
            connections[REPLICA] = saved
        _admin_sql(params, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _listed(client) -> list[str]:
    response = client.get(CUSTOMERS)
    assert response.status_code == 200
    return [row["name"] for row in response.json()["results"]]


def _request(user, method="GET"):
    request = RequestFactory().generic(method, "/")
    request.user = user
    return request


@shared_task
def customer_name_task(pk: int) -> str:
    return Customer.objects.get(pk=pk).name


# ---------------------------------------------------------------- (a) the views named read the replica
@pytest.mark.postgres
@on_a_replica
def test_customer_list_api_is_read_from_the_replica(world, api, make_replica):
    # given
    make_replica()
    # when / then
    assert _listed(api(world.manager_a.user)) == [REPLICA_NAME]
    assert Customer.objects.get(pk=world.customer_a.pk).name == PRIMARY_NAME  # elsewhere: the primary


@pytest.mark.postgres
@on_a_replica
def test_customer_detail_api_reads_the_primary(world, api, make_replica):
    # given
    make_replica()
    # when
    response = api(world.manager_a.user).get(f"{CUSTOMERS}{world.customer_a.pk}/")
    # then
    assert response.json()["name"] == PRIMARY_NAME


@pytest.mark.postgres
@on_a_replica
def test_customer_list_page_is_read_from_the_replica(client, world, make_replica):
    # given
    make_replica()
    client.force_login(world.manager_a.user)
    # when
    html = client.get(reverse("customers:list")).content.decode()
    # then
    assert REPLICA_NAME in html


@pytest.mark.postgres
@on_a_replica
@pytest.mark.parametrize(
    "page",
    ["training:compliance", "training:compliance-xlsx", "appraisal:export", "forecasts:industry-export"],
)
def test_the_report_and_the_exports_are_read_from_the_replica(client, world, make_replica, page):
    # given (the appraisal review needs a cycle, made before the copy)
    args = [open_cycle(world).year] if page == "appraisal:export" else []
    make_replica()
    client.force_login(world.supervisor)
    # when
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        response = client.get(reverse(page, args=args), {"year": 2026} if page.startswith("training") else {})
    # then
    assert response.status_code == 200
    assert on_replica.captured_queries


# ---------------------------------------------------------------- (b) pin after write
@pytest.mark.postgres
@on_a_replica
def test_a_write_pins_its_user_to_the_primary_until_the_pin_expires(world, api, make_replica, monkeypatch):
    # given
    make_replica()
    manager = api(world.manager_a.user)
    assert _listed(manager) == [REPLICA_NAME]
    # when manager A writes
    response = manager.post("/api/v1/contacts/", {"customer": world.customer_a.pk, "name": "周工"})
    assert response.status_code == 201
    # then their reads come from the primary, while the supervisor, who wrote nothing, reads the replica
    assert _listed(manager) == [PRIMARY_NAME]
    assert _listed(api(world.supervisor)) == [REPLICA_NAME]
    # when the pin has run out
    now = replica.clock()
    monkeypatch.setattr(replica, "clock", lambda: now + django_settings.DATABASE_REPLICA_PIN_SECONDS + 1)
    # then manager A reads the replica again
    assert _listed(manager) == [REPLICA_NAME]


@pytest.mark.postgres
@on_a_replica
def test_a_refused_write_does_not_pin(world, api, make_replica):
    # given
    make_replica()
    manager = api(world.manager_a.user)
    # when manager A's write is refused
    response = manager.post("/api/v1/contacts/", {"customer": world.customer_a.pk, "name": ""})
    assert response.status_code == 400
    # then
    assert _listed(manager) == [REPLICA_NAME]


@pytest.mark.postgres
@on_a_replica
def test_a_form_post_pins_the_signed_in_user(client, world, make_replica):
    # given
    make_replica()
    client.force_login(world.manager_a.user)
    # when manager A posts a form (the language switch answers with a redirect)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    # then
    assert REPLICA_NAME not in client.get(reverse("customers:list")).content.decode()


# ---------------------------------------------------------------- transactions and tasks
@pytest.mark.postgres
@on_a_replica
def test_reads_inside_a_transaction_or_a_task_go_to_the_primary(world, make_replica):
    # given
    make_replica()
    pk = world.customer_a.pk
    with replica_reads(_request(world.manager_a.user)) as on_replica:
        assert on_replica
        assert Customer.objects.get(pk=pk).name == REPLICA_NAME
        # when / then
        with transaction.atomic():
            assert Customer.objects.get(pk=pk).name == PRIMARY_NAME
        assert customer_name_task.apply(args=[pk]).get() == PRIMARY_NAME


@pytest.mark.postgres
@on_a_replica
def test_unsafe_requests_and_pinned_users_get_no_replica_scope(world, make_replica):
    # given
    make_replica()
    replica.pin_to_primary(world.supervisor)
    # when / then
    with replica_reads(_request(world.manager_a.user, "POST")) as on_replica:
        assert not on_replica
    with replica_reads(_request(world.supervisor)) as on_replica:
        assert not on_replica
        assert Customer.objects.get(pk=world.customer_a.pk).name == PRIMARY_NAME


# ---------------------------------------------------------------- (c) writes never go to the replica
@pytest.mark.postgres
@on_a_replica
def test_a_write_lands_on_the_primary_only(world, api, make_replica):
    # given
    make_replica()
    # when
    response = api(world.manager_a.user).post(
        "/api/v1/contacts/", {"customer": world.customer_a.pk, "name": "周工"}
    )
    # then
    assert response.status_code == 201
    assert Contact.objects.using(DEFAULT_DB_ALIAS).filter(name="周工").exists()
    assert not Contact.objects.using(REPLICA).filter(name="周工").exists()


@pytest.mark.postgres
@on_a_replica
def test_an_object_read_from_the_replica_is_saved_on_the_primary(world, make_replica):
    # given a customer read inside the scope, from the replica
    make_replica()
    with replica_reads(_request(world.manager_a.user)):
        customer = Customer.objects.get(pk=world.customer_a.pk)
        assert customer._state.db == REPLICA
        # when
        customer.name = "甲钢铁厂（改）"
        customer.save(update_fields=["name"])
        Customer.objects.filter(pk=world.customer_b.pk).update(name="乙水泥厂（改）")
    # then
    assert Customer.objects.using(DEFAULT_DB_ALIAS).get(pk=world.customer_a.pk).name == "甲钢铁厂（改）"
    assert Customer.objects.using(REPLICA).get(pk=world.customer_a.pk).name == REPLICA_NAME
    assert Customer.objects.using(DEFAULT_DB_ALIAS).get(pk=world.customer_b.pk).name == "乙水泥厂（改）"
    assert Customer.objects.using(REPLICA).get(pk=world.customer_b.pk).name == "乙水泥厂"


def test_the_router_writes_and_migrates_on_the_primary_only():
    # given
    routes = ReplicaRouter()
    # when / then
    assert routes.db_for_write(Customer) == DEFAULT_DB_ALIAS
    assert routes.db_for_read(Customer) == DEFAULT_DB_ALIAS  # outside `replica_reads`
    assert routes.allow_migrate(REPLICA, "customers", "customer") is False
    assert routes.allow_migrate(DEFAULT_DB_ALIAS, "customers", "customer") is None


def test_the_router_allows_relations_between_primary_and_replica_objects():
    # given
    on_primary, on_replica = Customer(), Customer()
    on_primary._state.db, on_replica._state.db = DEFAULT_DB_ALIAS, REPLICA
    # when / then
    assert ReplicaRouter().allow_relation(on_primary, on_replica) is True


# ---------------------------------------------------------------- (d) without DATABASE_REPLICA_URL
def _base_settings(**environ) -> dict:
    """crm.settings.base as a fresh process reads it under `environ` (DATABASE_REPLICA_URL unset
    unless given)."""
    code = (
        "import json; from crm.settings import base as s; print(json.dumps({"
        "'databases': s.DATABASES, 'routers': getattr(s, 'DATABASE_ROUTERS', None),"
        "'middleware': s.MIDDLEWARE}, default=str))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_REPLICA_URL"} | environ
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_a_replica_url_there_is_one_database_and_no_router():
    # given / when
    read = _base_settings()
    # then
    assert list(read["databases"]) == ["default"]
    assert read["routers"] is None
    assert PIN_MIDDLEWARE not in read["middleware"]


def test_a_replica_url_adds_the_replica_mirrored_in_tests_with_router_and_pin():
    # given / when
    read = _base_settings(DATABASE_REPLICA_URL="postgres://reader@replica.example:5432/crm")
    # then
    assert read["databases"]["replica"]["HOST"] == "replica.example"
    assert read["databases"]["replica"]["TEST"] == {"MIRROR": "default"}
    assert read["routers"] == [replica.ROUTER]
    auth = read["middleware"].index("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert read["middleware"][auth + 1] == PIN_MIDDLEWARE


def test_without_a_replica_the_list_reads_the_primary_and_looks_up_no_pin(world, api, monkeypatch):
    # given the suite's own settings, without a replica
    if replica.configured():
        pytest.skip("DATABASE_REPLICA_URL is set for this run")

    def no_pin_look_up(user):
        raise AssertionError("the pin was looked up")

    monkeypatch.setattr(replica, "is_pinned", no_pin_look_up)
    # when / then
    with replica_reads(_request(world.manager_a.user)) as on_replica:
        assert not on_replica
        assert router.db_for_read(Customer) == DEFAULT_DB_ALIAS
    assert _listed(api(world.manager_a.user)) == [PRIMARY_NAME]
