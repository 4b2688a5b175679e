"""Visit jobs through a real Celery worker on the configured broker (Redis when REDIS_URL is set,
the filesystem transport otherwise)."""

import threading
from decimal import Decimal

import pytest
from celery.signals import task_postrun

from customers.models import Customer, Tier
from managers.models import Role
from tests.factories import ManagerFactory, VisitTaskFactory
from visits.models import Kind, TaskStatus, VisitRun, VisitTask

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _finished(task_name: str):
    done = threading.Event()

    def on_postrun(sender=None, **kwargs):
        if sender is not None and sender.name == task_name:
            done.set()

    task_postrun.connect(on_postrun, weak=False)
    return done, on_postrun


@pytest.fixture
def run_finished():
    done, handler = _finished("visits.tasks.visit_run_task")
    yield done
    task_postrun.disconnect(handler)


def test_visit_generation_requested_over_the_api_runs_through_a_real_worker(
    world, api, real_worker, run_finished
):
    # given the world's two key accounts / when an administrator asks for a generation
    response = api(world.admin).post("/api/v1/visit-runs/")
    assert response.status_code == 202
    # then the worker generates their tasks and records the run
    assert run_finished.wait(timeout=120), "the worker did not run the generation"
    run = VisitRun.objects.get(pk=response.json()["id"])
    assert run.status == VisitRun.State.DONE
    assert run.counts["created"] == 2
    assert set(VisitTask.objects.values_list("customer_id", flat=True)) == {
        world.customer_a.pk,
        world.customer_b.pk,
    }


def test_a_reclassification_on_the_worker_cancels_old_visits_and_welcomes(
    world, api, real_worker, chain_finished
):
    # given customer A's quarterly key-account task, then a supply at 110 kV and a VIP manager
    VisitTaskFactory(customer=world.customer_a)
    Customer.objects.filter(pk=world.customer_a.pk).update(voltage_kv=Decimal("110"))
    vip_manager = ManagerFactory(station=world.station_a, role=Role.VIP_MANAGER)
    # when an administrator reclassifies
    assert api(world.admin).post("/api/v1/classification-runs/").status_code == 202
    # then the old task is cancelled and the VIP manager has a welcome visit
    assert chain_finished.wait(timeout=120), "the worker did not finish the chain"
    assert Customer.objects.get(pk=world.customer_a.pk).tier == Tier.VIP
    old = VisitTask.objects.get(customer=world.customer_a, kind=Kind.SCHEDULED)
    assert old.status == TaskStatus.CANCELLED
    welcome = VisitTask.objects.get(customer=world.customer_a, kind=Kind.TIER_CHANGE)
    assert welcome.manager_id == vip_manager.pk
