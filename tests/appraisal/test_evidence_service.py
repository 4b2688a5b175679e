"""The appraisal evidence drawn from one-stop service (service.md, "Closing and callback"): the
share of the manager's requests closed in the year whose stages were all on time is the
collaboration's headline (beside follow-ups closed), and callback satisfaction sits beside visit
satisfaction."""

import datetime as dt
from zoneinfo import ZoneInfo

from appraisal.evidence import EVIDENCE_FOR_CRITERION, evidence_compute, evidence_for
from service.bulk import Plan, requests_bulk_create
from service.models import Callback, ServiceRequest
from tests.appraisal.core_helpers import appraisal_of, open_cycle

LOCAL = ZoneInfo("Asia/Shanghai")
YEAR = 2026
END = dt.date(2026, 12, 31)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LOCAL)


def _requests(world, *plans: dict, manager=None) -> list[ServiceRequest]:
    """Billing queries (one stage of 6 working days) of customer A, owned by `manager` (A)."""
    owner = manager or world.manager_a
    ids = requests_bulk_create(
        [
            Plan(
                kind="billing_query",
                source="manager",
                customer_id=world.customer_a.pk,
                station_id=world.station_a.pk,
                branch_id=world.station_a.branch_id,
                owner_id=owner.pk,
                **plan,
            )
            for plan in plans
        ],
        now=at(2026, 12, 1, 12),
    )
    return list(ServiceRequest.objects.filter(pk__in=ids).order_by("pk"))


def _evidence(world, manager=None) -> dict:
    manager = manager or world.manager_a
    return evidence_for(manager_ids=[manager.pk], year=YEAR, today=END)[manager.pk]


def test_collaboration_counts_requests_closed_in_the_year_with_every_stage_on_time(world):
    # given two requests closed in 2026: one done in 2 working days, one 20 days late
    _requests(
        world,
        {"received_at": at(2026, 3, 2, 9), "closed_at": at(2026, 3, 4, 10)},
        {"received_at": at(2026, 3, 2, 9), "closed_at": at(2026, 4, 1, 10)},
    )
    # when the evidence is computed
    evidence = _evidence(world)
    # then one of two had every stage on time: 50 %
    assert (evidence["requests_closed"], evidence["requests_on_time"]) == (2, 1)
    assert evidence["requests_on_time_share"] == 50.0


def test_requests_open_cancelled_or_closed_in_another_year_do_not_count(world):
    # given a request still open, one cancelled, one closed in 2025 and one closed in 2026
    _requests(
        world,
        {"received_at": at(2026, 11, 30, 9)},
        {"received_at": at(2026, 5, 6, 9), "cancelled_at": at(2026, 5, 7, 9), "cancel_reason": "撤回"},
        {"received_at": at(2025, 12, 1, 9), "closed_at": at(2025, 12, 2, 9)},
        {"received_at": at(2026, 6, 1, 9), "closed_at": at(2026, 6, 2, 9)},
    )
    # then only the one closed in 2026 counts
    evidence = _evidence(world)
    assert (evidence["requests_closed"], evidence["requests_on_time_share"]) == (1, 100.0)


def test_a_stage_marked_breached_makes_the_request_late(world):
    # given a request closed on time whose stage the SLA job marked breached
    (request,) = _requests(world, {"received_at": at(2026, 3, 2, 9), "closed_at": at(2026, 3, 3, 9)})
    request.stages.update(sla_state="breached")
    # then it is not on time
    assert _evidence(world)["requests_on_time"] == 0


def test_a_manager_without_requests_shows_zero_requests_and_no_share(world):
    evidence = _evidence(world, world.manager_b)
    assert (evidence["requests_closed"], evidence["requests_on_time_share"]) == (0, None)


def test_requests_count_for_their_owner_only(world):
    # given a request of manager B closed on time
    _requests(
        world, {"received_at": at(2026, 3, 2, 9), "closed_at": at(2026, 3, 3, 9)}, manager=world.manager_b
    )
    # then it is B's evidence, not A's
    assert _evidence(world, world.manager_b)["requests_closed"] == 1
    assert _evidence(world)["requests_closed"] == 0


def test_callback_satisfaction_is_the_mean_of_the_reached_callbacks_of_the_year(world):
    # given three closed requests with callbacks: reached 5 and 2, not reached, and a 1 from 2025
    first, second, third = _requests(
        world,
        *[{"received_at": at(2026, 3, 2, 9), "closed_at": at(2026, 3, 3, 9)} for _ in range(3)],
    )
    Callback.objects.create(request=first, reached=True, satisfaction=5)
    Callback.objects.create(request=second, reached=True, satisfaction=2)
    Callback.objects.create(request=third, reached=False)
    old = Callback.objects.create(request=third, reached=True, satisfaction=1)
    Callback.objects.filter(pk=old.pk).update(created_at=at(2025, 12, 30, 9))
    # then the mean is (5 + 2) / 2 over two callbacks reached
    evidence = _evidence(world)
    assert (evidence["callback_satisfaction_mean"], evidence["callbacks_reached"]) == (3.5, 2)


def test_collaboration_heads_with_the_request_share_and_keeps_follow_ups_beside_it():
    assert EVIDENCE_FOR_CRITERION["collaboration"][0] == "requests_on_time_share"
    assert "follow_ups_closed_share" in EVIDENCE_FOR_CRITERION["collaboration"]
    assert EVIDENCE_FOR_CRITERION["satisfaction"][0] == "satisfaction_mean"
    assert "callback_satisfaction_mean" in EVIDENCE_FOR_CRITERION["satisfaction"]


def test_the_cycle_stores_the_service_evidence(world):
    # given a request of manager A closed on time and a cycle
    _requests(world, {"received_at": at(2026, 3, 2, 9), "closed_at": at(2026, 3, 3, 9)})
    cycle = open_cycle(world)
    # when the cycle's evidence is computed
    evidence_compute(cycle=cycle, today=END)
    # then manager A's appraisal holds it
    assert appraisal_of(cycle, world.manager_a).evidence["requests_on_time_share"] == 100.0
