"""Fixtures shared by the appraisal tests: the default cycle of 2026 opened by the administrator,
manager A's appraisal in it, and a colleague to seat on a panel."""

import pytest

from crm.accounts import roles
from tests.appraisal.core_helpers import appraisal_of, open_cycle
from tests.factories import UserFactory


@pytest.fixture
def cycle(world):
    return open_cycle(world)


@pytest.fixture
def appraisal_a(world, cycle):
    return appraisal_of(cycle, world.manager_a)


@pytest.fixture
def colleague(world):
    return UserFactory(username="colleague", full_name="钱工", role=roles.ACCOUNT_MANAGER)
