"""Browser pages for importing files: the upload form (with example files) and a job's page, whose
progress (templates/_progress.html, polled at the job's progress URL) moves while the job runs, and
which then lists the rejected rows."""

import math
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework.throttling import ScopedRateThrottle

from crm.common.chunks import run_stalled_for
from crm.common.paging import paginate
from crm.common.progress import Progress, progress_fragment
from customers.imports.errors import DuplicateImport, ImportFileError
from customers.imports.examples import example_csv
from customers.imports.forms import ImportForm
from customers.imports.jobs import (
    import_create,
    import_jobs_visible_to,
    import_kind_allowed,
)
from customers.models import ImportJob

# Uploads from the page are rationed with the API's: the same `imports` rate (REST_FRAMEWORK's
# DEFAULT_THROTTLE_RATES) and the same counter per user in the cache, so the two doors share one.
UPLOADS = SimpleNamespace(throttle_scope="imports")


@login_required
@permission_required("customers.add_importjob", raise_exception=True)
def import_start(request):
    example = request.GET.get("example")
    if example in ImportJob.Kind.values:
        response = HttpResponse(example_csv(example), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="example-{example}.csv"'
        return response
    if request.method == "POST":
        throttle = ScopedRateThrottle()
        if not throttle.allow_request(request, UPLOADS):
            return _throttled(request, throttle.wait())
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        if not import_kind_allowed(user=request.user, kind=kind):
            form.add_error("kind", _("You may not import this kind of file."))
        else:
            try:
                job = import_create(
                    upload=form.cleaned_data["file"],
                    kind=kind,
                    partial=form.cleaned_data["partial"],
                    by=request.user,
                    confirm_duplicate=form.cleaned_data["confirm_duplicate"],
                )
            except ImportFileError as exc:
                form.add_error("file", exc.message)
            except DuplicateImport as exc:
                # A browser cannot send the file again by itself: the page asks for it once more,
                # with the box that says the user means it.
                return _start_page(
                    request, ImportForm(initial={"kind": kind}), duplicate=exc.earlier, status=409
                )
            else:
                return redirect("customers:import-detail", pk=job.pk)
    return _start_page(request, form)


def _start_page(request, form, status: int = 200, duplicate: ImportJob | None = None):
    jobs = import_jobs_visible_to(request.user).order_by("-created_at", "-pk")[:10]
    context = {"form": form, "jobs": jobs, "duplicate": duplicate}
    return render(request, "customers/import_start.html", context, status=status)


def _throttled(request, wait: float | None):
    minutes = max(1, math.ceil((wait or 60) / 60))
    messages.error(request, _("Too many uploads: try again in %(minutes)s minutes.") % {"minutes": minutes})
    return _start_page(request, ImportForm(), status=429)


def import_job_progress(job: ImportJob) -> Progress:
    """How far the job has got: rows checked of the file's rows (its lines, counted as the file is
    opened: "about", for blank and title lines count too; exact once every row is checked)."""
    if job.status == ImportJob.State.REJECTED:
        result = _("%(rejected)s of %(rows)s rows were rejected, so nothing was written.") % {
            "rejected": job.rejected_count,
            "rows": job.total_rows,
        }
    else:
        result = _("%(rows)s rows: %(created)s created, %(updated)s updated, %(rejected)s rejected.") % {
            "rows": job.total_rows,
            "created": job.created_count,
            "updated": job.updated_count,
            "rejected": job.rejected_count,
        }
    return Progress(
        state=job.status,
        label=job.get_status_display(),
        url=reverse("customers:import-progress", args=[job.pk]),
        done=job.processed_rows,
        total=job.total_rows or None,
        counted=(
            _("%(done)s of about %(total)s rows checked.")
            % {"done": job.processed_rows, "total": job.total_rows}
            if job.total_rows
            else _("Reading the file…")
        ),
        result=result,
        error=job.error,
        note=_("You may leave this page and come back: the import goes on."),
        stalled_for=run_stalled_for(job),
    )


@login_required
@permission_required("customers.view_importjob", raise_exception=True)
def import_detail(request, pk):
    job = get_object_or_404(import_jobs_visible_to(request.user), pk=pk)
    progress = import_job_progress(job)
    page = paginate(job.rejections.order_by("row_number", "pk"), request)
    return render(
        request,
        "customers/import_detail.html",
        {"job": job, "running": progress.live, "progress": progress, "page": page},
    )


@login_required
@permission_required("customers.view_importjob", raise_exception=True)
def import_detail_progress(request, pk):
    """The job page's progress fragment, polled while the job is queued or running."""
    job = get_object_or_404(import_jobs_visible_to(request.user), pk=pk)
    return progress_fragment(request, import_job_progress(job))
