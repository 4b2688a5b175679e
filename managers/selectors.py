"""Reads for the browser pages of managers and portfolios: per-tier counts in one aggregate query."""

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from crm.accounts.roles import ACCOUNT_MANAGER, ADMINISTRATOR, SUPERVISOR, roles_of
from crm.common.scopes import scope_for
from customers.models import Customer, Status, Tier
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
