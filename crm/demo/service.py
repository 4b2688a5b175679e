"""Demo one-stop service: a department of every kind in every branch with one staff user each, the
visit follow-ups turned into requests (as migration 0004 does on a real database), and a few hundred
requests of every kind in every state, received over the last six weeks so that their clocks differ:
open on time, at warning, breached, waiting for the customer, done and awaiting closing, closed
(most called back, two reopened by a low satisfaction), cancelled; some from 95598 tickets, some
from applicants. Deterministic for a given seed; a second run adds nothing.

Written in bulk (service.bulk) with the same invariants as the services: a request through
`request_open` and `stage_advance` costs some 15 queries and cannot be dated in the past; a few
hundred are written here in about as many queries as one."""

import datetime as dt
import random
from decimal import Decimal

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts import roles
from crm.accounts.models import User
from crm.demo import names
from crm.demo.logins import ADMIN, DEMO_PASSWORD
from customers.models import Branch, Customer, Station
from service import clock
from service.bulk import Lookups, Plan, requests_bulk_create
from service.follow_ups import follow_ups_convert, voltage_variant
from service.models import (
    SUBTYPES,
    Callback,
    Department,
    DepartmentKind,
    Kind,
    RequestStatus,
    ServiceRequest,
    Source,
    StaffProfile,
    StageEvent,
)

DEFAULT_SEED = 20260101
REQUESTS = 320
DAYS_BACK = 42
# the staff login of each department kind, numbered by branch: metering1 is the first branch's
STAFF_PREFIX = {
    DepartmentKind.MARKETING: "marketing",
    DepartmentKind.METERING: "metering",
    DepartmentKind.BILLING: "billing_dept",  # "billing" is the integration client's login
    DepartmentKind.OPERATIONS: "operations",
    DepartmentKind.CALL_CENTRE: "callcentre",
    DepartmentKind.OTHER: "office",
}
DEPARTMENT_NAME = {
    DepartmentKind.MARKETING: "营销部（业扩报装）",
    DepartmentKind.METERING: "计量中心",
    DepartmentKind.BILLING: "抄核收班",
    DepartmentKind.OPERATIONS: "运维检修部",
    DepartmentKind.CALL_CENTRE: "客户服务中心",
    DepartmentKind.OTHER: "综合办公室",
}
# the stations' areas (the fault repair limits): the county town, the plain, the hills
AREAS = {"QH01": "city", "QH02": "rural", "QH03": "remote"}
# how often each kind comes, and what the customer says
KINDS = {
    Kind.NEW_CONNECTION: (20, "新建厂房申请用电"),
    Kind.CAPACITY_CHANGE: (30, "生产线扩建，申请增容"),
    Kind.ORDERLY_USE_AGREEMENT: (14, "签订迎峰度冬有序用电协议"),
    Kind.LOAD_CONTROL_INSTALL: (14, "安装负控终端"),
    Kind.PREPAID_METER_INSTALL: (12, "更换为卡表（预付费表）"),
    Kind.BILLING_QUERY: (30, "本月电费比上月高出一倍，要求核查"),
    Kind.METER_FAULT: (24, "电能表显示异常"),
    Kind.RECONNECTION: (16, "欠费已结清，申请复电"),
    Kind.FAULT_REPAIR: (40, "家中停电，邻居有电"),
    Kind.COMPLAINT: (30, "对停电通知不及时不满"),
    Kind.CONSULTATION: (40, "咨询峰谷分时电价"),
    Kind.SUGGESTION: (6, "建议增加线上缴费渠道"),
    Kind.PRAISE: (4, "表扬抢修人员服务热情"),
}
# kinds the 95598 call centre mostly passes on
CALL_CENTRE_KINDS = {
    Kind.FAULT_REPAIR,
    Kind.COMPLAINT,
    Kind.CONSULTATION,
    Kind.BILLING_QUERY,
    Kind.RECONNECTION,
}
# target states of the open requests, with their weights
OPEN_STATES = {"ok": 40, "warning": 14, "breached": 14, "waiting": 12, "awaiting_close": 6}
ENDINGS = {"open": 62, "closed": 30, "cancelled": 8}
WAIT_REASONS = ["客户设计图纸未提交", "客户现场施工未完成", "客户资料不齐，待补充", "客户约定下周现场勘查"]
CANCEL_REASONS = ["客户撤回申请", "重复工单", "客户已自行处理"]
CALLED_AFTER = dt.timedelta(hours=6)
CALLBACK_COMMENTS = {5: "非常满意", 4: "比较满意", 3: "一般", 2: "处理太慢", 1: "问题没有解决"}


