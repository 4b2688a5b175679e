"""The import jobs and their rejected rows (re-exported by `customers.models`: app label `customers`)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.common.models import RunRecord, run_status_field


class ImportJob(RunRecord):
    """One uploaded file of customers or consumption and what became of each row."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        CONSUMPTION = "consumption", _("Consumption")

    class State(models.TextChoices):  # a run's four states, and the outcome only an import has
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        REJECTED = "rejected", _("Rejected: nothing was written")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    partial = models.BooleanField(_("partial import"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL
    )
    status = run_status_field(State)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    # Rows of existing customers whose values the file repeats: neither written nor counted as updated.
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    # SHA-256 of the file's bytes: the same file uploaded again by the same user within
    # IMPORT_DUPLICATE_MINUTES is shown and asked about before it is run twice (imports.jobs).
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [
            models.Index(fields=["created_by", "content_hash", "-created_at"], name="importjob_user_hash")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"


class ImportRejection(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejections")
    row_number = models.PositiveIntegerField(_("row"))
    account_no = models.CharField(_("account number"), max_length=100, blank=True)
    field = models.CharField(_("field"), max_length=50, blank=True)
    message = models.TextField(_("reason"))

    class Meta:
        ordering = ["job", "row_number", "id"]
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")

    def __str__(self) -> str:
        return f"{self.row_number}: {self.message}"
