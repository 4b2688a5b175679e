"""Each seat's scored count, total and deviation, and the appraisal's deviation flag, stored with the
score (appraisal.results keeps them current), so that the review filters and sorts on the flag and
shows a page of panels without loading their scores. Existing panels are filled in from their
scores; going back drops the columns."""

from collections import defaultdict

from django.db import migrations, models

from appraisal.scoring import seat_figures

CHUNK = 2000


def fill_in(apps, schema_editor):
    Appraisal, Rater, Score, Criterion = (
        apps.get_model("appraisal", name) for name in ("Appraisal", "Rater", "Score", "Criterion")
    )
    weights = defaultdict(dict)  # cycle id -> {code: weight}
    code_of = {}
    for criterion in Criterion.objects.values("pk", "cycle_id", "code", "weight"):
        weights[criterion["cycle_id"]][criterion["code"]] = criterion["weight"]
        code_of[criterion["pk"]] = criterion["code"]
    ids = list(Appraisal.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        raters = list(Rater.objects.filter(appraisal_id__in=chunk).select_related("appraisal"))
        panels = defaultdict(dict)  # appraisal id -> {rater id: {code: score}}
        for rater in raters:
            panels[rater.appraisal_id][rater.pk] = {}
        for score in Score.objects.filter(rater__appraisal_id__in=chunk).values(
            "rater_id", "rater__appraisal_id", "criterion_id", "score"
        ):
            panels[score["rater__appraisal_id"]][score["rater_id"]][code_of[score["criterion_id"]]] = score[
                "score"
            ]
        cycle_of = {rater.appraisal_id: rater.appraisal.cycle_id for rater in raters}
        figures, flagged = {}, set()
        for appraisal_id, panel in panels.items():
            seats = seat_figures(panel, weights[cycle_of[appraisal_id]])
            figures.update(seats)
            if any(f.deviating for f in seats.values()):
                flagged.add(appraisal_id)
        for rater in raters:
            f = figures[rater.pk]
            rater.scored, rater.total, rater.deviating = f.scored, f.total, f.deviating
        Rater.objects.bulk_update(raters, ["scored", "total", "deviating"], batch_size=500)
        Appraisal.objects.filter(pk__in=flagged).update(flagged=True)


class Migration(migrations.Migration):
    dependencies = [
        ("appraisal", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="appraisal",
            name="flagged",
            field=models.BooleanField(default=False, verbose_name="a rater deviates"),
        ),
        migrations.AddField(
            model_name="rater",
            name="deviating",
            field=models.BooleanField(default=False, verbose_name="deviates from the panel"),
        ),
        migrations.AddField(
            model_name="rater",
            name="scored",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="criteria scored"),
        ),
        migrations.AddField(
            model_name="rater",
            name="total",
            field=models.DecimalField(
                blank=True, decimal_places=2, max_digits=5, null=True, verbose_name="total"
            ),
        ),
        migrations.RunPython(fill_in, migrations.RunPython.noop, elidable=True),
    ]
