"""Who serves which customer: manager profiles and where they sit in the reporting tree (never
moved out of the acting user's team), moving a customer by hand, and giving unassigned customers
the manager the rules of domain.md choose."""

import logging
from collections import defaultdict

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.roles import ACCOUNT_MANAGER, leads_a_team
from crm.common import hooks
from crm.common.audit import history_record
from crm.common.chunks import chunk_transaction
from crm.common.errors import Conflict
from crm.common.outbox import api_link, link_sql, outbox_insert_select, outbox_record
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
    creating = manager is None
    if creating:
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
    if creating:
        _give_manager_role(user)
    hooks.after_commit("manager_changed", manager_id=manager.pk)
    return manager


def _give_manager_role(user) -> None:
    """A manager profile's user holds the account manager role (integration.md): one made over the
    API would otherwise get 403 on their own customers until someone added the group by hand."""
    group, _created = Group.objects.get_or_create(name=ACCOUNT_MANAGER)
    user.groups.add(group)  # a no-op when they hold it already
    caches = ("_crm_roles", "_crm_team", "_crm_scope", "_perm_cache", "_user_perm_cache", "_group_perm_cache")
    for cache in caches:  # the access just changed (crm.accounts.backends.load_access)
        user.__dict__.pop(cache, None)


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
    outbox_record(
        "customer.manager_changed",
        {
            "customer": locked.pk,
            "old_manager": locked.manager_id,
            "new_manager": assignment.manager_id,
            "reason": reason,
            "link": api_link("customers", locked.pk),
        },
        at=now,
    )
    Customer.objects.filter(pk=locked.pk).update(manager_id=assignment.manager_id, updated_at=now)
    customer.manager_id = locked.manager_id = assignment.manager_id
    history_record(locked, by=by, reason=reason)
    return assignment


@transaction.atomic
def assignment_move_many(*, customers, manager: Manager, by, reason: str = "") -> list[Assignment]:
    """Make `manager` responsible for all of `customers` at once, by the rules of assignment_move
    (scope, reason, active manager, role for each tier). The maximum portfolio size is checked for
    the whole set: if it does not fit, the refusal says by how many and nothing is written; any
    other refusal also leaves every customer where it was."""
    customers = list(customers)
    if not _inside_team(by=by, user_id=manager.user_id):
        raise ValidationError(
            {"manager": [_("Choose a manager in your own team: a customer cannot be moved out of it.")]}
        )
    # The manager's row is locked so two supervisors filling the same portfolio cannot both pass.
    manager = Manager.objects.select_for_update(of=("self",)).select_related("user").get(pk=manager.pk)
    arriving = sum(1 for c in customers if c.manager_id != manager.user_id)
    load = Customer.objects.active().managed_by(manager.user_id).count()
    over = load + arriving - manager.max_customers
    if arriving and over > 0:
        raise ValidationError(
            {
                "manager": [
                    _(
                        "This manager serves %(load)s of at most %(max)s customers: %(n)s more would "
                        "pass the maximum by %(over)s. Nobody was assigned."
                    )
                    % {"load": load, "max": manager.max_customers, "n": arriving, "over": over}
                ]
            }
        )
    return [
        assignment_move(customer=c, manager=manager, reason=reason, by=by, check_capacity=False)
        for c in customers
    ]


def managers_with_room(*, station_id: int, role: str) -> list[tuple[Manager, int]]:
    """Active, qualified managers of a role in a station with their current load, least loaded first."""
    managers = (
        Manager.objects.filter(station_id=station_id, role=role, active=True, qualified=True)
        .select_related("user")
        .annotate(load=Count("user__customers", filter=Q(user__customers__status=Status.ACTIVE)))
        .order_by("load", "pk")
    )
    return [(m, m.load) for m in managers if m.load < m.max_customers]


RECONCILE_CHUNK = 2000
RECONCILE_JOB = "reconcile_assignments"  # the JobRun.job of its runs (managers.tasks)


