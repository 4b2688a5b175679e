"""The lists' order as an index: a page of requests is read off it, not sorted from all of them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("service", "0004_follow_ups_to_requests"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(fields=["-received_at", "-id"], name="request_received"),
        ),
    ]
