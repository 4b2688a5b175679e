"""Courses, the roles that must pass them, sessions and each manager's training records.

A manager is qualified when every course required for their role has a passed record; the flag
lives on managers.Manager and is kept current by training.services."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from crm.common.models import TimeStampedModel
from crm.common.scopes import ScopedQuerySet
from managers.models import Manager, Role


class Category(models.TextChoices):
    BASIC = "basic", _("Basic training")
    PROFESSIONAL = "professional", _("Professional knowledge training")
    SKILLS = "skills", _("Skills training")


class Delivery(models.TextChoices):
    ON_THE_JOB = "on_the_job", _("On-the-job training")
    CENTRALIZED = "centralized", _("Centralized training")


class Result(models.TextChoices):
    ENROLLED = "enrolled", _("Enrolled")
    PASSED = "passed", _("Passed")
    FAILED = "failed", pgettext_lazy("training result", "Failed")


DEFAULT_PASS_MARK = 60


class CourseQuerySet(models.QuerySet):
    def required_for(self, role: str):
        return self.filter(requirements__role=role)


class Course(TimeStampedModel):
    code = models.CharField(_("code"), max_length=30, unique=True)
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    delivery = models.CharField(
        _("delivery mode"), max_length=20, choices=Delivery.choices, default=Delivery.ON_THE_JOB
    )
    hours = models.DecimalField(
        _("hours"), max_digits=5, decimal_places=1, validators=[MinValueValidator(Decimal("0.5"))]
    )
    pass_mark = models.PositiveSmallIntegerField(
        _("pass mark"),
        default=DEFAULT_PASS_MARK,
        validators=[MaxValueValidator(100)],
        help_text=_("A score at or above this mark passes the course."),
    )

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=Category.values), name="course_category_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(delivery__in=Delivery.values), name="course_delivery_valid"
            ),
            models.CheckConstraint(condition=models.Q(hours__gt=0), name="course_hours_positive"),
            models.CheckConstraint(
                condition=models.Q(pass_mark__lte=100), name="course_pass_mark_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def required_for_roles(self) -> list[str]:
        """The roles that must pass this course (uses prefetched `requirements` when present)."""
        return sorted(r.role for r in self.requirements.all())


class RoleRequirement(TimeStampedModel):
    """Managers of `role` must pass `course` to be qualified."""

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="requirements"
    )
    role = models.CharField(_("role"), max_length=40, choices=Role.choices)

    class Meta:
        ordering = ["role", "course__code"]
        verbose_name = _("role requirement")
        verbose_name_plural = _("role requirements")
        constraints = [
            models.UniqueConstraint(fields=["course", "role"], name="requirement_once_per_role"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="requirement_role_valid"),
        ]
        indexes = [models.Index(fields=["role", "course"], name="requirement_role")]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.course}"


class Session(TimeStampedModel):
    """One sitting of a course: when, where and who taught it."""

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="sessions"
    )
    date = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=200)
    trainer = models.CharField(_("trainer"), max_length=100, blank=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        constraints = [
            models.UniqueConstraint(fields=["course", "date", "place"], name="session_once_per_place_and_day")
        ]

    def __str__(self) -> str:
        return f"{self.course.title} {self.date:%Y-%m-%d} {self.place}"


class TrainingRecordQuerySet(ScopedQuerySet):
    scope_field = "manager_id"

    def passed(self):
        return self.filter(result=Result.PASSED)

    def attended(self):
        """Records of training that took place (passed or failed): these count as hours."""
        return self.filter(result__in=[Result.PASSED, Result.FAILED])


class TrainingRecord(TimeStampedModel):
    """A manager's enrolment in, or result of, a course on a date."""

    manager = models.ForeignKey(
        Manager, verbose_name=_("manager"), on_delete=models.PROTECT, related_name="training_records"
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="records"
    )
    session = models.ForeignKey(
        Session,
        verbose_name=_("session"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="records",
    )
    session_date = models.DateField(_("session date"))
    hours = models.DecimalField(
        _("hours"), max_digits=5, decimal_places=1, validators=[MinValueValidator(Decimal("0"))]
    )
    result = models.CharField(_("result"), max_length=20, choices=Result.choices, default=Result.ENROLLED)
    score = models.PositiveSmallIntegerField(
        _("score"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )

    objects = TrainingRecordQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-session_date", "-id"]
        verbose_name = _("training record")
        verbose_name_plural = _("training records")
        constraints = [
            models.UniqueConstraint(
                fields=["manager", "course", "session_date"], name="record_once_per_course_and_day"
            ),
            models.CheckConstraint(condition=models.Q(result__in=Result.values), name="record_result_valid"),
            models.CheckConstraint(condition=models.Q(hours__gte=0), name="record_hours_not_negative"),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=0, score__lte=100),
                name="record_score_0_to_100",
            ),
            models.CheckConstraint(
                condition=~models.Q(result=Result.ENROLLED) | models.Q(score__isnull=True),
                name="record_enrolled_has_no_score",
            ),
        ]
        indexes = [
            models.Index(fields=["manager", "course", "result"], name="record_manager_course"),
            models.Index(fields=["session_date"], name="record_session_date"),
        ]

    def __str__(self) -> str:
        return f"{self.manager_id} {self.course_id} {self.session_date:%Y-%m-%d} {self.result}"
