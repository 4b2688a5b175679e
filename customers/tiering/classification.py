"""Reclassification of every active customer, set-based in the database.

A run's start plans the customers as primary-key chunks (crm.common.fanout: a RunChunk row each),
and each chunk is a task any worker takes, or, run in-process (`classification_run_execute`), the
next in a loop. Each chunk is one transaction that
1. measures every active, unpinned customer of the chunk from its consumption records (trailing 12
   months up to its latest period, annualised when fewer months exist),
2. applies the rules of customers/tiering/rules.py in order, with hysteresis on the way down,
3. writes the tier (and keeps `annual_consumption_kwh` / `latest_period` current) only where
   something differs, `updated_at` and a TierChange row only where the tier differs (a row whose
   figures alone change is, on PostgreSQL, rewritten in its own page without index entries: see
   `_SET` and migration 0010),
4. adds the chunk's counts to the run and marks the chunk done; the chunk that leaves none undone
   finishes the run (and moves its chain on).
A worker killed mid-chunk leaves that chunk's transaction uncommitted; its chunk is sent again (by
the redelivery or the runs' sweep) and done once, whatever the order or number of workers, so the
run ends exactly where an uninterrupted run would. Two runs never overlap: the database allows one
running run (a unique partial constraint), and the chunk's row lock stops a duplicate delivery of
the same chunk doing it twice."""

# The SQL below is assembled from constants of this module (dialect fragments, rule codes, tier
# codes); every value from data or a user is a bound parameter.
# ruff: noqa: S608

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.common import chains, fanout, hooks
from crm.common.chains import FannedOut
from crm.common.errors import Conflict
from crm.common.outbox import link_sql, outbox_insert_select, outbox_insert_sql, outbox_params
from customers.models import ClassificationRun, Customer, TierPolicy
from customers.tiering.rules import RULES, TIER_RANK, TierThresholds, keeps_margin, tier_of_rule
from customers.tiering.services import NOT_PINNED

State = ClassificationRun.State
WORK_MEM = "64MB"


class RunBusy(Exception):
    """Another run is running; this one must wait its turn."""


class NoPolicyInForce(Conflict):
    """No tier policy version is in force today: a run would have no thresholds to classify by."""

    default_detail = gettext_lazy(
        "No tier policy is in force today: add a policy version effective today or earlier, then reclassify."
    )


def chunk_size() -> int:
    return int(getattr(settings, "RECLASSIFY_CHUNK_SIZE", 20000))


def stale_after() -> dt.timedelta:
    return dt.timedelta(minutes=int(getattr(settings, "RECLASSIFY_STALE_MINUTES", 120)))


# ---------------------------------------------------------------- starting a run
@transaction.atomic
def classification_run_start(*, trigger: str, by=None) -> tuple[ClassificationRun, bool]:
    """Queue a reclassification; returns (run, created). A run already waiting is returned instead
    of a second one: it has not started, so it will see the same data a new one would. The chain
    of steps (reclassify, then reassign) is enqueued after commit through the hook.

    A person asking for a run (MANUAL) while no policy is in force is refused with NoPolicyInForce
    (409): they are there to read why. A scheduled or consumption-triggered run is queued anyway and
    fails on the worker with the same reason, recorded as the run's error."""
    if trigger == ClassificationRun.Trigger.MANUAL and not TierPolicy.objects.in_force().exists():
        raise NoPolicyInForce
    waiting = ClassificationRun.objects.filter(status=State.QUEUED).first()
    if waiting is not None:
        return waiting, False
    try:
        with transaction.atomic():
            run = ClassificationRun.objects.create(trigger=trigger, started_by=by)
    except IntegrityError:  # another request queued one at the same moment
        return ClassificationRun.objects.get(status=State.QUEUED), False
    hooks.after_commit("classification_queued", run_id=run.pk)
    return run, True


# ---------------------------------------------------------------- running it
def classification_run_execute(*, run_id: int, size: int | None = None) -> ClassificationRun:
    """Run (or resume) a queued or running run to the end in this process, chunk by chunk. Raises
    RunBusy when another run is running; a finished or failed run is returned as it is."""
    run = _begin(run_id, size or chunk_size())
    if run.status == State.RUNNING:
        fanout.run_inline(fanout.label(run), run_id)
    return ClassificationRun.objects.get(pk=run_id)


