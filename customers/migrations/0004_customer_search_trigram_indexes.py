"""Trigram indexes for the customer search (`search=` of the list API, the customer list page).

The search is Django's `icontains` over account number, name and address, an OR of three
`UPPER(column::text) LIKE UPPER('%term%')`. Without an index, PostgreSQL reads and upper-cases
every customer for both the count and the page (seconds at 1,000,000 customers); with a GIN trigram
index on each of the three expressions it combines three bitmap index scans (see the README's
performance section for the plans and timings). Trigram indexes need pg_trgm; on other databases
this migration does nothing."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

COLUMNS = {
    "customer_search_account_no": "account_no",
    "customer_search_name": "name",
    "customer_search_address": "address",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in COLUMNS.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON customers_customer "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_history")]

    operations = [TrigramExtension(), migrations.RunPython(create, drop)]