@transaction.atomic
def seed_service_demo(*, seed: int = DEFAULT_SEED, now: dt.datetime | None = None) -> dict[str, int]:
    if Department.objects.exists():
        return {"departments": 0, "staff": 0, "from_visits": 0, "requests": 0, "callbacks": 0}
    now = now or timezone.now()
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets  # nosec B311
    for code, area in AREAS.items():
        Station.objects.filter(code=code).update(area=area)
    departments, staff = _departments_and_staff(rng)
    from_visits = follow_ups_convert(now=now)
    plans = _plans(rng, now)
    ids = requests_bulk_create(plans, now=now)
    callbacks = _callbacks(rng, ids, now, by_id=staff.get((DepartmentKind.CALL_CENTRE, 1)))
    return {
        "departments": departments,
        "staff": len(staff),
        "from_visits": from_visits,
        "requests": len(ids),
        "callbacks": callbacks,
    }


def _departments_and_staff(rng: random.Random) -> tuple[int, dict[tuple[str, int], int]]:
    """One department of each kind per branch and one staff user each: {(kind, branch number): user id}."""
    # the demo password as crm.demo.org hashed it for everyone (hashing costs a second or two)
    password = User.objects.filter(username=ADMIN).values_list("password", flat=True).first()
    password = password or make_password(DEMO_PASSWORD)
    departments, users, keys = [], [], []
    for number, branch in enumerate(Branch.objects.order_by("pk"), start=1):
        for kind in DepartmentKind.values:
            departments.append(
                Department(branch=branch, code=f"{branch.code}-{kind}", name=DEPARTMENT_NAME[kind], kind=kind)
            )
            username = f"{STAFF_PREFIX[kind]}{number}"
            users.append(
                User(
                    username=username,
                    full_name=names.person(rng),
                    password=password,
                    email=f"{username}@demo.invalid",
                )
            )
            keys.append((kind, number))
    Department.objects.bulk_create(departments)
    User.objects.bulk_create(users)
    StaffProfile.objects.bulk_create(
        [
            StaffProfile(user=user, department=department)
            for user, department in zip(users, departments, strict=True)
        ]
    )
    group = Group.objects.get(name=roles.DEPARTMENT_STAFF)
    group.user_set.add(*users)
    return len(departments), {key: user.pk for key, user in zip(keys, users, strict=True)}


# ---------------------------------------------------------------- the requests
def _plans(rng: random.Random, now: dt.datetime) -> list[Plan]:
    customers = list(
        Customer.objects.filter(manager__isnull=False)
        .order_by("pk")
        .values_list("pk", "manager_id", "voltage_kv", "station_id", "station__branch_id", "station__area")
    )
    stations = list(Station.objects.order_by("pk").values_list("pk", "branch_id", "area"))
    if not customers or not stations:
        return []
    lookups = Lookups(apps, [], now)
    kinds = list(KINDS)
    weights = [KINDS[kind][0] for kind in kinds]
    plans, owners = [], {}
    for index in range(REQUESTS):
        kind = rng.choices(kinds, weights)[0]
        subtype = rng.choice(SUBTYPES[kind]) if kind in SUBTYPES else ""
        source = _source(rng, kind)
        if kind == Kind.NEW_CONNECTION:
            station_id, branch_id, area = rng.choice(stations)
            plan = _applicant_plan(rng, kind, subtype, source, station_id, branch_id, index, owners)
        else:
            customer_id, manager_id, voltage, station_id, branch_id, area = rng.choice(customers)
            plan = Plan(
                kind=kind,
                subtype=subtype,
                source=source,
                station_id=station_id,
                branch_id=branch_id,
                received_at=now,
                customer_id=customer_id,
                owner_id=manager_id,
                by_id=manager_id,
                description=KINDS[kind][1],
            )
        if kind == Kind.CAPACITY_CHANGE:
            plan.variant = voltage_variant(voltage)
        elif kind == Kind.FAULT_REPAIR:
            plan.variant = area
        if source == Source.CALL_CENTRE:
            plan.external_no = f"95598{now.astimezone(clock.LOCAL):%y%m}{index + 1:06d}"
        _shape(rng, plan, lookups.template(plan).stages, lookups.calendar, now)
        plans.append(plan)
    return plans


