"""Browser pages of the yearly appraisal (the cycles' pages are in appraisal/cycle_views.py): the
supervisor's review of the whole team, one appraisal (evidence, panel, my scores, workflow, history),
its printable report, the XLSX of the review, and the page a customer representative opens from their
signed link without an account.

Every page reads appraisals through `Appraisal.objects.visible_to(user)`: an appraisal outside the
scope answers 404. Writes go through appraisal.services; a state conflict (a finalized appraisal is
read-only) is shown on the page with HTTP 409, a refused rule with 400, as the API answers them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from appraisal import page_data, services
from appraisal.charts import grade_chart, grade_counts, review_counts
from appraisal.exports import review_workbook
from appraisal.filters import ReviewFilter
from appraisal.forms import (
    CollaboratorForm,
    ReopenForm,
    RepresentativeForm,
    ScoresForm,
)
from appraisal.links import LinkClosed, LinkError, LinkExpired, LinkUsed, link_token, rater_for_token
from appraisal.models import Appraisal, AppraisalCycle, AppraisalStatus, RaterKind
from appraisal.review_table import review_table_rows
from appraisal.scoring import REWARD_FOR_GRADE
from appraisal.selectors import appraisals_in_order, criteria_of, review_appraisals, review_rows
from crm.accounts.roles import ADMINISTRATOR, leads_a_team, roles_of
from crm.common.errors import Conflict
from crm.common.paging import paginate
from crm.common.replica import replica_reads_view

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REVIEW_PAGE_SIZE = 50


def _is_admin(user) -> bool:
    return ADMINISTRATOR in roles_of(user)


def _errors_into(form, exc: ValidationError) -> None:
    """A service's ValidationError onto the form: on the field it names when the form has one."""
    items = exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]
    for name, errors in items:
        for error in errors:
            form.add_error(name if name in form.fields else None, error)


def _message_of(exc) -> str:
    detail = getattr(exc, "detail", None)
    return str(detail) if detail else str(exc)


# ---------------------------------------------------------------- cycles
# ---------------------------------------------------------------- review
def _cycle_of_year(request, year: int) -> AppraisalCycle:
    if not leads_a_team(request.user):
        raise PermissionDenied
    return get_object_or_404(AppraisalCycle.objects.visible_to(request.user), year=year)


@login_required
@require_safe
def review(request, year: int):
    """The supervisor's whole team for the year side by side, filtered and sorted on demand, with
    the team's grade distribution drawn above it."""
    cycle = _cycle_of_year(request, year)
    team = review_appraisals(cycle=cycle, user=request.user)
    filterset = ReviewFilter(request.GET, queryset=team, request=request)
    shown = filterset.qs
    # A page at a time: a director's tree can hold thousands of managers. The rows shown (counted for
    # the paging), those under review ("finalize all" finalizes the whole team) and the team's grades
    # in one query.
    counts = team.aggregate(**review_counts(shown if filterset.narrows else None))
    # The page's ids in a narrow query, then those rows whole: sorting the team's wide rows (evidence,
    # names) to keep 50 of them was most of the page's SQL at a city's size.
    page = paginate(
        shown.values_list("pk", flat=True), request, per_page=REVIEW_PAGE_SIZE, count=counts["shown"]
    )
    rows = review_rows(cycle=cycle, user=request.user, appraisals=appraisals_in_order(list(page.object_list)))
    metrics, kinds = page_data.metric_columns(headline_only=True), list(RaterKind.choices)
    return render(
        request,
        "appraisal/review.html",
        {
            "cycle": cycle,
            "rows": rows,
            "table_rows": review_table_rows(rows, request=request, metrics=metrics, kinds=kinds),
            "page": page,
            "filterset": filterset,
            "form": filterset.form,
            "kinds": kinds,
            "metrics": metrics,
            "finalizable": counts["in_review"],
            "team_size": counts["team"],
            "grade_chart": grade_chart(grade_counts(counts)),
        },
    )


@login_required
@require_POST
def finalize_all(request, year: int):
    cycle = _cycle_of_year(request, year)
    try:
        count = services.appraisals_finalize(cycle=cycle, by=request.user)
    except Conflict as exc:
        messages.error(request, _message_of(exc))
    else:
        messages.success(request, _("%(count)d appraisals finalized.") % {"count": count})
    return redirect("appraisal:review", year=year)