def classification_run_dispatch(*, run_id: int) -> FannedOut | None:
    """The chain's step: start (or resume) the run and send its undone chunks to the workers. The
    chain then waits on them (crm.common.chains); None when the run has nothing left to do."""
    return fanout.dispatch(_begin(run_id, chunk_size()))


@transaction.atomic
def classification_run_fail(*, run_id: int, error: str) -> None:
    ClassificationRun.objects.filter(pk=run_id, status__in=[State.QUEUED, State.RUNNING]).update(
        status=State.FAILED, error=error[:4000], finished_at=timezone.now(), updated_at=timezone.now()
    )


def _begin(run_id: int, size: int) -> ClassificationRun:
    with transaction.atomic():
        run = ClassificationRun.objects.select_for_update().get(pk=run_id)
        if run.status == State.QUEUED:
            _start(run)
        if run.status == State.RUNNING:
            fanout.plan(run, table=Customer._meta.db_table, size=size)
        return run


def _start(run: ClassificationRun) -> None:
    now = timezone.now()
    other = ClassificationRun.objects.select_for_update().filter(status=State.RUNNING).first()
    if other is not None:
        if other.updated_at >= now - stale_after():
            raise RunBusy(other.pk)
        other.status, other.finished_at = State.FAILED, now
        other.error = _("Abandoned: no progress since %(at)s.") % {"at": other.updated_at.isoformat()}
        other.save(update_fields=["status", "finished_at", "error", "updated_at"])
        # its chunks will do nothing more: the chain that waits on them ends with the run
        chains.fan_failed(FannedOut(fanout.label(other), other.pk), error=other.error)
    policy = TierPolicy.objects.effective(timezone.localdate())
    if policy is None:
        raise NoPolicyInForce
    run.status, run.started_at, run.policy = State.RUNNING, now, policy
    run.max_pk = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # One count for the whole run, so its page can say "x of y" from the first chunk on.
    run.total = Customer.objects.active().filter(pk__lte=run.max_pk).count()
    run.released = Customer.objects.filter(
        tier_pinned=True, tier_pinned_until__lt=timezone.localdate()
    ).update(**NOT_PINNED, updated_at=now)
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError as exc:  # another run started between our check and our write
        raise RunBusy(run.pk) from exc


def classification_chunk(*, run_id: int, lo: int, hi: int) -> None:
    """Classify customers lo < id <= hi and add the counts to the run (in the chunk's transaction,
    crm.common.fanout). The run's row is locked only once the chunk's statement is done, so the
    chunks of several workers overlap and queue only for this last write."""
    run = ClassificationRun.objects.select_related("policy").get(pk=run_id)
    examined, pinned = _count(lo, hi)
    transitions = classify_range(lo=lo, hi=hi, policy=run.policy, run_id=run.pk, now=timezone.now())
    run = fanout.lock_run(fanout.label(run), run_id)
    merged = dict(run.transitions)
    for (old, new), n in transitions.items():
        key = f"{old}->{new}"
        merged[key] = merged.get(key, 0) + n
    run.transitions = merged
    run.changed += sum(transitions.values())
    run.examined += examined
    run.pinned += pinned
    fanout.chunk_counted(run)


def _count(lo: int, hi: int) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN tier_pinned THEN 1 ELSE 0 END), 0) "
            "FROM customers_customer WHERE id > %s AND id <= %s AND status = 'active'",
            [lo, hi],
        )
        examined, pinned = cursor.fetchone()
    return int(examined), int(pinned)


# ---------------------------------------------------------------- the SQL of one chunk
@dataclass(frozen=True)
class _Dialect:
    window_start: str  # periods after this lie in the 12 months up to `w.latest`
    tier_of_rule: str
    in_community_json: str
    json_object: str


