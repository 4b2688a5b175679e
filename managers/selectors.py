"""Reads for the browser pages of managers and portfolios: per-tier counts in one aggregate query,
and a manager's home (what changed in the portfolio, its consumption by month)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import CharField, Count, F, Q, QuerySet, Sum, Value
from django.utils import timezone

from crm.accounts.roles import ACCOUNT_MANAGER, ADMINISTRATOR, SUPERVISOR, roles_of
from crm.common.months import add_months, month_start
from crm.common.scopes import scope_for
from customers.models import ConsumptionRecord, Customer, Status, Tier, TierChange
from managers.models import Assignment, Manager


@dataclass(frozen=True)
class TierCount:
    tier: str
    label: str
    count: int


@dataclass
class HomeSummary:
    """What the home page shows. `kind` is "mine" (an account manager's own portfolio), "team" (a
    supervisor's managers), "company" (administrators and everyone who sees all) or "none"."""

    kind: str
    tiers: list[TierCount] = field(default_factory=list)
    total: int = 0
    team_size: int | None = None
    unassigned: int | None = None
    profile: Manager | None = None


def unassigned_customers_for(user) -> QuerySet[Customer]:
    """Active customers without a manager that the user looks after: all of them for those who see
    everything, else those in the stations where the user's active managers work. No scope includes
    a customer without a manager, so this is the one place that says who sees them."""
    customers = Customer.objects.active().filter(manager__isnull=True)
    if scope_for(user).sees_all:
        return customers
    stations = Manager.objects.visible_to(user).filter(active=True).values("station_id")
    return customers.filter(station__in=stations)


def tier_counts(customers: QuerySet[Customer]) -> tuple[list[TierCount], int]:
    """Counts per tier (every tier, zeros included) and the total, in one query."""
    counts = customers.aggregate(
        total=Count("pk"), **{f"tier_{tier}": Count("pk", filter=Q(tier=tier)) for tier in Tier.values}
    )
    tiers = [TierCount(tier.value, tier.label, counts[f"tier_{tier.value}"]) for tier in Tier]
    return tiers, counts["total"]


def portfolio_tier_annotations() -> dict:
    """Per-manager annotations: active customers in each tier and in all (one join, one query)."""
    active = Q(user__customers__status=Status.ACTIVE)
    counts = {
        f"tier_{tier}": Count("user__customers", filter=active & Q(user__customers__tier=tier))
        for tier in Tier.values
    }
    return {"portfolio_size": Count("user__customers", filter=active), **counts}


def home_summary(user) -> HomeSummary:
    roles = roles_of(user)
    if ADMINISTRATOR in roles or scope_for(user).sees_all:
        customers = Customer.objects.active()
        tiers, total = tier_counts(customers)
        return HomeSummary(
            kind="company",
            tiers=tiers,
            total=total,
            team_size=Manager.objects.active().count(),
            unassigned=unassigned_customers_for(user).count(),
        )
    if SUPERVISOR in roles:
        team = Manager.objects.visible_to(user).active()
        tiers, total = tier_counts(Customer.objects.visible_to(user).active())
        return HomeSummary(
            kind="team",
            tiers=tiers,
            total=total,
            team_size=team.count(),
            unassigned=unassigned_customers_for(user).count(),
        )
    profile = Manager.objects.select_related("station").filter(pk=user.pk).first()
    if ACCOUNT_MANAGER in roles or profile is not None:
        tiers, total = tier_counts(Customer.objects.visible_to(user).managed_by(user.pk).active())
        return HomeSummary(kind="mine", tiers=tiers, total=total, profile=profile)
    return HomeSummary(kind="none")


def assignment_history(*, customer: Customer) -> QuerySet[Assignment]:
    """Who served the customer and when, newest first, with the managers and who made each move.
    The caller has checked that the user may see the customer."""
    return Assignment.objects.filter(customer=customer).select_related("manager", "by")


# ---------------------------------------------------------------- a manager's home
@dataclass(frozen=True)
class PortfolioChange:
    """A customer's tier changed (`kind` "tier", from `old_tier` to `new_tier`), or the customer
    came to the manager ("to") or left them ("from"), at `at`."""

    kind: str
    customer_id: int
    customer_name: str
    at: dt.datetime
    old_tier: str
    new_tier: str

    def get_old_tier_display(self) -> str:
        return Tier(self.old_tier).label if self.old_tier else ""

    def get_new_tier_display(self) -> str:
        return Tier(self.new_tier).label if self.new_tier else ""


def portfolio_changes(*, user, manager_id: int, since: dt.datetime, rows: int) -> list[PortfolioChange]:
    """What changed in the manager's portfolio since `since`, newest first, at most `rows`: the tier
    changes of their customers (classification runs and pins) and the assignments to or from them.
    One query (a UNION of the three). An assignment's own manager is its scope: a customer that has
    left the manager is no longer theirs to see, but that it left is their own history."""
    if not scope_for(user).includes(manager_id):
        return []
    columns = ("change", "customer_ref", "customer_label", "changed_at", "old", "new")

    def shaped(queryset, change: str, at: str, old: str | None = None, new: str | None = None):
        empty = Value("", output_field=CharField())
        return (
            queryset.annotate(
                change=Value(change, output_field=CharField()),
                customer_ref=F("customer_id"),
                customer_label=F("customer__name"),
                changed_at=F(at),
                old=F(old) if old else empty,
                new=F(new) if new else empty,
            )
            .values_list(*columns)
            .order_by()
        )  # the models' default orderings: not allowed in a UNION

    tiers = TierChange.objects.visible_to(user).filter(customer__manager_id=manager_id, at__gte=since)
    mine = Assignment.objects.filter(manager_id=manager_id)
    union = shaped(tiers, "tier", "at", "old_tier", "new_tier").union(
        shaped(mine.filter(started_at__gte=since), "to", "started_at"),
        shaped(mine.filter(ended_at__gte=since), "from", "ended_at"),
        all=True,
    )
    return [PortfolioChange(*row) for row in union.order_by("-changed_at", "-customer_ref")[:rows]]


@dataclass(frozen=True)
class MonthTotal:
    period: dt.date
    kwh: Decimal


def portfolio_consumption(
    *, user, manager_id: int, months: int, today: dt.date | None = None
) -> list[MonthTotal]:
    """The metered kWh of the manager's active customers per month, over the `months` months before
    this one (this month is not metered yet), oldest first; a month inside the span that metered
    nothing reads 0, so the chart keeps one bar per month. One aggregate query."""
    this_month = month_start(today or timezone.localdate())
    first = add_months(this_month, -months)
    totals = dict(
        ConsumptionRecord.objects.visible_to(user)
        .filter(
            customer__manager_id=manager_id,
            customer__status=Status.ACTIVE,
            period__gte=first,
            period__lt=this_month,
        )
        .values("period")
        .annotate(kwh=Sum("kwh"))
        .order_by("period")
        .values_list("period", "kwh")
    )
    if not totals:
        return []
    start, end = min(totals), max(totals)
    span = [add_months(start, n) for n in range(months) if add_months(start, n) <= end]
    return [MonthTotal(period, totals.get(period) or Decimal(0)) for period in span]
