"""The consumption records' own index on `customer_id` goes: the unique (customer, period) index
leads with the customer and serves every look-up by it (the foreign key's cascade too), and a month's
import wrote both. Only the index is dropped (a plain AlterField would also drop and add back the
foreign key on PostgreSQL, which checks every record again); on a partitioned table dropping the
parent's index drops each partition's."""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "customers_consumptionrecord"


def _own_customer_indexes(schema_editor) -> list[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return [
        name
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == ["customer_id"]
    ]


def drop(apps, schema_editor):
    for name in _own_customer_indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def add_back(apps, schema_editor):
    if _own_customer_indexes(schema_editor):
        return
    model = apps.get_model("customers", "ConsumptionRecord")
    schema_editor.execute(schema_editor._create_index_sql(model, fields=[model._meta.get_field("customer")]))


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0011_consumption_partitioned_by_year"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="consumptionrecord",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="consumption",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop, add_back)],
        ),
    ]
