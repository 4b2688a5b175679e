"""A reclassification's chunks spread over real `celery worker` processes on Redis and the PostgreSQL
test database (tests/crm/test_faults.py's machinery): with one worker and with two the run ends in
the state of one statement classifying every customer at once, and a worker killed while it holds
a chunk leaves a run that still ends once, its chunk done by the other worker after the sweep."""

import datetime as dt
import importlib

import pytest
import redis
from django.apps import apps
from django.db import transaction
from django.utils import timezone

from crm import jobs
from crm.celery import app as celery_app
from crm.common import fanout
from crm.common.models import ChainRun, RunChunk
from customers.models import ClassificationRun, Customer, Tier, TierChange, TierPolicy
from customers.tiering.classification import classification_run_dispatch, classify_range
from managers.models import Role
from tests.crm.test_faults import (  # noqa: F401 - broker and workers are fixtures
    CHUNK,
    RowLock,
    _assert_no_duplicates,
    _chain_finished,
    _query,
    _reassigned,
    _terminate,
    broker,
    wait_for,
    workers,
)
from tests.customers.tiering_helpers import add_consumption
from tests.factories import CustomerFactory, ManagerFactory

pytestmark = [pytest.mark.worker, pytest.mark.postgres]
CUSTOMERS = 118  # with the world's two: twelve chunks of ten


class Rollback(Exception):
    pass


@pytest.fixture
def crowd(world):
    """Key accounts of manager A, every third consuming like a VIP, every fifth barely at all."""
    importlib.import_module("visits.migrations.0002_default_policies").create_defaults(apps, None)
    ManagerFactory(station=world.station_a, role=Role.VIP_MANAGER)
    ManagerFactory(station=world.station_a, role=Role.TRANSFORMER_DISTRICT_MANAGER)
    for i in range(CUSTOMERS):
        customer = CustomerFactory(
            station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user
        )
        if i % 3 == 0:
            add_consumption(customer, total="12000000")
        elif i % 5 == 0:
            add_consumption(customer, total="1200")
    return dict(Customer.objects.values_list("pk", "tier"))


def _figures() -> dict[int, tuple]:
    return {pk: rest for pk, *rest in Customer.objects.values_list("pk", "tier", "annual_consumption_kwh")}


def _floor() -> tuple[dict, list]:
    """One statement over every customer, rolled back: the state a run must end in."""
    try:
        with transaction.atomic():
            policy = TierPolicy.objects.effective(timezone.localdate())
            upto = Customer.objects.order_by("-pk").values_list("pk", flat=True).first()
            classify_range(lo=0, hi=upto, policy=policy, run_id=None, now=timezone.now())
            state = (
                _figures(),
                sorted(
                    TierChange.objects.filter(run__isnull=True).values_list(
                        "customer_id", "old_tier", "new_tier", "rule"
                    )
                ),
            )
            raise Rollback
    except Rollback:
        return state


def _reset(initial: dict) -> None:
    for pk, tier in initial.items():
        Customer.objects.filter(pk=pk).update(tier=tier, annual_consumption_kwh=0, latest_period=None)


def _run(pool, *, count: int) -> tuple[ClassificationRun, dict, list]:
    started = [pool.start() for _ in range(count)]
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    jobs.classification_queued(run_id=run.pk)
    wait_for(lambda: _chain_finished(run.pk), f"the run on {count} worker(s) and its chain to finish")
    changes = sorted(
        TierChange.objects.filter(run=run).values_list("customer_id", "old_tier", "new_tier", "rule")
    )
    for process in started:
        pool.stop(process)
    return ClassificationRun.objects.get(pk=run.pk), _figures(), changes


def _chunks_done_by(pool) -> list[int]:
    return [pool.log(process).count("run_chunk_task") for process in pool.processes]


def test_one_worker_and_two_end_as_the_single_statement_floor(workers, crowd):  # noqa: F811 - the fixture
    # Given the state one statement classifying every customer at once leaves
    floor = _floor()
    assert floor[1], "the crowd must change tiers, or the comparison says little"
    # When a run's chunks are done by one worker
    one, figures_one, changes_one = _run(workers, count=1)
    # and, from the same start, by two
    _reset(crowd)
    two, figures_two, changes_two = _run(workers, count=2)
    # Then both end in the floor's state, with the same changes, each once
    assert (figures_one, changes_one) == floor
    assert (figures_two, changes_two) == floor
    for run in (one, two):
        _assert_no_duplicates(run.pk)
        chunks = RunChunk.objects.filter(run_id=run.pk)
        assert chunks.count() == run.chunks_done == 12
        assert not chunks.filter(done_at__isnull=True).exists()
        assert run.last_pk == run.max_pk
        assert run.examined == Customer.objects.count()
        assert run.changed == len(floor[1])
        chain = ChainRun.objects.get(name="classification", subject_id=run.pk)
        assert (chain.done, chain.resends, chain.waiting_on) == (len(chain.steps), 0, "")
        assert _reassigned(run) == len(floor[1])  # the step after the chunks ran once
    assert one.transitions == two.transitions
    # and with two workers, each did some of the chunks
    by_worker = _chunks_done_by(workers)
    assert by_worker[0] > 0  # the first run's only worker
    assert by_worker[1] > 0, by_worker
    assert by_worker[2] > 0, by_worker


