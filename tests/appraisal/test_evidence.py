"""The evidence of the appraisal (appraisal.evidence), on a small data set built by hand, with the
expected numbers worked out in the comments; the job that computes it, on commit and through a
real worker."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from celery.signals import task_postrun

from appraisal import services
from appraisal.evidence import EVIDENCE_FOR_CRITERION, METRIC_BY_KEY, METRICS, evidence_compute, evidence_for
from appraisal.models import Appraisal, AppraisalStatus
from appraisal.scoring import DEFAULT_CRITERIA
from appraisal.tasks import compute_evidence_task
from crm.accounts import roles
from crm.common.months import add_months
from tests.appraisal.core_helpers import appraisal_of, open_cycle
from tests.factories import (
    AssignmentFactory,
    ConsumptionFactory,
    CourseFactory,
    CustomerFactory,
    FollowUpFactory,
    ManagerFactory,
    TrainingRecordFactory,
    UserFactory,
    VisitReportFactory,
    VisitTaskFactory,
)

YEAR = 2026
END = dt.date(2026, 12, 31)


def _task(manager, due: dt.date, status: str, customer, kind="scheduled"):
    return VisitTaskFactory(
        customer=customer,
        manager=manager.user,
        period=due.replace(day=1),
        due_date=due,
        status=status,
        kind=kind,
    )


def _report(task, visited_on: dt.date, **fields):
    return VisitReportFactory(task=task, visited_on=visited_on, **fields)


@pytest.fixture
def data(world):
    """Manager A's year 2026, by hand."""
    a, customer = world.manager_a, world.customer_a
    # visits due in 2026: on time (due 31 Mar, visited 20 Mar), late (due 30 Apr, visited 3 May),
    # overdue (30 Jun); a cancelled one and one due in 2025 do not count: due 3, on time 1 -> 33.3 %
    on_time = _task(a, dt.date(2026, 3, 31), "done", customer)
    late = _task(a, dt.date(2026, 4, 30), "done", customer)
    _task(a, dt.date(2026, 6, 30), "overdue", customer)
    _task(a, dt.date(2026, 7, 31), "cancelled", customer)
    _task(a, dt.date(2025, 12, 31), "planned", customer)
    # reports in 2026: satisfaction 5 and 3 -> 4.00; complete (needs and forecast) 1 of 2 -> 50 %
    first = _report(
        on_time, dt.date(2026, 3, 20), satisfaction=5, needs="申请增容", forecast_kwh_12m=Decimal(1)
    )
    second = _report(late, dt.date(2026, 5, 3), satisfaction=3, needs="", forecast_kwh_12m=Decimal(1))
    # follow-ups of 2026's reports: 3 raised, 1 closed -> 33.3 %
    FollowUpFactory(report=first, status="closed", closed_on=dt.date(2026, 4, 1))
    FollowUpFactory(report=first, status="open")
    FollowUpFactory(report=second, status="open")
    # customers gained in 2026: 400 kVA (moved to A twice in the year: counted once) and 315 kVA;
    # one gained in 2025 does not count -> 2 customers, 715 kVA
    big = CustomerFactory(contracted_capacity_kva=Decimal("400"))
    mid = CustomerFactory(contracted_capacity_kva=Decimal("315"))
    old = CustomerFactory(contracted_capacity_kva=Decimal("1000"))
    for customer_, started, ended in (
        (big, dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC), dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)),
        (big, dt.datetime(2026, 9, 1, 9, tzinfo=dt.UTC), None),
        (mid, dt.datetime(2026, 8, 1, 9, tzinfo=dt.UTC), None),
        (old, dt.datetime(2025, 6, 1, 9, tzinfo=dt.UTC), None),
    ):
        AssignmentFactory(customer=customer_, manager=a.user, started_at=started, ended_at=ended)
    # forecasts made in 2025, checked against the 12 months after the visit month:
    # June 2025, 13,200 kWh vs July 2025-June 2026 = 12 x 1,000 -> 10 %; November 2025, 9,000 vs
    # December 2025-November 2026 = 12,000 -> 25 %; December 2025's months are not all metered
    # (December 2026 missing): left out. MAPE = (10 + 25) / 2 = 17.5 %, 2 forecasts
    for visited, forecast in (
        (dt.date(2025, 6, 10), 13200),
        (dt.date(2025, 11, 5), 9000),
        (dt.date(2025, 12, 1), 5000),
    ):
        task = _task(a, visited.replace(day=28), "done", customer, kind="care")
        _report(task, visited, forecast_kwh_12m=Decimal(forecast), needs="")
    month = dt.date(2025, 7, 1)
    while month <= dt.date(2026, 11, 1):
        ConsumptionFactory(customer=customer, period=month, kwh=Decimal(1000))
        month = add_months(month, 1)
    # training hours attended in 2026: 4 (passed) + 2.5 (failed); enrolled and 2025 do not count
    TrainingRecordFactory(manager=a, course=CourseFactory(hours=Decimal(4)), result="passed")
    TrainingRecordFactory(manager=a, course=CourseFactory(), hours=Decimal("2.5"), result="failed")
    TrainingRecordFactory(manager=a, course=CourseFactory(), hours=Decimal(8), result="enrolled", score=None)
    TrainingRecordFactory(
        manager=a, course=CourseFactory(), hours=Decimal(3), session_date=dt.date(2025, 5, 1)
    )
    return world


