"""How background jobs record their runs, and which runs the sweep looks after.

- `recorded_run(job)`: the one audit record (JobRun) per run of a bulk job without a run table of its
  own.
- `RUN_KINDS`: the registry of the run tables (RunRecord models) whose runs are recorded before their
  message is sent, each with the task that resumes one run from its id. The runs' sweep
  (`crm.jobs.runs_sweep`) iterates it; the entries are registered in crm/jobs.py, which may see every
  app (this module names models and tasks by their labels only, so it imports none)."""

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.apps import apps
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from crm.common.models import JobRun, RunRecord


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


# ---------------------------------------------------------------- the registry of swept runs
class Held:
    """The tasks live workers hold (executing, prefetched, waiting for a retry) and the messages
    waiting in the broker, as (task name, args) pairs."""

    def __init__(self, messages: Iterable[tuple[str, tuple]]) -> None:
        messages = list(messages)
        self._by_first_arg = {(name, tuple(args)[:1]) for name, args in messages}
        self._names = {name for name, _args in messages}

    def holds(self, task: str, run_id: int) -> bool:
        """A message of `task` whose first argument is the run's id (later ones, such as an
        import's language, do not matter)."""
        return (task, (run_id,)) in self._by_first_arg

    def runs(self, task: str) -> bool:
        """Any message of `task`, whatever its arguments."""
        return task in self._names


def _unfinished(runs: QuerySet, now: dt.datetime) -> QuerySet:
    return runs.unfinished()


@dataclass(frozen=True)
class RunKind:
    """One line of the registry: runs of `model` (an "app_label.ModelName" RunRecord) that `left`
    picks among those that have not moved since the grace began are sent again through `resend`
    unless a message of `task` with the run's id is held.

    `task` is the name of the task that resumes one run from its id (its first argument); the name
    is the task's dotted path, as Celery names a shared_task. `resend` defaults to `task.delay(id)`.
    `scheduled_task`, for tables whose scheduled runs are recorded only once they start, under a
    task that takes no id, names that task for a run (or None): while any message of it is held,
    the run is left alone."""

    key: str
    model: str
    task: str
    resend: Callable[[int], object] | None = None
    left: Callable[[QuerySet, dt.datetime], QuerySet] = _unfinished
    scheduled_task: Callable[[RunRecord], str | None] | None = None

    @property
    def run_model(self) -> type[RunRecord]:
        return apps.get_model(self.model)

    def left_behind(self, held: Held, *, before: dt.datetime, now: dt.datetime) -> list[int]:
        """Ids of the runs of this kind left behind: picked by `left`, not moved since `before`, and
        with no message held."""
        runs = self.left(self.run_model.objects.filter(updated_at__lt=before), now)
        return [run.pk for run in runs if not self.is_held(run, held)]

    def is_held(self, run: RunRecord, held: Held) -> bool:
        if held.holds(self.task, run.pk):
            return True
        scheduled = self.scheduled_task(run) if self.scheduled_task else None
        return scheduled is not None and held.runs(scheduled)

    def send_again(self, run_id: int) -> None:
        if self.resend is not None:
            self.resend(run_id)
        else:
            import_string(self.task).delay(run_id)


RUN_KINDS: dict[str, RunKind] = {}


def register_run_kind(kind: RunKind) -> RunKind:
    """Add a kind of run to the sweep (a second registration under the same key replaces the first,
    so importing the registering module again changes nothing)."""
    RUN_KINDS[kind.key] = kind
    return kind
