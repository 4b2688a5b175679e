"""Every follow-up raised before one-stop service for a department's work becomes its service
request (service.md, "From a visit"), linked to it, source visit, received on the day of its visit:
an open follow-up opens its request at the first stage, a closed one makes a closed request whose
stages were all done on the day the follow-up was closed. Follow-ups for "other", and those raised
at a community's or a transformer district's visit (no customer), stay plain follow-ups.

Backwards, the requests made from follow-ups are removed; the follow-ups keep their status.
The work is service.follow_ups' (the same the demo data uses), run on this migration's models."""

from django.db import migrations


def forwards(apps, schema_editor):
    from service.follow_ups import follow_ups_convert

    follow_ups_convert(models=apps)


def backwards(apps, schema_editor):
    from service.follow_ups import follow_ups_unconvert

    follow_ups_unconvert(models=apps)


class Migration(migrations.Migration):
    dependencies = [("service", "0003_default_templates")]

    operations = [migrations.RunPython(forwards, backwards)]
