"""The regular visit system (定期走访制度): a policy per tier, the tasks generated from it (and care,
welcome and ad hoc visits), the report a manager writes after a visit with its follow-up actions,
and a record of each background run."""

import datetime as dt
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.common.models import RunRecord, TimeStampedModel
from crm.common.scopes import ScopedQuerySet
from customers.models import Community, Customer, Tier, TransformerDistrict


class Target(models.TextChoices):
    CUSTOMER = "customer", _("Each customer")
    COMMUNITY = "community", _("Each community")
    TRANSFORMER_DISTRICT = "transformer_district", _("Each transformer district")


class VisitPolicy(TimeStampedModel):
    """What a tier's visits go to, how often (months) and how many days before a cycle its task appears."""

    tier = models.CharField(_("tier"), max_length=30, choices=Tier.choices, unique=True)
    target = models.CharField(_("visited target"), max_length=30, choices=Target.choices)
    frequency_months = models.PositiveSmallIntegerField(
        _("frequency (months)"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    lead_days = models.PositiveSmallIntegerField(
        _("lead days"),
        default=7,
        validators=[MaxValueValidator(60)],
        help_text=_("How many days before its cycle starts a task appears."),
    )

    class Meta:
        ordering = ["tier"]
        verbose_name = _("visit policy")
        verbose_name_plural = _("visit policies")
        constraints = [
            models.CheckConstraint(condition=models.Q(tier__in=Tier.values), name="visitpolicy_tier_valid"),
            models.CheckConstraint(
                condition=models.Q(target__in=Target.values), name="visitpolicy_target_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(frequency_months__gte=1, frequency_months__lte=12),
                name="visitpolicy_frequency_1_to_12",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_tier_display()}: {self.get_target_display()} / {self.frequency_months}"


class Kind(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CARE = "care", _("Care visit")
    TIER_CHANGE = "tier_change", _("Welcome after a tier change")
    AD_HOC = "ad_hoc", _("Ad hoc")


class TaskStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Done")
    OVERDUE = "overdue", _("Overdue")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (TaskStatus.PLANNED, TaskStatus.OVERDUE)


class VisitTaskQuerySet(ScopedQuerySet):
    scope_field = "manager_id"

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    # The live status: the nightly job (visits.reminders.visit_tasks_mark_overdue) writes `overdue`
    # into `status` after midnight, but a planned task whose due date has passed is overdue from the
    # first minute of the next day. Pages, the API and the digest read the status as of now through
    # these methods; `status` itself stays what was written.
    def with_live_status(self, day: dt.date | None = None):
        """Each task's status as of `day` (today) as `live_status`: planned and past due reads overdue."""
        return self.annotate(
            live_status=models.Case(
                models.When(_late(day or timezone.localdate()), then=models.Value(TaskStatus.OVERDUE.value)),
                default=models.F("status"),
                output_field=models.CharField(),
            )
        )

    def live_status_is(self, status: str, day: dt.date | None = None):
        """The tasks whose live status (as of `day`, today) is `status`; on the stored columns, so the
        (status, due_date) indexes serve it."""
        return self.filter(_live_status_q(status, day or timezone.localdate()))

    def overdue(self, day: dt.date | None = None):
        return self.live_status_is(TaskStatus.OVERDUE, day)

    def for_manager(self, user_id: int):
        return self.filter(manager_id=user_id)


def _late(day: dt.date) -> models.Q:
    """Stored as planned but due before `day`: overdue on `day`, whether or not the job marked it."""
    return models.Q(status=TaskStatus.PLANNED, due_date__lt=day)


def _live_status_q(status: str, day: dt.date) -> models.Q:
    """The condition on the stored columns for a task to read `status` on `day`."""
    if status == TaskStatus.OVERDUE:
        return models.Q(status=TaskStatus.OVERDUE) | _late(day)
    if status == TaskStatus.PLANNED:
        return models.Q(status=TaskStatus.PLANNED) & ~_late(day)
    return models.Q(status=status)


_ONE_TARGET = (
    models.Q(customer__isnull=False, community__isnull=True, transformer_district__isnull=True)
    | models.Q(customer__isnull=True, community__isnull=False, transformer_district__isnull=True)
    | models.Q(customer__isnull=True, community__isnull=True, transformer_district__isnull=False)
)


class VisitTask(TimeStampedModel):
    """One visit to do: to a customer, a community or a transformer district, by a manager, for a period
    (the first day of the month its cycle starts), due on a date."""

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.AD_HOC)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="visit_tasks",
    )
    community = models.ForeignKey(
        Community,
        verbose_name=_("community"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="visit_tasks",
    )
    transformer_district = models.ForeignKey(
        TransformerDistrict,
        verbose_name=_("transformer district"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="visit_tasks",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visit_tasks",
    )
    period = models.DateField(_("period"))
    due_date = models.DateField(_("due date"))
    # The day the manager means to go; the due date stays the deadline. Generation spreads a cycle's
    # tasks over it (visits.plan), the manager moves them within [period, due date].
    planned_on = models.DateField(_("planned visit day"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.PLANNED
    )
    cancel_reason = models.CharField(_("cancel reason"), max_length=300, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    reminded_on = models.DateField(_("reminded on"), null=True, blank=True)

    objects = VisitTaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("visit task")
        verbose_name_plural = _("visit tasks")
        constraints = [
            models.CheckConstraint(condition=_ONE_TARGET, name="visittask_exactly_one_target"),
            models.CheckConstraint(condition=models.Q(kind__in=Kind.values), name="visittask_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(status__in=TaskStatus.values), name="visittask_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(due_date__gte=models.F("period")), name="visittask_due_after_period"
            ),
            models.CheckConstraint(
                condition=models.Q(planned_on__isnull=True)
                | models.Q(planned_on__gte=models.F("period"), planned_on__lte=models.F("due_date")),
                name="visittask_planned_within_window",
            ),
            # Idempotent generation: one task per target, kind and period (ad hoc tasks are free).
            models.UniqueConstraint(
                fields=["customer", "kind", "period"],
                condition=models.Q(customer__isnull=False) & ~models.Q(kind="ad_hoc"),
                name="visittask_once_per_customer",
            ),
            models.UniqueConstraint(
                fields=["community", "kind", "period"],
                condition=models.Q(community__isnull=False) & ~models.Q(kind="ad_hoc"),
                name="visittask_once_per_community",
            ),
            models.UniqueConstraint(
                fields=["transformer_district", "kind", "period"],
                condition=models.Q(transformer_district__isnull=False) & ~models.Q(kind="ad_hoc"),
                name="visittask_once_per_district",
            ),
        ]
        indexes = [
            models.Index(fields=["manager", "status", "due_date"], name="visittask_manager_status_due"),
            models.Index(fields=["status", "due_date"], name="visittask_status_due"),
            models.Index(fields=["manager", "planned_on"], name="visittask_manager_planned"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target} {self.period:%Y-%m}"

    @property
    def target(self):
        return self.customer or self.community or self.transformer_district

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def get_live_status_display(self) -> str:
        """The label of the status as of now, on a task read `with_live_status()` (else the stored one)."""
        return TaskStatus(getattr(self, "live_status", self.status)).label


class Channel(models.TextChoices):
    ON_SITE = "on_site", _("On site")
    PHONE = "phone", _("Phone")
    MEETING = "meeting", _("Meeting")


class Trend(models.TextChoices):
    GROWING = "growing", _("Growing")
    STABLE = "stable", _("Stable")
    SHRINKING = "shrinking", _("Shrinking")


class VisitReportQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(task__in=VisitTask.objects.visible_to(user))


class VisitReport(TimeStampedModel):
    """What the manager found on a visit, and their forecast of the next 12 months' consumption."""

    task = models.OneToOneField(
        VisitTask, verbose_name=_("visit task"), on_delete=models.CASCADE, related_name="report"
    )
    visited_on = models.DateField(_("visited on"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    people_met = models.CharField(_("people met"), max_length=300, blank=True)
    business_trend = models.CharField(_("business trend"), max_length=20, choices=Trend.choices)
    needs = models.TextField(_("needs and problems"), blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    forecast_kwh_12m = models.DecimalField(
        _("forecast of the next 12 months (kWh)"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Made on the phone when the report is written (offline, api.md): a second send of the same
    # report finds this one instead of making another.
    client_id = models.UUIDField(_("client id"), null=True, blank=True, unique=True, editable=False)
    # The optional check-in: where the phone was when the manager checked in, and how sure it was.
    checkin_lat = models.DecimalField(
        _("check-in latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    checkin_lon = models.DecimalField(
        _("check-in longitude"), max_digits=10, decimal_places=6, null=True, blank=True
    )
    checkin_accuracy_m = models.PositiveIntegerField(_("check-in accuracy (m)"), null=True, blank=True)
    checkin_at = models.DateTimeField(_("checked in at"), null=True, blank=True)

    objects = VisitReportQuerySet.as_manager()

    class Meta:
        ordering = ["-visited_on", "-id"]
        verbose_name = _("visit report")
        verbose_name_plural = _("visit reports")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="visitreport_satisfaction_1_to_5",
            ),
            models.CheckConstraint(
                condition=models.Q(forecast_kwh_12m__isnull=True) | models.Q(forecast_kwh_12m__gte=0),
                name="visitreport_forecast_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=Channel.values), name="visitreport_channel_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(business_trend__in=Trend.values), name="visitreport_trend_valid"
            ),
            # a check-in is whole (position, accuracy and time) or absent, and on the globe
            models.CheckConstraint(
                condition=models.Q(
                    checkin_lat__isnull=True,
                    checkin_lon__isnull=True,
                    checkin_accuracy_m__isnull=True,
                    checkin_at__isnull=True,
                )
                | models.Q(
                    checkin_lat__gte=-90,
                    checkin_lat__lte=90,
                    checkin_lon__gte=-180,
                    checkin_lon__lte=180,
                    checkin_accuracy_m__isnull=False,
                    checkin_at__isnull=False,
                ),
                name="visitreport_checkin_whole",
            ),
        ]

    @property
    def has_checkin(self) -> bool:
        return self.checkin_at is not None

    def __str__(self) -> str:
        return f"{self.task} @ {self.visited_on}"


def visit_photo_path(photo, filename: str) -> str:
    """A name no one can guess, by month: photos are served by a view that checks the reader's
    scope (visits.photo_views), never from a public address, and the name carries no customer."""
    now = timezone.now()
    extension = ".png" if photo.content_type == "image/png" else ".jpg"
    return f"visit-photos/{now:%Y/%m}/{uuid.uuid4().hex}{extension}"


class VisitPhotoQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(report__task__in=VisitTask.objects.visible_to(user))


class VisitPhoto(TimeStampedModel):
    """A photo taken on a visit (the meter, the site, a signed document), at most
    MAX_PHOTOS_PER_REPORT a report, kept through Django's storage API (a folder, or S3 in production)."""

    report = models.ForeignKey(
        VisitReport, verbose_name=_("visit report"), on_delete=models.CASCADE, related_name="photos"
    )
    file = models.FileField(_("file"), upload_to=visit_photo_path, max_length=200)
    content_type = models.CharField(_("content type"), max_length=20)
    size = models.PositiveIntegerField(_("size (bytes)"))
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    # Made on the phone with the photo: sending it again after a lost answer stores it once.
    client_id = models.UUIDField(_("client id"), null=True, blank=True, editable=False)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = VisitPhotoQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("visit photo")
        verbose_name_plural = _("visit photos")
        constraints = [
            models.UniqueConstraint(
                fields=["report", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="visitphoto_once_per_client_id",
            ),
            models.CheckConstraint(
                condition=models.Q(content_type__in=["image/jpeg", "image/png"]),
                name="visitphoto_jpeg_or_png",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report} #{self.pk}"


class Department(models.TextChoices):
    NEW_CONNECTION = "new_connection", _("New connection or capacity change")
    BILLING = "billing", _("Meter reading, billing and collection")
    ORDERLY_POWER_USE = "orderly_power_use", _("Orderly power use")
    LOAD_CONTROL = "load_control", _("Load control or prepaid meter")
    OTHER = "other", _("Other")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", pgettext_lazy("follow-up status", "Closed")


class FollowUpQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(report__task__in=VisitTask.objects.visible_to(user))

    def waiting(self):
        return self.filter(status=FollowUpStatus.OPEN)


class FollowUp(TimeStampedModel):
    """An action a visit raised for another department."""

    report = models.ForeignKey(
        VisitReport, verbose_name=_("visit report"), on_delete=models.CASCADE, related_name="follow_ups"
    )
    department = models.CharField(_("department"), max_length=30, choices=Department.choices)
    action = models.CharField(_("action"), max_length=300)
    status = models.CharField(
        _("status"), max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("follow-up action")
        verbose_name_plural = _("follow-up actions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department__in=Department.values), name="followup_department_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=FollowUpStatus.values), name="followup_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_department_display()}: {self.action}"


class VisitRun(RunRecord):
    """One run of a visit job: when, what it did, how long, whether it failed."""

    class Job(models.TextChoices):
        GENERATE = "generate", _("Generate tasks")
        OVERDUE = "overdue", _("Mark overdue")
        CARE = "care", _("Detect consumption drops")
        REMINDERS = "reminders", _("Send reminders")
        DIGEST = "digest", _("Send overdue digest")

    job = models.CharField(_("job"), max_length=20, choices=Job.choices, default=Job.GENERATE)
    day = models.DateField(_("day"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    counts = models.JSONField(_("counts"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("visit run")
        verbose_name_plural = _("visit runs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(job__in=["generate", "overdue", "care", "reminders", "digest"]),
                name="visitrun_job_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "done", "failed"]),
                name="visitrun_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_job_display()} {self.day}"
