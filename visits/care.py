"""Care visits: a `care` task for every active vip or key-account customer whose latest month of
consumption fell by more than the set percentages, both month-on-month and year-on-year. One
`INSERT ... SELECT ... ON CONFLICT DO NOTHING` per latest period; the task's period is that month,
so one drop opens one care visit however often the detection runs."""

# ruff: noqa: S608  (the SQL is built from model table names only; every value is a parameter)

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from crm.common.months import add_months
from customers.models import ConsumptionRecord, Customer, Status, Tier
from visits.models import Kind, TaskStatus
from visits.services import CUSTOMER_TIERS, setting_days, tasks_insert_sql


def care_thresholds() -> tuple[Decimal, Decimal]:
    """Month-on-month and year-on-year drops (percent) a care visit needs to exceed."""
    return (
        Decimal(str(getattr(settings, "VISIT_CARE_MOM_DROP_PCT", 20))),
        Decimal(str(getattr(settings, "VISIT_CARE_YOY_DROP_PCT", 20))),
    )


def _care_sql() -> str:
    customer_table = Customer._meta.db_table
    record_table = ConsumptionRecord._meta.db_table
    return tasks_insert_sql(
        column="customer_id",
        target="c.id",
        manager="c.manager_id",
        source=f"FROM {customer_table} c "
        f"JOIN {record_table} cur ON cur.customer_id = c.id AND cur.period = %s "
        f"JOIN {record_table} prev ON prev.customer_id = c.id AND prev.period = %s "
        f"JOIN {record_table} ly ON ly.customer_id = c.id AND ly.period = %s "
        "WHERE c.latest_period = %s AND c.status = %s AND c.tier IN (%s, %s) AND c.manager_id IS NOT NULL "
        "AND cur.kwh * 100 < prev.kwh * (100 - %s) AND cur.kwh * 100 < ly.kwh * (100 - %s)",
    )


@transaction.atomic
def care_visits_detect(*, day: dt.date | None = None) -> dict[str, int]:
    """Open a `care` task for every active vip or key-account customer whose latest month fell by
    more than the set percentages both month-on-month and year-on-year. The task's period is that
    month, so one drop opens one care visit however often this runs."""
    day = day or timezone.localdate()
    mom, yoy = care_thresholds()
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(timezone.now())
    due = ops.adapt_datefield_value(day + setting_days("VISIT_CARE_DUE_DAYS", 7))
    latest_periods = (
        Customer.objects.filter(tier__in=CUSTOMER_TIERS, status=Status.ACTIVE, latest_period__isnull=False)
        .values_list("latest_period", flat=True)
        .order_by()  # without the model's ordering, or DISTINCT keeps one row per account number
        .distinct()
    )
    created = 0
    with connection.cursor() as cursor:
        for period in sorted(latest_periods):
            p = ops.adapt_datefield_value
            params = [stamp, stamp, Kind.CARE.value, p(period), due, TaskStatus.PLANNED.value]
            params += [p(period), p(add_months(period, -1)), p(add_months(period, -12))]
            params += [p(period), Status.ACTIVE.value, Tier.VIP.value, Tier.KEY_ACCOUNT.value]
            params += [float(mom), float(yoy)]
            cursor.execute(_care_sql(), params)
            created += max(cursor.rowcount, 0)
    return {"created": created}
