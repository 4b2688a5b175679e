"""The default visit policies of domain.md: vip and key accounts visited per customer (monthly and
quarterly), communities and transformer districts visited monthly."""

from django.db import migrations

DEFAULTS = [
    ("vip", "customer", 1, 7),
    ("key_account", "customer", 3, 14),
    ("community", "community", 1, 7),
    ("transformer_district", "transformer_district", 1, 7),
]


def create_defaults(apps, schema_editor):
    VisitPolicy = apps.get_model("visits", "VisitPolicy")
    for tier, target, frequency, lead in DEFAULTS:
        VisitPolicy.objects.get_or_create(
            tier=tier, defaults={"target": target, "frequency_months": frequency, "lead_days": lead}
        )


def remove_defaults(apps, schema_editor):
    VisitPolicy = apps.get_model("visits", "VisitPolicy")
    VisitPolicy.objects.filter(tier__in=[row[0] for row in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_tasks_reports_runs")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
