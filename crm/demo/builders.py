"""Builds the demo county: the org tree, the staff, the territories, and a stream of customers with
their monthly consumption and first assignment.

The customer stream is generated in chunks and written in chunks (COPY on PostgreSQL, bulk_create
elsewhere), so memory stays flat whatever the number of customers. Everything is drawn from one
`random.Random(seed)` in a fixed order: the same seed and the same `until` month give the same data.
"""

import csv
import datetime as dt
import io
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from crm.accounts import roles
from crm.accounts.models import User
from crm.demo import names
from crm.demo.logins import ADMIN, DEMO_PASSWORD, DIRECTOR, INTEGRATION
from customers.models import (
    Branch,
    Category,
    Community,
    Company,
    ConsumptionRecord,
    Contact,
    Customer,
    Importance,
    Station,
    Status,
    Tier,
    TransformerDistrict,
)
from customers.tiering.rules import decide_tier, thresholds_in_force
from managers.models import ROLE_FOR_TIER, Assignment, Manager, Role

ASSIGNMENT_REASON = "演示数据初始分配"
# Territories and staff are sized for this many customers and grow in proportion above it.
BASE_CUSTOMERS = 5000
TRANSFORMER_KVA = (100, 160, 200, 250, 315, 400, 500, 630)


@dataclass(frozen=True)
class StationPlan:
    code: str
    name: str
    town: str
    share: float  # of the county's customers
    urban: float  # of its small customers living in a community rather than a transformer district
    communities: int
    districts: int


STATIONS = (
    StationPlan("QH01", "城关供电所", "城关镇", 0.45, 0.75, 10, 12),
    StationPlan("QH02", "河口供电所", "河口镇", 0.30, 0.25, 5, 24),
    StationPlan("QH03", "青石供电所", "青石镇", 0.25, 0.15, 5, 24),
)
# Expected portfolio per VIP / key account manager when sizing the staff for large counties.
VIP_PER_MANAGER = 60
KEY_PER_MANAGER = 200
COMMUNITIES_PER_MANAGER = 4
DISTRICTS_PER_MANAGER = 6


# ---------------------------------------------------------------- the org
@dataclass
class StationOrg:
    plan: StationPlan
    pk: int
    number: int  # 1-based
    communities: list[tuple[int, str, int]] = field(default_factory=list)  # (pk, name, manager user id)
    districts: list[tuple[int, str, int]] = field(default_factory=list)  # (pk, village, manager user id)
    managers: dict[str, list[int]] = field(default_factory=dict)  # role -> user ids


@dataclass
class Org:
    stations: list[StationOrg]
    admin_id: int
    user_count: int
    manager_count: int


def scale_for(customers: int) -> float:
    return max(1.0, customers / BASE_CUSTOMERS)


def _username_counter():
    counts: dict[str, int] = {}

    def next_name(prefix: str) -> str:
        counts[prefix] = counts.get(prefix, 0) + 1
        return f"{prefix}{counts[prefix]}"

    return next_name


