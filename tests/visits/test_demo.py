"""The demo visits: a year of tasks, mostly reported, a few overdue; a second run adds nothing."""

import datetime as dt

from customers.models import Tier
from tests.factories import CommunityFactory, CustomerFactory
from visits.demo import seed_visits_demo
from visits.models import TaskStatus, VisitReport, VisitTask

UNTIL = dt.date(2026, 9, 15)


def _county(world):
    for _ in range(4):
        CustomerFactory(tier=Tier.VIP, manager=world.manager_a.user)
    CommunityFactory(station=world.station_a, manager=world.manager_a.user)


def test_demo_creates_a_year_of_visits_mostly_reported(world):
    _county(world)
    counts = seed_visits_demo(seed=7, until=UNTIL)
    assert VisitTask.objects.filter(period=dt.date(2025, 10, 1)).exists()
    assert counts["reports"] == VisitReport.objects.count() > 0
    past = VisitTask.objects.filter(due_date__lt=UNTIL)
    assert past.filter(status=TaskStatus.DONE).count() > 0.8 * past.count()
    assert not past.filter(status=TaskStatus.PLANNED).exists()


def test_a_second_demo_run_adds_nothing(world):
    _county(world)
    seed_visits_demo(seed=7, until=UNTIL)
    tasks = VisitTask.objects.count()
    again = seed_visits_demo(seed=7, until=UNTIL)
    assert again["reports"] == 0
    assert VisitTask.objects.count() == tasks
