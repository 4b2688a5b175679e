"""Who serves which customer: moving a customer by hand, and giving unassigned customers the
manager the rules of domain.md choose."""

import logging
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common import hooks
from crm.common.audit import history_record
from crm.common.errors import Conflict
from customers.models import Community, Customer, Status, Tier, TransformerDistrict
from managers.models import ROLE_FOR_TIER, Assignment, Manager

logger = logging.getLogger(__name__)

TERRITORY_TIERS = {Tier.COMMUNITY: "community", Tier.TRANSFORMER_DISTRICT: "transformer_district"}
MANAGER_FIELDS = ("employee_no", "role", "station", "max_customers", "active")


@transaction.atomic
def manager_save(*, manager: Manager | None, by, user=None, name=None, supervisor=..., **data) -> Manager:
    """Create (manager=None, user given) or update a manager profile; `name` and `supervisor` are
    kept on the user, where the reporting tree lives."""
    unknown = set(data) - set(MANAGER_FIELDS)
    if unknown:
        raise TypeError(f"unknown manager fields: {sorted(unknown)}")
    if manager is None:
        if Manager.objects.filter(pk=user.pk).exists():
            raise ValidationError({"user": [_("This user already has a manager profile.")]})
        manager = Manager(user=user)
    user = manager.user
    if name is not None:
        user.full_name = name
    if supervisor is not ...:
        user.supervisor = supervisor
    user.full_clean(exclude=["password", "username", "email"])
    user.save()
    for key, value in data.items():
        setattr(manager, key, value)
    manager.full_clean(exclude=["user"])
    manager._history_user = by
    manager.save()
    hooks.after_commit("manager_changed", manager_id=manager.pk)
    return manager


@transaction.atomic
def manager_delete(*, manager: Manager, by) -> None:
    """Remove a manager profile (the user stays). Refused while the manager serves customers or a
    territory: those must move first, or the profile be deactivated instead."""
    served = Customer.objects.filter(manager_id=manager.pk).count()
    territories = (
        Community.objects.filter(manager_id=manager.pk).count()
        + TransformerDistrict.objects.filter(manager_id=manager.pk).count()
    )
    if served or territories:
        raise Conflict(
            _(
                "This manager still serves %(customers)s customers and %(territories)s territories: "
                "move them first, or deactivate the profile."
            )
            % {"customers": served, "territories": territories}
        )
    manager._history_user = by
    manager.delete()