def build_org(*, rng: random.Random, customers: int) -> Org:
    """Company -> county branch -> 3 supply stations with their communities and transformer
    districts; an administrator, a head of marketing, a supervisor per station, managers of each
    role per station, and an integration client. Returns what the customer stream needs."""
    k = scale_for(customers)
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing per user would take minutes
    groups = {g.name: g for g in Group.objects.filter(name__in=roles.ROLE_PERMISSIONS)}
    memberships: list[tuple[int, str]] = []

    def user(username: str, full_name: str, *, supervisor_id=None, is_staff=False) -> User:
        return User(
            username=username,
            full_name=full_name,
            password=password,
            is_staff=is_staff,
            supervisor_id=supervisor_id,
            email=f"{username}@demo.invalid",
        )

    admin = User.objects.bulk_create([user(ADMIN, "系统管理员", is_staff=True)])[0]
    director = User.objects.bulk_create([user(DIRECTOR, names.person(rng))])[0]
    integration = User.objects.bulk_create([user(INTEGRATION, "营销系统接口")])[0]
    memberships += [
        (admin.pk, roles.ADMINISTRATOR),
        (director.pk, roles.SUPERVISOR),
        (integration.pk, roles.INTEGRATION_CLIENT),
    ]

    company = Company.objects.create(code="QZ", name="国网清州供电公司")
    branch = Branch.objects.create(company=company, code="QZ-QH", name=f"{names.COUNTY}供电公司")
    next_name = _username_counter()
    stations: list[StationOrg] = []
    supervisors = []
    for number, plan in enumerate(STATIONS, start=1):
        station = Station.objects.create(branch=branch, code=plan.code, name=plan.name)
        stations.append(StationOrg(plan=plan, pk=station.pk, number=number))
        supervisors.append(user(next_name("supervisor"), names.person(rng), supervisor_id=director.pk))
    supervisors = User.objects.bulk_create(supervisors)
    memberships += [(s.pk, roles.SUPERVISOR) for s in supervisors]

    # Managers: per station, enough of each role for its share of the county.
    staff: list[tuple[StationOrg, str, User]] = []
    prefixes = {
        Role.VIP_MANAGER: "vip",
        Role.KEY_ACCOUNT_MANAGER: "key",
        Role.COMMUNITY_MANAGER: "community",
        Role.TRANSFORMER_DISTRICT_MANAGER: "district",
    }
    counts_by_station = []
    for org, supervisor in zip(stations, supervisors, strict=True):
        plan = org.plan
        n_communities = round(plan.communities * k)
        n_districts = round(plan.districts * k)
        expected = customers * plan.share
        counts = {
            Role.VIP_MANAGER: max(1, math.ceil(expected * 0.003 / VIP_PER_MANAGER)),
            Role.KEY_ACCOUNT_MANAGER: max(2, math.ceil(expected * 0.025 / KEY_PER_MANAGER)),
            Role.COMMUNITY_MANAGER: max(1, math.ceil(n_communities / COMMUNITIES_PER_MANAGER)),
            Role.TRANSFORMER_DISTRICT_MANAGER: max(1, math.ceil(n_districts / DISTRICTS_PER_MANAGER)),
        }
        counts_by_station.append((org, n_communities, n_districts))
        for role, count in counts.items():
            for _i in range(count):
                staff.append(
                    (
                        org,
                        role,
                        user(next_name(prefixes[role]), names.person(rng), supervisor_id=supervisor.pk),
                    )
                )
    created = User.objects.bulk_create([u for _org, _role, u in staff], batch_size=500)
    profiles = []
    for index, ((org, role, _u), account) in enumerate(zip(staff, created, strict=True), start=1):
        org.managers.setdefault(role, []).append(account.pk)
        memberships.append((account.pk, roles.ACCOUNT_MANAGER))
        profiles.append(
            Manager(
                user_id=account.pk,
                employee_no=f"QH{org.number}{index:05d}",
                role=role,
                station_id=org.pk,
                max_customers=500,
                active=True,
                qualified=True,
            )
        )
    Manager.objects.bulk_create(profiles, batch_size=500)
    through = User.groups.through
    through.objects.bulk_create(
        [through(user_id=uid, group_id=groups[name].pk) for uid, name in memberships], batch_size=500
    )

    # Territories, dealt round-robin to the station's territory managers. Villages have two
    # transformer districts each: 张庄1号台区, 张庄2号台区.
    community_index = district_index = 0
    for org, n_communities, n_districts in counts_by_station:
        cms = org.managers[Role.COMMUNITY_MANAGER]
        dms = org.managers[Role.TRANSFORMER_DISTRICT_MANAGER]
        communities = []
        for i in range(n_communities):
            communities.append(
                Community(
                    station_id=org.pk,
                    code=f"{org.plan.code}-C{i + 1:04d}",
                    name=names.community(community_index),
                    manager_id=cms[i * len(cms) // n_communities],
                )
            )
            community_index += 1
        for c in Community.objects.bulk_create(communities, batch_size=500):
            org.communities.append((c.pk, c.name, c.manager_id))
        districts = []
        villages = []
        for i in range(n_districts):
            village = names.village(district_index // 2)
            villages.append(village)
            districts.append(
                TransformerDistrict(
                    station_id=org.pk,
                    code=f"{org.plan.code}-T{i + 1:05d}",
                    name=f"{village}{district_index % 2 + 1}号台区",
                    transformer_code=f"T{org.number}{district_index + 1:06d}",
                    rated_capacity_kva=Decimal(rng.choice(TRANSFORMER_KVA)),
                    manager_id=dms[i * len(dms) // n_districts],
                )
            )
            district_index += 1
        created_districts = TransformerDistrict.objects.bulk_create(districts, batch_size=500)
        for d, village in zip(created_districts, villages, strict=True):
            org.districts.append((d.pk, village, d.manager_id))
    return Org(
        stations=stations,
        admin_id=admin.pk,
        user_count=3 + len(supervisors) + len(created),
        manager_count=len(created),
    )


# ---------------------------------------------------------------- consumption shapes
def _normalised(factors: list[float]) -> tuple[float, ...]:
    mean = sum(factors) / len(factors)
    return (0.0, *(f / mean for f in factors))  # index by month 1..12


# Monthly shape of a year's consumption: air conditioning in July-August, heating in December-
# February, the Spring Festival pause in industry, irrigation from May to August.
SEASON = {
    Category.RESIDENTIAL: _normalised(
        [1.35, 1.25, 0.95, 0.80, 0.85, 1.05, 1.45, 1.50, 1.00, 0.80, 0.90, 1.20]
    ),
    Category.COMMERCIAL: _normalised(
        [1.10, 0.95, 0.90, 0.85, 0.95, 1.15, 1.35, 1.35, 1.05, 0.90, 0.90, 1.05]
    ),
    Category.INDUSTRIAL: _normalised(
        [1.00, 0.72, 1.00, 1.02, 1.03, 1.05, 1.08, 1.08, 1.03, 1.00, 1.02, 1.05]
    ),
    Category.AGRICULTURAL: _normalised(
        [0.55, 0.50, 0.70, 0.95, 1.45, 1.70, 1.80, 1.60, 1.05, 0.70, 0.55, 0.55]
    ),
    Category.PUBLIC_SERVICE: _normalised(
        [1.15, 0.95, 0.95, 0.90, 0.92, 1.05, 1.15, 1.10, 1.00, 0.90, 0.95, 1.10]
    ),
}
PRICE_YUAN = {  # average price per kWh
    Category.RESIDENTIAL: 0.5583,
    Category.COMMERCIAL: 0.7452,
    Category.INDUSTRIAL: 0.6386,
    Category.AGRICULTURAL: 0.4982,
    Category.PUBLIC_SERVICE: 0.6121,
}
LOAD_FACTOR = {
    Category.RESIDENTIAL: 0.22,
    Category.COMMERCIAL: 0.35,
    Category.INDUSTRIAL: 0.55,
    Category.AGRICULTURAL: 0.20,
    Category.PUBLIC_SERVICE: 0.35,
}
STANDARD_KVA = (4, 6, 8, 10, 16, 20, 30, 50, 80, 100, 125, 160, 200, 250)
KEY_KVA = (315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000)
VIP_KVA = (6300, 8000, 10000, 12500, 16000, 20000, 31500, 40000)


def months_back(until: dt.date, months: int) -> list[dt.date]:
    """The first days of `months` months ending with `until`'s month, oldest first."""
    index = until.year * 12 + until.month - 1
    return [dt.date((i // 12), (i % 12) + 1, 1) for i in range(index - months + 1, index + 1)]


# ---------------------------------------------------------------- one customer
@dataclass
class Spec:
    """What a customer is before its numbers are drawn."""

    name: str
    category: str
    industry_code: str
    voltage_kv: str
    capacity_kva: int
    importance: str
    station: StationOrg
    community: tuple[int, str, int] | None
    district: tuple[int, str, int] | None
    address: str
    annual_kwh: float
    profile: str  # "vip", "key" or "small": how its trend is drawn


# The county's well-known accounts, always the first customers: (name, category, industry code,
# voltage kV, capacity kVA, importance, station number, address, annual kWh, profile). "{county}",
# "{town}", "{brand}" and "{park}" are filled in.
ANCHORS = (
    ("{county}人民医院", Category.PUBLIC_SERVICE, "Q8411", "10", 2000, Importance.LEVEL_1, 1,
     "{town}人民路88号", 3_600_000, "vip"),
    ("{county}自来水厂", Category.PUBLIC_SERVICE, "D4610", "10", 1250, Importance.LEVEL_1, 1,
     "{town}滨河路2号", 4_200_000, "vip"),
    ("{county}{brand}钢铁有限公司", Category.INDUSTRIAL, "C3120", "110", 31500, Importance.NONE, 2,
     "{park}钢城大道1号", 62_000_000, "vip"),
    ("{town}{brand}水泥有限公司", Category.INDUSTRIAL, "C3011", "35", 10000, Importance.NONE, 3,
     "{town}石灰岭", 24_000_000, "vip"),
    ("{county}人民政府", Category.PUBLIC_SERVICE, "S9221", "10", 630, Importance.LEVEL_2, 1,
     "{town}府前街1号", 900_000, "key"),
    ("{county}中医院", Category.PUBLIC_SERVICE, "Q8412", "10", 800, Importance.LEVEL_2, 1,
     "{town}解放路36号", 1_300_000, "key"),
    ("{county}第一中学", Category.PUBLIC_SERVICE, "P8334", "0.38", 400, Importance.NONE, 1,
     "{town}文化路15号", 420_000, "key"),
    ("{county}公安局", Category.PUBLIC_SERVICE, "S9224", "0.38", 200, Importance.LEVEL_2, 1,
     "{town}建设路9号", 260_000, "key"),
    ("{county}体育中心", Category.PUBLIC_SERVICE, "R8820", "10", 630, Importance.TEMPORARY, 1,
     "{town}迎宾大道100号", 520_000, "key"),
)  # fmt: skip


def _anchors(rng: random.Random, org: Org) -> list[Spec]:
    specs = []
    for name, category, code, voltage, kva, importance, number, address, annual, profile in ANCHORS:
        station = org.stations[number - 1]
        fill = {
            "county": names.COUNTY,
            "town": station.plan.town,
            "brand": rng.choice(names.BRANDS),
            "park": names.INDUSTRIAL_PARKS[number - 1],
        }
        specs.append(
            Spec(
                name.format(**fill), category, code, voltage, kva, importance, station, None, None,
                address.format(**fill), annual, profile,
            )
        )  # fmt: skip
    return specs


def _capacity_for(annual_kwh: float, category: str, choices=STANDARD_KVA) -> int:
    """The smallest standard size that carries the customer's load with some headroom."""
    need = annual_kwh / (8760 * LOAD_FACTOR[category]) * 1.4
    for size in choices:
        if size >= need:
            return size
    return choices[-1]


def _address_in(rng: random.Random, station: StationOrg, community, district) -> str:
    town = station.plan.town
    if community is not None:
        return (
            f"{town}{community[1]}{rng.randint(1, 24)}栋{rng.randint(1, 4)}单元"
            f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}室"
        )
    if district is not None:
        return f"{town}{district[1]}{rng.randint(1, 260)}号"
    return f"{town}{rng.choice(names.ROADS)}{rng.randint(1, 400)}号"


def _random_spec(rng: random.Random, org: Org, weights: list[float]) -> Spec:
    station = rng.choices(org.stations, weights=weights)[0]
    town = station.plan.town
    r = rng.random()
    if r < 0.002:  # VIP: large plants on 35 / 110 kV
        name, code = names.heavy_company(rng)
        voltage = "110" if rng.random() < 0.2 else "35"
        annual = rng.uniform(12e6, 60e6)
        address = f"{rng.choice(names.INDUSTRIAL_PARKS)}{rng.randint(1, 80)}号"
        capacity = rng.choice(VIP_KVA)
        return Spec(name, Category.INDUSTRIAL, code, voltage, capacity, Importance.NONE, station,
                    None, None, address, annual, "vip")  # fmt: skip
    if r < 0.022:  # key accounts: 10 kV, 315 kVA and up
        s = rng.random()
        if s < 0.65:
            category = Category.INDUSTRIAL
            name, code = names.company(rng, town)
        elif s < 0.9:
            category = Category.COMMERCIAL
            name, code = names.big_commerce(rng, town)
        else:
            category = Category.PUBLIC_SERVICE
            name, code = names.key_public(rng, town)
        capacity = rng.choice(KEY_KVA)
        annual = min(capacity * 8760 * rng.uniform(0.12, 0.40), 8_500_000)
        voltage = "10" if rng.random() < 0.9 else "0.38"
        importance = (
            Importance.LEVEL_2
            if category == Category.PUBLIC_SERVICE and rng.random() < 0.5
            else Importance.NONE
        )
        community = district = None
        if rng.random() < 0.5:
            if rng.random() < station.plan.urban:
                community = rng.choice(station.communities)
            else:
                district = rng.choice(station.districts)
        address = (
            _address_in(rng, station, None, district)
            if community is None
            else f"{town}{community[1]}{rng.choice(names.ROADS)}{rng.randint(1, 200)}号"
        )
        return Spec(name, category, code, voltage, capacity, importance, station, community, district,
                    address, annual, "key")  # fmt: skip

    # Small customers: residents, shops, workshops, farms, village services.
    urban = rng.random() < station.plan.urban
    s = rng.random()
    if s < 0.85:
        category, median, sigma = Category.RESIDENTIAL, 2400, 0.5
    elif s < 0.93:
        category, median, sigma = Category.COMMERCIAL, 25_000, 0.9
    elif s < 0.95:
        category, median, sigma = Category.INDUSTRIAL, 150_000, 0.7
        urban = urban and rng.random() < 0.3
    elif s < 0.98:
        category, median, sigma = Category.AGRICULTURAL, 15_000, 0.8
        urban = False
    else:
        category, median, sigma = Category.PUBLIC_SERVICE, 30_000, 0.7
    community = rng.choice(station.communities) if urban else None
    district = None if urban else rng.choice(station.districts)
    annual = min(rng.lognormvariate(math.log(median), sigma), 700_000)
    if category == Category.RESIDENTIAL:
        name, code = names.person(rng), ""
        voltage = "0.22" if rng.random() < 0.9 else "0.38"
        capacity = rng.choice((4, 6, 8, 8, 10, 16))
    else:
        village = district[1] if district else None
        if category == Category.COMMERCIAL:
            name, code = names.shop(rng)
        elif category == Category.INDUSTRIAL:
            name, code = names.company(rng, town)
        elif category == Category.AGRICULTURAL:
            name, code = names.farm(rng, village or town)
        else:
            name, code = names.public_service(rng, town, village)
        voltage = "0.38"
        capacity = _capacity_for(annual, category)
    return Spec(name, category, code, voltage, capacity, Importance.NONE, station, community, district,
                _address_in(rng, station, community, district), annual, "small")  # fmt: skip


# ---------------------------------------------------------------- the stream
@dataclass
class Chunk:
    customers: list[dict]
    consumption: list[tuple]  # (customer_id, period, kwh, amount_yuan, max_demand_kw) as strings
    assignments: list[tuple]  # (customer_id, manager_id)


@dataclass
class Tally:
    customers: int = 0
    consumption: int = 0
    tiers: dict[str, int] = field(default_factory=dict)
    loads: dict[int, int] = field(default_factory=dict)  # manager user id -> active customers


class _TierCache:
    """decide_tier for a new customer, memoised. Without a current tier, annual consumption enters
    the rules only through its comparison with the two consumption thresholds, so those two answers
    and the attributes decide the tier: a county has a few hundred such keys, and a million
    customers then cost a few hundred calls (decide_tier also words an explanation, which the seed
    does not need)."""

    def __init__(self):
        # The policy the product itself applies now, so a reclassification right after the seed
        # finds nothing to change.
        self.thresholds = thresholds_in_force()
        self.tiers: dict[tuple, str] = {}

    def __call__(self, spec: "Spec", annual: Decimal) -> str:
        t = self.thresholds
        key = (
            annual >= t.vip_kwh,
            annual >= t.key_kwh,
            spec.voltage_kv,
            spec.capacity_kva,
            spec.importance,
            spec.community is not None,
        )
        tier = self.tiers.get(key)
        if tier is None:
            tier = decide_tier(
                annual_kwh=annual,
                voltage_kv=Decimal(spec.voltage_kv),
                capacity_kva=Decimal(spec.capacity_kva),
                importance=spec.importance,
                in_community=spec.community is not None,
                thresholds=t,
            ).tier
            self.tiers[key] = tier
        return tier


class CustomerStream:
    """The customers in chunks, with their consumption and first manager. After iterating,
    `loads` holds each manager's number of active customers."""

    def __init__(
        self,
        *,
        rng: random.Random,
        org: Org,
        customers: int,
        periods: list[dt.date],
        first_id: int,
        chunk: int,
    ):
        self.rng, self.org, self.customers = rng, org, customers
        self.periods, self.first_id, self.chunk = periods, first_id, chunk
        self.loads: dict[int, int] = {}

    def __iter__(self) -> Iterator[Chunk]:
        return _customer_chunks(self)


def _customer_chunks(stream: CustomerStream) -> Iterator[Chunk]:
    rng, org, customers, periods = stream.rng, stream.org, stream.customers, stream.periods
    first_id, chunk = stream.first_id, stream.chunk
    weights = [s.plan.share for s in org.stations]
    anchors = _anchors(rng, org)
    period_text = [p.isoformat() for p in periods]
    months = [p.month for p in periods]
    n_periods = len(periods)
    latest_index = n_periods - 1
    loads = stream.loads
    tier_for = _TierCache()
    for station in org.stations:
        for ids in station.managers.values():
            for uid in ids:
                loads[uid] = 0

    draw, exp = rng.random, math.exp
    out = Chunk([], [], [])
    add = out.consumption.append
    for i in range(customers):
        spec = anchors[i] if i < len(anchors) else _random_spec(rng, org, weights)
        customer_id = first_id + i

        # Status: mostly active; a few suspended (zero in the last months) or closed (no more bills).
        r = rng.random()
        status = Status.ACTIVE
        if i >= len(anchors) and r < 0.03:
            status = Status.SUSPENDED if r < 0.02 else Status.CLOSED

        # Trend: small customers drift; large ones grow, hold or shrink; a few fall sharply.
        if spec.profile == "small":
            growth = rng.gauss(0.03, 0.06)
            drop = rng.random() < 0.005
        else:
            t = rng.random()
            growth = (
                rng.uniform(0.05, 0.30)
                if t < 0.4
                else rng.uniform(-0.04, 0.04)
                if t < 0.75
                else rng.uniform(-0.30, -0.05)
            )
            drop = rng.random() < 0.04
        drop_months = rng.choice((1, 2)) if drop else 0
        drop_factor = rng.uniform(0.35, 0.6)
        stop_at = n_periods  # exclusive: the months billed
        zero_from = n_periods
        if status == Status.CLOSED:
            stop_at = max(1, n_periods - rng.randint(2, 8))
        elif status == Status.SUSPENDED:
            zero_from = n_periods - rng.randint(1, 3)

        season = SEASON[spec.category]
        price = PRICE_YUAN[spec.category]
        demand_divisor = 730 * LOAD_FACTOR[spec.category]
        demand_cap = spec.capacity_kva * 0.95
        base = spec.annual_kwh / 12
        log_growth = math.log1p(max(growth, -0.9)) / 12
        drop_from = n_periods - drop_months
        kwh_cents: list[int] = []
        keep = kwh_cents.append
        for m in range(stop_at):
            if m >= zero_from:
                keep(0)
                add((customer_id, period_text[m], "0.00", "0.00", "0.00"))
                continue
            kwh = base * season[months[m]] * exp(log_growth * (m - latest_index)) * (0.92 + 0.16 * draw())
            if m >= drop_from:
                kwh *= drop_factor
            cents = int(kwh * 100 + 0.5)
            keep(cents)
            demand = kwh / demand_divisor
            add(
                (
                    customer_id,
                    period_text[m],
                    f"{cents / 100:.2f}",  # exactly `cents`: the annual figure below is summed from them
                    f"{kwh * price:.2f}",
                    f"{demand if demand < demand_cap else demand_cap:.2f}",
                )
            )

        # Annual consumption: the reclassification's rule (trailing 12 months, annualised).
        trailing = kwh_cents[-12:]
        annual = (Decimal(sum(trailing)) * 12 / len(trailing) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        tier = tier_for(spec, annual)
        if tier == Tier.COMMUNITY and spec.community is not None:
            manager_id = spec.community[2]
        elif tier == Tier.TRANSFORMER_DISTRICT and spec.district is not None:
            manager_id = spec.district[2]
        else:
            pool = spec.station.managers[ROLE_FOR_TIER[tier]]
            manager_id = min(pool, key=lambda uid: (loads[uid], uid))
        if status == Status.ACTIVE:
            loads[manager_id] += 1

        out.customers.append(
            {
                "id": customer_id,
                "account_no": f"5{spec.station.number}{i + 1:08d}",
                "name": spec.name,
                "category": spec.category,
                "industry_code": spec.industry_code,
                "voltage_kv": spec.voltage_kv,
                "contracted_capacity_kva": f"{spec.capacity_kva}.0",
                "importance": spec.importance,
                "station_id": spec.station.pk,
                "community_id": spec.community[0] if spec.community else None,
                "transformer_district_id": spec.district[0] if spec.district else None,
                "address": spec.address,
                "status": status,
                "tier": tier,
                "tier_pinned": False,
                "manager_id": manager_id,
                "annual_consumption_kwh": str(annual),
                "latest_period": period_text[stop_at - 1],
            }
        )
        out.assignments.append((customer_id, manager_id))
        if len(out.customers) >= chunk:
            yield out
            out = Chunk([], [], [])
            add = out.consumption.append
    if out.customers:
        yield out


# ---------------------------------------------------------------- writing
class Writer:
    """Writes rows of one model: COPY on PostgreSQL, bulk_create elsewhere. Columns the demo does
    not fill take the model field's default, so fields added later need no change here."""

    def __init__(self, model, columns: list[str], *, plain: bool = False):
        self.model = model
        self.columns = columns
        self.plain = plain  # the rows hold only str and int: no value needs converting for COPY
        self.postgres = connection.vendor == "postgresql"
        known = set(columns)
        self.extra = [f for f in model._meta.concrete_fields if f.attname not in known and not f.primary_key]
        self.now = timezone.now()

    def _extra_values(self) -> list:
        values = []
        for f in self.extra:
            if f.attname in ("created_at", "updated_at"):
                values.append(self.now)
            else:
                values.append(f.get_default())
        return values

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        extra = self._extra_values()
        if self.postgres:
            self._copy(rows, extra)
        else:
            self._insert(rows, extra)

    def _columns(self) -> list[str]:
        columns = [self.model._meta.get_field(_field_name(self.model, c)).column for c in self.columns]
        return columns + [f.column for f in self.extra]

    def _insert(self, rows: list[tuple], extra: list) -> None:
        """One prepared INSERT run over the whole chunk (executemany): several times faster than
        bulk_create, which builds a model instance and prepares every value of every row. The
        values are already what Django would send (text for dates and decimals); only datetimes
        need the backend's adaptation."""
        ops = connection.ops
        tail = [f.get_db_prep_save(v, connection) for f, v in zip(self.extra, extra, strict=True)]
        columns = self._columns()
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - quoted model metadata only  # nosec B608
            ops.quote_name(self.model._meta.db_table),
            ", ".join(ops.quote_name(c) for c in columns),
            ", ".join(["%s"] * len(columns)),
        )
        prepared = [
            (*(ops.adapt_datetimefield_value(v) if isinstance(v, dt.datetime) else v for v in row), *tail)
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, prepared)

    def _copy(self, rows: list[tuple], extra: list) -> None:
        columns = self._columns()
        tail = [_pg_text(v) for v in extra]
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\n")
        if self.plain:
            tail_tuple = tuple(tail)
            out.writerows(row + tail_tuple for row in rows)
        else:
            for row in rows:
                out.writerow([*(_pg_text(v) for v in row), *tail])
        buffer.seek(0)
        table = connection.ops.quote_name(self.model._meta.db_table)
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        sql = f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        with connection.cursor() as cursor:
            raw = cursor.cursor
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(sql, buffer)
            else:  # psycopg 3
                with raw.copy(sql) as copy:
                    copy.write(buffer.getvalue())


def _field_name(model, attname: str) -> str:
    for f in model._meta.concrete_fields:
        if f.attname == attname:
            return f.name
    raise LookupError(attname)


def _pg_text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


CUSTOMER_COLUMNS = [
    "id",
    "account_no",
    "name",
    "category",
    "industry_code",
    "voltage_kv",
    "contracted_capacity_kva",
    "importance",
    "station_id",
    "community_id",
    "transformer_district_id",
    "address",
    "status",
    "tier",
    "tier_pinned",
    "manager_id",
    "annual_consumption_kwh",
    "latest_period",
]


def next_customer_id() -> int:
    return (Customer.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


_DROPPABLE_SQL = {
    # Foreign keys, and unique constraints no foreign key depends on.
    "constraints": """
        SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
        WHERE c.conrelid = %s::regclass AND (
            c.contype = 'f' OR (c.contype = 'u' AND NOT EXISTS (
                SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)))
        ORDER BY c.conname""",
    # Indexes that back no constraint (the primary key stays).
    "indexes": """
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
        ORDER BY i.relname""",
}


@contextmanager
def bulk_load(models: list):
    """On PostgreSQL, load empty tables the fast way the manual recommends: drop their foreign keys,
    unique constraints and secondary indexes, load, then build each index once and check each
    foreign key with one join. Everything is inside the caller's transaction, so a failure leaves
    the schema as it was. Elsewhere, nothing to do."""
    if connection.vendor != "postgresql":
        yield
        return
    quote = connection.ops.quote_name
    saved = []
    with connection.cursor() as cursor:
        # Fire the deferred foreign-key checks queued so far (the staff just created): a table with
        # pending trigger events cannot be altered, and the queue should not grow with the load.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for model in models:
            table = model._meta.db_table
            cursor.execute(_DROPPABLE_SQL["constraints"], [table])
            constraints = cursor.fetchall()
            cursor.execute(_DROPPABLE_SQL["indexes"], [table])
            indexes = cursor.fetchall()
            for name, _definition in constraints:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
            saved.append((table, constraints, indexes))
    yield
    with connection.cursor() as cursor:
        for table, constraints, indexes in saved:
            for _name, definition in indexes:
                cursor.execute(definition)
            for name, definition in constraints:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


def write_stream(*, stream: CustomerStream, progress=None) -> Tally:
    """Write every chunk; then fit the managers' maximum portfolio to what they were given and move
    the customer id sequence past the explicit ids."""
    customers = Writer(Customer, CUSTOMER_COLUMNS)
    consumption = Writer(
        ConsumptionRecord, ["customer_id", "period", "kwh", "amount_yuan", "max_demand_kw"], plain=True
    )
    assignments = Writer(Assignment, ["customer_id", "manager_id", "started_at", "reason", "by_id"])
    org = stream.org
    started = timezone.make_aware(dt.datetime.combine(stream.periods[0], dt.time(8, 0)))
    tally = Tally()
    with bulk_load([Customer, ConsumptionRecord, Assignment]):
        for chunk in stream:
            customers.write([tuple(c[name] for name in CUSTOMER_COLUMNS) for c in chunk.customers])
            consumption.write(chunk.consumption)
            assignments.write(
                [(cid, mid, started, ASSIGNMENT_REASON, org.admin_id) for cid, mid in chunk.assignments]
            )
            tally.customers += len(chunk.customers)
            tally.consumption += len(chunk.consumption)
            for c in chunk.customers:
                tally.tiers[c["tier"]] = tally.tiers.get(c["tier"], 0) + 1
            if progress:
                progress(tally)
    tally.loads = stream.loads
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Customer]):
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            tables = [m._meta.db_table for m in (Customer, ConsumptionRecord, Assignment)]
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
    for uid, load in tally.loads.items():
        if load > 400:
            Manager.objects.filter(pk=uid).update(max_customers=math.ceil(load * 1.25 / 100) * 100)
    return tally


CONTACT_TITLES = ("电气负责人", "总经理", "财务负责人", "后勤主任", "设备科长")


def write_contacts(*, rng: random.Random, batch: int = 5000) -> int:
    """One to three contacts for every VIP and key account (the customers a manager phones), the
    first of them primary; in primary-key batches so a million-customer county stays flat in memory."""
    big = (
        Customer.objects.filter(tier__in=[Tier.VIP, Tier.KEY_ACCOUNT])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    written, last = 0, 0
    while True:
        ids = list(big.filter(pk__gt=last)[:batch])
        if not ids:
            return written
        contacts = []
        for customer_id in ids:
            for n, title in enumerate(rng.sample(CONTACT_TITLES, rng.randint(1, 3))):
                contacts.append(
                    Contact(
                        customer_id=customer_id,
                        name=names.person(rng),
                        title=title,
                        phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                        is_primary=n == 0,
                    )
                )
        Contact.objects.bulk_create(contacts, batch_size=1000)
        written += len(contacts)
        last = ids[-1]
