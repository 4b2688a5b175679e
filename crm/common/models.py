"""The base model every table builds on, the base of every run table, and the tables the plumbing
itself needs."""

import datetime as dt
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


NODE_PREFIX = "node:"  # the heartbeat rows a worker's main process writes (crm.common.tasks)


class WorkerHeartbeat(models.Model):
    """Written by a periodic task, so /health/ can tell whether a worker is consuming the queue
    whatever the broker (the filesystem transport has no broadcast to ping workers with); and, as
    `node:<name>`, by each worker's main process, so the runs' sweep knows which workers are alive."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    seen_at = models.DateTimeField(_("seen at"))

    class Meta:
        ordering = ["-seen_at"]
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


# ---------------------------------------------------------------- run records
class RunSpan(models.Model):
    """When a run of a background job started and finished, and the error if it failed: what every
    run table records (RunRecord adds the state the runs' sweep reads; JobRun has only this)."""

    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        abstract = True

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class RunState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


def run_status_field(choices: type[models.TextChoices] = RunState) -> models.CharField:
    """The `status` of a run table. A table with more outcomes (an import can be rejected) declares
    its own `State` holding RunState's four values and more, and `status = run_status_field(State)`:
    an Enum with members cannot be subclassed, and the column stays the same."""
    return models.CharField(_("status"), max_length=20, choices=choices.choices, default=RunState.QUEUED)


class RunRecordQuerySet(models.QuerySet):
    def unfinished(self):
        """Queued or running: the runs the sweep (crm/jobs.py) may have to send again."""
        return self.filter(status__in=[RunState.QUEUED, RunState.RUNNING])


class RunRecord(TimeStampedModel, RunSpan):
    """The run table of a job that is recorded before its message is sent and resumed from its id:
    queued -> running -> done or failed. `updated_at` says when the run last moved (each step saves
    it), which is how the runs' sweep tells a run left behind; every subclass is in the sweep's
    registry (crm/common/runs.py, entries in crm/jobs.py). The transitions stay with each job's
    service: they differ in what they lock, guard against and record beside the state (the policy
    and cursor of a classification, the counts of an import, the error text each one shows)."""

    State = RunState

    status = run_status_field()

    objects = RunRecordQuerySet.as_manager()

    class Meta:
        abstract = True


class JobRun(RunSpan):
    """One record per run of a bulk job that has no run table of its own (the hourly reconcile of
    assignments): when it started and ended, what it changed, and the error if it failed. Jobs with
    their own run tables (classification runs, import jobs, visit runs) record there instead.

    It is a RunSpan and not a RunRecord: it is written by the process doing the work once it starts
    (`crm.common.runs.recorded_run`), so it is never queued, and its jobs take no id to resume but
    run whole again from beat; a status and timestamps would be new columns saying nothing more."""

    job = models.CharField(_("job"), max_length=100)
    started_at = models.DateTimeField(_("started at"))  # never null: the record is made as it starts
    counts = models.JSONField(_("counts"), default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        indexes = [models.Index(fields=["job", "-started_at"], name="jobrun_job_started")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.started_at:%Y-%m-%d %H:%M:%S}"


# ---------------------------------------------------------------- the outbox
class OutboxEventQuerySet(models.QuerySet):
    def undispatched(self):
        """Written but not yet fanned out into deliveries (integrations reads these)."""
        return self.filter(dispatched_at__isnull=True)


class OutboxEvent(models.Model):
    """What happened, for the other systems: written by the app that made the change in the same
    transaction as the change (crm.common.outbox), so a change that rolls back leaves no event and
    one that commits keeps its event whatever happens to the process after. `integrations` reads the
    rows not yet dispatched and makes one delivery per endpoint that wants the type. `uid` is the
    `webhook-id` every delivery of the event carries, the same on every try and replay, so a
    receiver deduplicates on it. The payload is thin: ids, what changed, and the API link."""

    uid = models.UUIDField(_("event id"), unique=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(_("event type"), max_length=60)
    payload = models.JSONField(_("payload"), default=dict)
    occurred_at = models.DateTimeField(_("occurred at"))
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    objects = OutboxEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            # the fan-out reads only the undispatched rows, oldest first: a small partial index
            models.Index(
                fields=["id"], name="outbox_undispatched", condition=models.Q(dispatched_at__isnull=True)
            ),
            models.Index(fields=["event_type", "-occurred_at"], name="outbox_type_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.uid}"


# ---------------------------------------------------------------- scheduled slots
class ScheduledSlot(TimeStampedModel, RunSpan):
    """One slot of a scheduled job (a crontab entry of CELERY_BEAT_SCHEDULE at one instant), claimed
    by the first message of that slot to reach a worker (crm.common.scheduling.ScheduledTask). The
    unique (job, slot) is what makes the job run once per slot: beat resending a slot after a restart
    (it saves its last-run times only every few minutes) finds it claimed, and that message is a
    no-op counted in `duplicates`. `caught_up` says beat sent the slot on its return, having been
    down at the slot's time (crm.common.beat.SlotScheduler)."""

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    job = models.CharField(_("job"), max_length=200, help_text=_("the schedule entry's name"))
    slot = models.DateTimeField(_("slot"))
    task = models.CharField(_("task"), max_length=200)
    task_id = models.CharField(_("task id"), max_length=64)
    status = models.CharField(_("status"), max_length=20, choices=State.choices, default=State.RUNNING)
    caught_up = models.BooleanField(_("caught up"), default=False)
    duplicates = models.PositiveIntegerField(_("duplicate sends"), default=0)
    last_duplicate_at = models.DateTimeField(_("last duplicate send"), null=True, blank=True)

    class Meta:
        ordering = ["-slot", "job"]
        verbose_name = _("scheduled slot")
        verbose_name_plural = _("scheduled slots")
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="scheduledslot_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot:%Y-%m-%d %H:%M}"


class RateSlot(models.Model):
    """The next free instant of a shared rate limit (crm.common.sms.SharedRateLimiter): one row per
    limit, so every worker and pool process that sends through the same provider takes its turn from
    the same clock. `next_at` is seconds since the epoch (a plain number, the same arithmetic on
    PostgreSQL and SQLite)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    next_at = models.FloatField(_("next free instant"), default=0.0)

    class Meta:
        verbose_name = _("rate limit")
        verbose_name_plural = _("rate limits")

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------- steps that must follow a write
class PendingHook(models.Model):
    """A step a write asks for (a hook of settings.CRM_HOOKS, or a task to send), recorded in the
    write's own transaction (crm.common.hooks). It is run once the transaction commits and deleted
    when that succeeds. A row left behind means the step never ran: the process died between its
    COMMIT and the step, or the broker was away when the step had to send. The runs' sweep runs
    such rows (crm.jobs.runs_sweep), so a write that committed never loses what must follow it."""

    target = models.CharField(
        _("target"), max_length=200, help_text=_("a function's dotted path, or a task's name")
    )
    is_task = models.BooleanField(_("is a task"), default=False)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("attempts that failed"), default=0)
    error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("pending step")
        verbose_name_plural = _("pending steps")

    def __str__(self) -> str:
        return f"{self.target} @ {self.created_at:%Y-%m-%d %H:%M:%S}"


class ChainRun(TimeStampedModel):
    """A chain of background steps (a reclassification, then the reassignment, the visits, the
    reconcile...), recorded so the runs' sweep sees every step, not only the first
    (crm.common.chains). `done` steps of `steps` have finished; the message of the next carries
    (chain, step, token). The sweep sends a step left behind again under a new token, so the old
    message, if it returns (Redis gives an unacknowledged message back after its visibility
    timeout), runs nothing and is counted in `ignored_messages`."""

    name = models.CharField(_("chain"), max_length=60)
    subject_id = models.BigIntegerField(_("subject"), null=True, blank=True, help_text=_("e.g. the run's id"))
    steps = models.JSONField(_("steps"), default=list)
    done = models.PositiveIntegerField(_("steps done"), default=0)
    token = models.CharField(_("token"), max_length=32, default="")
    sends = models.PositiveIntegerField(_("messages sent"), default=0)
    resends = models.PositiveIntegerField(_("sent again by the sweep"), default=0)
    ignored_messages = models.PositiveIntegerField(_("messages ignored"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # "<run table label>:<run id>" while the current step's chunks run as tasks of their own
    # (crm.common.fanout): the last chunk moves the chain on, and the sweep looks after the chunks.
    waiting_on = models.CharField(_("waiting on the chunks of"), max_length=120, blank=True, db_index=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("chain of steps")
        verbose_name_plural = _("chains of steps")
        constraints = [
            models.UniqueConstraint(
                fields=["name", "subject_id"],
                condition=models.Q(subject_id__isnull=False),
                name="chainrun_one_per_subject",
            )
        ]
        indexes = [
            models.Index(
                fields=["updated_at"],
                name="chainrun_unfinished",
                condition=models.Q(finished_at__isnull=True, error=""),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.subject_id or ''} {self.done}/{len(self.steps)}"


class RunChunk(models.Model):
    """One chunk of a run (a primary-key range lo < id <= hi) done as a task of its own, which any
    worker takes (crm.common.fanout). `done_at` is written in the chunk's own transaction, with the
    chunk's work and its counts on the run; the chunk that leaves none undone finishes the run."""

    run_label = models.CharField(_("run table"), max_length=100)
    run_id = models.BigIntegerField(_("run"))
    index = models.PositiveIntegerField(_("chunk"))
    lo = models.BigIntegerField(_("after id"))
    hi = models.BigIntegerField(_("up to id"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    sends = models.PositiveIntegerField(_("messages sent"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["run_label", "run_id", "index"]
        verbose_name = _("chunk of a run")
        verbose_name_plural = _("chunks of runs")
        constraints = [
            models.UniqueConstraint(fields=["run_label", "run_id", "index"], name="runchunk_once_per_run")
        ]
        indexes = [
            models.Index(
                fields=["updated_at"], name="runchunk_undone", condition=models.Q(done_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.run_label} {self.run_id} #{self.index} ({self.lo}, {self.hi}]"
