"""The whole tiering flow through a real Celery worker on the configured broker (Redis when
REDIS_URL is set, the filesystem transport otherwise): an administrator asks for a
reclassification over the API, the worker classifies, then reassigns, then reconciles."""

from decimal import Decimal

import pytest

from customers.models import ClassificationRun, Customer, Tier
from managers.models import Assignment, Role
from tests.factories import ManagerFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_reclassification_requested_over_the_api_runs_through_a_real_worker(
    world, api, real_worker, chain_finished
):
    # Given customer A, served by a key-account manager, now supplied at 110 kV, and a VIP manager
    Customer.objects.filter(pk=world.customer_a.pk).update(voltage_kv=Decimal("110"))
    vip_manager = ManagerFactory(station=world.station_a, role=Role.VIP_MANAGER)
    # When an administrator asks for a reclassification
    response = api(world.admin).post("/api/v1/classification-runs/")
    assert response.status_code == 202
    # Then the worker classifies, reassigns and reconciles
    assert chain_finished.wait(timeout=120), "the worker did not finish the chain"
    run = ClassificationRun.objects.get(pk=response.json()["id"])
    assert run.status == ClassificationRun.State.DONE
    assert run.transitions == {"key_account->vip": 1, "key_account->transformer_district": 1}
    customer = Customer.objects.get(pk=world.customer_a.pk)
    assert (customer.tier, customer.manager_id) == (Tier.VIP, vip_manager.pk)
    assert Assignment.objects.current().get(customer=customer).manager_id == vip_manager.pk
    assert run.reassignment["moved"] == 1
