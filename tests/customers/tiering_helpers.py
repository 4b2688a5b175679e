"""Shared set-up for the tiering tests: consumption spread over months, and running a
reclassification to the end in-process."""

import datetime as dt
from decimal import ROUND_DOWN, Decimal

from customers.models import ClassificationRun, ConsumptionRecord
from customers.tiering.classification import classification_run_execute

LATEST = dt.date(2026, 9, 1)


def month_before(period: dt.date, n: int) -> dt.date:
    index = period.year * 12 + period.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def add_consumption(customer, *, total, months: int = 12, latest: dt.date = LATEST) -> None:
    """`months` monthly records ending at `latest` that add up to exactly `total` kWh."""
    total = Decimal(str(total))
    each = (total / months).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    amounts = [each] * (months - 1) + [total - each * (months - 1)]
    ConsumptionRecord.objects.bulk_create(
        ConsumptionRecord(customer=customer, period=month_before(latest, i), kwh=kwh)
        for i, kwh in enumerate(amounts)
    )


def reclassify(*, size: int | None = None, by=None) -> ClassificationRun:
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL, started_by=by)
    return classification_run_execute(run_id=run.pk, size=size)
