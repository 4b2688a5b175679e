"""How far a long job has got, in the one shape every run page shows: `Progress`, drawn by
templates/_progress.html and polled by crm/static/crm/progress.js.

A run page includes the fragment with its run's Progress; the fragment names its own URL (each run
kind's `.../progress/` view, which finds the run exactly as the run's page does, so what a user may
not see answers 404 there too) and the script fetches it every 2 s while the run is queued or
running, swapping the fragment in place, and stops once it is done or failed. The states are the
run's own: queued (nothing counted yet), running (x of y, y known from the start where the job can
know it), done (the result) and failed (the reason); an import adds `rejected`, a finished state."""

import datetime as dt
from dataclasses import dataclass

from django.shortcuts import render

from crm.common.models import RunState

LIVE_STATES = (RunState.QUEUED, RunState.RUNNING)
POLL_SECONDS = 2  # progress.js polls this often (the fragment carries it, the script reads it)


@dataclass(frozen=True)
class Progress:
    state: str  # the run's status: queued, running, done, failed (an import also: rejected)
    label: str  # the state as the user reads it (the run's get_status_display)
    url: str  # the fragment to poll: this Progress drawn again
    done: int = 0  # x: what the run has counted so far
    total: int | None = None  # y, once known
    counted: str = ""  # while running: "x of y customers classified", in the user's language
    result: str = ""  # once finished: what the run did
    error: str = ""  # once failed: why
    note: str = ""  # while queued or running: what the reader may do meanwhile
    # while running: how long the run has gone without moving, once longer than its chunks take
    # (crm.common.chunks.run_stalled_for), else None
    stalled_for: dt.timedelta | None = None

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def stalled_minutes(self) -> int | None:
        if self.state != RunState.RUNNING or self.stalled_for is None:
            return None
        return max(1, int(self.stalled_for.total_seconds()) // 60)

    @property
    def percent(self) -> int | None:
        """Percent done while running with a known total; 100 once finished; None otherwise."""
        if not self.live:
            return 100 if self.state != RunState.FAILED else None
        if self.state == RunState.RUNNING and self.total:
            return min(100, self.done * 100 // self.total)
        return None

    @property
    def bar_value(self) -> int:
        """The bar's value against its max (`bar_max`): the count, never past the total."""
        return min(self.done, self.total or 0)


def progress_fragment(request, progress: Progress):
    """The answer of a run kind's progress URL: the fragment alone, marked as polled (a finished run
    then offers to reload the page for the details drawn outside the fragment)."""
    return render(request, "_progress.html", {"progress": progress, "polled": True})


def error_reason(error: str) -> str:
    """The reason a failed run gives: its error's last line (a traceback ends with the exception and
    its message; the run page keeps the whole text under a fold)."""
    lines = [line.strip() for line in (error or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
