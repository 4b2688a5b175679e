"""The planned visit day (api.md `planned_on`): a date inside the task's window, an index for a
manager's plan, and the open scheduled tasks not yet due spread over what is left of their cycle
(before, a quarter's visits were all due, and so shown, on its last day)."""

from django.db import migrations, models
from django.utils import timezone


def spread_open_tasks(apps, schema_editor):
    # The spread is raw SQL on the table (visits.plan.tasks_spread); the cycles come from the
    # historical model so that a later field cannot break this migration.
    from visits.plan import tasks_spread

    VisitTask = apps.get_model("visits", "VisitTask")
    today = timezone.localdate()
    cycles = (
        VisitTask.objects.filter(
            kind="scheduled", status="planned", planned_on__isnull=True, due_date__gte=today
        )
        .values_list("period", "due_date")
        .distinct()
        .order_by("period", "due_date")
    )
    for period, due_date in list(cycles):
        tasks_spread(kind="scheduled", period=period, due_date=due_date, start=today)


class Migration(migrations.Migration):
    dependencies = [("visits", "0002_default_policies")]

    operations = [
        migrations.AddField(
            model_name="visittask",
            name="planned_on",
            field=models.DateField(blank=True, null=True, verbose_name="planned visit day"),
        ),
        migrations.AddIndex(
            model_name="visittask",
            index=models.Index(fields=["manager", "planned_on"], name="visittask_manager_planned"),
        ),
        migrations.AddConstraint(
            model_name="visittask",
            constraint=models.CheckConstraint(
                condition=models.Q(planned_on__isnull=True)
                | models.Q(planned_on__gte=models.F("period"), planned_on__lte=models.F("due_date")),
                name="visittask_planned_within_window",
            ),
        ),
        # Reversed, the column goes with its values: nothing to undo.
        migrations.RunPython(spread_open_tasks, migrations.RunPython.noop),
    ]