@transaction.atomic
def assignment_move(
    *, customer: Customer, manager: Manager | None, reason: str, by, check_capacity=True
) -> Assignment:
    """Make `manager` (None: nobody) responsible for `customer`, closing the current assignment.
    Refuses a manager whose role does not serve the customer's tier, an inactive one, or one whose
    portfolio is full."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the customer moves.")]})
    if manager is not None:
        if not manager.active:
            raise ValidationError({"manager": [_("This manager is not active.")]})
        if manager.role != ROLE_FOR_TIER[customer.tier]:
            raise ValidationError(
                {
                    "manager": [
                        _("A %(role)s cannot serve a %(tier)s.")
                        % {"role": manager.get_role_display(), "tier": customer.get_tier_display()}
                    ]
                }
            )
        if check_capacity and manager.user_id != customer.manager_id:
            load = Customer.objects.active().managed_by(manager.user_id).count()
            if load >= manager.max_customers:
                raise ValidationError(
                    {
                        "manager": [
                            _("This manager's portfolio is full (%(n)s customers).")
                            % {"n": manager.max_customers}
                        ]
                    }
                )
    now = timezone.now()
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    Assignment.objects.filter(customer=locked, ended_at__isnull=True).update(ended_at=now, updated_at=now)
    assignment = Assignment.objects.create(
        customer=locked, manager_id=manager.user_id if manager else None, started_at=now, reason=reason, by=by
    )
    Customer.objects.filter(pk=locked.pk).update(manager_id=assignment.manager_id, updated_at=now)
    customer.manager_id = locked.manager_id = assignment.manager_id
    history_record(locked, by=by, reason=reason)
    return assignment


def managers_with_room(*, station_id: int, role: str) -> list[tuple[Manager, int]]:
    """Active, qualified managers of a role in a station with their current load, least loaded first."""
    managers = (
        Manager.objects.filter(station_id=station_id, role=role, active=True, qualified=True)
        .select_related("user")
        .annotate(load=Count("user__customers", filter=Q(user__customers__status=Status.ACTIVE)))
        .order_by("load", "pk")
    )
    return [(m, m.load) for m in managers if m.load < m.max_customers]


@transaction.atomic
def assignments_reconcile(*, by=None, limit: int = 20000) -> dict[str, int]:
    """Give active customers the manager the rules choose, recording each move:
    1. community and transformer-district customers follow their territory's manager (when that
       manager is active and of the right role);
    2. every other customer without a manager gets the least-loaded qualified manager of the
       matching role in its station, never above the maximum portfolio size.
    Customers no manager fits stay unassigned: the supervisor's list. Idempotent."""
    counts = {"followed_territory": 0, "assigned": 0, "unassigned": 0}
    moves: defaultdict[tuple[int | None, str], list[int]] = defaultdict(list)

    territory_managers = valid_territory_managers()
    for tier, field in TERRITORY_TIERS.items():
        rows = (
            Customer.objects.active()
            .in_tier(tier)
            .filter(**{f"{field}__manager__isnull": False})
            .exclude(manager_id=models.F(f"{field}__manager_id"))
            .values_list("pk", f"{field}__manager_id")[:limit]
        )
        for customer_id, manager_id in rows:
            if manager_id in territory_managers[field]:
                moves[(manager_id, str(_("Follows the manager of the customer's territory")))].append(
                    customer_id
                )
                counts["followed_territory"] += 1

    pending = (
        Customer.objects.active()
        .filter(manager__isnull=True)
        .exclude(pk__in=[cid for ids in moves.values() for cid in ids])
        .values_list("pk", "station_id", "tier", "community__manager_id", "transformer_district__manager_id")
        .order_by("pk")[:limit]
    )
    pool = ManagerPool()
    for customer_id, station_id, tier, community_manager, district_manager in pending:
        if (tier == Tier.COMMUNITY and community_manager) or (
            tier == Tier.TRANSFORMER_DISTRICT and district_manager
        ):
            counts["unassigned"] += 1  # its territory has a manager who cannot take it (inactive, wrong role)
            continue
        manager_id = pool.take(station_id=station_id, role=ROLE_FOR_TIER[tier])
        if manager_id is None:
            counts["unassigned"] += 1
            continue
        moves[(manager_id, str(_("Least-loaded qualified manager of the station")))].append(customer_id)
        counts["assigned"] += 1

    assignments_apply(moves=moves, by=by)
    # The run's audit record (each move is an Assignment with its reason and author).
    logger.info("assignment run by %s: %s", by or "the scheduler", counts)
    return counts


class ManagerPool:
    """The least-loaded qualified manager of a role in a station, never above the maximum portfolio
    size, with each manager's load kept current as customers are given out (one query per
    station and role)."""

    def __init__(self) -> None:
        self._pools: dict[tuple[int, str], list[list[int]]] = {}

    def take(self, *, station_id: int, role: str) -> int | None:
        """The user id of the manager who takes one more customer, or None when nobody has room."""
        key = (station_id, role)
        if key not in self._pools:
            self._pools[key] = [
                [m.user_id, load, m.max_customers]
                for m, load in managers_with_room(station_id=station_id, role=role)
            ]
        pool = self._pools[key]
        if not pool:
            return None
        entry = min(pool, key=lambda e: (e[1], e[0]))
        entry[1] += 1
        if entry[1] >= entry[2]:
            pool.remove(entry)
        return entry[0]


def assignments_apply(*, moves: dict[tuple[int | None, str], list[int]], by=None) -> None:
    """Write many moves at once: {(manager user id or None, reason): [customer ids]} closes each
    customer's current assignment, opens the new one with its reason and sets the manager."""
    now = timezone.now()
    for (manager_id, reason), customer_ids in moves.items():
        Assignment.objects.filter(customer_id__in=customer_ids, ended_at__isnull=True).update(
            ended_at=now, updated_at=now
        )
        Assignment.objects.bulk_create(
            [
                Assignment(customer_id=cid, manager_id=manager_id, started_at=now, reason=reason, by=by)
                for cid in customer_ids
            ]
        )
        Customer.objects.filter(pk__in=customer_ids).update(manager_id=manager_id, updated_at=now)


def valid_territory_managers() -> dict[str, set[int]]:
    """User ids that may serve each kind of territory: active managers of the matching role."""
    managers = Manager.objects.filter(active=True, role__in=[ROLE_FOR_TIER[t] for t in TERRITORY_TIERS])
    by_role = defaultdict(set)
    for user_id, role in managers.values_list("user_id", "role"):
        by_role[role].add(user_id)
    return {field: by_role[ROLE_FOR_TIER[tier]] for tier, field in TERRITORY_TIERS.items()}
