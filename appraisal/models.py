"""The yearly appraisal of account managers (客户经理考评).

A cycle holds one year's criteria and weights. Opening it gives every active manager an appraisal
with a panel of raters (the supervisor, customer representatives, collaborating staff); each rater
scores each criterion 0-100. The final score, grade and reward suggestion are stored on the
appraisal and recomputed by appraisal.services on every score change, so lists, exports and the
review page read them with one query instead of recomputing per row.

A customer representative has no account: their seat carries a signed link (appraisal.links) that
expires and is spent once they have submitted a full set of scores."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from crm.common.models import TimeStampedModel
from crm.common.scopes import scope_for
from managers.models import Manager


class CycleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCORING = "scoring", _("Scoring")
    REVIEW = "review", _("Under review")
    FINALIZED = "finalized", _("Finalized")


class AppraisalStatus(models.TextChoices):
    # An appraisal added by hand to a cycle still in draft waits with the cycle.
    DRAFT = "draft", _("Draft")
    SCORING = "scoring", _("Scoring")
    REVIEW = "review", _("Under review")
    FINALIZED = "finalized", _("Finalized")


class RaterKind(models.TextChoices):
    SUPERVISOR = "supervisor", _("Supervisor")
    CUSTOMER_REPRESENTATIVE = "customer_representative", _("Customer representative")
    COLLABORATOR = "collaborator", _("Collaborating staff")


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("Excellent")
    GOOD = "good", _("Good")
    # A grade's "Qualified" is 合格; a trained manager's "Qualified" is 具备资格: two contexts.
    QUALIFIED = "qualified", pgettext_lazy("appraisal grade", "Qualified")
    UNQUALIFIED = "unqualified", _("Unqualified")


class AppraisalCycleQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Cycles are company-wide reference data for everyone who takes part; what a user may see
        inside a cycle is decided per appraisal."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self


class AppraisalCycle(TimeStampedModel):
    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=CycleStatus.choices, default=CycleStatus.DRAFT
    )
    # Rater-kind weights in percent; a kind with no rater on a panel has its weight shared out among
    # the kinds that have one (appraisal.scoring).
    supervisor_weight = models.PositiveSmallIntegerField(
        _("supervisor weight (%)"), default=50, validators=[MaxValueValidator(100)]
    )
    customer_representative_weight = models.PositiveSmallIntegerField(
        _("customer representatives weight (%)"), default=30, validators=[MaxValueValidator(100)]
    )
    collaborator_weight = models.PositiveSmallIntegerField(
        _("collaborators weight (%)"), default=20, validators=[MaxValueValidator(100)]
    )
    link_valid_days = models.PositiveSmallIntegerField(
        _("representative links valid for (days)"), default=30, validators=[MaxValueValidator(365)]
    )
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    evidence_computed_at = models.DateTimeField(_("evidence computed at"), null=True, blank=True)

    objects = AppraisalCycleQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-year"]
        verbose_name = _("appraisal cycle")
        verbose_name_plural = _("appraisal cycles")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CycleStatus.values), name="appraisal_cycle_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    supervisor_weight__lte=100,
                    customer_representative_weight__lte=100,
                    collaborator_weight__lte=100,
                ),
                name="appraisal_cycle_rater_weights_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return str(self.year)

    @property
    def rater_weights(self) -> dict[str, int]:
        return {
            RaterKind.SUPERVISOR: self.supervisor_weight,
            RaterKind.CUSTOMER_REPRESENTATIVE: self.customer_representative_weight,
            RaterKind.COLLABORATOR: self.collaborator_weight,
        }


class Criterion(TimeStampedModel):
    cycle = models.ForeignKey(
        AppraisalCycle, verbose_name=_("cycle"), on_delete=models.CASCADE, related_name="criteria"
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    weight = models.PositiveSmallIntegerField(_("weight (%)"), validators=[MaxValueValidator(100)])
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["cycle", "position", "code"]
        verbose_name = _("appraisal criterion")
        verbose_name_plural = _("appraisal criteria")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "code"], name="appraisal_criterion_unique_code"),
            models.CheckConstraint(
                condition=models.Q(weight__lte=100), name="appraisal_criterion_weight_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle} {self.name} ({self.weight}%)"


class AppraisalQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Administrators see every appraisal; a supervisor sees their team's (the reporting tree);
        a panel member sees the appraisals they sit on; a manager sees their own once finalized."""
        scope = scope_for(user)
        if scope.sees_all:
            return self
        if not scope.user_ids:
            return self.none()
        team = set(scope.user_ids) - {user.pk}
        return self.filter(
            models.Q(manager_id__in=team)
            | models.Q(raters__user=user)
            | models.Q(manager_id=user.pk, status=AppraisalStatus.FINALIZED)
        ).distinct()


