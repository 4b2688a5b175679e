"""Query counts at two very different data sizes: every list and detail endpoint of the router (and
their detail actions), the API lists outside the router, and every page of the URL resolver, as an
administrator, a manager and a supervisor. Each answer must take at most MAX_QUERIES queries, and
the same number with SMALL and with LARGE rows per resource (a count that grows with the data is an
N+1). Endpoints and pages added later are walked automatically: their model is filled by the
growers below, else by `tests.factories.<Model>Factory`; one that cannot be filled either way must be
listed in NOT_FILLED with the reason, or the walk fails."""

import datetime as dt
import importlib
import re
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, resolve

from crm.accounts import roles
from crm.api import router
from customers.models import (
    ClassificationRun,
    ImportJob,
    ImportRejection,
    Tier,
    TierChange,
    TierPolicy,
)
from managers.models import ROLE_FOR_TIER
from tests.crm.test_permission_matrix import _model_of, _walk  # the same walk of the API and the pages
from tests.factories import (
    AssignmentFactory,
    CommunityFactory,
    ConsumptionFactory,
    ContactFactory,
    CourseFactory,
    CustomerFactory,
    FollowUpFactory,
    ManagerFactory,
    StationFactory,
    TrainingRecordFactory,
    TransformerDistrictFactory,
    UserFactory,
    VisitReportFactory,
    VisitTaskFactory,
)

MAX_QUERIES = 10
SMALL, LARGE = 3, 60
ROLES = ("administrator", "manager", "supervisor", "staff")

# Models of router endpoints the growers cannot add rows to, with the reason.
NOT_FILLED = {
    "visits.VisitPolicy": "one row per tier, created by the data migration: the list cannot grow",
}
# API paths outside the router that answer GET with a list, and the world object whose id they take.
API_LISTS = {
    "api/v1/customers/<int:pk>/tier-history/": "customer_a",
    "api/v1/training-compliance/": None,
    "api/v1/sla-board/": None,
    "api/v1/work-calendar/": None,
    "api/v1/work-calendar/years/": None,
    "api/v1/customers/<int:pk>/forecasts/": "customer_a",
    "api/v1/customers/<int:pk>/outages/": "customer_a",
    "api/v1/forecast-scores/": None,
    "api/v1/industry-trends/": None,
}
# API paths outside the router that are not a list or detail read, and why they are not walked.
API_NOT_READS = {
    "api/v1/auth/token/": "POST only: signs in",
    "api/v1/consumption/bulk/": "POST only: the bulk upsert (measured by make bench)",
    "api/v1/call-centre/tickets/": "POST only: the 95598 intake (tests/service/test_call_centre.py)",
    "api/v1/call-centre/tickets/batch/": "POST only: 95598 tickets in batches, a fixed number of queries "
    "at 7 and 70 tickets (tests/service/test_intake_batch.py)",
    "api/v1/customers/<int:pk>/pin-tier/": "POST only: pins a tier",
    "api/v1/work-calendar/<str:date>/": "one day by its date, DELETE (tests/service/test_calendar_api.py)",
    "api/v1/call-centre/outages/": "one account's lookup by ?account_no= (tests/notices/test_deliveries.py)",
    "api/v1/health/": "no data: the health check",
    "api/v1/schema/": "no data: the OpenAPI schema",
    "api/v1/docs/": "no data: the Swagger page",
    "api/v1/": "no data: the API root",
}
# Pages known to take more than MAX_QUERIES, with their budget and why (still fixed at both sizes).
# Two queries of every page are the user and their access (permissions, roles and team, one query).
OVER_BUDGET: dict[str, tuple[int, str]] = {
    "customers/<int:pk>/": (
        13,
        "every section of the customer's file (consumption, contacts, tiers, audit, visits, assignments), "
        "its service requests, its baseline with the manager's forecast and its outage notices (one "
        "query each)",
    ),
    "": (
        11,
        "the home: a manager's day (visits, requests, follow-ups, tier changes, the portfolio's chart, "
        "the outage calls) or an administrator's last run of each background job, one query each",
    ),
    "visits/team/": (
        14,
        "the supervisor's team page: completion by manager and by month, the reports, the follow-ups by "
        "department, the team's consumption, and the forecast scores against the baselines",
    ),
    "notices/meetings/<int:pk>/": (
        11,
        "a committee meeting: its members, the notices and requests of its branch since the last "
        "meeting, the largest customers' consumption and the needs raised (one query each)",
    ),
    "notices/meetings/<int:pk>/print/": (11, "the meeting page, printed"),
}
# Pages that are not a read of data, and why they are not walked.
PAGES_NOT_READS = {
    "logout/": "POST only: signs out",
    "customers/tiering/runs/start/": "POST only: starts a run",
    "customers/<int:pk>/pin-tier/": "POST only: the pin form posts here from the customer page",
    **{
        f"appraisal/{route}": "POST only: a form of the appraisal pages posts here"
        for route in (
            "cycles/<int:pk>/open/",
            "<int:year>/finalize/",
            "a/<int:pk>/scores/",
            "a/<int:pk>/panel/",
            "a/<int:pk>/panel/<int:rater>/remove/",
            "a/<int:pk>/panel/<int:rater>/new-link/",
            "a/<int:pk>/submit/",
            "a/<int:pk>/finalize/",
            "a/<int:pk>/reopen/",
        )
    },
    "notices/<int:pk>/publish/": "POST only: the notice page's publish form",
    "notices/<int:pk>/cancel/": "POST only: the notice page's cancel form",
    "notices/deliveries/<int:pk>/acknowledge/": "POST only: a call task's acknowledgement",
    "notices/meetings/<int:pk>/notify/": "POST only: the meeting page's notice to the members",
    "appraisal/r/<str:token>/": "no log-in: a representative's signed link (test_representative_page.py)",
    # The growers make no appraisals; these are measured at two team or panel sizes in
    # tests/appraisal/test_pages.py and test_exports.py.
    **{
        f"appraisal/{route}": "measured in tests/appraisal at two sizes"
        for route in (
            "cycles/<int:pk>/",
            "<int:year>/review/",
            "<int:year>/export.xlsx",
            "a/<int:pk>/",
            "a/<int:pk>/print/",
        )
    },
}


