"""The briefcase (issue 18): what a manager's phone keeps for a day in the field with no signal. The
manager's open visit tasks planned or due in the next BRIEFCASE_DAYS days (and those already
overdue), the profiles of those tasks' customers, their contacts, their last 24 months of
consumption and their open follow-ups with the service request carrying each. Read in a fixed number
of queries whatever the number of tasks (tests/visits/test_offline_pages.py), as plain data the
phone stores in IndexedDB (crm/static/crm/offline-core.js)."""

import datetime as dt

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord, Contact, Customer
from visits.models import Department, FollowUp, VisitTask

BRIEFCASE_DAYS = 14
CONSUMPTION_MONTHS = 24
MAX_TASKS = 500  # far above a fortnight of anyone's visits; a bound on what a phone is sent


def _number(value) -> float | None:
    return None if value is None else float(value)


def briefcase_for(*, user, now: dt.datetime | None = None) -> dict:
    """The briefcase of `user`'s own visits (a supervisor's briefcase holds the visits they make)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    until = today + dt.timedelta(days=BRIEFCASE_DAYS)
    tasks = list(
        VisitTask.objects.visible_to(user)
        .for_manager(user.pk)
        .open()
        .with_live_status(today)
        .annotate(day=Coalesce(F("planned_on"), F("due_date")))
        .filter(day__lte=until)
        .select_related("customer", "community", "transformer_district")
        .order_by("day", "id")[:MAX_TASKS]
    )
    customer_ids = sorted({t.customer_id for t in tasks if t.customer_id})
    customers = (
        Customer.objects.visible_to(user)
        .filter(pk__in=customer_ids)
        .select_related("station", "community", "transformer_district")
        .order_by("pk")
    )
    contacts: dict[int, list[dict]] = {pk: [] for pk in customer_ids}
    for contact in Contact.objects.filter(customer_id__in=customer_ids).order_by("-is_primary", "id"):
        contacts[contact.customer_id].append(
            {
                "id": contact.pk,
                "name": contact.name,
                "title": contact.title,
                "phone": contact.phone,
                "email": contact.email,
                "is_primary": contact.is_primary,
                "updated_at": contact.updated_at.isoformat(),
            }
        )
    since = add_months(month_start(today), -CONSUMPTION_MONTHS)
    consumption: dict[int, list[list]] = {pk: [] for pk in customer_ids}
    for customer_id, period, kwh in (
        ConsumptionRecord.objects.filter(customer_id__in=customer_ids, period__gte=since)
        .order_by("customer_id", "-period")
        .values_list("customer_id", "period", "kwh")
    ):
        consumption[customer_id].append([f"{period:%Y-%m}", float(kwh)])
    follow_ups: dict[int, list[dict]] = {pk: [] for pk in customer_ids}
    for follow_up in (
        FollowUp.objects.waiting()
        .filter(report__task__customer_id__in=customer_ids)
        .annotate(customer_id=F("report__task__customer_id"))
        .order_by("id")
        .values("customer_id", "id", "department", "action", "report__visited_on", "service_request__number")
    ):
        follow_ups[follow_up["customer_id"]].append(
            {
                "id": follow_up["id"],
                "department": str(Department(follow_up["department"]).label),
                "action": follow_up["action"],
                "raised_on": f"{follow_up['report__visited_on']:%Y-%m-%d}",
                "request": follow_up["service_request__number"] or "",
            }
        )
    return {
        "taken_at": now.isoformat(),
        "me": user.pk,
        "days": BRIEFCASE_DAYS,
        "today": f"{today:%Y-%m-%d}",
        "tasks": [
            {
                "id": task.pk,
                "kind": task.kind,
                "kind_label": str(task.get_kind_display()),
                "status": task.live_status,
                "status_label": task.get_live_status_display(),
                "due_date": f"{task.due_date:%Y-%m-%d}",
                "planned_on": f"{task.planned_on:%Y-%m-%d}" if task.planned_on else None,
                "period": f"{task.period:%Y-%m-%d}",
                "created_on": f"{timezone.localdate(task.created_at):%Y-%m-%d}",
                "customer": task.customer_id,
                "target_name": str(task.target),
                "note": task.note,
            }
            for task in tasks
        ],
        "customers": [
            {
                "id": customer.pk,
                "account_no": customer.account_no,
                "name": customer.name,
                "address": customer.address,
                "tier": str(customer.get_tier_display()),
                "category": str(customer.get_category_display()),
                "voltage_kv": _number(customer.voltage_kv),
                "capacity_kva": _number(customer.contracted_capacity_kva),
                "annual_kwh": _number(customer.annual_consumption_kwh),
                "station": customer.station.name,
                "territory": str(customer.community or customer.transformer_district or ""),
                "contacts": contacts[customer.pk],
                "consumption": consumption[customer.pk],
                "follow_ups": follow_ups[customer.pk],
            }
            for customer in customers
        ],
    }
