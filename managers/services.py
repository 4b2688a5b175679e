"""Who serves which customer: manager profiles and where they sit in the reporting tree (never
moved out of the acting user's team), moving a customer by hand, and giving unassigned customers
the manager the rules of domain.md choose."""

import logging
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.roles import leads_a_team
from crm.common import hooks
from crm.common.audit import history_record
from crm.common.errors import Conflict
from crm.common.scopes import scope_for
from customers.models import Community, Customer, Status, Tier, TransformerDistrict
from managers.models import ROLE_FOR_TIER, Assignment, Manager, Role

logger = logging.getLogger(__name__)

TERRITORY_TIERS = {Tier.COMMUNITY: "community", Tier.TRANSFORMER_DISTRICT: "transformer_district"}
TERRITORY_ROLES = {Community: Role.COMMUNITY_MANAGER, TransformerDistrict: Role.TRANSFORMER_DISTRICT_MANAGER}
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
    # Every rule is checked before anything is written: a refused save changes nothing.
    if supervisor is not ... and getattr(supervisor, "pk", None) != user.supervisor_id:
        supervisor_check_move(by=by, manager=manager, new_supervisor=supervisor)
    manager_check_fit(manager=manager, role=data.get("role"), max_customers=data.get("max_customers"))
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


def _inside_team(*, by, user_id: int | None) -> bool:
    """Whether `user_id` (None: nobody) lies in the tree of the acting user `by`: themself and
    everyone below them. Whoever sees all data (administrators) reaches everyone and nobody; `by`
    None is the system (a job, a data fix), which has no tree to keep."""
    return by is None or scope_for(by).includes(user_id)


def supervisor_check_move(*, by, manager: Manager, new_supervisor) -> None:
    """Refuse putting `manager` under `new_supervisor` (a user, or None for nobody) unless:
    - the new supervisor lies in the acting user's own tree, so the tree never loses a manager to a
      place outside it (a supervisor who did so could not undo it, and the other team would read
      the manager's customers and appraisal); only those who see all may move a manager anywhere;
    - the new supervisor is a supervisor or an administrator (not an account manager, not the
      integration client), whoever moves.
    A loop in the tree is refused by the user's own validation."""
    if not _inside_team(by=by, user_id=getattr(new_supervisor, "pk", None)):
        raise ValidationError(
            {"supervisor": [_("Choose a supervisor in your own team: a manager cannot be moved out of it.")]}
        )
    if new_supervisor is not None and not leads_a_team(new_supervisor):
        raise ValidationError({"supervisor": [_("Choose a user who is a supervisor or an administrator.")]})


def manager_check_fit(*, manager: Manager, role: str | None, max_customers: int | None) -> None:
    """Refuse a new role that cannot serve what the manager holds, and a maximum portfolio size
    below 1 or below the active customers held (None, or the current value: no change, no check).

    domain.md: each active customer has a manager whose role matches its tier, a territory's
    customers follow its manager, and a portfolio is never above its maximum. Moving the customers
    in the same step would choose for the supervisor who serves them (and, where nobody fits, leave
    them unassigned), so the change is refused and says what to move first; a limit of 0 is what
    deactivating the profile is for."""
    held = Customer.objects.active().managed_by(manager.user_id)
    errors = {}
    if role in Role.values and (manager._state.adding or role != manager.role):
        errors["role"] = _role_refusals(manager=manager, held=held, role=Role(role))
    if max_customers is not None and (manager._state.adding or max_customers != manager.max_customers):
        errors["max_customers"] = _limit_refusals(held=held, max_customers=max_customers)
    errors = {name: messages for name, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)


def _role_refusals(*, manager: Manager, held, role: Role) -> list[str]:
    counts = dict(
        held.exclude(tier__in=[tier for tier, served_by in ROLE_FOR_TIER.items() if served_by == role])
        .values_list("tier")
        .annotate(n=Count("pk"))
    )
    messages = [
        _(
            "This manager still serves %(n)s customers of the tier “%(tier)s”, which a %(role)s "
            "cannot serve: move them first."
        )
        % {"n": counts[tier], "tier": tier.label, "role": role.label}
        for tier in Tier
        if counts.get(tier)
    ]
    territories = sum(
        model.objects.filter(manager_id=manager.user_id).count()
        for model, served_by in TERRITORY_ROLES.items()
        if served_by != role
    )
    if territories:
        messages.append(
            _(
                "This manager still serves %(n)s communities or transformer districts, which a "
                "%(role)s cannot serve: give them another manager first."
            )
            % {"n": territories, "role": role.label}
        )
    return messages


def _limit_refusals(*, held, max_customers: int) -> list[str]:
    if max_customers < 1:
        return [
            _(
                "The maximum portfolio size must be at least 1: to give a manager no more customers, "
                "deactivate the profile."
            )
        ]
    load = held.count()
    if max_customers < load:
        return [
            _(
                "This manager serves %(n)s active customers: the maximum portfolio size cannot be "
                "below that; move customers first."
            )
            % {"n": load}
        ]
    return []


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
    if manager is not None and not _inside_team(by=by, user_id=manager.user_id):
        # The API and the pages offer only managers in the user's scope; this keeps every caller so.
        raise ValidationError(
            {"manager": [_("Choose a manager in your own team: a customer cannot be moved out of it.")]}
        )
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
    # Only a log line: each move's record is its Assignment (reason and author), and the run's record
    # is the JobRun with these counts that reconcile_assignments_task keeps (crm.common.runs.recorded_run).
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