def test_evidence_of_a_hand_built_year(data):
    evidence = evidence_for(manager_ids=[data.manager_a.pk], year=YEAR, today=END)[data.manager_a.pk]
    assert evidence == {
        "visits_due": 3,
        "visits_on_time": 1,
        "on_time_rate": 33.3,
        "reports": 2,
        "satisfaction_mean": 4.0,
        "customers_gained": 2,
        "capacity_gained_kva": 715,
        "reports_complete_share": 50.0,
        "forecast_mape": 17.5,
        "forecasts_checked": 2,
        # no baseline was made for those visits: nothing to add value over (forecasts.scoring)
        "forecast_fva_pp": None,
        "baseline_mape": None,
        "forecasts_beat_share": None,
        "follow_ups_raised": 3,
        "follow_ups_closed": 1,
        "follow_ups_closed_share": 33.3,
        # no service request in this year (tests/appraisal/test_evidence_service.py)
        "requests_on_time_share": None,
        "requests_on_time": 0,
        "requests_closed": 0,
        "callback_satisfaction_mean": None,
        "callbacks_reached": 0,
        "training_hours": 6.5,
        "ad_hoc_visits": 0,
        "ad_hoc_reports": 0,
        "ad_hoc_satisfaction_mean": None,
        "as_of": "2026-12-31",
    }


def test_a_manager_without_data_has_zero_counts_and_no_rates(data):
    evidence = evidence_for(manager_ids=[data.manager_b.pk], year=YEAR, today=END)[data.manager_b.pk]
    assert evidence["visits_due"] == 0
    assert evidence["on_time_rate"] is None
    assert evidence["satisfaction_mean"] is None
    assert evidence["forecast_mape"] is None
    assert evidence["training_hours"] == 0.0


def test_visits_not_yet_due_on_the_day_of_computation_do_not_count(data):
    evidence = evidence_for(manager_ids=[data.manager_a.pk], year=YEAR, today=dt.date(2026, 4, 15))
    # only the task due 31 March is due by 15 April
    assert evidence[data.manager_a.pk]["visits_due"] == 1
    assert evidence[data.manager_a.pk]["as_of"] == "2026-04-15"


def test_evidence_compute_stores_and_stamps_each_appraisal_and_the_cycle(data):
    cycle = open_cycle(data)
    assert evidence_compute(cycle=cycle, today=END) == 2
    appraisal = appraisal_of(cycle, data.manager_a)
    cycle.refresh_from_db()
    assert appraisal.evidence["customers_gained"] == 2
    assert appraisal.evidence_computed_at is not None
    assert cycle.evidence_computed_at == appraisal.evidence_computed_at


def test_a_finalized_appraisal_keeps_its_evidence(data):
    cycle = open_cycle(data)
    Appraisal.objects.filter(manager=data.manager_a).update(
        status=AppraisalStatus.FINALIZED, evidence={"x": 1}
    )
    assert evidence_compute(cycle=cycle, today=END) == 1
    assert appraisal_of(cycle, data.manager_a).evidence == {"x": 1}


def test_the_task_computes_the_given_appraisals_only(data):
    cycle = open_cycle(data)
    appraisal_b = appraisal_of(cycle, data.manager_b)
    assert compute_evidence_task(cycle.pk, [appraisal_b.pk]) == 1
    assert appraisal_of(cycle, data.manager_a).evidence == {}
    assert appraisal_of(cycle, data.manager_b).evidence["visits_due"] == 0
    assert compute_evidence_task(cycle.pk + 1000) == 0  # a cycle deleted since


@pytest.mark.parametrize("size", [2, 20])
def test_evidence_compute_runs_a_fixed_number_of_queries(world, size, django_assert_max_num_queries):
    for index in range(size):
        manager = ManagerFactory(user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER))
        customer = CustomerFactory(manager=manager.user)
        task = _task(manager, dt.date(2026, 3, 31), "done", customer)
        report = _report(task, dt.date(2025, 3, 1 + index % 20), forecast_kwh_12m=Decimal(1000))
        FollowUpFactory(report=report)
        AssignmentFactory(
            customer=customer, manager=manager.user, started_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
        )
        TrainingRecordFactory(manager=manager)
    cycle = open_cycle(world)
    # appraisals, visits, reports, follow-ups, service requests, callbacks, gains, forecasts (2),
    # training, bulk update, cycle, and the savepoint of the atomic block (2); the forecasts against
    # their baselines (3: reports, metered months, baselines)
    with django_assert_max_num_queries(17):
        assert evidence_compute(cycle=cycle, today=END) == size + 2


def test_every_criterion_shows_known_metrics():
    assert set(EVIDENCE_FOR_CRITERION) == {code for code, _name, _weight in DEFAULT_CRITERIA}
    for keys in EVIDENCE_FOR_CRITERION.values():
        assert all(key in METRIC_BY_KEY for key in keys)
    assert len({m.key for m in METRICS}) == len(METRICS)


# ---------------------------------------------------------------- through a real worker
@pytest.fixture
def evidence_finished():
    done = threading.Event()

    def on_postrun(sender=None, **kwargs):
        if sender is not None and sender.name == "appraisal.tasks.compute_evidence_task":
            done.set()

    task_postrun.connect(on_postrun, weak=False)
    yield done
    task_postrun.disconnect(on_postrun)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_opening_a_cycle_computes_the_evidence_on_a_real_worker(world, real_worker, evidence_finished):
    _task(world.manager_a, dt.date(2026, 1, 31), "overdue", world.customer_a)
    cycle = services.cycle_create(year=YEAR, by=world.admin)
    services.cycle_open(cycle=cycle, by=world.admin)
    assert evidence_finished.wait(timeout=120), "the worker did not compute the evidence"
    appraisal = appraisal_of(cycle, world.manager_a)
    assert appraisal.evidence["visits_due"] == 1
    assert appraisal.evidence_computed_at is not None
