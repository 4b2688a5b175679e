"""The events the lower apps write into the outbox, in the transaction of the change: a
reclassification's tier changes in one statement per chunk whatever their number, the assignment
moves set-based, a pin, a visit report, a service request's life, an appraisal finalized."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.common.models import OutboxEvent
from crm.common.outbox import outbox_record
from customers.models import Tier, TierChange
from managers.services import assignment_move, assignments_apply
from tests.customers.tiering_helpers import reclassify
from tests.factories import CommunityFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def _outbox_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if "common_outboxevent" in q["sql"] and "INSERT" in q["sql"].upper()]


@pytest.mark.parametrize("changes", [3, 40])
def test_reclassification_writes_every_tier_change_event_in_one_statement_per_chunk(changes):
    # given customers in a community classified in the wrong tier
    community = CommunityFactory()
    CustomerFactory.create_batch(changes, tier=Tier.TRANSFORMER_DISTRICT, community=community)
    # when a run reclassifies them in one chunk
    with CaptureQueriesContext(connection) as queries:
        run = reclassify(size=10_000)
    # then one event per tier change, written by one statement, whatever their number
    assert len(_outbox_writes(queries.captured_queries)) == 1
    events = OutboxEvent.objects.filter(event_type="customer.tier_changed")
    assert events.count() == changes == TierChange.objects.filter(run=run).count()
    change = TierChange.objects.filter(run=run).order_by("pk").first()
    payload = events.get(payload__customer=change.customer_id).payload
    assert payload == {
        "customer": change.customer_id,
        "old_tier": Tier.TRANSFORMER_DISTRICT,
        "new_tier": Tier.COMMUNITY,
        "rule": "community.location",
        "tier_change": change.pk,
        "run": run.pk,
        "link": f"/api/v1/customers/{change.customer_id}/",
    }


def test_reclassification_in_chunks_writes_one_statement_per_chunk():
    community = CommunityFactory()
    CustomerFactory.create_batch(6, tier=Tier.TRANSFORMER_DISTRICT, community=community)
    with CaptureQueriesContext(connection) as queries:
        reclassify(size=2)
    assert len(_outbox_writes(queries.captured_queries)) == 3
    assert OutboxEvent.objects.filter(event_type="customer.tier_changed").count() == 6


def test_a_run_that_changes_nothing_writes_no_event():
    CustomerFactory(tier=Tier.TRANSFORMER_DISTRICT)
    reclassify()
    assert not OutboxEvent.objects.exists()


def test_assignments_apply_writes_manager_events_in_one_statement_with_the_old_manager(world):
    customers = [world.customer_a, CustomerFactory(station=world.customer_a.station, manager=None)]
    with CaptureQueriesContext(connection) as queries:
        assignments_apply(moves={(world.manager_b.user_id, "测试"): [c.pk for c in customers]})
    assert len(_outbox_writes(queries.captured_queries)) == 1
    payloads = {
        e.payload["customer"]: e.payload
        for e in OutboxEvent.objects.filter(event_type="customer.manager_changed")
    }
    assert payloads[world.customer_a.pk]["old_manager"] == world.manager_a.user_id
    assert payloads[customers[1].pk]["old_manager"] is None
    assert {p["new_manager"] for p in payloads.values()} == {world.manager_b.user_id}
    assert payloads[world.customer_a.pk]["reason"] == "测试"


def test_a_move_by_hand_writes_a_manager_event(world):
    assignment_move(customer=world.customer_a, manager=None, reason="离职交接", by=world.admin)
    event = OutboxEvent.objects.get(event_type="customer.manager_changed")
    assert event.payload["old_manager"] == world.manager_a.user_id
    assert event.payload["new_manager"] is None


def test_an_unknown_event_type_is_refused():
    with pytest.raises(ValueError, match="unknown event type"):
        outbox_record("customer.renamed", {})
