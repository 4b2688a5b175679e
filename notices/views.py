"""The pages of outage notices (phone first): the list with a new notice, a notice with its
publishing and its deliveries, the manager's one-tap acknowledgement, and the committee's
meetings with their agenda, minutes, needs and the A4 print of the minutes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from rest_framework.exceptions import APIException

from crm.common.paging import paginate
from notices import committee as committee_services
from notices import services
from notices.forms import AcknowledgeForm, MinutesForm, NeedForm, NoticeForm, PublishForm
from notices.models import Committee, Delivery, Meeting, OutageNotice

VIEW = "notices.view_outagenotice"


def _errors(form, exc: ValidationError) -> None:
    pairs = exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]
    for field, errors in pairs:
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _told(request, call, success) -> None:
    """Run a service's `call()` for a button of a page and tell the user how it went: each refusal
    as an error message, or `success` (a text, or a function of the call's result)."""
    try:
        result = call()
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    except APIException as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, success(result) if callable(success) else success)


@login_required
@permission_required(VIEW, raise_exception=True)
def notice_list(request):
    may_issue = request.user.has_perm("notices.add_outagenotice")
    form = NoticeForm(request.POST or None, user=request.user) if may_issue else None
    if request.method == "POST":
        if not may_issue:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                notice = services.notice_create(
                    kind=data["kind"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    reason=data["reason"],
                    feeders=list(data["feeders"]),
                    stations=list(data["stations"]),
                    by=request.user,
                )
            except ValidationError as exc:
                _errors(form, exc)
            else:
                messages.success(request, _("The draft notice is saved: check it and publish it."))
                return redirect("notices:notice", notice.pk)
    notices = OutageNotice.objects.visible_to(request.user).order_by("-starts_at", "-id")
    return render(request, "notices/notice_list.html", {"page": paginate(notices, request), "form": form})


@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
def notice_detail(request, pk):
    """The notice and a page of its deliveries (those of customers in the user's scope): four
    queries whatever the number of deliveries (the notice, its feeders, the count, the page)."""
    notice = get_object_or_404(OutageNotice.objects.visible_to(request.user).select_related("branch"), pk=pk)
    deliveries = (
        Delivery.objects.visible_to(request.user)
        .filter(notice=notice)
        .select_related("customer", "manager")
        .order_by("-important", "customer__account_no", "pk")
    )
    status = request.GET.get("status")
    if status:
        deliveries = deliveries.filter(status=status)
    return render(
        request,
        "notices/notice_detail.html",
        {
            "notice": notice,
            "feeders": list(notice.feeders.all()),
            "page": paginate(deliveries, request),
            "publish_form": PublishForm(),
            "may_issue": request.user.has_perm("notices.change_outagenotice"),
            "status": status,
        },
    )


@login_required
@permission_required("notices.change_outagenotice", raise_exception=True)
@require_POST
def notice_publish(request, pk):
    notice = get_object_or_404(OutageNotice.objects.visible_to(request.user), pk=pk)
    form = PublishForm(request.POST)
    form.is_valid()
    _told(
        request,
        lambda: services.notice_publish(
            notice=notice,
            by=request.user,
            reclassify_as_temporary=form.cleaned_data.get("reclassify_as_temporary", False),
            reason=form.cleaned_data.get("reason", ""),
        ),
        _("Published: the customers are being told."),
    )
    return redirect("notices:notice", notice.pk)


@login_required
@permission_required("notices.change_meeting", raise_exception=True)
@require_POST
def meeting_notify(request, pk):
    meeting = get_object_or_404(Meeting.objects.visible_to(request.user), pk=pk)
    _told(
        request,
        lambda: committee_services.meeting_notify(meeting=meeting, by=request.user),
        lambda counts: (
            _("The meeting notice is sent to %(texted)s members; %(unreachable)s have no mobile number.")
            % counts
        ),
    )
    return redirect("notices:meeting", meeting.pk)


@login_required
@permission_required("notices.change_outagenotice", raise_exception=True)
@require_POST
def notice_cancel(request, pk):
    notice = get_object_or_404(OutageNotice.objects.visible_to(request.user), pk=pk)
    _told(
        request,
        lambda: services.notice_cancel(notice=notice, by=request.user),
        _("Cancelled: everyone told hears it is off."),
    )
    return redirect("notices:notice", notice.pk)


@login_required
@permission_required("notices.change_delivery", raise_exception=True)
@require_POST
def delivery_acknowledge(request, pk):
    """One tap from the home: who at the customer took the notice (签收)."""
    delivery = get_object_or_404(Delivery.objects.visible_to(request.user), pk=pk)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the name of the person who took the notice."))
    else:
        _told(
            request,
            lambda: services.delivery_acknowledge(
                delivery=delivery, acknowledged_by=form.cleaned_data["acknowledged_by"], by=request.user
            ),
            _("Acknowledgement recorded."),
        )
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


# ---------------------------------------------------------------- the committee
@login_required
@permission_required("notices.view_committee", raise_exception=True)
@require_safe
def committee_list(request):
    committees = (
        Committee.objects.visible_to(request.user).select_related("branch").prefetch_related("meetings")
    )
    return render(request, "notices/committee_list.html", {"committees": committees})


@login_required
@permission_required("notices.view_meeting", raise_exception=True)
def meeting_detail(request, pk):
    meeting = get_object_or_404(Meeting.objects.visible_to(request.user).select_related("committee"), pk=pk)
    may_run = request.user.has_perm("notices.change_meeting")
    customers = list(
        meeting.committee.members.filter(contact__isnull=False).select_related("contact__customer")
    )
    customers = list({m.contact.customer_id: m.contact.customer for m in customers}.values())
    minutes_form = MinutesForm(initial={"attendees": meeting.attendees, "minutes": meeting.minutes})
    need_form = NeedForm(customers=customers)
    if request.method == "POST":
        if not may_run:
            raise PermissionDenied
        try:
            if "minutes" in request.POST:
                minutes_form = MinutesForm(request.POST)
                if minutes_form.is_valid():
                    committee_services.meeting_record(
                        meeting=meeting, by=request.user, **minutes_form.cleaned_data
                    )
                    messages.success(request, _("The minutes are saved."))
                    return redirect("notices:meeting", meeting.pk)
            else:
                need_form = NeedForm(request.POST, customers=customers)
                if need_form.is_valid():
                    data = need_form.cleaned_data
                    need = committee_services.need_raise(
                        meeting=meeting,
                        customer=next(c for c in customers if c.pk == data["customer"]),
                        description=data["description"],
                        kind=data["kind"],
                        subtype=data["subtype"],
                        by=request.user,
                    )
                    messages.success(
                        request,
                        _("The need is a service request now: %(number)s.") % {"number": need.request.number},
                    )
                    return redirect("notices:meeting", meeting.pk)
        except ValidationError as exc:
            _errors(need_form, exc)
    return render(
        request,
        "notices/meeting_detail.html",
        {
            "meeting": meeting,
            "agenda": committee_services.meeting_agenda(meeting),
            "needs": list(meeting.needs.select_related("customer", "request")),
            "minutes_form": minutes_form,
            "need_form": need_form,
            "may_run": may_run,
        },
    )


@login_required
@permission_required("notices.view_meeting", raise_exception=True)
@require_safe
def meeting_print(request, pk):
    """The minutes on one A4 page (static/crm/notices-print.css, as the appraisal's print)."""
    meeting = get_object_or_404(Meeting.objects.visible_to(request.user).select_related("committee"), pk=pk)
    return render(
        request,
        "notices/meeting_print.html",
        {
            "meeting": meeting,
            "agenda": committee_services.meeting_agenda(meeting),
            "needs": list(meeting.needs.select_related("customer", "request")),
            "members": list(meeting.committee.members.select_related("contact__customer", "user")),
        },
    )
