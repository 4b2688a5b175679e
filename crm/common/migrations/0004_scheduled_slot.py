from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0003_outbox_event"),
    ]

    operations = [
        migrations.CreateModel(
            name="ScheduledSlot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="started at")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished at")),
                ("error", models.TextField(blank=True, verbose_name="error")),
                (
                    "job",
                    models.CharField(help_text="the schedule entry's name", max_length=200, verbose_name="job"),
                ),
                ("slot", models.DateTimeField(verbose_name="slot")),
                ("task", models.CharField(max_length=200, verbose_name="task")),
                ("task_id", models.CharField(max_length=64, verbose_name="task id")),
                (
                    "status",
                    models.CharField(
                        choices=[("running", "Running"), ("done", "Done"), ("failed", "Failed")],
                        default="running",
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                ("caught_up", models.BooleanField(default=False, verbose_name="caught up")),
                ("duplicates", models.PositiveIntegerField(default=0, verbose_name="duplicate sends")),
                (
                    "last_duplicate_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="last duplicate send"),
                ),
            ],
            options={
                "verbose_name": "scheduled slot",
                "verbose_name_plural": "scheduled slots",
                "ordering": ["-slot", "job"],
                "constraints": [
                    models.UniqueConstraint(fields=("job", "slot"), name="scheduledslot_once_per_slot")
                ],
            },
        ),
    ]