def _start_named(pool, name: str):
    """A worker whose database sessions carry `name` (pg_stat_activity.application_name)."""
    url = pool.env["DATABASE_URL"].split("?")[0]
    pool.env["DATABASE_URL"] = f"{url}?application_name={name}"
    return pool.start()


def _waiting_on_a_lock() -> list[tuple[int, str]]:
    """(server process, application name) of the sessions waiting on a row lock."""
    return _query(
        "SELECT pid, application_name FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )


def test_a_worker_killed_holding_a_chunk_leaves_a_run_that_ends_once(workers, crowd):  # noqa: F811 - the fixture
    # Given two workers, and a customer of the third chunk locked by another transaction
    floor = _floor()
    lock = RowLock(sorted(crowd)[2 * CHUNK + 1])
    started = {name: _start_named(workers, name) for name in ("fault-a", "fault-b")}
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    jobs.classification_queued(run_id=run.pk)
    # When the other chunks are done while one worker waits on the lock in the third
    third = wait_for(
        lambda: RunChunk.objects.filter(run_id=run.pk, index=2).first(), "the chunks to be planned"
    )
    wait_for(
        lambda: ClassificationRun.objects.get(pk=run.pk).chunks_done >= 11, "the other chunks to be done"
    )
    ((waiting, holder),) = wait_for(_waiting_on_a_lock, "a worker to wait on the locked customer")
    # and that worker is SIGKILLed, its database session ended, the lock released
    victim = started.pop(holder)
    (survivor,) = started.values()
    workers.kill(victim)
    _terminate([waiting])
    lock.release()
    assert ClassificationRun.objects.get(pk=run.pk).status == ClassificationRun.State.RUNNING
    # Then the sweep sends the third chunk again, the other worker does it, and the run ends once
    swept = jobs.runs_sweep(grace_minutes=0)
    assert (swept["chunks"], swept["chains"]) == ([third.pk], [])
    wait_for(lambda: _chain_finished(run.pk), "the run and its chain to finish")
    done = ClassificationRun.objects.get(pk=run.pk)
    assert (done.chunks_done, done.examined, done.changed) == (12, Customer.objects.count(), len(floor[1]))
    _assert_no_duplicates(run.pk)
    changes = sorted(
        TierChange.objects.filter(run=run).values_list("customer_id", "old_tier", "new_tier", "rule")
    )
    assert (_figures(), changes) == floor
    chain = ChainRun.objects.get(name="classification", subject_id=run.pk)
    assert (chain.done, chain.resends) == (len(chain.steps), 0)
    assert _reassigned(done) == len(floor[1])
    assert "run_chunk_task" in workers.log(survivor)


def test_chunks_routed_to_a_queue_of_their_own_are_seen_there_by_the_sweep(broker, crowd, settings):  # noqa: F811
    # Given the chunks' own queue (CHUNK_QUEUE=chunks) and no worker running
    saved = celery_app.conf.task_routes
    _route({**(saved or {}), fanout.TASK: {"queue": "chunks"}})
    settings.CHUNK_QUEUE = "chunks"
    try:
        # When a run's chunks are sent
        run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
        classification_run_dispatch(run_id=run.pk)
        chunks = list(RunChunk.objects.filter(run_id=run.pk).values_list("pk", flat=True))
        # Then they wait in that queue, not in the default one
        client = redis.Redis.from_url(broker)
        assert (client.llen("chunks"), client.llen("celery")) == (len(chunks), 0)
        # and the sweep reads them there, and sends none again
        assert {(fanout.TASK, (pk,)) for pk in chunks} <= jobs._waiting_in_broker()
        RunChunk.objects.update(updated_at=timezone.now() - dt.timedelta(hours=1))
        assert jobs.runs_sweep(grace_minutes=0)["chunks"] == []
    finally:
        _route(saved)


def _route(routes) -> None:
    """Set Celery's task routes, and drop the router it built from the old ones (it keeps one)."""
    celery_app.conf.task_routes = routes
    celery_app.amqp.flush_routes()
    celery_app.amqp.__dict__.pop("router", None)
