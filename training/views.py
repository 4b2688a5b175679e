"""Browser pages of training: the compliance report (and its XLSX), a manager's own training, and a
session's results entered in one go by a supervisor.

Every page reads managers through `Manager.objects.visible_to(user)`: a manager sees themself, a
supervisor their team, an administrator everyone; a manager outside the scope answers 404. Each page
issues a fixed number of queries whatever the number of managers and records."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from crm.accounts.roles import leads_a_team
from crm.common.paging import paginate
from crm.common.replica import replica_reads_view
from customers.models import Station
from managers.models import Manager
from training.exports import compliance_workbook
from training.forms import ComplianceReportFilter, SessionCourseForm, SessionResultsForm
from training.models import Category, Result, Session, TrainingRecord
from training.selectors import (
    compliance,
    compliance_managers,
    compliance_summary,
    manager_training,
)
from training.services import session_results_record

RECORD_PERMISSIONS = ["training.add_trainingrecord", "training.change_trainingrecord"]


def _can_record(user) -> bool:
    return user.has_perms(RECORD_PERMISSIONS)


@login_required
@require_safe
def home(request):
    """The menu's "Training": supervisors land on the compliance report, managers on their own page."""
    if _can_record(request.user) or leads_a_team(request.user):
        return redirect("training:compliance")
    if Manager.objects.filter(pk=request.user.pk).exists():
        return redirect("training:manager", pk=request.user.pk)
    return redirect("training:compliance")


# ---------------------------------------------------------------- compliance
def _compliance_rows(request):
    filterset = ComplianceReportFilter(
        request.GET, queryset=compliance_managers(user=request.user), request=request
    )
    return filterset, compliance(user=request.user, year=filterset.report_year, managers=filterset.qs)


@login_required
@permission_required("training.view_trainingrecord", raise_exception=True)
@require_safe
@replica_reads_view
def compliance_report(request):
    filterset, rows = _compliance_rows(request)
    summary = compliance_summary(rows)
    if filterset.gaps_only:
        rows = [row for row in rows if row.missing]
    return render(
        request,
        "training/compliance.html",
        {
            "filterset": filterset,
            "form": filterset.form,
            "year": filterset.report_year,
            "summary": summary,
            "page": paginate(rows, request),
            "categories": Category.choices,
            "can_record": _can_record(request.user),
            "export_query": request.GET.urlencode(),
        },
    )


