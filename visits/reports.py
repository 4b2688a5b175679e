"""Visit reports: recording the report of a visit (with its follow-ups) marks its task done; closing
a follow-up. A report is dated no earlier than its task's period and creation, and at most
VISIT_REPORT_MAX_BACKDATE_DAYS before the day it is entered."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common import hooks
from visits.models import Department, FollowUp, FollowUpStatus, TaskStatus, VisitReport, VisitTask
from visits.services import setting_days


def _check_report(*, task: VisitTask, visited_on, satisfaction, forecast_kwh_12m, follow_ups) -> None:
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    # The visit date decides whether a visit was on time (appraisal.evidence): it may not precede
    # the task (a visit made before the task existed was not this task's), nor lie further back
    # than a few days, so a report cannot be back-dated into the window it is judged by.
    backdate = setting_days("VISIT_REPORT_MAX_BACKDATE_DAYS", 7)
    created = timezone.localdate(task.created_at)
    if visited_on > today:
        errors["visited_on"] = [_("A visit cannot be reported before it took place.")]
    elif visited_on < task.period:
        errors["visited_on"] = [_("The visit date is before the task's period.")]
    elif visited_on < created:
        errors["visited_on"] = [
            _("The visit date is before this visit task was created (%(date)s).")
            % {"date": f"{created:%Y-%m-%d}"}
        ]
    elif visited_on < today - backdate:
        errors["visited_on"] = [
            _("A visit report can be dated at most %(days)d days back: report visits sooner.")
            % {"days": backdate.days}
        ]
    if not 1 <= int(satisfaction) <= 5:
        errors["satisfaction"] = [_("Satisfaction runs from 1 to 5.")]
    if forecast_kwh_12m is not None and Decimal(forecast_kwh_12m) < 0:
        errors["forecast_kwh_12m"] = [_("The forecast cannot be negative.")]
    for item in follow_ups:
        if item.get("department") not in Department.values or not (item.get("action") or "").strip():
            errors["follow_ups"] = [_("Each follow-up needs a department and an action.")]
            break
        if item.get("closed_on") and item["closed_on"] > timezone.localdate():
            errors["follow_ups"] = [_("A follow-up cannot be closed in the future.")]
            break
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def visit_report_submit(
    *,
    task: VisitTask,
    by,
    visited_on: dt.date,
    channel: str,
    business_trend: str,
    satisfaction: int,
    people_met: str = "",
    needs: str = "",
    forecast_kwh_12m: Decimal | None = None,
    follow_ups: list[dict] | None = None,
) -> VisitReport:
    """Record the report of a visit and mark its task done."""
    task = VisitTask.objects.select_for_update().get(pk=task.pk)
    follow_ups = follow_ups or []
    if task.status == TaskStatus.CANCELLED:
        raise ValidationError(_("This visit was cancelled."))
    if VisitReport.objects.filter(task=task).exists():
        raise ValidationError(_("This visit has already been reported."))
    _check_report(
        task=task,
        visited_on=visited_on,
        satisfaction=satisfaction,
        forecast_kwh_12m=forecast_kwh_12m,
        follow_ups=follow_ups,
    )
    report = VisitReport.objects.create(
        task=task,
        by=by,
        visited_on=visited_on,
        channel=channel,
        people_met=people_met,
        business_trend=business_trend,
        needs=needs,
        satisfaction=satisfaction,
        forecast_kwh_12m=forecast_kwh_12m,
    )
    raised = FollowUp.objects.bulk_create(
        [
            FollowUp(
                report=report,
                department=item["department"],
                action=item["action"].strip(),
                status=item.get("status") or FollowUpStatus.OPEN,
                closed_on=item.get("closed_on")
                or (visited_on if item.get("status") == FollowUpStatus.CLOSED else None),
            )
            for item in follow_ups
        ]
    )
    if raised:
        # the app above opens a service request for each department's follow-up (crm/jobs.py)
        hooks.after_commit("follow_ups_raised", follow_up_ids=[follow_up.pk for follow_up in raised])
    task.status = TaskStatus.DONE
    task.save(update_fields=["status", "updated_at"])
    return report


@transaction.atomic
def follow_up_close(*, follow_up: FollowUp, by, closed_on: dt.date | None = None) -> FollowUp:
    """Close a follow-up by hand. Refused while a service request carries it: only its department
    can do the work, and the request closes it when it closes (service.md, "From a visit")."""
    refuse_if_carried(follow_up)
    follow_up.status = FollowUpStatus.CLOSED
    follow_up.closed_on = closed_on or timezone.localdate()
    follow_up.save(update_fields=["status", "closed_on", "updated_at"])
    return follow_up


# The statuses of a running service request (service.models.RequestStatus), named here because visits
# sits below service and may not import it; the link is service's `ServiceRequest.follow_up`.
RUNNING_REQUEST = ("open", "waiting_customer")


def refuse_if_carried(follow_up: FollowUp) -> None:
    """Refuse closing by hand a follow-up that a running service request carries."""
    row = (
        FollowUp.objects.filter(pk=follow_up.pk, service_request__status__in=RUNNING_REQUEST)
        .values_list("pk", "service_request__number")
        .first()
    )
    if row is not None:
        raise ValidationError(
            _("Service request %(number)s carries this follow-up: it is closed when the request closes.")
            % {"number": row[1] or ""}
        )
