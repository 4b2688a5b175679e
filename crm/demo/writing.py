"""Writes the demo customer stream in chunks: COPY into the empty tables on PostgreSQL (indexes and
constraints dropped and rebuilt once), bulk_create elsewhere; then the customers' contacts."""

import csv
import datetime as dt
import io
import math
import random
from contextlib import contextmanager

from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from crm.demo import names
from crm.demo.builders import CustomerStream, Tally
from crm.demo.org import ASSIGNMENT_REASON
from customers.models import (
    ConsumptionRecord,
    Contact,
    Customer,
    Tier,
)
from managers.models import Assignment, Manager


# ---------------------------------------------------------------- writing
class Writer:
    """Writes rows of one model: COPY on PostgreSQL, bulk_create elsewhere. Columns the demo does
    not fill take the model field's default, so fields added later need no change here."""

    def __init__(self, model, columns: list[str], *, plain: bool = False):
        self.model = model
        self.columns = columns
        self.plain = plain  # the rows hold only str and int: no value needs converting for COPY
        self.postgres = connection.vendor == "postgresql"
        known = set(columns)
        self.extra = [f for f in model._meta.concrete_fields if f.attname not in known and not f.primary_key]
        self.now = timezone.now()

    def _extra_values(self) -> list:
        values = []
        for f in self.extra:
            if f.attname in ("created_at", "updated_at"):
                values.append(self.now)
            else:
                values.append(f.get_default())
        return values

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        extra = self._extra_values()
        if self.postgres:
            self._copy(rows, extra)
        else:
            self._insert(rows, extra)

    def _columns(self) -> list[str]:
        columns = [self.model._meta.get_field(_field_name(self.model, c)).column for c in self.columns]
        return columns + [f.column for f in self.extra]

    def _insert(self, rows: list[tuple], extra: list) -> None:
        """One prepared INSERT run over the whole chunk (executemany): several times faster than
        bulk_create, which builds a model instance and prepares every value of every row. The
        values are already what Django would send (text for dates and decimals); only datetimes
        need the backend's adaptation."""
        ops = connection.ops
        tail = [f.get_db_prep_save(v, connection) for f, v in zip(self.extra, extra, strict=True)]
        columns = self._columns()
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - quoted model metadata only  # nosec B608
            ops.quote_name(self.model._meta.db_table),
            ", ".join(ops.quote_name(c) for c in columns),
            ", ".join(["%s"] * len(columns)),
        )
        prepared = [
            (*(ops.adapt_datetimefield_value(v) if isinstance(v, dt.datetime) else v for v in row), *tail)
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, prepared)

    def _copy(self, rows: list[tuple], extra: list) -> None:
        columns = self._columns()
        tail = [_pg_text(v) for v in extra]
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\n")
        if self.plain:
            tail_tuple = tuple(tail)
            out.writerows(row + tail_tuple for row in rows)
        else:
            for row in rows:
                out.writerow([*(_pg_text(v) for v in row), *tail])
        buffer.seek(0)
        table = connection.ops.quote_name(self.model._meta.db_table)
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        sql = f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        with connection.cursor() as cursor:
            raw = cursor.cursor
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(sql, buffer)
            else:  # psycopg 3
                with raw.copy(sql) as copy:
                    copy.write(buffer.getvalue())


def _field_name(model, attname: str) -> str:
    for f in model._meta.concrete_fields:
        if f.attname == attname:
            return f.name
    raise LookupError(attname)


def _pg_text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


CUSTOMER_COLUMNS = [
    "id",
    "account_no",
    "name",
    "category",
    "industry_code",
    "voltage_kv",
    "contracted_capacity_kva",
    "importance",
    "station_id",
    "community_id",
    "transformer_district_id",
    "address",
    "status",
    "tier",
    "tier_pinned",
    "manager_id",
    "annual_consumption_kwh",
    "latest_period",
]