_DIALECTS = {
    "postgresql": _Dialect(
        window_start="w.latest - INTERVAL '12 months'",
        tier_of_rule="split_part(d.rule, '.', 1)",
        in_community_json="(d.in_community = 1)",
        json_object="jsonb_build_object",
    ),
    "sqlite": _Dialect(
        window_start="date(w.latest, '-12 months')",
        tier_of_rule="substr(d.rule, 1, instr(d.rule, '.') - 1)",
        in_community_json="json(CASE WHEN d.in_community = 1 THEN 'true' ELSE 'false' END)",
        json_object="json_object",
    ),
}


def _in(tiers) -> str:
    return "(" + ", ".join(f"'{t}'" for t in sorted(tiers)) + ")"


def _rules_case() -> str:
    """The rules of tiering.decide_tier as one CASE, in the same order; `keep_*` tiers are those a
    customer is judged against with the hysteresis margin (it already sits in that tier or above)."""
    keep_vip = _in(t for t in TIER_RANK if keeps_margin(current_tier=t, tier="vip"))
    keep_key = _in(t for t in TIER_RANK if keeps_margin(current_tier=t, tier="key_account"))
    conditions = {
        "vip.consumption": f"m.annual >= CASE WHEN m.old_tier IN {keep_vip} "
        "THEN %(vip_kwh_keep)s ELSE %(vip_kwh)s END",
        "vip.voltage": "m.voltage_kv >= %(vip_voltage_kv)s",
        "vip.importance": "m.importance = %(vip_importance)s",
        "key_account.capacity": f"m.capacity >= CASE WHEN m.old_tier IN {keep_key} "
        "THEN %(key_capacity_keep)s ELSE %(key_capacity_kva)s END",
        "key_account.consumption": f"m.annual >= CASE WHEN m.old_tier IN {keep_key} "
        "THEN %(key_kwh_keep)s ELSE %(key_kwh)s END",
        "key_account.voltage": "m.voltage_kv >= %(key_voltage_kv)s",
        "key_account.importance": "m.importance = %(key_importance)s",
        "community.location": "m.in_community = 1",
    }
    assert list(conditions) + ["transformer_district.default"] == list(RULES)  # noqa: S101 - a developer's consistency check  # nosec B101
    whens = "\n".join(f"            WHEN {cond} THEN '{rule}'" for rule, cond in conditions.items())
    return f"CASE\n{whens}\n            ELSE 'transformer_district.default' END"


def decisions_sql(vendor: str) -> str:
    """One row per customer with lo < id <= hi: its measures (the trailing-12-month figure from its
    records, which the run writes for every customer: an import leaves that to the run), its old
    tier, and for an active, unpinned customer (judged = 1) the rule that decides and the tier it
    gives; every other customer keeps its tier."""
    d = _DIALECTS[vendor]
    return f"""
    SELECT d.*, CASE WHEN d.judged = 1 THEN {d.tier_of_rule} ELSE d.old_tier END AS new_tier FROM (
        SELECT m.*, {_rules_case()} AS rule
        FROM (
            SELECT c.id, c.tier AS old_tier,
                   CASE WHEN c.status = 'active' AND NOT c.tier_pinned THEN 1 ELSE 0 END AS judged,
                   COALESCE(a.annual, c.annual_consumption_kwh) AS annual,
                   COALESCE(a.months, 0) AS months,
                   COALESCE(a.latest, c.latest_period) AS latest,
                   c.voltage_kv, c.contracted_capacity_kva AS capacity, c.importance,
                   CASE WHEN c.community_id IS NULL THEN 0 ELSE 1 END AS in_community
            FROM customers_customer c
            LEFT JOIN (
                SELECT w.customer_id, MAX(w.latest) AS latest,
                       COUNT(CASE WHEN w.period > {d.window_start} THEN 1 END) AS months,
                       ROUND(SUM(CASE WHEN w.period > {d.window_start} THEN w.kwh END) * 12.0
                             / COUNT(CASE WHEN w.period > {d.window_start} THEN 1 END), 2) AS annual
                FROM (
                    SELECT r.customer_id, r.period, r.kwh,
                           MAX(r.period) OVER (PARTITION BY r.customer_id) AS latest
                    FROM customers_consumptionrecord r
                    WHERE r.customer_id > %(lo)s AND r.customer_id <= %(hi)s
                ) w
                GROUP BY w.customer_id
            ) a ON a.customer_id = c.id
            WHERE c.id > %(lo)s AND c.id <= %(hi)s
        ) m
    ) d"""  # constant SQL, bound values  # nosec B608