def assignments_reconcile(*, by=None, chunk: int | None = None, progress=None) -> dict[str, int]:
    """Give active customers the manager the rules choose, recording each move:
    1. community and transformer-district customers follow their territory's manager (when that
       manager is active, of the right role and below the maximum portfolio size);
    2. every other customer without a manager gets the least-loaded qualified manager of the
       matching role in its station, never above the maximum portfolio size.
    Customers no manager fits stay unassigned: the supervisor's list (unassigned_reasons says why).

    It runs until done: the candidates are read in primary-key chunks of `chunk`, each chunk in its
    own transaction, so a 40,000-row import is placed by one run rather than waiting an hour for the
    next one. The managers' loads are carried from chunk to chunk, so no chunk passes a maximum.
    `progress(counts)` is called before the first chunk and after each one with the totals so far,
    and `examined` of `total` (the candidates counted as the run starts: one COUNT, only when someone
    watches). Idempotent."""
    chunk = chunk or RECONCILE_CHUNK
    counts = {"followed_territory": 0, "assigned": 0, "unassigned": 0}
    pool = ManagerPool()
    territory_managers = valid_territory_managers()
    total = _reconcile_candidates().count() if progress is not None else 0
    if progress is not None:
        progress({**counts, "examined": 0, "total": total})
    last, examined = 0, 0
    while True:
        last, done, read = _reconcile_chunk(
            after=last, size=chunk, pool=pool, territory_managers=territory_managers, by=by
        )
        if last is None:
            break
        examined += read
        for key, n in done.items():
            counts[key] += n
        if progress is not None:
            # Candidates added while it runs are placed too: the total grows with them.
            progress({**counts, "examined": examined, "total": max(total, examined)})
    # Only a log line: each move's record is its Assignment (reason and author), and the run's record
    # is the JobRun with these counts that reconcile_assignments_task keeps (crm.common.runs.recorded_run).
    logger.info("assignment run by %s: %s", by or "the scheduler", counts)
    return counts


def _reconcile_candidates():
    """Active customers the rules may move: those without a manager, and territory customers whose
    manager is not their territory's."""
    follows = Q()
    for tier, field in TERRITORY_TIERS.items():
        follows |= (
            Q(tier=tier, **{f"{field}__manager__isnull": False})
            & Q(manager__isnull=False)
            & ~Q(manager_id=models.F(f"{field}__manager_id"))
        )
    return Customer.objects.active().filter(Q(manager__isnull=True) | follows)


@chunk_transaction()
def _reconcile_chunk(*, after: int, size: int, pool, territory_managers, by) -> tuple[int | None, dict, int]:
    """One chunk of the reconcile: the next `size` candidates after primary key `after`. Returns the
    last primary key read (None: nothing was left), the chunk's counts and the candidates it read."""
    rows = list(
        _reconcile_candidates()
        .filter(pk__gt=after)
        .order_by("pk")
        .values_list(
            "pk",
            "station_id",
            "tier",
            "manager_id",
            "community__manager_id",
            "transformer_district__manager_id",
        )[:size]
    )
    if not rows:
        return None, {}, 0
    counts = {"followed_territory": 0, "assigned": 0, "unassigned": 0}
    moves: defaultdict[tuple[int | None, str], list[int]] = defaultdict(list)
    for customer_id, station_id, tier, manager_id, community_manager, district_manager in rows:
        territory_manager = {
            Tier.COMMUNITY: community_manager,
            Tier.TRANSFORMER_DISTRICT: district_manager,
        }.get(tier)
        if territory_manager:
            # domain.md: a territory's customers follow its manager, and a portfolio is never above
            # its maximum. When the territory's manager cannot serve them (inactive, wrong role) or
            # is full, nobody else is chosen for them: the customer stays where it is (unassigned
            # ones on the supervisor's list), and the supervisor raises the maximum or moves the
            # territory. Following regardless of the maximum is how one manager got 19,000.
            if territory_manager in territory_managers[TERRITORY_TIERS[tier]] and pool.take_manager(
                user_id=territory_manager
            ):
                moves[(territory_manager, str(_("Follows the manager of the customer's territory")))].append(
                    customer_id
                )
                counts["followed_territory"] += 1
            elif manager_id is None:
                counts["unassigned"] += 1
            continue
        target = pool.take(station_id=station_id, role=ROLE_FOR_TIER[tier])
        if target is None:
            counts["unassigned"] += 1
            continue
        moves[(target, str(_("Least-loaded qualified manager of the station")))].append(customer_id)
        counts["assigned"] += 1
    assignments_apply(moves=moves, by=by)
    return rows[-1][0], counts, len(rows)