def next_customer_id() -> int:
    return (Customer.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


_DROPPABLE_SQL = {
    # Foreign keys, and unique constraints no foreign key depends on.
    "constraints": """
        SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
        WHERE c.conrelid = %s::regclass AND (
            c.contype = 'f' OR (c.contype = 'u' AND NOT EXISTS (
                SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)))
        ORDER BY c.conname""",
    # Indexes that back no constraint (the primary key stays).
    "indexes": """
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
        ORDER BY i.relname""",
}


@contextmanager
def bulk_load(models: list):
    """On PostgreSQL, load empty tables the fast way the manual recommends: drop their foreign keys,
    unique constraints and secondary indexes, load, then build each index once and check each
    foreign key with one join. Everything is inside the caller's transaction, so a failure leaves
    the schema as it was. Elsewhere, nothing to do."""
    if connection.vendor != "postgresql":
        yield
        return
    quote = connection.ops.quote_name
    saved = []
    with connection.cursor() as cursor:
        # Fire the deferred foreign-key checks queued so far (the staff just created): a table with
        # pending trigger events cannot be altered, and the queue should not grow with the load.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for model in models:
            table = model._meta.db_table
            cursor.execute(_DROPPABLE_SQL["constraints"], [table])
            constraints = cursor.fetchall()
            cursor.execute(_DROPPABLE_SQL["indexes"], [table])
            indexes = cursor.fetchall()
            for name, _definition in constraints:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
            saved.append((table, constraints, indexes))
    yield
    with connection.cursor() as cursor:
        for table, constraints, indexes in saved:
            for _name, definition in indexes:
                # An index of a partitioned table reads back as CREATE INDEX ... ON ONLY parent: built
                # so, it would cover no partition and stay invalid. Built on the table, it covers all.
                cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
            for name, definition in constraints:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


def write_stream(*, stream: CustomerStream, progress=None) -> Tally:
    """Write every chunk; then fit the managers' maximum portfolio to what they were given and move
    the customer id sequence past the explicit ids."""
    customers = Writer(Customer, CUSTOMER_COLUMNS)
    consumption = Writer(
        ConsumptionRecord, ["customer_id", "period", "kwh", "amount_yuan", "max_demand_kw"], plain=True
    )
    assignments = Writer(Assignment, ["customer_id", "manager_id", "started_at", "reason", "by_id"])
    org = stream.org
    started = timezone.make_aware(dt.datetime.combine(stream.periods[0], dt.time(8, 0)))
    tally = Tally()
    with bulk_load([Customer, ConsumptionRecord, Assignment]):
        for chunk in stream:
            customers.write([tuple(c[name] for name in CUSTOMER_COLUMNS) for c in chunk.customers])
            consumption.write(chunk.consumption)
            assignments.write(
                [(cid, mid, started, ASSIGNMENT_REASON, org.admin_id) for cid, mid in chunk.assignments]
            )
            tally.customers += len(chunk.customers)
            tally.consumption += len(chunk.consumption)
            for c in chunk.customers:
                tally.tiers[c["tier"]] = tally.tiers.get(c["tier"], 0) + 1
            if progress:
                progress(tally)
    tally.loads = stream.loads
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Customer]):
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            tables = [m._meta.db_table for m in (Customer, ConsumptionRecord, Assignment)]
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
    for uid, load in tally.loads.items():
        if load > 400:
            Manager.objects.filter(pk=uid).update(max_customers=math.ceil(load * 1.25 / 100) * 100)
    return tally


CONTACT_TITLES = ("电气负责人", "总经理", "财务负责人", "后勤主任", "设备科长")


def write_contacts(*, rng: random.Random, batch: int = 5000) -> int:
    """One to three contacts for every VIP and key account (the customers a manager phones), the
    first of them primary; in primary-key batches so a million-customer county stays flat in memory."""
    big = (
        Customer.objects.filter(tier__in=[Tier.VIP, Tier.KEY_ACCOUNT])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    written, last = 0, 0
    while True:
        ids = list(big.filter(pk__gt=last)[:batch])
        if not ids:
            return written
        contacts = []
        for customer_id in ids:
            for n, title in enumerate(rng.sample(CONTACT_TITLES, rng.randint(1, 3))):
                contacts.append(
                    Contact(
                        customer_id=customer_id,
                        name=names.person(rng),
                        title=title,
                        phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                        is_primary=n == 0,
                    )
                )
        Contact.objects.bulk_create(contacts, batch_size=1000)
        written += len(contacts)
        last = ids[-1]
