"""The base model every table builds on, and the one table the plumbing itself needs."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class WorkerHeartbeat(models.Model):
    """Written by a periodic task, so /health/ can tell whether a worker is consuming the queue
    whatever the broker (the filesystem transport has no broadcast to ping workers with)."""

    name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class JobRun(models.Model):
    """One record per run of a bulk job that has no run table of its own (the hourly reconcile of
    assignments): when it started and ended, what it changed, and the error if it failed. Jobs with
    their own run tables (classification runs, import jobs, visit runs) record there instead."""

    job = models.CharField(_("job"), max_length=100)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        indexes = [models.Index(fields=["job", "-started_at"], name="jobrun_job_started")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.started_at:%Y-%m-%d %H:%M:%S}"