@login_required
@require_safe
@replica_reads_view
def export(request, year: int):
    cycle = _cycle_of_year(request, year)
    rows = review_rows(cycle=cycle, user=request.user)
    response = HttpResponse(review_workbook(rows, cycle=cycle), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="appraisal-{cycle.year}.xlsx"'
    return response


# ---------------------------------------------------------------- one appraisal
def _appraisal_for(request, pk: int) -> Appraisal:
    return get_object_or_404(
        Appraisal.objects.visible_to(request.user).select_related(
            "cycle", "manager__user", "manager__station", "finalized_by"
        ),
        pk=pk,
    )


def _score_rows(form, rows):
    """The scores form's fields beside each criterion's evidence."""
    evidence = {row.criterion.pk: row.evidence for row in rows}
    return [(c, score, comment, evidence.get(c.pk, [])) for c, score, comment in form.rows()]


def _render_appraisal(request, appraisal, *, status=200, **forms):
    user = request.user
    leads = services.can_manage(user, appraisal)
    criteria = criteria_of(appraisal.cycle_id)
    seats = page_data.panel(appraisal, criteria)
    mine = next((s for s in seats if s.rater.user_id == user.pk), None)
    scoring = appraisal.status == AppraisalStatus.SCORING
    scores_form = forms.get("scores_form")
    if mine is not None and scoring and scores_form is None:
        scores_form = ScoresForm(criteria=criteria, scores=mine.scores, prefix="s")
    panel_open = leads and appraisal.status in (AppraisalStatus.DRAFT, AppraisalStatus.SCORING)
    collaborator_form = representative_form = reopen_form = None
    if panel_open:
        seated = [s.rater.user_id for s in seats if s.rater.user_id]
        collaborator_form = forms.get("collaborator_form") or CollaboratorForm(
            appraisal=appraisal, seated_user_ids=seated, prefix="c"
        )
        representative_form = forms.get("representative_form") or RepresentativeForm(prefix="r")
    if _is_admin(user) and appraisal.status == AppraisalStatus.FINALIZED:
        reopen_form = forms.get("reopen_form") or ReopenForm()
    if leads and scoring:
        now = timezone.now()
        for seat in seats:
            if seat.rater.kind == RaterKind.CUSTOMER_REPRESENTATIVE and seat.rater.submitted_at is None:
                seat.expired = seat.rater.link_expires_at is not None and seat.rater.link_expires_at <= now
                seat.link = request.build_absolute_uri(
                    reverse("appraisal:representative", args=[link_token(seat.rater)])
                )
    # The panel's scores are for those who run the appraisal; a panel member reads only their own,
    # the manager (once finalized) the kind scores and the evidence.
    shown = seats if leads else ([mine] if mine else [])
    rows = page_data.criterion_rows(appraisal, criteria, shown)
    return render(
        request,
        "appraisal/appraisal.html",
        {
            "appraisal": appraisal,
            "cycle": appraisal.cycle,
            "leads": leads,
            "own_view": appraisal.manager_id == user.pk and not leads,
            "seats": seats if leads else [],
            "rows": rows,
            "unscored_evidence": page_data.unscored_evidence(appraisal.evidence or {}),
            "kind_scores": page_data.kind_scores(appraisal),
            "reward": REWARD_FOR_GRADE.get(appraisal.grade) if appraisal.grade else None,
            "missing_kinds": page_data.kinds_without_score(appraisal, seats),
            "mine": mine,
            "scores_form": scores_form,
            "score_rows": _score_rows(scores_form, rows) if scores_form else [],
            "panel_open": panel_open,
            "collaborator_form": collaborator_form,
            "representative_form": representative_form,
            "can_submit": leads and scoring,
            "can_finalize": leads and appraisal.status == AppraisalStatus.REVIEW,
            "reopen_form": reopen_form,
            "history": page_data.history(appraisal) if leads else [],
            "history_limit": page_data.HISTORY_LIMIT,
        },
        status=status,
    )


@login_required
@require_safe
def appraisal_page(request, pk: int):
    return _render_appraisal(request, _appraisal_for(request, pk))


def _apply(request, appraisal, call, *, done, form=None, form_name="", anchor=""):
    """Run one service for the appraisal page, the way the API answers: a state conflict (a
    finalized appraisal is read-only) is the page again with its message and HTTP 409; a refused
    rule is the page with the errors on the form and 400; success goes back to the page."""
    forms = {form_name: form} if form_name else {}
    if form is not None and not form.is_valid():
        messages.error(request, _("Nothing was saved. Correct the marked entries and send again."))
        return _render_appraisal(request, appraisal, status=400, **forms)
    try:
        result = call()
    except Conflict as exc:
        messages.error(request, _message_of(exc))
        return _render_appraisal(request, appraisal, status=409, **forms)
    except ValidationError as exc:
        if form is not None:
            _errors_into(form, exc)
        else:
            messages.error(request, " ".join(exc.messages))
        return _render_appraisal(request, appraisal, status=400, **forms)
    messages.success(request, done(result) if callable(done) else done)
    return redirect(reverse("appraisal:appraisal", args=[appraisal.pk]) + anchor)


def _managed(request, pk: int) -> Appraisal:
    appraisal = _appraisal_for(request, pk)
    if not services.can_manage(request.user, appraisal):
        raise PermissionDenied
    return appraisal


@login_required
@require_POST
def scores(request, pk: int):
    """The signed-in user's own scores: only their own seat, only while scoring."""
    appraisal = _appraisal_for(request, pk)
    seat = services.rater_seat_for(appraisal=appraisal, user=request.user)
    if seat is None:
        raise PermissionDenied
    form = ScoresForm(request.POST, criteria=criteria_of(appraisal.cycle_id), prefix="s")
    return _apply(
        request,
        appraisal,
        lambda: services.scores_save(rater=seat, scores=form.scores(), by=request.user),
        done=_("Your scores are saved."),
        form=form,
        form_name="scores_form",
    )


@login_required
@require_POST
def panel_add(request, pk: int):
    appraisal = _managed(request, pk)
    kind = request.POST.get("kind")
    if kind == RaterKind.COLLABORATOR:
        seated = list(appraisal.raters.exclude(user=None).values_list("user_id", flat=True))
        form = CollaboratorForm(request.POST, appraisal=appraisal, seated_user_ids=seated, prefix="c")
        form_name, done = "collaborator_form", _("%(name)s added to the panel.")
    elif kind == RaterKind.CUSTOMER_REPRESENTATIVE:
        form = RepresentativeForm(request.POST, prefix="r")
        form_name, done = (
            "representative_form",
            _("%(name)s added. Copy their link below and send it to them."),
        )
    else:
        messages.error(request, _("Choose whom to add to the panel."))
        return _render_appraisal(request, appraisal, status=400)
    return _apply(
        request,
        appraisal,
        lambda: services.panel_add(appraisal=appraisal, kind=kind, by=request.user, **form.cleaned_data),
        done=lambda rater: done % {"name": rater.display_name},
        form=form,
        form_name=form_name,
        anchor="#panel",
    )


def _on_seat(request, pk: int, rater: int, act, done, **seat_filter):
    """One step on one seat of a managed appraisal's panel; `done` words the message from the seat."""
    appraisal = _managed(request, pk)
    seat = get_object_or_404(appraisal.raters.select_related("user"), pk=rater, **seat_filter)
    return _apply(
        request,
        appraisal,
        lambda: act(rater=seat, by=request.user),
        done=done(seat),
        anchor="#panel",
    )


@login_required
@require_POST
def panel_remove(request, pk: int, rater: int):
    return _on_seat(
        request,
        pk,
        rater,
        services.panel_remove,
        lambda seat: _("%(name)s removed from the panel.") % {"name": seat.display_name},
    )


@login_required
@require_POST
def panel_new_link(request, pk: int, rater: int):
    """A new link for a representative (lost or expired); every older link of the seat stops working."""
    return _on_seat(
        request,
        pk,
        rater,
        services.panel_reissue_link,
        lambda seat: (
            _("A new link for %(name)s: copy it below; the old one no longer works.") % {"name": seat.name}
        ),
        kind=RaterKind.CUSTOMER_REPRESENTATIVE,
    )


@login_required
@require_POST
def submit(request, pk: int):
    appraisal = _managed(request, pk)
    step = lambda: services.appraisal_submit(appraisal=appraisal, by=request.user)  # noqa: E731
    return _apply(request, appraisal, step, done=_("Submitted for review."))


@login_required
@require_POST
def finalize(request, pk: int):
    appraisal = _managed(request, pk)
    step = lambda: services.appraisal_finalize(appraisal=appraisal, by=request.user)  # noqa: E731
    response = _apply(request, appraisal, step, done=_("Appraisal finalized."))
    if response.status_code == 302 and request.POST.get("back") == "review":  # a row of the review page
        return redirect(reverse("appraisal:review", args=[appraisal.cycle.year]) + f"#row-{appraisal.pk}")
    return response


@login_required
@require_POST
def reopen(request, pk: int):
    appraisal = _appraisal_for(request, pk)
    if not _is_admin(request.user):
        raise PermissionDenied
    form = ReopenForm(request.POST)
    return _apply(
        request,
        appraisal,
        lambda: services.appraisal_reopen(
            appraisal=appraisal, reason=form.cleaned_data["reason"], by=request.user
        ),
        done=_("Appraisal reopened for review."),
        form=form,
        form_name="reopen_form",
    )


@login_required
@require_safe
def print_report(request, pk: int):
    """One A4 page per manager: evidence, criterion scores per rater kind, final score, grade,
    reward suggestion and signature lines."""
    appraisal = _appraisal_for(request, pk)
    if not services.can_manage(request.user, appraisal) and appraisal.manager_id != request.user.pk:
        raise PermissionDenied
    criteria = criteria_of(appraisal.cycle_id)
    seats = page_data.panel(appraisal, criteria)
    return render(
        request,
        "appraisal/print.html",
        {
            "appraisal": appraisal,
            "cycle": appraisal.cycle,
            "rows": page_data.criterion_kind_means(appraisal, criteria, seats),
            "kinds": list(RaterKind.choices),
            "kind_scores": page_data.kind_scores(appraisal),
            "reward": REWARD_FOR_GRADE.get(appraisal.grade) if appraisal.grade else None,
            "missing_kinds": page_data.kinds_without_score(appraisal, seats),
        },
    )


@login_required
@require_safe
def mine(request):
    """A manager's own appraisals: only finalized ones are shown (an empty state before)."""
    own = page_data.own_finalized(request.user)
    if len(own) == 1:
        return redirect("appraisal:appraisal", pk=own[0].pk)
    return render(request, "appraisal/mine.html", {"own": own})


# ---------------------------------------------------------------- the customer representative's page
@require_http_methods(["GET", "HEAD", "POST"])
def representative(request, token: str):
    """No account: the signed link is the key. It shows one appraisal's criteria with the evidence
    and takes this representative's scores once; nothing of the other raters is shown."""
    try:
        rater = rater_for_token(token)
    except (LinkExpired, LinkUsed, LinkClosed) as exc:
        return render(request, "appraisal/link_error.html", {"message": str(exc), "gone": True}, status=410)
    except LinkError as exc:
        return render(request, "appraisal/link_error.html", {"message": str(exc)}, status=404)
    appraisal = rater.appraisal  # loaded with its cycle and manager by rater_for_token
    criteria = criteria_of(appraisal.cycle_id)
    form = ScoresForm(request.POST or None, criteria=criteria, require_all=True, prefix="s")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.scores_save(rater=rater, scores=form.scores(), by=None)
            except LinkError as exc:  # spent or expired between the page and the lock (a double send)
                return render(
                    request, "appraisal/link_error.html", {"message": str(exc), "gone": True}, status=410
                )
            except Conflict as exc:
                return render(
                    request,
                    "appraisal/link_error.html",
                    {"message": _message_of(exc), "gone": True},
                    status=409,
                )
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                return render(
                    request, "appraisal/representative_done.html", {"rater": rater, "appraisal": appraisal}
                )
        status = 400
    rows = page_data.criterion_rows(appraisal, criteria, [])
    return render(
        request,
        "appraisal/representative.html",
        {"rater": rater, "appraisal": appraisal, "form": form, "score_rows": _score_rows(form, rows)},
        status=status,
    )