@login_required
@permission_required("training.view_trainingrecord", raise_exception=True)
@require_safe
@replica_reads_view
def compliance_export(request):
    """The compliance table, same filters, as an XLSX file."""
    filterset, rows = _compliance_rows(request)
    if filterset.gaps_only:
        rows = [row for row in rows if row.missing]
    year = filterset.report_year
    response = HttpResponse(
        compliance_workbook(rows, year=year),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="training-compliance-{year}.xlsx"'
    return response


# ---------------------------------------------------------------- a manager's own page
@login_required
@require_safe
def my_training(request):
    if not Manager.objects.filter(pk=request.user.pk).exists():
        raise Http404(_("You have no manager profile."))
    return redirect("training:manager", pk=request.user.pk)


@login_required
@permission_required("training.view_trainingrecord", raise_exception=True)
@require_safe
def manager_page(request, pk):
    manager = get_object_or_404(
        Manager.objects.visible_to(request.user).select_related("user", "station"), pk=pk
    )
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    year = min(max(year, 2000), 2100)
    training = manager_training(manager=manager, year=year)
    return render(
        request,
        "training/manager.html",
        {
            "manager": manager,
            "training": training,
            "year": year,
            "hours": [(label, training.hours[value]) for value, label in Category.choices],
            "can_record": _can_record(request.user),
            "own": manager.pk == request.user.pk,
        },
    )


# ---------------------------------------------------------------- a session's results in one go
def _roster(user, course, station, session) -> list[Manager]:
    """The active managers in `user`'s scope who take `course`: those of the roles that require it
    (everyone, for a course no role requires), plus anyone already recorded in `session`."""
    managers = Manager.objects.visible_to(user).active()
    roles = course.required_for_roles
    wanted = Q(role__in=roles) if roles else Q()
    if station is not None:
        wanted &= Q(station=station)
    if session is not None:
        wanted |= Q(training_records__session=session)
    return list(
        managers.filter(wanted)
        .select_related("user", "station")
        .distinct()
        .order_by("station__code", "employee_no")
    )


@login_required
@permission_required(RECORD_PERMISSIONS, raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def session_record(request):
    """Step one (GET without a course): pick the course. Step two: date, place, trainer and, per
    manager of the roster, attended + score; one POST records everything or nothing."""
    visible = Manager.objects.visible_to(request.user).active()
    stations = Station.objects.filter(pk__in=visible.values("station_id")).order_by("code")
    session = None
    if "session" in request.GET:
        session_id = request.GET["session"]
        session = get_object_or_404(
            Session.objects.select_related("course").prefetch_related("course__requirements"),
            pk=int(session_id) if session_id.isdigit() else 0,
        )
    picker = SessionCourseForm(
        request.GET if "course" in request.GET else None,
        stations=stations,
        initial={"course": session.course_id if session else None},
    )
    if session is not None:
        course, station = session.course, None
    elif picker.is_bound and picker.is_valid():
        course, station = picker.cleaned_data["course"], picker.cleaned_data["station"]
    else:
        recent = (
            Session.objects.filter(records__manager__in=visible)
            .select_related("course")
            .annotate(
                attended=Count("records", filter=~Q(records__result=Result.ENROLLED), distinct=True),
                enrolled=Count("records", filter=Q(records__result=Result.ENROLLED), distinct=True),
            )
            .order_by("-date", "-id")[:10]
        )
        return render(
            request,
            "training/session_pick.html",
            {"picker": picker, "recent": recent, "today": timezone.localdate()},
        )

    roster = _roster(request.user, course, station, session)
    existing = (
        {r.manager_id: r for r in TrainingRecord.objects.filter(session=session, manager__in=visible)}
        if session
        else {}
    )
    passed_before = dict(
        TrainingRecord.objects.passed()
        .filter(course=course, manager__in=[m.pk for m in roster])
        .exclude(session=session)
        .values_list("manager_id")
        .annotate(last=Max("session_date"))
        .order_by()
    )
    if request.method == "POST":
        form = SessionResultsForm(request.POST, course=course, roster=roster, allow_empty=session is not None)
        if session is not None:
            _fix_session_fields(form, session)
        if form.is_valid():
            try:
                outcome = session_results_record(
                    course=course,
                    date=form.cleaned_data["date"],
                    place=form.cleaned_data["place"],
                    trainer=form.cleaned_data["trainer"],
                    roster=roster,
                    scores=form.scores(),
                    by=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("Results saved: %(passed)d passed, %(failed)d failed.")
                    % {"passed": outcome.passed, "failed": outcome.failed},
                )
                return redirect(f"{reverse('training:session-record')}?session={outcome.session.pk}")
        messages.error(request, _("Nothing was saved. Correct the marked entries and send again."))
    else:
        initial = {
            "date": session.date if session else timezone.localdate(),
            "place": session.place if session else "",
            "trainer": session.trainer if session else "",
        }
        for manager_id, record in existing.items():
            if record.result != Result.ENROLLED:  # an enrolment is not attendance
                initial[f"attended_{manager_id}"] = True
                initial[f"score_{manager_id}"] = record.score
        form = SessionResultsForm(initial=initial, course=course, roster=roster)
        if session is not None:
            _fix_session_fields(form, session)
    return render(
        request,
        "training/session_record.html",
        {
            "form": form,
            "course": course,
            "session": session,
            "upcoming": session is not None and session.date > timezone.localdate(),
            "station": station,
            "rows": [
                (manager, attended, score, passed_before.get(manager.pk))
                for manager, attended, score in form.rows()
            ],
        },
        status=200 if request.method != "POST" else 400,
    )


def _fix_session_fields(form, session) -> None:
    """Editing a recorded session changes attendance, scores and trainer, not its date or place."""
    for name in ("date", "place"):
        form.fields[name].disabled = True
        form.fields[name].initial = getattr(session, name)
