"""Personas shared by the suite: two managers in different stations (each with a customer), their
supervisor, an administrator and an integration client."""

from types import SimpleNamespace

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.accounts import roles
from customers.models import Tier
from managers.models import Role
from tests.factories import (
    CustomerFactory,
    ManagerFactory,
    StationFactory,
    UserFactory,
)


@pytest.fixture
def world(db):
    """The standard cast. `world.manager_a` serves `world.customer_a` in station A; manager B serves
    customer B in station B; the supervisor supervises manager A only."""
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
    return SimpleNamespace(
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
