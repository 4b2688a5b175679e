"""The customer base: the org tree down to supply stations, the territories they serve, customers,
their contacts and monthly consumption."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.common.models import TimeStampedModel
from crm.common.scopes import ScopedQuerySet


class Tier(models.TextChoices):
    VIP = "vip", _("VIP customer")
    KEY_ACCOUNT = "key_account", _("Key account")
    COMMUNITY = "community", _("Community customer")
    TRANSFORMER_DISTRICT = "transformer_district", _("Transformer-district customer")


class Category(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    COMMERCIAL = "commercial", _("Commercial")
    INDUSTRIAL = "industrial", _("Industrial")
    AGRICULTURAL = "agricultural", _("Agricultural")
    PUBLIC_SERVICE = "public_service", _("Public service")


class Importance(models.TextChoices):
    NONE = "none", _("None")
    LEVEL_1 = "level_1", _("Level 1 important")
    LEVEL_2 = "level_2", _("Level 2 important")
    TEMPORARY = "temporary", _("Temporary important")


class Status(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", _("Closed")


# ---------------------------------------------------------------- the org tree and territories
class Company(TimeStampedModel):
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.name


class Branch(TimeStampedModel):
    """A county branch (县公司) of the company."""

    company = models.ForeignKey(Company, verbose_name=_("company"), on_delete=models.PROTECT)
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("county branch")
        verbose_name_plural = _("county branches")

    def __str__(self) -> str:
        return self.name


class Station(TimeStampedModel):
    """A supply station (供电所): every manager and every territory belongs to one."""

    class Area(models.TextChoices):
        """Where the station serves: the fault-repair limits differ (service.md)."""

        CITY = "city", _("City")
        RURAL = "rural", _("Rural")
        REMOTE = "remote", _("Remote")

    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT)
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    area = models.CharField(_("area"), max_length=10, choices=Area.choices, default=Area.RURAL)

    class Meta:
        ordering = ["code"]
        verbose_name = _("supply station")
        verbose_name_plural = _("supply stations")

    def __str__(self) -> str:
        return self.name


class Territory(TimeStampedModel):
    station = models.ForeignKey(Station, verbose_name=_("supply station"), on_delete=models.PROTECT)
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    # The community or transformer-district manager serving it (a user; see managers.Manager).
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Community(Territory):
    """An urban residential area (社区)."""

    class Meta(Territory.Meta):
        verbose_name = _("community")
        verbose_name_plural = _("communities")


class TransformerDistrict(Territory):
    """The low-voltage area fed by one distribution transformer (台区)."""

    transformer_code = models.CharField(_("transformer code"), max_length=50, blank=True)
    rated_capacity_kva = models.DecimalField(
        _("rated capacity (kVA)"),
        max_digits=10,
        decimal_places=1,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta(Territory.Meta):
        verbose_name = _("transformer district")
        verbose_name_plural = _("transformer districts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rated_capacity_kva__gte=0), name="td_capacity_not_negative"
            )
        ]


# ---------------------------------------------------------------- customers
class CustomerQuerySet(ScopedQuerySet):
    scope_field = "manager_id"

    def active(self):
        return self.filter(status=Status.ACTIVE)

    def in_tier(self, tier: str):
        return self.filter(tier=tier)

    def managed_by(self, user_id: int):
        return self.filter(manager_id=user_id)


class Customer(TimeStampedModel):
    """An electricity account (户号)."""

    account_no = models.CharField(_("account number"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    industry_code = models.CharField(_("industry code"), max_length=20, blank=True)
    voltage_kv = models.DecimalField(
        _("supply voltage (kV)"), max_digits=7, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    contracted_capacity_kva = models.DecimalField(
        _("contracted capacity (kVA)"),
        max_digits=12,
        decimal_places=1,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    importance = models.CharField(
        _("importance"), max_length=20, choices=Importance.choices, default=Importance.NONE
    )
    station = models.ForeignKey(Station, verbose_name=_("supply station"), on_delete=models.PROTECT)
    community = models.ForeignKey(
        Community, verbose_name=_("community"), null=True, blank=True, on_delete=models.PROTECT
    )
    transformer_district = models.ForeignKey(
        TransformerDistrict,
        verbose_name=_("transformer district"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    tier = models.CharField(_("tier"), max_length=30, choices=Tier.choices, db_index=True)
    tier_pinned = models.BooleanField(_("tier pinned"), default=False)
    # A pinned tier is left alone by reclassification until `tier_pinned_until` (inclusive) has passed.
    tier_pin_reason = models.CharField(_("pin reason"), max_length=300, blank=True)
    tier_pinned_until = models.DateField(_("pinned until"), null=True, blank=True)
    tier_pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pinned by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The responsible account manager (a user with a managers.Manager profile); kept by managers.
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    # Trailing-12-month consumption, annualised when fewer months exist; kept by consumption writes.
    annual_consumption_kwh = models.DecimalField(
        _("annual consumption (kWh)"), max_digits=16, decimal_places=2, default=Decimal("0")
    )
    latest_period = models.DateField(_("latest consumption period"), null=True, blank=True)

    objects = CustomerQuerySet.as_manager()
    # Who changed what and when (the tier, its pin, the manager, the master data); consumption
    # figures are left out: they change with every month's data and have their own records.
    history = HistoricalRecords(excluded_fields=["annual_consumption_kwh", "latest_period", "updated_at"])

    class Meta:
        ordering = ["account_no"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.CheckConstraint(
                condition=~(models.Q(community__isnull=False) & models.Q(transformer_district__isnull=False)),
                name="customer_one_location",
            ),
            models.CheckConstraint(
                condition=models.Q(voltage_kv__gte=0), name="customer_voltage_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(contracted_capacity_kva__gte=0), name="customer_capacity_not_negative"
            ),
            models.CheckConstraint(condition=models.Q(tier__in=Tier.values), name="customer_tier_valid"),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="customer_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["manager", "tier"], name="customer_manager_tier"),
            models.Index(fields=["station", "tier"], name="customer_station_tier"),
            # Chosen from EXPLAIN ANALYZE of the list API at 1,000,000 customers (README, Performance):
            # the orderings a client asks for (by name, changed since) read 50 rows of an index instead
            # of sorting the table (1.2 s -> 0.2 ms), and the count of a station's active customers is
            # an index-only scan (0.42 s -> 0.09 s). The search has trigram indexes (migration 0004).
            # No index on annual_consumption_kwh (migration 0010): the monthly run rewrites that figure
            # on every row, and an indexed column would make each write one entry in every index.
            models.Index(fields=["name"], name="customer_name"),
            models.Index(fields=["updated_at"], name="customer_updated_at"),
            models.Index(fields=["station", "status"], name="customer_station_status"),
        ]

    def __str__(self) -> str:
        return f"{self.account_no} {self.name}"


class ContactQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer__in=Customer.objects.visible_to(user))


class Contact(TimeStampedModel):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-is_primary", "name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.name


class ConsumptionQuerySet(ScopedQuerySet):
    scope_field = "customer__manager_id"


class ConsumptionRecord(TimeStampedModel):
    """One month of a customer's metered consumption. `period` is the first day of the month."""

    # No index of its own: the unique (customer, period) index leads with the customer and serves
    # every look-up by customer; a second one would be written on every reading imported (a month's
    # import touches a leaf page per ten customers in each).
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="consumption",
        db_index=False,
    )
    period = models.DateField(_("period"))
    kwh = models.DecimalField(_("consumption (kWh)"), max_digits=14, decimal_places=2)
    amount_yuan = models.DecimalField(
        _("billed amount (yuan)"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    max_demand_kw = models.DecimalField(
        _("maximum demand (kW)"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    objects = ConsumptionQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "-period"]
        verbose_name = _("consumption record")
        verbose_name_plural = _("consumption records")
        constraints = [
            models.UniqueConstraint(fields=["customer", "period"], name="consumption_one_per_period"),
            models.CheckConstraint(condition=models.Q(kwh__gte=0), name="consumption_kwh_not_negative"),
            models.CheckConstraint(
                condition=models.Q(amount_yuan__gte=0), name="consumption_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.period:%Y-%m} {self.kwh} kWh"


# The tiering and import tables live with their sub-packages; imported here (after Customer, which
# they point to) so that `customers.models` still holds every model of the app.
from customers.imports.models import ImportJob, ImportRejection  # noqa: E402
from customers.tiering.models import ClassificationRun, TierChange, TierPolicy  # noqa: E402

__all__ = [
    "Branch",
    "Category",
    "ClassificationRun",
    "Community",
    "Company",
    "Contact",
    "ConsumptionRecord",
    "Customer",
    "ImportJob",
    "ImportRejection",
    "Importance",
    "Station",
    "Status",
    "Territory",
    "Tier",
    "TierChange",
    "TierPolicy",
    "TransformerDistrict",
]
