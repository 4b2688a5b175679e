"""Steps that must follow a write: named hooks, and tasks sent once the write commits.

Named hooks let a lower app ask for the next step without importing the app above it. The
dependency direction (conventions.md) forbids `customers` from importing `managers`; yet when a
customer or a territory changes, the assignment step must run. The lower app calls
`hooks.after_commit("portfolios_changed")`; settings.CRM_HOOKS names the function in `crm.jobs`,
where the chain of steps is assembled and every app may be seen. A name the settings do not list is
refused: a misspelt hook would otherwise skip its step without a word. Settings that want a step not
to run (the benchmarks measure each step alone) map its name to None.

Whatever must follow a write is recorded in the write's own transaction (a PendingHook row), run
once it commits, and the row deleted when that succeeds (`send_after_commit` does the same for a
task's message). So a web process killed during or right after its COMMIT, or a broker that is away
when the message must be sent, leaves the row behind instead of losing the step: the write's answer
is the one it would have had (the run is recorded, queued), and the runs' sweep runs the rows left
older than CRM_HOOK_GRACE_SECONDS (`run_left_behind`). Every step is safe to run twice (the runs
resume from their records, a chain or a queued run is joined, not doubled)."""

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError

from crm.common.models import PendingHook

logger = logging.getLogger(__name__)
# What a step raises when the broker cannot take its message: the row stays for the sweep.
BROKER_AWAY = (BrokerError, RedisConnectionError, ConnectionError, OSError)
MAX_ATTEMPTS = 20  # a step that fails this often is a bug to read in the admin, not to retry


def after_commit(name: str, **kwargs) -> None:
    """Run the function settings.CRM_HOOKS names for `name` with `kwargs` once the transaction
    commits (at once outside one). Raises ImproperlyConfigured for a name it does not list."""
    configured = getattr(settings, "CRM_HOOKS", {})
    if name not in configured:
        raise ImproperlyConfigured(
            f"No hook named {name!r} in settings.CRM_HOOKS (known: {', '.join(sorted(configured))}); "
            "add it, or map it to None to switch it off."
        )
    path = configured[name]
    if path:
        _record(PendingHook(target=path, kwargs=kwargs))


def send_after_commit(task, *args) -> None:
    """Send `task` with `args` once the transaction commits, the send recorded with the write."""
    _record(PendingHook(target=task.name, is_task=True, args=list(args)))


def _record(hook: PendingHook) -> None:
    hook.save()
    transaction.on_commit(lambda: run_hook(hook))


def run_hook(hook: PendingHook) -> bool:
    """Run one recorded step; delete its row when it succeeded. A broker that is away leaves the row
    with the error (logged, not raised: the write has committed and its answer stands); any other
    error is recorded and raised, as a bug should be."""
    try:
        _call(hook)
    except BROKER_AWAY as exc:
        logger.warning("step %s left for the sweep: the broker is away (%s)", hook.target, exc)
        _failed(hook, exc)
        return False
    except Exception as exc:
        _failed(hook, exc)
        raise
    PendingHook.objects.filter(pk=hook.pk).delete()
    return True


def _call(hook: PendingHook) -> None:
    # A savepoint inside the sweep's claim: a step that fails on the database leaves the claim's
    # transaction usable for recording the failure.
    with transaction.atomic():
        _call_now(hook)


def _call_now(hook: PendingHook) -> None:
    if hook.is_task:
        # A task's name is its dotted path (shared_task's default): importing it registers it in a
        # web process that has not imported its module.
        import_string(hook.target).apply_async(args=hook.args)
    else:
        import_string(hook.target)(**hook.kwargs)


def _failed(hook: PendingHook, exc: BaseException) -> None:
    PendingHook.objects.filter(pk=hook.pk).update(
        attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:2000]
    )


def grace() -> dt.timedelta:
    return dt.timedelta(seconds=settings.CRM_HOOK_GRACE_SECONDS)


def run_left_behind(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Run the steps recorded more than the grace ago and still there (the sweep's "hooks" line).
    Each is claimed with SKIP LOCKED, so two sweeps never run the same row; returns the ids run."""
    before = (now or timezone.now()) - grace()
    ids = list(
        PendingHook.objects.filter(created_at__lt=before, attempts__lt=MAX_ATTEMPTS).values_list(
            "pk", flat=True
        )[:limit]
    )
    ran = []
    for pk in ids:
        with transaction.atomic():
            hook = PendingHook.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if hook is None:
                continue  # another sweep holds it, or it ran meanwhile
            try:
                if run_hook(hook):
                    ran.append(pk)
            except Exception:
                logger.exception("step %s failed again (attempt %s)", hook.target, hook.attempts + 1)
    return ran
