"""Personas shared by the suite: two managers in different stations (each with a customer), their
supervisor, an administrator, an integration client, a department of every kind in their branch and
a metering department's staff user."""

import datetime as dt
from types import SimpleNamespace

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from kombu import pools
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.accounts import roles
from crm.celery import app as celery_app
from customers.models import Tier, TierPolicy
from managers.models import Role
from service.models import DepartmentKind
from tests.factories import (
    CustomerFactory,
    DepartmentFactory,
    ManagerFactory,
    StaffProfileFactory,
    StationFactory,
    UserFactory,
)


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need PostgreSQL: on SQLite they are skipped with the reason (CI sets
    DATABASE_URL, so there they always run)."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture
def world(db):
    """The standard cast. `world.manager_a` serves `world.customer_a` in station A; manager B serves
    customer B in station B; the supervisor supervises manager A only."""
    # The data migration's default tier policy; a transactional test before this one flushed it.
    TierPolicy.objects.get_or_create(version=1, defaults={"effective_from": dt.date(2000, 1, 1)})
    station_a, station_b = StationFactory(name="城关供电所"), StationFactory(name="河口供电所")
    supervisor = UserFactory(username="supervisor", full_name="李主管", role=roles.SUPERVISOR)
    manager_a = ManagerFactory(
        user=UserFactory(
            username="manager_a", full_name="张经理", supervisor=supervisor, role=roles.ACCOUNT_MANAGER
        ),
        station=station_a,
        role=Role.KEY_ACCOUNT_MANAGER,
    )
    manager_b = ManagerFactory(
        user=UserFactory(username="manager_b", full_name="赵经理", role=roles.ACCOUNT_MANAGER),
        station=station_b,
        role=Role.KEY_ACCOUNT_MANAGER,
    )
    customer_a = CustomerFactory(
        station=station_a, tier=Tier.KEY_ACCOUNT, manager=manager_a.user, name="甲钢铁厂"
    )
    customer_b = CustomerFactory(
        station=station_b, tier=Tier.KEY_ACCOUNT, manager=manager_b.user, name="乙水泥厂"
    )
    admin = UserFactory(username="admin", full_name="管理员", role=roles.ADMINISTRATOR, is_staff=True)
    integration = UserFactory(username="billing", full_name="营销系统", role=roles.INTEGRATION_CLIENT)
    # one department of every kind in the stations' branch, and a metering staff user
    departments = {
        kind: DepartmentFactory(branch=station_a.branch, kind=kind, code=f"D-{kind}")
        for kind in DepartmentKind.values
    }
    staff = StaffProfileFactory(
        user=UserFactory(username="staff_metering", full_name="计量班王工", role=roles.DEPARTMENT_STAFF),
        department=departments[DepartmentKind.METERING],
    ).user
    return SimpleNamespace(
        departments=departments,
        staff=staff,
        station_a=station_a,
        station_b=station_b,
        supervisor=supervisor,
        manager_a=manager_a,
        manager_b=manager_b,
        customer_a=customer_a,
        customer_b=customer_b,
        admin=admin,
        integration=integration,
    )


@pytest.fixture
def api():
    """An API client factory: api(user) is authenticated with that user's token."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


def _fresh_broker_connections() -> None:
    """Forget pooled broker connections and the result backend, so the next ones follow the
    configuration now in force. kombu keeps its pools in a registry keyed by broker URL: closing one
    without clearing the registry would hand the closed pool to the next user of the same URL."""
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None  # a thread-safe backend, shared by threads
    celery_app._local.__dict__.pop("backend", None)  # or this thread's own


@pytest.fixture
def real_worker(transactional_db, tmp_path):
    """A Celery worker thread on the broker the settings name (Redis when REDIS_URL is set, as in
    CI; the filesystem transport otherwise), with tasks sent through it instead of run in-process.
    Without Redis the filesystem broker gets folders of its own, control folder included, so no
    message or broadcast of another run (or of another xdist worker) is consumed."""
    keys = (
        "task_always_eager",
        "broker_transport_options",
        "broker_url",
        "broker_write_url",
        "broker_read_url",
    )
    saved = {key: celery_app.conf.get(key) for key in keys}
    celery_app.conf.update(
        task_always_eager=False,
        # the broker of the settings, whatever an earlier test left in the app's configuration
        broker_url=settings.CELERY_BROKER_URL,
        broker_write_url=None,
        broker_read_url=None,
    )
    if celery_app.conf.broker_url.startswith("filesystem"):
        celery_app.conf.broker_transport_options = {
            **saved["broker_transport_options"],
            "data_folder_in": str(tmp_path),
            "data_folder_out": str(tmp_path),
            "control_folder": str(tmp_path / "control"),
        }
    _fresh_broker_connections()
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        celery_app.conf.update(saved)
        _fresh_broker_connections()


@pytest.fixture
def chain_finished():
    """Set once a step of a chain has run in a worker and a chain has ended (crm.common.chains)."""
    import threading

    from celery.signals import task_postrun

    from crm.common.models import ChainRun

    done = threading.Event()

    def on_postrun(sender=None, **kwargs):
        ended = sender is not None and sender.name == "crm.common.chains.chain_step_task"
        if ended and ChainRun.objects.filter(finished_at__isnull=False).exists():
            done.set()

    task_postrun.connect(on_postrun, weak=False)
    yield done
    task_postrun.disconnect(on_postrun)
