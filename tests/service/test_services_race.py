"""Two people completing the same stage at the same moment (issue 16, "Bad input and faults"): one
wins, the other gets 409, the stage is done once. PostgreSQL only: SQLite has no row locks."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from crm.common.errors import Conflict
from service.models import RequestStage, ServiceRequest, StageEvent, StageStatus
from service.services import request_open, stage_advance
from tests.factories import StaffProfileFactory


def waiting_on_locks() -> int:
    """Sessions of the test database waiting for a lock (the statistics snapshot is cleared first:
    inside a transaction it would otherwise answer the same every time)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_completing_the_same_stage_at_once_one_wins_the_other_conflicts(world):
    # given a meter fault in the metering department, and two of its staff
    request = request_open(
        kind="meter_fault", source="manager", by=world.manager_a.user, customer=world.customer_a
    )
    second = StaffProfileFactory(department=world.departments["metering"]).user
    outcomes = {}

    def complete(user):
        try:
            stage_advance(request=ServiceRequest.objects.get(pk=request.pk), stage_code="check", by=user)
            outcomes[user.pk] = "done"
        except Conflict:
            outcomes[user.pk] = "conflict"
        finally:
            connections.close_all()

    # when both press "done" while the request's row is held, so both are queued on its lock
    threads = [threading.Thread(target=complete, args=(user,)) for user in (world.staff, second)]
    with transaction.atomic():
        ServiceRequest.objects.select_for_update().get(pk=request.pk)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while waiting_on_locks() < 2 and time.monotonic() < deadline:
            pass  # both sessions reach the lock within milliseconds; no sleep, only the bound
        assert waiting_on_locks() == 2
    for thread in threads:
        thread.join(timeout=20)
    # then exactly one completed the stage and the other was told it conflicts
    assert sorted(outcomes.values()) == ["conflict", "done"]
    stage = RequestStage.objects.get(request=request)
    assert stage.status == StageStatus.DONE
    assert StageEvent.objects.filter(request=request, action="done").count() == 1
