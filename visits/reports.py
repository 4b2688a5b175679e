"""Visit reports: recording the report of a visit (with its follow-ups) marks its task done; closing
a follow-up. A report is dated no earlier than its task's period and creation, and at most
VISIT_REPORT_MAX_BACKDATE_DAYS before the day it is entered."""

import datetime as dt
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common import hooks
from crm.common.errors import Conflict
from crm.common.outbox import api_link, outbox_record
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
    client_id: uuid.UUID | None = None,
    checkin: dict | None = None,
) -> VisitReport:
    """Record the report of a visit and mark its task done. `client_id` is the id the phone made
    for it (visit_report_submit_once answers a second send with the first report); `checkin` the
    optional position (`lat`, `lon`, `accuracy_m`, `at`)."""
    task = VisitTask.objects.select_for_update().get(pk=task.pk)
    follow_ups = follow_ups or []
    if task.status == TaskStatus.CANCELLED:
        # A report written offline meets a task cancelled meanwhile: 409 with the reason, so the
        # phone keeps the report and offers to move it (the manager's work is never dropped).
        reason = task.cancel_reason or _("no reason given")
        raise Conflict(_("This visit was cancelled: %(reason)s.") % {"reason": reason})
    if VisitReport.objects.filter(task=task).exists():
        raise ValidationError(_("This visit has already been reported."))
    if checkin:
        _check_checkin(checkin)
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
        client_id=client_id,
        checkin_lat=checkin["lat"] if checkin else None,
        checkin_lon=checkin["lon"] if checkin else None,
        checkin_accuracy_m=round(checkin["accuracy_m"]) if checkin else None,
        checkin_at=checkin["at"] if checkin else None,
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
    outbox_record(
        "visit_task.done",
        {
            "visit_task": task.pk,
            "visit_report": report.pk,
            "customer": task.customer_id,
            "manager": task.manager_id,
            "visited_on": str(report.visited_on),
            "link": api_link("visit-tasks", task.pk),
        },
    )
    return report


def _check_checkin(checkin: dict) -> None:
    lat, lon, accuracy = checkin.get("lat"), checkin.get("lon"), checkin.get("accuracy_m")
    at = checkin.get("at")
    if lat is None or lon is None or accuracy is None or at is None:
        raise ValidationError({"checkin": [_("A check-in needs lat, lon, accuracy_m and at.")]})
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError({"checkin": [_("The check-in position is not on the globe.")]})
    if accuracy < 0:
        raise ValidationError({"checkin": [_("The check-in accuracy cannot be negative.")]})
    if at > timezone.now() + dt.timedelta(minutes=10):  # a phone's clock may run a little fast
        raise ValidationError({"checkin": [_("A check-in cannot be in the future.")]})


def visit_report_submit_once(
    *, task: VisitTask, client_id: uuid.UUID | None, **data
) -> tuple[VisitReport, bool]:
    """visit_report_submit, once per `client_id`: the report already made with it is answered
    (False: not made now) instead of a second one, or a refusal if it went to another visit.
    The unique `client_id` settles two sends racing each other: the loser finds the winner's."""
    if client_id is not None:
        sent = VisitReport.objects.filter(client_id=client_id).first()
        if sent is not None:
            if sent.task_id != task.pk:
                raise ValidationError({"client_id": [_("This report was already sent for another visit.")]})
            return sent, False
    try:
        return visit_report_submit(task=task, client_id=client_id, **data), True
    except IntegrityError:
        sent = VisitReport.objects.filter(client_id=client_id, task=task).first() if client_id else None
        if sent is None:
            raise
        return sent, False


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