class Appraisal(TimeStampedModel):
    cycle = models.ForeignKey(
        AppraisalCycle, verbose_name=_("cycle"), on_delete=models.PROTECT, related_name="appraisals"
    )
    manager = models.ForeignKey(
        Manager, verbose_name=_("account manager"), on_delete=models.PROTECT, related_name="appraisals"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=AppraisalStatus.choices, default=AppraisalStatus.DRAFT
    )
    # Computed by appraisal.evidence: {metric: value, ...}; see appraisal.evidence.METRICS.
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    evidence_computed_at = models.DateTimeField(_("evidence computed at"), null=True, blank=True)
    # Kept current by appraisal.services on every score or panel change; read-only elsewhere.
    score = models.DecimalField(_("final score"), max_digits=5, decimal_places=2, null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=20, choices=Grade.choices, blank=True)
    # {kind: mean score or null, "_weights": {kind: effective weight}}: the review page's columns.
    kind_scores = models.JSONField(_("score per rater kind"), default=dict, blank=True)
    # A rater's total differs from the panel's mean by more than scoring.DEVIATION_FLAG_POINTS: kept
    # with the score, so that the review filters and sorts on it in the database.
    flagged = models.BooleanField(_("a rater deviates"), default=False)
    finalized_at = models.DateTimeField(_("finalized at"), null=True, blank=True)
    finalized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("finalized by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = AppraisalQuerySet.as_manager()
    # The reason of a reopening is the history record's change reason.
    history = HistoricalRecords(excluded_fields=["updated_at", "evidence", "kind_scores", "flagged"])

    class Meta:
        ordering = ["cycle", "manager"]
        verbose_name = _("appraisal")
        verbose_name_plural = _("appraisals")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "manager"], name="appraisal_one_per_manager_and_cycle"),
            models.CheckConstraint(
                condition=models.Q(status__in=AppraisalStatus.values), name="appraisal_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(grade__in=[*Grade.values, ""]), name="appraisal_grade_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=0, score__lte=100),
                name="appraisal_score_0_to_100",
            ),
        ]
        indexes = [models.Index(fields=["cycle", "status"], name="appraisal_cycle_status")]

    def __str__(self) -> str:
        return f"{self.cycle} {self.manager_id}"


class Rater(TimeStampedModel):
    """A seat on an appraisal's panel. Supervisors and collaborators are users; a customer
    representative is a name with a signed link (appraisal.links) instead of an account."""

    appraisal = models.ForeignKey(
        Appraisal, verbose_name=_("appraisal"), on_delete=models.CASCADE, related_name="raters"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=RaterKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appraisal_seats",
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    # A representative's link stops working at this time, and once they have submitted.
    link_expires_at = models.DateTimeField(_("link expires at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept by appraisal.services with the appraisal's score (derived, so not in the history): the
    # review reads a page of panels without loading their scores.
    scored = models.PositiveSmallIntegerField(_("criteria scored"), default=0)
    total = models.DecimalField(_("total"), max_digits=5, decimal_places=2, null=True, blank=True)
    deviating = models.BooleanField(_("deviates from the panel"), default=False)

    history = HistoricalRecords(excluded_fields=["updated_at", "scored", "total", "deviating"])

    class Meta:
        ordering = ["appraisal", "kind", "pk"]
        verbose_name = _("panel member")
        verbose_name_plural = _("panel members")
        constraints = [
            models.UniqueConstraint(
                fields=["appraisal", "user"],
                condition=models.Q(user__isnull=False),
                name="appraisal_rater_user_once_per_panel",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=RaterKind.values), name="appraisal_rater_kind_valid"
            ),
            # Representatives have no account; everyone else is a user.
            models.CheckConstraint(
                condition=(
                    models.Q(kind=RaterKind.CUSTOMER_REPRESENTATIVE, user__isnull=True) & ~models.Q(name="")
                )
                | (~models.Q(kind=RaterKind.CUSTOMER_REPRESENTATIVE) & models.Q(user__isnull=False)),
                name="appraisal_rater_user_or_named_representative",
            ),
        ]

    def __str__(self) -> str:
        return self.name or str(self.user)

    @property
    def display_name(self) -> str:
        return self.name or (self.user.display_name if self.user_id else "")


class Score(TimeStampedModel):
    rater = models.ForeignKey(Rater, verbose_name=_("rater"), on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(
        Criterion, verbose_name=_("criterion"), on_delete=models.PROTECT, related_name="scores"
    )
    score = models.PositiveSmallIntegerField(_("score"), validators=[MaxValueValidator(100)])
    comment = models.TextField(_("comment"), blank=True, max_length=2000)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["rater", "criterion__position"]
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        constraints = [
            models.UniqueConstraint(fields=["rater", "criterion"], name="appraisal_score_once_per_criterion"),
            models.CheckConstraint(condition=models.Q(score__lte=100), name="appraisal_score_at_most_100"),
        ]

    def __str__(self) -> str:
        return f"{self.rater} {self.criterion.code}: {self.score}"
