"""The demo county's org tree: the company, its branch and stations, the staff with their roles and
reporting lines, and the territories each manager serves (`build_org`)."""

import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from crm.accounts import roles
from crm.accounts.models import User
from crm.demo import names
from crm.demo.logins import ADMIN, DEMO_PASSWORD, DIRECTOR, INTEGRATION
from customers.models import (
    Branch,
    Community,
    Company,
    Station,
    TransformerDistrict,
)
from managers.models import Manager, Role

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
