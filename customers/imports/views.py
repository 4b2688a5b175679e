"""Browser pages for importing files: the upload form (with example files) and a job's page, which
refreshes itself while the job runs and then lists the rejected rows."""

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from customers.imports.errors import ImportFileError
from customers.imports.examples import example_csv
from customers.imports.forms import ImportForm
from customers.imports.jobs import (
    import_create,
    import_jobs_visible_to,
    import_kind_allowed,
    import_progress,
)
from customers.models import ImportJob

REJECTIONS_PER_PAGE = 50
REFRESH_SECONDS = 2


@login_required
@permission_required("customers.add_importjob", raise_exception=True)
def import_start(request):
    example = request.GET.get("example")
    if example in ImportJob.Kind.values:
        response = HttpResponse(example_csv(example), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="example-{example}.csv"'
        return response
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
                )
            except ImportFileError as exc:
                form.add_error("file", exc.message)
            else:
                return redirect("customers:import-detail", pk=job.pk)
    jobs = import_jobs_visible_to(request.user).order_by("-created_at", "-pk")[:10]
    return render(request, "customers/import_start.html", {"form": form, "jobs": jobs})


@login_required
@permission_required("customers.view_importjob", raise_exception=True)
def import_detail(request, pk):
    job = get_object_or_404(import_jobs_visible_to(request.user), pk=pk)
    running = job.status in (ImportJob.State.QUEUED, ImportJob.State.RUNNING)
    page = Paginator(job.rejections.order_by("row_number", "pk"), REJECTIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "customers/import_detail.html",
        {
            "job": job,
            "running": running,
            "progress": import_progress(job),
            "page": page,
            "refresh_seconds": REFRESH_SECONDS,
        },
    )
