"""Demo visits: a year of scheduled tasks for the demo county (through the same set-based generation
the daily job runs), most of them reported with a forecast and now and then a follow-up, a few left
overdue, and the care visits the consumption history calls for. Deterministic for a given seed;
a second run adds nothing. `manage.py seed_demo` calls `seed_demo` after the customers exist."""

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common.months import add_months, month_start
from visits.care import care_visits_detect
from visits.generation import visit_tasks_generate
from visits.models import (
    Channel,
    Department,
    FollowUp,
    FollowUpStatus,
    TaskStatus,
    Trend,
    VisitReport,
    VisitTask,
)
from visits.reminders import visit_tasks_mark_overdue

DEFAULT_SEED = 20260101
PEOPLE = ["王厂长", "李经理", "张主任", "刘总", "陈会计", "物业赵经理", "村委会孙主任", "电工老周"]
NEEDS = [
    "计划扩建生产线，需增容",
    "咨询峰谷电价与分时计费",
    "反映电压偏低，影响设备运行",
    "希望提供用电安全检查",
    "询问有序用电方案安排",
    "电费账单有疑问，需核对",
    "",
    "",
]
ACTIONS = {
    Department.NEW_CONNECTION: "受理增容申请并安排现场勘查",
    Department.BILLING: "核对电费账单并答复客户",
    Department.ORDERLY_POWER_USE: "签订有序用电协议",
    Department.LOAD_CONTROL: "检查负控终端通信",
    Department.OTHER: "转交相关部门处理",
}


@transaction.atomic
def seed_visits_demo(*, seed: int = DEFAULT_SEED, until: dt.date | None = None) -> dict[str, int]:
    until = until or timezone.localdate()
    if VisitReport.objects.exists():
        return {"tasks": 0, "reports": 0, "follow_ups": 0, "overdue": 0, "care": 0}
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets  # nosec B311
    first = add_months(month_start(until), -11)
    created = 0
    month = first
    while month <= month_start(until):
        created += visit_tasks_generate(day=month)["created"]
        month = add_months(month, 1)
    created += visit_tasks_generate(day=until)["created"]
    care = care_visits_detect(day=until)["created"]
    past = list(
        VisitTask.objects.filter(status=TaskStatus.PLANNED, due_date__lt=until)
        .select_related("customer")
        .order_by("pk")
    )
    reports, done_ids = [], []
    for task in past:
        if rng.random() < 0.06:  # left undone: becomes overdue below
            continue
        span = max((min(task.due_date, until) - task.period).days, 0)
        visited_on = task.period + dt.timedelta(days=rng.randint(0, span))
        forecast = None
        if task.customer is not None and task.customer.annual_consumption_kwh:
            factor = Decimal(str(round(rng.uniform(0.8, 1.2), 3)))
            forecast = (task.customer.annual_consumption_kwh * factor).quantize(Decimal("1"))
        reports.append(
            VisitReport(
                task=task,
                visited_on=visited_on,
                channel=rng.choices(Channel.values, weights=[6, 3, 1])[0],
                people_met=rng.choice(PEOPLE),
                business_trend=rng.choices(Trend.values, weights=[2, 6, 2])[0],
                needs=rng.choice(NEEDS),
                satisfaction=rng.choices([5, 4, 3, 2], weights=[55, 32, 10, 3])[0],
                forecast_kwh_12m=forecast,
            )
        )
        done_ids.append(task.pk)
    VisitReport.objects.bulk_create(reports, batch_size=2000)
    VisitTask.objects.filter(pk__in=done_ids).update(status=TaskStatus.DONE)
    follow_ups = []
    for report in VisitReport.objects.filter(needs__gt="").order_by("pk"):
        if rng.random() < 0.6:
            department = rng.choice(Department.values)
            # most follow-ups of a report months old were dealt with long ago; a few still open show
            # what the SLA board looks like when work is forgotten, without drowning the recent ones
            closed = rng.random() < (0.6 if (until - report.visited_on).days <= 60 else 0.97)
            closed_on = (
                min(report.visited_on + dt.timedelta(days=rng.randint(3, 30)), until) if closed else None
            )
            follow_ups.append(
                FollowUp(
                    report=report,
                    department=department,
                    action=ACTIONS[department],
                    status=FollowUpStatus.CLOSED if closed else FollowUpStatus.OPEN,
                    closed_on=closed_on,
                )
            )
    FollowUp.objects.bulk_create(follow_ups, batch_size=2000)
    overdue = visit_tasks_mark_overdue(day=until)["marked"]
    return {
        "tasks": created,
        "reports": len(reports),
        "follow_ups": len(follow_ups),
        "overdue": overdue,
        "care": care,
    }


def seed_demo(*, seed: int, until: dt.date | None = None) -> str:
    """The entry point `manage.py seed_demo` calls for each app's demo data: what it made, in a line."""
    return _(
        "Visits: %(tasks)s tasks, %(reports)s reports, %(follow_ups)s follow-ups, "
        "%(overdue)s overdue, %(care)s care visits."
    ) % seed_visits_demo(seed=seed, until=until)
