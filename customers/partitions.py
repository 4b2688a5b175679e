"""The yearly partitions of the consumption records (PostgreSQL; migration 0011, docs/scale.md,
"Consumption partitions").

`customers_consumptionrecord` is partitioned by range of `period`, one partition per calendar year
(`customers_consumptionrecord_y2026` holds 2026-01-01 up to 2027-01-01) and a DEFAULT partition for
a record no year partition takes. A monthly job keeps the partitions of this year and the next two
made ahead (`consumption_partitions_ensure`), so new months never land in the default partition; an
old year is archived by detaching its partition (`consumption_year_detach`): it becomes a table of
its own, out of every query, to be dumped and dropped at leisure. On SQLite, or a table that is not
partitioned, there is nothing to do and both say so."""

import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from customers.models import ConsumptionRecord

logger = logging.getLogger(__name__)

TABLE = ConsumptionRecord._meta.db_table
DEFAULT_PARTITION = f"{TABLE}_default"
YEARS_AHEAD = 2


def partition_name(year: int) -> str:
    return f"{TABLE}_y{year}"


def archive_name(year: int) -> str:
    return f"{TABLE}_archive_y{year}"


@dataclass(frozen=True)
class Partition:
    name: str
    bounds: str  # as PostgreSQL writes them: FOR VALUES FROM ('2026-01-01') TO ('2027-01-01'), DEFAULT


def consumption_partitioned() -> bool:
    """Whether the consumption table is a partitioned table (PostgreSQL after migration 0011)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [TABLE])
        return cursor.fetchone()[0] == "p"


def consumption_partitions() -> list[Partition]:
    """The partitions attached to the consumption table, by name (none when it is not partitioned)."""
    if not consumption_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [TABLE],
        )
        return [Partition(name, bounds) for name, bounds in cursor.fetchall()]


def _fire_deferred_checks(cursor) -> None:
    """A table with pending deferred foreign-key checks (records written earlier in the transaction)
    cannot be altered: fire them now."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@transaction.atomic
def consumption_partitions_ensure(*, years_ahead: int = YEARS_AHEAD, today=None) -> list[str]:
    """Make the yearly partitions missing from this year through `years_ahead` years after it;
    returns the names made. Idempotent. Records of such a year already in the default partition (an
    import of future months, a year the job had not made yet) move into the new partition.

    A partition is made as a table of its own and then attached: ATTACH takes only a SHARE UPDATE
    EXCLUSIVE lock on the consumption table (readers and writers go on), where CREATE TABLE ...
    PARTITION OF would take an ACCESS EXCLUSIVE one; the default partition is locked meanwhile."""
    if not consumption_partitioned():
        return []
    this_year = (today or timezone.localdate()).year
    existing = {p.name for p in consumption_partitions()}
    made = []
    with connection.cursor() as cursor:
        _fire_deferred_checks(cursor)
        for year in range(this_year, this_year + years_ahead + 1):
            name = partition_name(year)
            if name in existing:
                continue
            low, high = f"{year}-01-01", f"{year + 1}-01-01"
            cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            # Proves the bounds to ATTACH, which then skips scanning the new table for them.
            cursor.execute(
                f"ALTER TABLE {name} ADD CONSTRAINT {name}_bounds "
                f"CHECK (period >= DATE '{low}' AND period < DATE '{high}')"
            )
            if DEFAULT_PARTITION in existing:
                # our table names, and dates made from integers: no input reaches this SQL
                move = (
                    f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608  # nosec B608
                    f"WHERE period >= DATE '{low}' AND period < DATE '{high}' RETURNING *) "
                    f"INSERT INTO {name} SELECT * FROM moved"
                )
                cursor.execute(move)
                if cursor.rowcount:
                    logger.info(
                        "consumption: %s records moved from the default partition to %s",
                        cursor.rowcount,
                        name,
                    )
            cursor.execute(
                f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ('{low}') TO ('{high}')"
            )
            cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bounds")
            made.append(name)
    return made


class PartitionError(Exception):
    pass


@transaction.atomic
def consumption_year_detach(*, year: int, today=None) -> str:
    """Archive `year`: detach its partition from the consumption table and rename it
    `customers_consumptionrecord_archive_y<year>`; returns that name. Its records leave every query
    and page at once (charts, forecasts, classification); the table keeps them, with its indexes,
    until it is dumped (`pg_dump -t`) and dropped. Its foreign key to the customers goes, so that
    deleting a customer is not refused for an archived record.

    Only a year before last may go: the classification's trailing 12 months and the care visits'
    year-on-year comparison read this year and the last. A record of the year written later lands
    in the default partition (the job makes no partition for a past year).

    The detach takes an ACCESS EXCLUSIVE lock on the consumption table for a moment (no data
    moves); `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY`, outside a transaction, avoids even
    that if it ever matters."""
    if not consumption_partitioned():
        raise PartitionError("the consumption table is not partitioned (SQLite, or before migration 0011)")
    this_year = (today or timezone.localdate()).year
    if year >= this_year - 1:
        raise PartitionError(f"{year} is too recent to archive: only years before {this_year - 1} may go")
    name = partition_name(year)
    if name not in {p.name for p in consumption_partitions()}:
        raise PartitionError(f"there is no partition {name} to detach")
    archive = archive_name(year)
    with connection.cursor() as cursor:
        _fire_deferred_checks(cursor)
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'", [name]
        )
        for (constraint,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {name} DROP CONSTRAINT "{constraint}"')
        cursor.execute(f"ALTER TABLE {name} RENAME TO {archive}")
    return archive


__all__ = [
    "Partition",
    "PartitionError",
    "archive_name",
    "consumption_partitioned",
    "consumption_partitions",
    "consumption_partitions_ensure",
    "consumption_year_detach",
    "partition_name",
]