def _measures_json(vendor: str) -> str:
    d = _DIALECTS[vendor]
    return (
        f"{d.json_object}('annual_kwh', d.annual, 'months', d.months, 'capacity_kva', d.capacity, "
        f"'voltage_kv', d.voltage_kv, 'importance', d.importance, 'in_community', {d.in_community_json})"
    )


_DIFFERS = (
    "(c.tier <> d.new_tier OR c.annual_consumption_kwh <> d.annual "
    "OR (d.latest IS NOT NULL AND (c.latest_period IS NULL OR c.latest_period <> d.latest)))"
)
# What a chunk writes on a customer that differs. `updated_at` moves only with the tier: the monthly
# figures change for nearly every customer whenever a month lands, and on PostgreSQL a row whose
# indexed columns keep their values is rewritten as a heap-only tuple (HOT) in its own page, with no
# new entry in any of the table's indexes, where bumping `updated_at` (indexed: customer_updated_at)
# would write one in each of them. Setting a column to the value it holds leaves it unchanged for HOT.
# Migration 0010 does the rest (no index on the annual figure, fillfactor 50).
# Why HOT on this table and not a narrow table of the figures (customer, annual, latest) read by a
# join: measured at 100,000 customers in chunks of 20,000, writing 100,000 figures took 7.2 s as
# ordinary updates of this table, 0.45 s as HOT updates of it and 0.3 s as updates of a narrow table
# with an index on the figure (kept for the ordering). The narrow table writes fewer pages, so it
# would be somewhat cheaper still, but every reader of the figure (the list and its ordering, the
# pages, the API, care visits, the offline pack, the demo data, many tests) would have to join it.
# The price: a client syncing by `updated_at` is not told of a new annual figure (the consumption
# records it comes from carry their own `updated_at`).
_SET = (
    "tier = d.new_tier, annual_consumption_kwh = d.annual, latest_period = d.latest, "
    "updated_at = CASE WHEN c.tier <> d.new_tier THEN %(now)s ELSE c.updated_at END"
)
# The chunk's range on the updated table itself: without it PostgreSQL joined the chunk's decisions
# to a scan of the whole customers table in every chunk (a run read the table once per chunk).
_TARGET = "c.id > %(lo)s AND c.id <= %(hi)s"
_HISTORY_COLUMNS = (
    "customer_id, old_tier, new_tier, rule, measures, policy_id, run_id, at, note, created_at, updated_at"
)


def _postgresql_sql() -> str:
    """One statement: decide, update what differs, record the tier changes, count transitions."""
    return f"""
    WITH d AS ({decisions_sql("postgresql")}),
    upd AS (
        UPDATE customers_customer c
        SET {_SET}
        FROM d WHERE {_TARGET} AND c.id = d.id AND {_DIFFERS}
        RETURNING d.*
    ),
    ins AS (
        INSERT INTO customers_tierchange ({_HISTORY_COLUMNS})
        SELECT d.id, d.old_tier, d.new_tier, d.rule, {_measures_json("postgresql")}, %(policy)s, %(run)s,
               %(now)s, '', %(now)s, %(now)s
        FROM upd d WHERE d.old_tier <> d.new_tier
        RETURNING id, customer_id, old_tier, new_tier, rule
    ),
    ev AS ({outbox_insert_sql(fields=_event_fields("t"), from_sql="ins t")})
    SELECT old_tier, new_tier, COUNT(*) FROM ins GROUP BY old_tier, new_tier
    """  # constant SQL, bound values  # nosec B608


def _event_fields(alias: str) -> dict[str, str]:
    """The thin payload of `customer.tier_changed`, from a tier change row (the pin writes the same
    keys, customers.tiering.services)."""
    return {
        "customer": f"{alias}.customer_id",
        "old_tier": f"{alias}.old_tier",
        "new_tier": f"{alias}.new_tier",
        "rule": f"{alias}.rule",
        "tier_change": f"{alias}.id",
        "run": "%(run)s",
        "link": link_sql("customers", f"{alias}.customer_id"),
    }


