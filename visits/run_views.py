"""The page of one visit run (generation, or another visit job) with its progress, where the
administrator's "generate visit tasks now" lands, and the progress fragment it polls. Visit runs are
company-wide records: whoever holds `visits.view_visitrun` (supervisors and administrators) reads
them, everyone else is refused, as by the API's visit-runs/."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from crm.common.chunks import run_stalled_for
from crm.common.progress import Progress, error_reason, progress_fragment
from visits.models import VisitRun

VIEW_RUNS = "visits.view_visitrun"


def visit_run_progress(run: VisitRun) -> Progress:
    """How far the run has got. Generation counts its steps (one policy, period and chunk of
    customers each, all known as it starts) and the tasks created so far; the other jobs are a few
    statements and say only that they run."""
    counts = run.counts or {}
    generating = run.job == VisitRun.Job.GENERATE
    if generating and "steps_total" in counts:
        counted = _("Step %(done)s of %(total)s: %(created)s visit tasks created so far.") % {
            "done": counts.get("steps_done", 0),
            "total": counts["steps_total"],
            "created": counts.get("created", 0),
        }
    elif generating:
        counted = _("Finding the customers due a visit…")
    else:
        counted = _("%(job)s is running.") % {"job": run.get_job_display()}
    if generating:
        result = _("%(created)s visit tasks created.") % {"created": counts.get("created", 0)}
    else:
        result = _("%(job)s finished.") % {"job": run.get_job_display()}
    return Progress(
        state=run.status,
        label=run.get_status_display(),
        url=reverse("visits:run-progress", args=[run.pk]),
        done=int(counts.get("steps_done", 0)) if run.status == VisitRun.State.RUNNING else 0,
        total=counts.get("steps_total") if run.status == VisitRun.State.RUNNING else None,
        counted=counted,
        result=result,
        error=error_reason(run.error),
        stalled_for=run_stalled_for(run),
    )


@login_required
@permission_required(VIEW_RUNS, raise_exception=True)
@require_safe
def run_detail(request, pk):
    run = get_object_or_404(VisitRun.objects.select_related("started_by"), pk=pk)
    progress = visit_run_progress(run)
    counts = sorted((run.counts or {}).items()) if not progress.live else []
    return render(request, "visits/run.html", {"run": run, "progress": progress, "counts": counts})


@login_required
@permission_required(VIEW_RUNS, raise_exception=True)
@require_safe
def run_progress(request, pk):
    """The run page's progress fragment, polled while the run is queued or running."""
    return progress_fragment(request, visit_run_progress(get_object_or_404(VisitRun, pk=pk)))
