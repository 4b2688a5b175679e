"""Partition the consumption records by year (issue 21): on PostgreSQL, `customers_consumptionrecord`
becomes a table PARTITION BY RANGE (period) with one partition per calendar year and a DEFAULT
partition; the rows move across in this migration. SQLite keeps the plain table (nothing to do).

Why per year and plain migrations (docs/scale.md, "Consumption partitions"): a year is about 12
records per customer (12 million at 1,000,000 customers), the size at which a partition's indexes
still fit comfortably in memory; every reader asks for a month, a trailing 12 or 24 months, or a
customer's whole history, so a period range touches one to three yearly partitions where monthly
ones would be 12 to 24 (more planning, no fewer pages read through the per-customer index); and a
year is the unit the business archives. The DDL is short and PostgreSQL's own, so no dependency
(django-postgres-extra) is added for it.

What stays as Django's model state says: the table's name, its columns, `id` as the key Django
uses (the identity sequence keeps it unique; the database's primary key is (id, period), as a
partitioned table's unique keys must hold the partition column), the unique constraint
`consumption_one_per_period` (customer, period) INCLUDE (kwh) of 0010 (ON CONFLICT (customer_id,
period) still finds it), the check constraints, the foreign key to the customer and the index on
it, each under the name it had (read from the catalog, so they are the names Django gave them).

The migration holds an ACCESS EXCLUSIVE lock on the table while it copies (one INSERT ... SELECT;
about a minute per 10 million rows on ordinary hardware): run it in a maintenance window. The
reverse builds the plain table back the same way (a partition detached to archive it stays where it
is, as its own table, and its rows do not come back)."""

import re

from django.db import migrations
from django.utils import timezone

TABLE = "customers_consumptionrecord"
OLD = f"{TABLE}_old"
YEARS_AHEAD = 2  # partitions made beyond the current year (later ones: customers.partitions)


def _one(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchone()


def _schema_of(cursor, table: str) -> dict:
    """The names and definitions of `table`'s primary key, unique and foreign-key constraints and of
    its indexes that back no constraint."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) ORDER BY i.relname",
        [table],
    )
    indexes = [(name, re.sub(r"^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ ", "", d)) for name, d in cursor]
    return {"constraints": constraints, "indexes": indexes}


def _detach_schema(cursor, table: str, schema: dict) -> None:
    """Drop `table`'s unique and foreign-key constraints and plain indexes, and rename its primary key,
    freeing their names (an index's name is unique in the schema) for the new table."""
    for name, kind, _definition in schema["constraints"]:
        if kind == "p":
            cursor.execute(f'ALTER TABLE {table} RENAME CONSTRAINT "{name}" TO "{table}_pkey"')
        else:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _rest in schema["indexes"]:
        cursor.execute(f'DROP INDEX "{name}"')


def _attach_schema(cursor, schema: dict, primary_key: str) -> None:
    """Give the new table the old one's constraints and indexes, under the same names, once its rows
    are in (each index built once)."""
    for name, kind, definition in schema["constraints"]:
        definition = primary_key if kind == "p" else definition
        cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
    for name, rest in schema["indexes"]:
        cursor.execute(f'CREATE INDEX "{name}" ON {TABLE} {rest}')


def _copy_rows_and_sequence(cursor) -> None:
    # Constant table names only, in this function and below.
    cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")  # noqa: S608  (same columns and order: LIKE)
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) "  # noqa: S608
        f"FROM {TABLE}",
        [TABLE],
    )
    cursor.execute(f"DROP TABLE {OLD}")
    cursor.execute(f"ANALYZE {TABLE}")


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _one(cursor, "SELECT relkind FROM pg_class WHERE oid = %s::regclass", [TABLE])[0] == "p":
            return  # partitioned already
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        schema = _schema_of(cursor, OLD)
        _detach_schema(cursor, OLD, schema)
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS) "
            "PARTITION BY RANGE (period)"
        )
        # Every year the rows have, through this year and the next two (later ones: the monthly
        # job), without gaps; anything else (a stray year far away) lands in the default partition.
        this_year = timezone.localdate().year
        low, high = _one(
            cursor,
            f"SELECT EXTRACT(YEAR FROM MIN(period)), EXTRACT(YEAR FROM MAX(period)) FROM {OLD}",  # noqa: S608
        )
        first = min(int(low), this_year) if low is not None else this_year
        last = max(int(high), this_year) + YEARS_AHEAD if high is not None else this_year + YEARS_AHEAD
        for year in range(first, last + 1):
            cursor.execute(
                f"CREATE TABLE {TABLE}_y{year} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ('{year}-01-01') TO ('{year + 1}-01-01')"
            )
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
        _copy_rows_and_sequence(cursor)
        _attach_schema(cursor, schema, "PRIMARY KEY (id, period)")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _one(cursor, "SELECT relkind FROM pg_class WHERE oid = %s::regclass", [TABLE])[0] != "p":
            return
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        schema = _schema_of(cursor, OLD)
        _detach_schema(cursor, OLD, schema)
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS)"
        )
        _copy_rows_and_sequence(cursor)  # dropping the partitioned table drops its partitions
        _attach_schema(cursor, schema, "PRIMARY KEY (id)")


class Migration(migrations.Migration):
    dependencies = [("customers", "0010_customer_monthly_figures_hot")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