class ManagerPool:
    """The least-loaded qualified manager of a role in a station, or one named manager (a
    territory's), never above the maximum portfolio size, with each manager's load kept current as
    customers are given out (one query per station and role, one per named manager). A manager is
    one entry whichever way it was reached, so both ways see the same load."""

    def __init__(self) -> None:
        self._pools: dict[tuple[int, str], list[list[int]]] = {}
        self._entries: dict[int, list[int]] = {}  # user id -> [user id, load, maximum]

    def _entry(self, user_id: int, load: int, maximum: int) -> list[int]:
        return self._entries.setdefault(user_id, [user_id, load, maximum])

    def take(self, *, station_id: int, role: str) -> int | None:
        """The user id of the manager who takes one more customer, or None when nobody has room."""
        key = (station_id, role)
        if key not in self._pools:
            self._pools[key] = [
                self._entry(m.user_id, load, m.max_customers)
                for m, load in managers_with_room(station_id=station_id, role=role)
            ]
        room = [e for e in self._pools[key] if e[1] < e[2]]
        if not room:
            return None
        entry = min(room, key=lambda e: (e[1], e[0]))
        entry[1] += 1
        return entry[0]

    def take_manager(self, *, user_id: int) -> bool:
        """Whether the manager `user_id` has room for one more customer (then counted as taken)."""
        if user_id not in self._entries:
            manager = Manager.objects.with_portfolio_size().get(pk=user_id)
            self._entry(user_id, manager.portfolio_size, manager.max_customers)
        entry = self._entries[user_id]
        if entry[1] >= entry[2]:
            return False
        entry[1] += 1
        return True


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
        # the events in one statement per move, read before the update (it holds the old managers)
        marks = ", ".join(f"%(c{i})s" for i in range(len(customer_ids)))
        outbox_insert_select(
            event_type="customer.manager_changed",
            fields=MANAGER_EVENT_FIELDS,
            from_sql=f"customers_customer c WHERE c.id IN ({marks})",
            params={
                **{f"c{i}": cid for i, cid in enumerate(customer_ids)},
                "new_manager": manager_id,
                "reason": str(reason),
            },
            at=now,
        )
        Customer.objects.filter(pk__in=customer_ids).update(manager_id=manager_id, updated_at=now)


# the payload of `customer.manager_changed` over a customers_customer row `c` (as assignment_move's)
MANAGER_EVENT_FIELDS = {
    "customer": "c.id",
    "old_manager": "c.manager_id",
    "new_manager": "%(new_manager)s",
    "reason": "%(reason)s",
    "link": link_sql("customers", "c.id"),
}


def valid_territory_managers() -> dict[str, set[int]]:
    """User ids that may serve each kind of territory: active managers of the matching role."""
    managers = Manager.objects.filter(active=True, role__in=[ROLE_FOR_TIER[t] for t in TERRITORY_TIERS])
    by_role = defaultdict(set)
    for user_id, role in managers.values_list("user_id", "role"):
        by_role[role].add(user_id)
    return {field: by_role[ROLE_FOR_TIER[tier]] for tier, field in TERRITORY_TIERS.items()}
