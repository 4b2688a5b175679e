"""The tier policy's versions, the classification runs and every tier change (re-exported by
`customers.models`, so the app label and the migrations stay `customers`)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.common.models import RunRecord, TimeStampedModel
from customers.models import Customer, Importance, Tier


class TierPolicyQuerySet(models.QuerySet):
    def in_force(self, on=None):
        """The versions in effect on `on` (default today), the one in force first: the newest
        effective date not after it."""
        from django.utils import timezone

        on = on or timezone.localdate()
        return self.filter(effective_from__lte=on).order_by("-effective_from", "-version")

    def effective(self, on=None):
        """The version in force on `on` (default today)."""
        return self.in_force(on).first()


class TierPolicy(TimeStampedModel):
    """One version of the tiering thresholds of domain.md. Versions are never edited once a run has
    used them (runs and tier changes point to them); a new version with a later date replaces one."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    effective_from = models.DateField(_("effective from"))
    vip_kwh = models.DecimalField(
        _("VIP: annual consumption from (kWh)"), max_digits=16, decimal_places=2, default=Decimal("10000000")
    )
    vip_voltage_kv = models.DecimalField(
        _("VIP: supply voltage from (kV)"), max_digits=7, decimal_places=2, default=Decimal("110")
    )
    vip_importance = models.CharField(
        _("VIP: importance level"),
        max_length=20,
        choices=Importance.choices,
        default=Importance.LEVEL_1,
        blank=True,
        help_text=_("Leave empty to switch the rule off."),
    )
    key_capacity_kva = models.DecimalField(
        _("Key account: contracted capacity from (kVA)"),
        max_digits=12,
        decimal_places=1,
        default=Decimal("315"),
    )
    key_kwh = models.DecimalField(
        _("Key account: annual consumption from (kWh)"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("1000000"),
    )
    key_voltage_kv = models.DecimalField(
        _("Key account: supply voltage from (kV)"), max_digits=7, decimal_places=2, default=Decimal("10")
    )
    key_importance = models.CharField(
        _("Key account: importance level"),
        max_length=20,
        choices=Importance.choices,
        default=Importance.LEVEL_2,
        blank=True,
        help_text=_("Leave empty to switch the rule off."),
    )
    hysteresis_pct = models.DecimalField(
        _("hysteresis margin (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        help_text=_(
            "A customer drops to a lower tier only when its measure falls below the threshold "
            "by more than this."
        ),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = TierPolicyQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-effective_from", "-version"]
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policies")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hysteresis_pct__gte=0) & models.Q(hysteresis_pct__lt=100),
                name="tierpolicy_hysteresis_range",
            ),
            models.CheckConstraint(
                condition=models.Q(vip_kwh__gte=0)
                & models.Q(vip_voltage_kv__gte=0)
                & models.Q(key_capacity_kva__gte=0)
                & models.Q(key_kwh__gte=0)
                & models.Q(key_voltage_kv__gte=0),
                name="tierpolicy_thresholds_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return _("Tier policy v%(version)s from %(date)s") % {
            "version": self.version,
            "date": self.effective_from,
        }


class ClassificationRun(RunRecord):
    """One reclassification of every active customer: who or what started it, the policy version it
        used, how far it got (`last_pk`: customers up to this id are done; its chunks, crm.common.fanout,
    may be done out of order by several workers) and what it changed."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("On demand")
        SCHEDULE = "schedule", _("Monthly schedule")
        CONSUMPTION = "consumption", _("Consumption landed")

    trigger = models.CharField(_("started by"), max_length=20, choices=Trigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    policy = models.ForeignKey(
        TierPolicy, verbose_name=_("policy"), null=True, blank=True, on_delete=models.PROTECT
    )
    examined = models.PositiveIntegerField(_("customers examined"), default=0)
    changed = models.PositiveIntegerField(_("tiers changed"), default=0)
    pinned = models.PositiveIntegerField(_("pinned, left alone"), default=0)
    released = models.PositiveIntegerField(_("expired pins released"), default=0)
    transitions = models.JSONField(_("changes per transition"), default=dict, blank=True)
    reassignment = models.JSONField(_("reassignment"), default=dict, blank=True)
    max_pk = models.BigIntegerField(_("last customer id to examine"), null=True, blank=True)
    last_pk = models.BigIntegerField(_("customers done up to id"), default=0)
    # The active customers the run will examine, counted as it starts (None while queued): the "of y"
    # of its progress, beside `examined`, which each chunk's commit moves on.
    total = models.PositiveIntegerField(_("customers to examine"), null=True, blank=True)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("classification run")
        verbose_name_plural = _("classification runs")
        constraints = [
            # Two runs never overlap: at most one running and one waiting, enforced by the database.
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="running"), name="classification_one_running"
            ),
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="queued"), name="classification_one_queued"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "done", "failed"]),
                name="classification_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return _("Classification run %(id)s") % {"id": self.pk}


class TierChangeQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer__in=Customer.objects.visible_to(user))


class TierChange(TimeStampedModel):
    """A customer's tier changed: from what to what, by which rule, on which measures, under which
    policy version, in which run (or pinned by hand: `by` and `note`)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="tier_changes"
    )
    old_tier = models.CharField(_("old tier"), max_length=30, choices=Tier.choices, blank=True)
    new_tier = models.CharField(_("new tier"), max_length=30, choices=Tier.choices)
    rule = models.CharField(_("rule"), max_length=60)
    measures = models.JSONField(_("measures"), default=dict, blank=True)
    policy = models.ForeignKey(
        TierPolicy, verbose_name=_("policy"), null=True, blank=True, on_delete=models.PROTECT
    )
    run = models.ForeignKey(
        ClassificationRun,
        verbose_name=_("run"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="changes",
    )
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = TierChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        indexes = [models.Index(fields=["customer", "-at"], name="tierchange_customer_at")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.old_tier} -> {self.new_tier} ({self.rule})"
