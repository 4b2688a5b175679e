"""`recorded_run(job)`: the one audit record per run of a bulk job without a run table of its own."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

from crm.common.models import JobRun


@contextmanager
def recorded_run(job: str) -> Iterator[JobRun]:
    """Record a run of `job`: created when it starts, given its counts (set `run.counts` inside the
    block) and its end when it finishes, or the error when it fails (the error still propagates)."""
    run = JobRun.objects.create(job=job, started_at=timezone.now())
    try:
        yield run
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["error", "finished_at"])
        raise
    run.finished_at = timezone.now()
    run.save(update_fields=["counts", "finished_at"])
