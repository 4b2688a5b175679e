"""Account manager profiles and the history of who served which customer."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.common.models import TimeStampedModel
from crm.common.scopes import ScopedQuerySet
from customers.models import Customer, Station, Tier


class Role(models.TextChoices):
    VIP_MANAGER = "vip_manager", _("VIP manager")
    KEY_ACCOUNT_MANAGER = "key_account_manager", _("Key account manager")
    COMMUNITY_MANAGER = "community_manager", _("Community manager")
    TRANSFORMER_DISTRICT_MANAGER = "transformer_district_manager", _("Transformer-district manager")


ROLE_FOR_TIER = {
    Tier.VIP: Role.VIP_MANAGER,
    Tier.KEY_ACCOUNT: Role.KEY_ACCOUNT_MANAGER,
    Tier.COMMUNITY: Role.COMMUNITY_MANAGER,
    Tier.TRANSFORMER_DISTRICT: Role.TRANSFORMER_DISTRICT_MANAGER,
}


class ManagerQuerySet(ScopedQuerySet):
    scope_field = "user_id"

    def active(self):
        return self.filter(active=True)

    def with_portfolio_size(self):
        return self.annotate(
            portfolio_size=models.Count(
                "user__customers", filter=models.Q(user__customers__status="active"), distinct=True
            )
        )


class Manager(TimeStampedModel):
    """A manager profile. Its primary key is its user's id, so `manager=12` means the same person in
    every resource (customers, tasks, appraisals) as `managers/12/` and user 12."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="manager_profile",
    )
    employee_no = models.CharField(_("employee number"), max_length=30, unique=True)
    role = models.CharField(_("role"), max_length=40, choices=Role.choices)
    station = models.ForeignKey(Station, verbose_name=_("supply station"), on_delete=models.PROTECT)
    max_customers = models.PositiveIntegerField(_("maximum portfolio size"), default=500)
    active = models.BooleanField(_("active"), default=True)
    # Kept current by the training app: only qualified managers receive customers automatically.
    qualified = models.BooleanField(_("qualified"), default=False)

    objects = ManagerQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["employee_no"]
        verbose_name = _("account manager")
        verbose_name_plural = _("account managers")
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="manager_role_valid")
        ]
        indexes = [models.Index(fields=["station", "role", "active"], name="manager_station_role")]

    def __str__(self) -> str:
        return f"{self.user.display_name} ({self.get_role_display()})"

    @property
    def name(self) -> str:
        return self.user.display_name

    @property
    def supervisor(self):
        return self.user.supervisor


class AssignmentQuerySet(models.QuerySet):
    def current(self):
        return self.filter(ended_at__isnull=True)

    def visible_to(self, user):
        return self.filter(customer__in=Customer.objects.visible_to(user))


class Assignment(TimeStampedModel):
    """A period during which a manager was responsible for a customer (ended_at empty: still is)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="assignments"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("to"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(ended_at__isnull=True), name="assignment_one_current"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="assignment_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} -> {self.manager_id}"
