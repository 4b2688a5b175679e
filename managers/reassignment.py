"""Moving customers whose tier changed to a manager of the new tier's role.

Reads what the lower app recorded (a classification run's TierChange rows, or one pinned customer)
and moves each customer, recording every move as an Assignment with its reason:
- community and transformer-district customers follow the manager of their territory, never above
  the maximum portfolio size (a full territory manager leaves them to the supervisor);
- VIP and key-account customers go to the least-loaded qualified manager of the matching role in
  their station, never above the maximum portfolio size;
- where no manager fits, the customer is left without one: the supervisor's unassigned list.
A customer whose current manager already serves its tier stays. Running it again moves nobody."""

from collections import defaultdict

from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import ClassificationRun, Customer, Status, Tier, TierChange
from managers.models import ROLE_FOR_TIER, Manager
from managers.services import TERRITORY_TIERS, ManagerPool, assignments_apply, valid_territory_managers

BATCH = 2000


COUNTS = ("moved", "followed_territory", "unassigned", "kept")


def reassign_after_run(*, run_id: int, by=None) -> dict[str, int]:
    """Reassign every customer whose tier changed in run `run_id`, in batches of customer ids. Each
    batch is one transaction that also adds its counts to the run's `reassignment` and records the
    last customer done, so a step killed midway goes on after its last batch and ends with the
    counts an uninterrupted step records (a customer moved before the kill is not counted again as
    kept). A finished reassignment returns what it recorded."""
    pool = ManagerPool()
    territory_managers = valid_territory_managers()
    changed = (
        TierChange.objects.filter(run_id=run_id).order_by("customer_id").values_list("customer_id", flat=True)
    )
    while True:
        with transaction.atomic():
            run = ClassificationRun.objects.select_for_update().only("reassignment").get(pk=run_id)
            recorded = {key: 0 for key in COUNTS} | dict(run.reassignment or {})
            if recorded.get("finished"):
                break
            ids = list(changed.filter(customer_id__gt=recorded.get("last", 0)).distinct()[:BATCH])
            if ids:
                counts = customers_reassign(
                    customer_ids=ids, by=by, pool=pool, territory_managers=territory_managers
                )
                recorded = {**recorded, **{key: recorded[key] + counts.get(key, 0) for key in COUNTS}}
                recorded["last"] = ids[-1]
            else:
                recorded["finished"] = True
            ClassificationRun.objects.filter(pk=run_id).update(reassignment=recorded)
        if recorded.get("finished"):
            break
    return {key: recorded[key] for key in COUNTS}


@transaction.atomic
def customers_reassign(
    *, customer_ids: list[int], by=None, pool: ManagerPool | None = None, territory_managers=None
) -> dict[str, int]:
    """Give each of these active customers a manager whose role serves its current tier."""
    pool = pool or ManagerPool()
    territory_managers = territory_managers or valid_territory_managers()
    rows = (
        Customer.objects.select_for_update(of=("self",))
        .filter(pk__in=customer_ids, status=Status.ACTIVE)
        .order_by("pk")
        .values_list(
            "pk",
            "tier",
            "station_id",
            "manager_id",
            "community__manager_id",
            "transformer_district__manager_id",
        )
    )
    rows = list(rows)
    current = dict(
        Manager.objects.filter(pk__in={r[3] for r in rows if r[3]}, active=True).values_list("pk", "role")
    )
    counts = {"moved": 0, "followed_territory": 0, "unassigned": 0, "kept": 0}
    moves: defaultdict[tuple[int | None, str], list[int]] = defaultdict(list)
    for customer_id, tier, station_id, manager_id, community_manager, district_manager in rows:
        role = ROLE_FOR_TIER[tier]
        label = Tier(tier).label
        target, reason, territory_full = None, "", False
        if tier in TERRITORY_TIERS:
            territory_manager = community_manager if tier == Tier.COMMUNITY else district_manager
            if territory_manager in territory_managers[TERRITORY_TIERS[tier]]:
                # The maximum portfolio size holds here too (as in assignments_reconcile): a full
                # territory manager gets nobody more, and the customer goes to the supervisor's list.
                if territory_manager == manager_id or pool.take_manager(user_id=territory_manager):
                    target = territory_manager
                    reason = _("Tier changed to %(tier)s: follows the manager of its territory") % {
                        "tier": label
                    }
                else:
                    territory_full = True
        if target is None and current.get(manager_id) == role:
            counts["kept"] += 1
            continue
        if target is None and tier not in TERRITORY_TIERS:
            target = pool.take(station_id=station_id, role=role)
            reason = _("Tier changed to %(tier)s: least-loaded qualified manager of the station") % {
                "tier": label
            }
        if target is not None and target == manager_id:
            counts["kept"] += 1
            continue
        if target is None:
            counts["unassigned"] += 1
            if manager_id is None:
                continue  # already on the unassigned list
            if territory_full:
                reason = _(
                    "Tier changed to %(tier)s: the manager of its territory is full; left for the "
                    "supervisor to assign"
                ) % {"tier": label}
            else:
                reason = _(
                    "Tier changed to %(tier)s: no qualified manager of that role with room in the "
                    "station; left for the supervisor to assign"
                ) % {"tier": label}
        elif tier in TERRITORY_TIERS:
            counts["followed_territory"] += 1
        else:
            counts["moved"] += 1
        moves[(target, str(reason))].append(customer_id)
    assignments_apply(moves=moves, by=by)
    return counts