def _sqlite_sql() -> list[str]:
    """SQLite has no data-modifying CTE: record the changes first (they read the old tiers), then
    update, then count what this chunk recorded (classify_range then writes the chunk's events in
    one INSERT ... SELECT from the changes)."""
    return [
        f"""
        INSERT INTO customers_tierchange ({_HISTORY_COLUMNS})
        SELECT d.id, d.old_tier, d.new_tier, d.rule, {_measures_json("sqlite")}, %(policy)s, %(run)s,
               %(now)s, '', %(now)s, %(now)s
        FROM ({decisions_sql("sqlite")}) d WHERE d.old_tier <> d.new_tier
        """,  # constant SQL, bound values  # nosec B608
        f"""
        UPDATE customers_customer AS c
        SET {_SET}
        FROM ({decisions_sql("sqlite")}) d WHERE {_TARGET} AND c.id = d.id AND {_DIFFERS}
        """,  # constant SQL, bound values  # nosec B608
        """
        SELECT old_tier, new_tier, COUNT(*) FROM customers_tierchange
        WHERE run_id = %(run)s AND customer_id > %(lo)s AND customer_id <= %(hi)s
        GROUP BY old_tier, new_tier""",
    ]


def threshold_params(policy, *, vendor: str) -> dict:
    t = TierThresholds.from_policy(policy)
    k = t.keep_factor
    params = {
        "vip_kwh": t.vip_kwh,
        "vip_kwh_keep": t.vip_kwh * k,
        "vip_voltage_kv": t.vip_voltage_kv,
        "vip_importance": t.vip_importance,
        "key_capacity_kva": t.key_capacity_kva,
        "key_capacity_keep": t.key_capacity_kva * k,
        "key_kwh": t.key_kwh,
        "key_kwh_keep": t.key_kwh * k,
        "key_voltage_kv": t.key_voltage_kv,
        "key_importance": t.key_importance,
    }
    if vendor == "sqlite":  # SQLite would compare a Decimal bound as text with numbers as text
        params = {name: float(v) if not isinstance(v, str) else v for name, v in params.items()}
    return params


def classify_range(*, lo: int, hi: int, policy, run_id: int | None, now) -> dict[tuple[str, str], int]:
    """Classify customers lo < id <= hi in the current transaction; returns the number of tier
    changes per (old, new) transition."""
    vendor = connection.vendor
    if vendor not in _DIALECTS:
        raise NotImplementedError(f"reclassification has no SQL for {vendor}")
    params = {
        **threshold_params(policy, vendor=vendor),
        "lo": lo,
        "hi": hi,
        "policy": policy.pk,
        "run": run_id,
        "now": connection.ops.adapt_datetimefield_value(now),
    }
    # The chunk's `customer.tier_changed` events are written by the same transaction, in one
    # statement for all of them: inside the PostgreSQL statement, after the changes on SQLite.
    params.update(outbox_params("customer.tier_changed", now))
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # Enough memory for one chunk's window and aggregate without spilling to disk; LOCAL:
            # for this transaction only.
            cursor.execute("SET LOCAL work_mem = %s", [WORK_MEM])
            cursor.execute(_postgresql_sql(), params)
        else:
            insert, update, count = _sqlite_sql()
            cursor.execute(insert, params)
            outbox_insert_select(
                event_type="customer.tier_changed",
                fields=_event_fields("t"),
                from_sql="customers_tierchange t "
                "WHERE t.run_id = %(run)s AND t.customer_id > %(lo)s AND t.customer_id <= %(hi)s",
                params=params,
                at=now,
            )
            cursor.execute(update, params)
            cursor.execute(count, params)
        return {(old, new): int(n) for old, new, n in cursor.fetchall()}


# Its chunks are tasks of their own (crm.common.fanout), any worker taking the next.
fanout.register_fan(
    "customers.ClassificationRun",
    fanout.Fan(work=classification_chunk, failed=classification_run_fail),
)

__all__ = [
    "NoPolicyInForce",
    "RunBusy",
    "classification_chunk",
    "classification_run_dispatch",
    "classification_run_execute",
    "classification_run_fail",
    "classification_run_start",
    "classify_range",
    "decisions_sql",
    "tier_of_rule",
]
