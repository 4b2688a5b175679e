"""Demo check-ins (issue 18): the on-site visits of the last 60 days reported from the phone with
its position, as the field app records them, so a customer's visit history shows 签到 beside the
address. The demo's customers have no coordinates, so the positions are spread over the demo
county's area (around 30.5°N 114.3°E), with a phone's accuracy (5 to 60 m). Deterministic for a
given seed; a second run leaves the check-ins already there."""

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from visits.models import Channel, VisitReport

CENTRE = (30.5, 114.3)
SPREAD = 0.25  # degrees: a county some fifty kilometres across
DAYS = 60


def seed_demo(*, seed: int, until: dt.date) -> str:
    rng = random.Random(seed + 18)  # noqa: S311 - demo data, not secrets  # nosec B311
    reports = list(
        VisitReport.objects.filter(
            channel=Channel.ON_SITE,
            visited_on__gt=until - dt.timedelta(days=DAYS),
            checkin_at__isnull=True,
        ).order_by("pk")
    )
    zone = timezone.get_current_timezone()
    for report in reports:
        report.checkin_lat = Decimal(f"{CENTRE[0] + rng.uniform(-SPREAD, SPREAD):.6f}")
        report.checkin_lon = Decimal(f"{CENTRE[1] + rng.uniform(-SPREAD, SPREAD):.6f}")
        report.checkin_accuracy_m = rng.randint(5, 60)
        start = dt.datetime.combine(report.visited_on, dt.time(9), tzinfo=zone)
        report.checkin_at = start + dt.timedelta(minutes=rng.randint(0, 8 * 60))
    VisitReport.objects.bulk_update(
        reports, ["checkin_lat", "checkin_lon", "checkin_accuracy_m", "checkin_at"], batch_size=1000
    )
    return _("Check-ins: %(n)s on-site visits of the last %(days)s days.") % {"n": len(reports), "days": DAYS}