def _source(rng: random.Random, kind: str) -> str:
    if kind in CALL_CENTRE_KINDS and rng.random() < 0.6:
        return Source.CALL_CENTRE
    return rng.choices(
        [Source.MANAGER, Source.COUNTER, Source.ONLINE, Source.COMMITTEE], weights=[50, 25, 20, 5]
    )[0]


def _applicant_plan(rng, kind, subtype, source, station_id, branch_id, index, owners: dict) -> Plan:
    """A new connection's applicant; its owner chosen by the rules once per station and subtype."""
    from service.owners import owner_for_applicant

    capacity, voltage = {
        "residential": (Decimal(8), Decimal("0.22")),
        "lv_non_residential": (Decimal(rng.choice([50, 80, 100, 160])), Decimal("0.38")),
        "hv_single": (Decimal(rng.choice([400, 630, 1000])), Decimal(10)),
        "hv_dual": (Decimal(rng.choice([2000, 3150])), Decimal(10)),
    }[subtype]
    if (station_id, subtype) not in owners:
        owners[(station_id, subtype)] = owner_for_applicant(
            station_id=station_id, capacity_kva=capacity, voltage_kv=voltage
        )
    owner = owners[(station_id, subtype)]
    name = names.person(rng) if subtype == "residential" else f"{names.person(rng)[0]}氏实业有限公司"
    return Plan(
        kind=kind,
        subtype=subtype,
        source=source,
        station_id=station_id,
        branch_id=branch_id,
        received_at=timezone.now(),  # dated by _shape
        applicant={
            "name": name,
            "phone": f"139{rng.randint(0, 99999999):08d}",
            "address": f"{names.COUNTY}工业园区{index % 20 + 1}号",
            "capacity_kva": capacity,
            "voltage_kv": voltage,
        },
        owner_id=owner.pk if owner else None,
        by_id=owner.pk if owner else None,
        description=KINDS[kind][1],
    )


def _span(rng: random.Random, calendar, start: dt.datetime, spec: dict, late: bool) -> dt.datetime:
    """When a stage started at `start` was done: within its limit, or past it when `late`."""
    share = rng.uniform(1.1, 1.8) if late else rng.uniform(0.15, 0.75)
    minutes = spec["limit"] * clock.MINUTES_PER_UNIT[spec["unit"]] * share
    return clock.advance(calendar, clock.clock_start(start, spec["unit"]), minutes, spec["unit"]).at


