"""A stream of demo customers with their monthly consumption and first assignment, drawn over the org
of crm/demo/org.py.

The stream is generated in chunks (crm/demo/writing.py writes them: COPY on PostgreSQL, bulk_create
elsewhere), so memory stays flat whatever the number of customers. Everything is drawn from one
`random.Random(seed)` in a fixed order: the same seed and the same `until` month give the same data.
"""

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from crm.common.months import add_months
from crm.demo import names
from crm.demo.org import Org, StationOrg
from customers.models import (
    Category,
    Importance,
    Status,
    Tier,
)
from customers.tiering.rules import decide_tier, thresholds_in_force
from managers.models import ROLE_FOR_TIER


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
    return [add_months(until, -back) for back in range(months - 1, -1, -1)]


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
