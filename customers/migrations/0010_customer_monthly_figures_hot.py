"""Let the monthly reclassification rewrite a customer's annual figure in place (issue 21).

When a month of consumption lands, every customer's trailing-12-month figure
(`annual_consumption_kwh`, `latest_period`) changes, and the run writes it on nearly every row. A
PostgreSQL update that changes no indexed column, and finds room in the row's own page, is a
heap-only tuple (HOT) update: the new row version is chained from the old one and none of the
table's indexes (18 after this migration) gets an entry. An update that changes an indexed column
writes an entry in every one of them (three of them GIN trigram indexes). Measured with
`bench/reclassify.py` at 100,000 customers: 100,000 figure writes cost about 7 s as ordinary updates
and about 0.45 s as HOT updates (README, Performance). So:

1. `customer_annual` (the index on `annual_consumption_kwh`) goes: as long as it exists, a changed
   figure is a change of an indexed column (PostgreSQL 15 has no index kind exempt from this). The
   price: `ordering=-annual_consumption_kwh` over all customers is a top-N sort of the table again
   instead of 50 index entries (filtered lists, by tier, manager or station, sort their few rows as
   before);
2. the run no longer moves `updated_at` (indexed: `customer_updated_at`) when only the figures
   change (customers/tiering/classification.py);
3. on PostgreSQL the table's fillfactor is 50: a chunk rewrites every row of its pages in one
   transaction, so a page needs room for a second version of each of its rows, or the update
   moves the row to another page and writes every index after all. The old versions are pruned by
   the next update of the page or by vacuum, so the table settles at twice its packed size, which
   is what an ordinary update of every row left behind anyway. Existing pages keep their fill until
   they are rewritten (`VACUUM FULL customers_customer` rewrites them at once; the first monthly
   run after this migration otherwise moves rows into new, half-filled pages once).

The run's other half is reading every customer's records. 4. On PostgreSQL the index behind the
unique constraint `consumption_one_per_period` (customer, period) also carries `kwh` (INCLUDE), so a
chunk reads its records' kWh from the index, in customer and period order: an index-only scan and no
sort instead of a bitmap scan of the table and a sort (one chunk of 20,000 customers, 240,000
records, at 1,000,000 customers, measured once on a busy machine: 480 -> 290 ms). It is the same
index the imports maintain already, a few bytes wider (a correction of a reading's kWh is no longer
a HOT update of the record; a new reading never was one). Building it reads the whole table (13 s at
12 million records) with writes to the table blocked meanwhile.

On SQLite (no HOT, no fillfactor, no INCLUDE) only the index on the annual figure goes: the SQL of 3
and 4 is RunPython that does nothing on other databases, each with its reverse."""

from django.db import migrations

FILLFACTOR = 50


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE customers_customer SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_customer RESET (fillfactor)")


def _unique_period_index(schema_editor, include: str) -> None:
    """Put the unique constraint on (customer, period) on a new index `include` names the extra
    columns of (the constraint keeps its name; ON CONFLICT (customer_id, period) still finds it)."""
    table = "customers_consumptionrecord"
    schema_editor.execute(
        f"CREATE UNIQUE INDEX consumption_one_per_period_new ON {table} (customer_id, period) {include}"
    )
    schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT consumption_one_per_period")
    schema_editor.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT consumption_one_per_period "
        "UNIQUE USING INDEX consumption_one_per_period_new"
    )


def include_kwh(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _unique_period_index(schema_editor, "INCLUDE (kwh)")


def exclude_kwh(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _unique_period_index(schema_editor, "")


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_importjob_content_hash")]

    operations = [
        migrations.RemoveIndex(model_name="customer", name="customer_annual"),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
        migrations.RunPython(include_kwh, exclude_kwh),
    ]