def _active_start(rng, calendar, spec: dict, state: str, now: dt.datetime) -> dt.datetime:
    """A start for the stage in progress that puts its clock in `state` now."""
    unit, limit = spec["unit"], spec["limit"]
    step = dt.timedelta(days=1) if unit == "working_days" else dt.timedelta(minutes=max(limit // 20, 1))
    matches = []
    start = now.astimezone(clock.LOCAL).replace(hour=rng.randint(8, 16), minute=rng.randint(0, 59))
    start = min(start, now - dt.timedelta(minutes=5))
    for _i in range(120):
        deadlines = clock.deadlines(calendar, started_at=start, limit=limit, unit=unit)
        read = "breached" if now >= deadlines.due_at else "warning" if now >= deadlines.warn_at else "ok"
        if read == state:
            matches.append(start)
            if len(matches) >= 4:
                break
        elif matches:
            break
        start -= step
    return rng.choice(matches) if matches else start


def _shape(rng: random.Random, plan: Plan, stages: list[dict], calendar, now: dt.datetime) -> None:
    """Date the plan's stages to end in one of the states the demo shows."""
    ending = rng.choices(list(ENDINGS), list(ENDINGS.values()))[0]
    late = [rng.random() < 0.15 for _ in stages]
    if ending == "open":
        state = rng.choices(list(OPEN_STATES), list(OPEN_STATES.values()))[0]
        pausing = [i for i, spec in enumerate(stages) if spec["pauses_for_customer"]]
        if state == "waiting" and not pausing:
            state = "ok"
        if state == "awaiting_close":
            _forward(rng, plan, stages, calendar, now, count=len(stages), late=late)
            return
        active = rng.choice(pausing) if state == "waiting" else rng.randrange(len(stages))
        start = _active_start(rng, calendar, stages[active], "ok" if state == "waiting" else state, now)
        for position in range(active - 1, -1, -1):  # the stages before, dated backwards
            plan.stages_done.insert(0, start)
            start -= _span(rng, calendar, start, stages[position], late[position]) - start
        plan.received_at = start
        if state == "waiting":  # since a moment after the stage began
            begun = _latest(plan)
            plan.waiting_since = begun + (now - begun) * rng.uniform(0.2, 0.8)
            plan.wait_reason = rng.choice(WAIT_REASONS)
        return
    done = len(stages) if ending == "closed" else rng.randrange(len(stages))
    _forward(rng, plan, stages, calendar, now, count=done, late=late)
    ended = _latest(plan) + dt.timedelta(hours=rng.randint(1, 20))
    # a request that would end in the future ended some hours to days ago instead
    latest_end = now - dt.timedelta(hours=rng.uniform(1, 96))
    shift = max(ended - latest_end, dt.timedelta(0))
    plan.received_at -= shift
    plan.stages_done = [at - shift for at in plan.stages_done]
    if ending == "closed":
        plan.closed_at = ended - shift
    else:
        plan.cancelled_at, plan.cancel_reason = ended - shift, rng.choice(CANCEL_REASONS)


def _forward(rng, plan: Plan, stages: list[dict], calendar, now: dt.datetime, *, count: int, late) -> None:
    """Receive the plan some days back and do its first `count` stages one after the other."""
    days = rng.uniform(0.2, 2.0) if stages[0]["unit"] == "minutes" else rng.uniform(3, DAYS_BACK)
    plan.received_at = now - dt.timedelta(days=days)
    at = plan.received_at
    plan.stages_done = []
    for position in range(count):
        at = _span(rng, calendar, at, stages[position], late[position])
        plan.stages_done.append(at)
    overshoot = max(_latest(plan) - (now - dt.timedelta(hours=1)), dt.timedelta(0))
    plan.received_at -= overshoot
    plan.stages_done = [done - overshoot for done in plan.stages_done]


def _latest(plan: Plan) -> dt.datetime:
    return plan.stages_done[-1] if plan.stages_done else plan.received_at


# ---------------------------------------------------------------- callbacks
def _callbacks(rng: random.Random, ids: list[int], now: dt.datetime, *, by_id: int | None) -> int:
    """Most closed requests called back a day after closing; the two lowest scores reopen theirs."""
    closed = list(
        ServiceRequest.objects.filter(pk__in=ids, status=RequestStatus.CLOSED)
        .order_by("pk")
        .only("pk", "closed_at")
    )
    rows, reopened = [], []
    for request in closed:
        if rng.random() < 0.25:
            continue
        reached = rng.random() < 0.88
        satisfaction = rng.choices([5, 4, 3], weights=[65, 25, 10])[0] if reached else None
        if reached and len(reopened) < 2 and rng.random() < 0.1:
            satisfaction = 2 - len(reopened)
            reopened.append(request)
        at = min(request.closed_at + CALLED_AFTER, now)
        rows.append(
            (
                Callback(
                    request_id=request.pk,
                    reached=reached,
                    satisfaction=satisfaction,
                    comment=CALLBACK_COMMENTS.get(satisfaction, "") if reached else "无人接听",
                    by_id=by_id,
                ),
                at,
            )
        )
    callbacks = Callback.objects.bulk_create([callback for callback, _at in rows])
    # called back after closing (one UPDATE: bulk_create stamps them now)
    closed_at = ServiceRequest.objects.filter(pk=OuterRef("request_id")).values("closed_at")[:1]
    Callback.objects.filter(pk__in=[c.pk for c in callbacks]).update(
        created_at=Least(Subquery(closed_at) + CALLED_AFTER, Value(now))
    )
    for callback, (_c, at) in zip(callbacks, rows, strict=True):
        callback.created_at = at
    events = [
        StageEvent(
            request_id=c.request_id,
            action=StageEvent.Action.CALLBACK,
            at=c.created_at,
            by_id=by_id,
            note=c.comment,
        )
        for c in callbacks
    ]
    called = {c.request_id: c.created_at for c in callbacks}
    for request in reopened:
        at = called[request.pk]
        events.append(
            StageEvent(request_id=request.pk, action=StageEvent.Action.REOPENED, at=at, by_id=by_id)
        )
        ServiceRequest.objects.filter(pk=request.pk).update(
            status=RequestStatus.OPEN, reopened_at=at, closed_at=None
        )
    StageEvent.objects.bulk_create(events)
    return len(callbacks)


def seed_demo(*, seed: int, until: dt.date | None = None) -> str:
    """The entry point `manage.py seed_demo` calls: what it made, in a line."""
    return _(
        "One-stop service: %(departments)s departments with %(staff)s staff, %(from_visits)s requests "
        "from visit follow-ups, %(requests)s more requests, %(callbacks)s callbacks."
    ) % seed_service_demo(seed=seed)