# ---------------------------------------------------------------- the data
@dataclass
class Grower:
    """Adds `k` rows of every resource, in the scope of manager A (and so of the supervisor), with
    the children of each resource's detail object (customer A's consumption, contacts, assignments,
    tier history; the first run's changes; the first import's rejections; the first report's
    follow-ups) growing with them."""

    world: object
    added: int = 0
    anchors: dict = field(default_factory=dict)

    def grow(self, k: int) -> None:
        w = self.world
        a, user_a = w.station_a, w.manager_a.user
        start, self.added = self.added, self.added + k
        stations = StationFactory.create_batch(k)
        CommunityFactory.create_batch(k, station=a, manager=user_a)
        TransformerDistrictFactory.create_batch(k, station=a, manager=user_a)
        CustomerFactory.create_batch(k, station=a, manager=user_a, tier=Tier.KEY_ACCOUNT)
        ContactFactory.create_batch(k, customer=w.customer_a)
        AssignmentFactory.create_batch(  # earlier, ended assignments: one open assignment per customer
            k,
            customer=w.customer_a,
            manager=user_a,
            started_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            ended_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
        for i in range(start, start + k):
            ConsumptionFactory(customer=w.customer_a, period=_month(i))
        for _ in range(k):
            ManagerFactory(user=UserFactory(supervisor=w.supervisor, role=roles.ACCOUNT_MANAGER), station=a)
        # Customers without a manager in every new station, of every tier in turn, each station with
        # a manager of the supervisor's team of that tier's role: the unassigned page offers each
        # customer the candidates of its (station, tier), which must not cost a query per pair.
        tiers = list(Tier)
        for i, station in enumerate(stations):
            tier = tiers[i % len(tiers)]
            ManagerFactory(
                user=UserFactory(supervisor=w.supervisor, role=roles.ACCOUNT_MANAGER),
                station=station,
                role=ROLE_FOR_TIER[tier],
            )
            CustomerFactory(station=station, tier=tier, manager=None)
        top = TierPolicy.objects.order_by("-version").values_list("version", flat=True).first() or 0
        TierPolicy.objects.bulk_create(
            [TierPolicy(version=top + 1 + i, effective_from=dt.date(2001 + i, 1, 1)) for i in range(k)]
        )
        runs = ClassificationRun.objects.bulk_create(
            [ClassificationRun(trigger=ClassificationRun.Trigger.MANUAL, status="done") for _ in range(k)]
        )
        run = self.anchors.setdefault("customers.ClassificationRun", runs[0])
        at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        TierChange.objects.bulk_create(
            [
                TierChange(
                    customer=w.customer_a, old_tier="vip", new_tier="key_account", rule="r", run=run, at=at
                )
                for _ in range(k)
            ]
        )
        jobs = [
            ImportJob.objects.create(
                kind="consumption", file="imports/x.csv", original_name=f"x{i}.csv", created_by=user
            )
            for i in range(k)
            for user in (w.admin, user_a)
        ]
        for user in (w.admin, user_a):
            job = self.anchors.setdefault(f"import:{user.pk}", next(j for j in jobs if j.created_by == user))
            ImportRejection.objects.bulk_create(
                [ImportRejection(job=job, row_number=i, message="bad") for i in range(start, start + k)]
            )
        for i in range(start, start + k):
            VisitTaskFactory(customer=w.customer_a, manager=user_a, period=_month(i), due_date=_month(i))
        report = self.anchors.get("visits.VisitReport")
        if report is None:
            report = self.anchors["visits.VisitReport"] = VisitReportFactory(
                task__customer=w.customer_a, task__manager=user_a, task__period=dt.date(1990, 1, 1), by=user_a
            )
        FollowUpFactory.create_batch(k, report=report)
        from visits.models import VisitRun

        VisitRun.objects.bulk_create(
            [
                VisitRun(day=dt.date(2020, 1, 1) + dt.timedelta(days=i), status="done")
                for i in range(start, start + k)
            ]
        )
        for _ in range(k):
            TrainingRecordFactory(manager=w.manager_a, course=CourseFactory())
        self._service(k)
        self._organisation(k)
        self._generic(k)

    def _service(self, k: int) -> None:
        """Service requests on both sides of the scope line, each with its stages: customer A's new
        connections (with a stage of the metering staff's department) and customer B's billing
        queries (outside manager A's, the supervisor's and the staff's scope); the callbacks of a
        closed request of customer A; template versions in force only far ahead (so no request
        opened here follows them)."""
        from service.models import Callback, RequestTemplate, Unit
        from service.services import request_close, request_open, stage_advance

        w = self.world
        for _ in range(k):
            request_open(
                kind="new_connection",
                subtype="lv_non_residential",
                source="manager",
                by=None,
                customer=w.customer_a,
            )
            request_open(kind="billing_query", source="manager", by=None, customer=w.customer_b)
        closed = self.anchors.get("service.ServiceRequest")
        if closed is None:
            closed = request_open(kind="meter_fault", source="manager", by=None, customer=w.customer_a)
            stage_advance(request=closed, stage_code="check", by=w.admin)
            request_close(request=closed, by=w.admin)
            self.anchors["service.ServiceRequest"] = closed
        Callback.objects.bulk_create([Callback(request=closed, reached=False, by=w.admin) for _ in range(k)])
        top = (
            RequestTemplate.objects.filter(kind="praise")
            .order_by("-version")
            .values_list("version", flat=True)
        )
        first = (top.first() or 0) + 1
        stage = {
            "code": "answer",
            "name": "答复",
            "department_kind": "owner",
            "limit": 5,
            "unit": Unit.WORKING_DAYS,
        }
        RequestTemplate.objects.bulk_create(
            [
                RequestTemplate(
                    kind="praise",
                    version=first + i,
                    effective_from=dt.date(2090, 1, 1) + dt.timedelta(days=first + i),
                    stages=[stage],
                    total_limit=5,
                    total_unit=Unit.WORKING_DAYS,
                )
                for i in range(k)
            ]
        )

    def _organisation(self, k: int) -> None:
        """Companies and branches: their factories get one of each by code, so k more by hand."""
        from customers.models import Branch, Company

        start = Company.objects.count()
        companies = Company.objects.bulk_create(
            [Company(code=f"GROWN-{i}", name=f"公司{i}") for i in range(start, start + k)]
        )
        Branch.objects.bulk_create(
            [Branch(company=c, code=f"{c.code}-B", name=f"{c.name}县公司") for c in companies]
        )

    def _generic(self, k: int) -> None:
        """Models of endpoints added later: their factory in tests/factories.py, if there is one."""
        factories = importlib.import_module("tests.factories")
        for label in sorted(_endpoint_models() - GROWN - set(NOT_FILLED)):
            factory = getattr(factories, f"{label.split('.')[1]}Factory", None)
            if factory is not None:
                factory.create_batch(k)

    def anchor_pk(self, label: str, user, listed_first):
        if label == "customers.Customer":
            return self.world.customer_a.pk
        if label == "customers.ImportJob":
            anchor = self.anchors.get(f"import:{user.pk}")
            return anchor.pk if anchor else listed_first
        if label == "visits.VisitTask":
            return self.anchors["visits.VisitReport"].task_id
        if label == "managers.Manager":
            return self.world.manager_a.pk
        anchor = self.anchors.get(label)
        return anchor.pk if anchor is not None else listed_first


GROWN = {
    "customers.Station",
    "customers.Community",
    "customers.TransformerDistrict",
    "customers.Customer",
    "customers.Contact",
    "customers.ImportJob",
    "managers.Manager",
    "managers.Assignment",
    "customers.TierPolicy",
    "customers.ClassificationRun",
    "visits.VisitTask",
    "visits.VisitRun",
    "training.Course",
    "training.TrainingRecord",
    "service.ServiceRequest",
    "service.RequestTemplate",
    "customers.Company",
    "customers.Branch",
}


def _month(i: int) -> dt.date:
    return dt.date(2000 + i // 12, i % 12 + 1, 1)


# ---------------------------------------------------------------- the walk
def _endpoint_models() -> set[str]:
    from crm.accounts.models import User

    return {_model_of(viewset, User(is_superuser=True))._meta.label for _p, viewset, _b in router.registry}


ROUTES = sorted(set(_walk(get_resolver().url_patterns, "")))
PAGES = [r for r in ROUTES if not r.startswith(("api/", "admin/", "i18n/")) and "(?P<format>" not in r]
API_OUTSIDE_ROUTER = [
    r for r in ROUTES if r.startswith("api/v1/") and "^" not in r and "<drf_format" not in r
]


def _fill(route: str, value) -> str:
    return "/" + re.sub(r"<(?:\w+:)?\w+>", str(value), route)


def _user(world, role):
    return {
        "administrator": world.admin,
        "manager": world.manager_a.user,
        "supervisor": world.supervisor,
        "staff": world.staff,
    }[role]


def _count(client, path: str, data=None) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, data or {})
    assert response.status_code < 500, (path, response.status_code)
    return response.status_code, len(queries)


def _api_reads(client, grower, user) -> dict[str, tuple[int, int]]:
    """Every list, detail and detail action of the router, and the lists outside it."""
    counts = {}
    for prefix, viewset, _basename in router.registry:
        label = _model_of(viewset, user)._meta.label
        listed = client.get(f"/api/v1/{prefix}/")
        counts[f"{prefix}/"] = _count(client, f"/api/v1/{prefix}/")
        rows = listed.json().get("results", []) if listed.status_code == 200 else []
        if not rows:
            continue
        pk = grower.anchor_pk(label, user, rows[0]["id"])
        counts[f"{prefix}/<pk>/"] = _count(client, f"/api/v1/{prefix}/{pk}/")
        for action in viewset.get_extra_actions():
            if action.detail and "get" in action.mapping:
                counts[f"{prefix}/<pk>/{action.url_path}/"] = _count(
                    client, f"/api/v1/{prefix}/{pk}/{action.url_path}/"
                )
    for route, attr in API_LISTS.items():
        counts[route] = _count(client, _fill(route, getattr(grower.world, attr).pk if attr else ""))
    return counts


def _page_id(route: str, world, grower) -> int | None:
    """The object a page with an id shows: the one of its kind the growers enlarge."""
    if "<" not in route:
        return None
    match = resolve(_fill(route, 1))
    name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
    known = {
        "customers:detail": world.customer_a.pk,
        "customers:pin-tier": world.customer_a.pk,
        "customers:import-detail": lambda: grower.anchors[f"import:{world.admin.pk}"].pk,
        "customers:tier-run": lambda: grower.anchors["customers.ClassificationRun"].pk,
        "customers:tier-run-progress": lambda: grower.anchors["customers.ClassificationRun"].pk,
        "customers:import-progress": lambda: grower.anchors[f"import:{world.admin.pk}"].pk,
        "visits:run": lambda: _first_pk("visits.VisitRun"),
        "visits:run-progress": lambda: _first_pk("visits.VisitRun"),
        "managers:reconcile-progress": lambda: _reconcile_run().pk,
        "managers:detail": world.manager_a.pk,
        "training:manager": world.manager_a.pk,
        "visits:report": lambda: grower.anchors["visits.VisitReport"].task_id,
        "integrations:endpoint": lambda: _first_pk("integrations.WebhookEndpoint"),
        "visits:report-photos": lambda: grower.anchors["visits.VisitReport"].pk,
        "notices:notice": lambda: _first_pk("notices.OutageNotice"),
        "notices:meeting": lambda: _first_pk("notices.Meeting"),
        "notices:meeting-print": lambda: _first_pk("notices.Meeting"),
        "integrations:delivery-replay": lambda: _first_pk("integrations.WebhookDelivery"),
    }
    value = known.get(name)
    if value is None:  # a page added later: the first object of the model its view names
        view = getattr(match.func, "view_class", None)
        model = getattr(view, "model", None) or getattr(getattr(view, "queryset", None), "model", None)
        assert model is not None, f"{route}: say which object the page shows in _page_id"
        return model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    return value() if callable(value) else value


def _first_pk(label: str) -> int:
    from django.apps import apps

    return apps.get_model(label).objects.order_by("pk").values_list("pk", flat=True).first()


def _reconcile_run():
    """An assignment run in progress, for the unassigned page's progress fragment (no grower adds one)."""
    from django.utils import timezone

    from crm.common.models import JobRun

    run, _created = JobRun.objects.get_or_create(
        job="reconcile_assignments", defaults={"started_at": timezone.now(), "counts": {"total": 9}}
    )
    return run


def _page_reads(client, world, grower) -> dict[str, tuple[int, int]]:
    return {
        route: _count(client, _fill(route, _page_id(route, world, grower) or ""))
        for route in PAGES
        if route not in PAGES_NOT_READS
    }


def _measure(world, client, role, reads):
    grower = Grower(world)
    grower.grow(SMALL)
    small = reads(client, grower)
    grower.grow(LARGE - SMALL)
    large = reads(client, grower)
    return small, large


def _failures(small: dict, large: dict) -> list[str]:
    failures = []
    for key in sorted(set(small) | set(large)):
        s, l_ = small.get(key), large.get(key)
        if s is None or l_ is None:
            failures.append(f"{key}: answered at one size only ({s}, {l_})")
        elif l_[1] > OVER_BUDGET.get(key, (MAX_QUERIES,))[0] or l_[1] > s[1]:
            failures.append(f"{key}: {s[1]} queries at {SMALL} rows, {l_[1]} at {LARGE} (status {l_[0]})")
    return failures


# ---------------------------------------------------------------- the tests
@pytest.mark.parametrize("role", ROLES)
def test_api_lists_and_details_take_a_fixed_small_number_of_queries(world, api, role):
    user = _user(world, role)
    client = api(user)
    small, large = _measure(world, client, role, lambda c, g: _api_reads(c, g, user))
    assert not _failures(small, large), "\n".join(_failures(small, large))
    assert any(status == 200 for status, _n in large.values())


@pytest.mark.parametrize("role", ROLES)
def test_pages_take_a_fixed_small_number_of_queries(world, client, role):
    client.force_login(_user(world, role))
    small, large = _measure(world, client, role, lambda c, g: _page_reads(c, world, g))
    assert not _failures(small, large), "\n".join(_failures(small, large))


def test_the_walker_fills_every_endpoint_it_walks(world, api):
    """An administrator's list of every router endpoint grows from SMALL to LARGE rows, except the
    endpoints named in NOT_FILLED; the lists outside the router and the pages are all accounted for."""
    client = api(world.admin)
    grower = Grower(world)
    sizes = {}
    for k in (SMALL, LARGE - SMALL):
        grower.grow(k)
        for prefix, _viewset, _b in router.registry:
            response = client.get(f"/api/v1/{prefix}/")
            assert response.status_code == 200, prefix
            sizes.setdefault(prefix, []).append(response.json()["count"])
    not_grown = {
        prefix
        for prefix, viewset, _b in router.registry
        if sizes[prefix][1] < sizes[prefix][0] + LARGE - SMALL
        and _model_of(viewset, world.admin)._meta.label not in NOT_FILLED
    }
    assert not not_grown, f"grow these in Grower or list them in NOT_FILLED: {sorted(not_grown)}"
    unaccounted = set(API_OUTSIDE_ROUTER) - set(API_LISTS) - set(API_NOT_READS)
    assert not unaccounted, f"walk these API paths or say why not: {sorted(unaccounted)}"
    # the models grown by hand really are those of the endpoints (a renamed model would slip through)
    assert _endpoint_models() >= GROWN, GROWN - _endpoint_models()


# ---------------------------------------------------------------- jobs whose statements must not grow
@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_care_visit_detection_runs_one_statement_per_month_not_per_customer(
    world, size, django_assert_max_num_queries
):
    # given `size` key accounts whose latest month is the same (and customer A's)
    CustomerFactory.create_batch(
        size, station=world.station_a, manager=world.manager_a.user, tier=Tier.KEY_ACCOUNT,
        latest_period=dt.date(2026, 9, 1),
    )  # fmt: skip
    from visits.care import care_visits_detect

    # when care visits are detected, then the thresholds and the periods are read once and one INSERT
    # runs per period (a savepoint around them): the same four queries at both sizes
    with django_assert_max_num_queries(4):
        care_visits_detect(day=dt.date(2026, 10, 5))
