"""One-stop service (一站式服务): departments and their staff, the work calendar, request templates,
service requests with their stages and clocks, callbacks and SLA alerts (service.md).

`service` sits above `managers` and `visits`: it reads customers, managers and visit follow-ups;
nothing below imports it (a visit's follow-up reaches it through the hook `follow_ups_raised`)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.common.models import TimeStampedModel
from customers.models import Branch, Customer, Station


# ---------------------------------------------------------------- departments and their staff
class DepartmentKind(models.TextChoices):
    MARKETING = "marketing", _("Marketing and connections")
    METERING = "metering", _("Metering")
    BILLING = "billing", _("Meter reading, billing and collection")
    OPERATIONS = "operations", _("Operations and maintenance")
    CALL_CENTRE = "call_centre", _("Customer service centre (95598)")
    OTHER = "other", _("Other")


# A template stage done by the request's owner (the account manager), not by a department.
OWNER = "owner"


class Department(TimeStampedModel):
    """A department (专业部门) of a county branch that does a kind of the work."""

    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="departments"
    )
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=DepartmentKind.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DepartmentKind.values), name="department_kind_valid")
        ]
        indexes = [models.Index(fields=["branch", "kind"], name="department_branch_kind")]

    def __str__(self) -> str:
        return self.name


class StaffProfile(TimeStampedModel):
    """A department staff user (专业人员): which department they work in. The role itself is the
    `department_staff` group (crm.accounts.roles)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="staff_profile",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="staff"
    )

    class Meta:
        ordering = ["user_id"]
        verbose_name = _("department staff")
        verbose_name_plural = _("department staff")

    def __str__(self) -> str:
        return f"{self.user} ({self.department})"


# ---------------------------------------------------------------- the work calendar
class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Public holiday")
    MAKEUP_WORKDAY = "makeup_workday", _("Make-up working day")


class CalendarDay(TimeStampedModel):
    """A date that differs from the week's pattern: a weekday holiday or a weekend working day
    (调休). Every other Saturday and Sunday rests and every other weekday works."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("work calendar day")
        verbose_name_plural = _("work calendar days")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DayKind.values), name="calendar_day_kind_valid")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class CalendarYear(TimeStampedModel):
    """A year whose holidays are loaded: only then are its working days known. A due date in a year
    without a row is computed Monday to Friday and marked `calendar_missing`."""

    class Source(models.TextChoices):
        PACKAGE = "package", _("chinesecalendar package")
        FILE = "file", _("File")
        MANUAL = "manual", _("Entered by hand")

    year = models.PositiveSmallIntegerField(
        _("year"), unique=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("loaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["year"]
        verbose_name = _("work calendar year")
        verbose_name_plural = _("work calendar years")

    def __str__(self) -> str:
        return str(self.year)


# ---------------------------------------------------------------- kinds, templates
class Kind(models.TextChoices):
    NEW_CONNECTION = "new_connection", _("New connection")
    CAPACITY_CHANGE = "capacity_change", _("Capacity change")
    ORDERLY_USE_AGREEMENT = "orderly_use_agreement", _("Orderly power use agreement")
    LOAD_CONTROL_INSTALL = "load_control_install", _("Load-control terminal install")
    PREPAID_METER_INSTALL = "prepaid_meter_install", _("Prepaid meter install")
    BILLING_QUERY = "billing_query", _("Billing or meter reading query")
    METER_FAULT = "meter_fault", _("Metering fault")
    RECONNECTION = "reconnection", _("Reconnection")
    FAULT_REPAIR = "fault_repair", _("Fault repair")
    COMPLAINT = "complaint", _("Complaint")
    CONSULTATION = "consultation", _("Consultation")
    SUGGESTION = "suggestion", _("Suggestion")
    PRAISE = "praise", _("Praise")


class Subtype(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    LV_NON_RESIDENTIAL = "lv_non_residential", _("Low-voltage non-residential")
    HV_SINGLE = "hv_single", _("High-voltage, single supply")
    HV_DUAL = "hv_dual", _("High-voltage, dual supply")
    INCREASE = "increase", _("Increase")
    DECREASE = "decrease", _("Decrease")
    SERVICE = "service", _("Service")
    BUSINESS = "business", _("Business handling")
    OUTAGE = "outage", _("Outage")
    POWER_QUALITY = "power_quality", _("Power quality")
    GRID_CONSTRUCTION = "grid_construction", _("Grid construction")


# The subtypes each kind takes (a kind not listed takes none).
SUBTYPES: dict[str, list[str]] = {
    Kind.NEW_CONNECTION: [
        Subtype.RESIDENTIAL,
        Subtype.LV_NON_RESIDENTIAL,
        Subtype.HV_SINGLE,
        Subtype.HV_DUAL,
    ],
    Kind.CAPACITY_CHANGE: [Subtype.INCREASE, Subtype.DECREASE],
    Kind.COMPLAINT: [
        Subtype.SERVICE,
        Subtype.BUSINESS,
        Subtype.OUTAGE,
        Subtype.POWER_QUALITY,
        Subtype.GRID_CONSTRUCTION,
    ],
}


class Variant(models.TextChoices):
    """What picks between two templates of one kind and subtype: a capacity change follows the
    low- or high-voltage connection's stages by the customer's voltage, a fault repair the limits of
    the station's area (city, rural, remote)."""

    NONE = "", _("(any)")
    LOW_VOLTAGE = "lv", _("Low voltage")
    HIGH_VOLTAGE = "hv", _("High voltage")
    CITY = "city", _("City")
    RURAL = "rural", _("Rural")
    REMOTE = "remote", _("Remote")


class Unit(models.TextChoices):
    WORKING_DAYS = "working_days", _("working days")
    WORKING_HOURS = "working_hours", _("working hours")
    MINUTES = "minutes", _("minutes")


class RequestTemplate(TimeStampedModel):
    """The stages of a kind (and subtype, and variant), from `effective_from` on. `stages` is a list
    of {code, name, department_kind, limit, unit, pauses_for_customer}, `department_kind` one of
    DepartmentKind or "owner". A request keeps the version it started with: a change is a new row."""

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    subtype = models.CharField(_("subtype"), max_length=30, blank=True, choices=Subtype.choices)
    variant = models.CharField(_("variant"), max_length=10, blank=True, choices=Variant.choices)
    version = models.PositiveIntegerField(_("version"), default=1)
    effective_from = models.DateField(_("effective from"))
    stages = models.JSONField(_("stages"))
    total_limit = models.PositiveIntegerField(_("total limit"))
    total_unit = models.CharField(_("total unit"), max_length=20, choices=Unit.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["kind", "subtype", "variant", "-version"]
        verbose_name = _("request template")
        verbose_name_plural = _("request templates")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subtype", "variant", "version"], name="template_version_unique"
            ),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="template_kind_valid"),
            models.CheckConstraint(condition=Q(total_unit__in=Unit.values), name="template_unit_valid"),
        ]

    def __str__(self) -> str:
        key = "/".join(part for part in (self.kind, self.subtype, self.variant) if part)
        return f"{key} v{self.version}"


# ---------------------------------------------------------------- requests and their stages
class Source(models.TextChoices):
    VISIT = "visit", _("Visit follow-up")
    CALL_CENTRE = "call_centre", _("95598 ticket")
    COUNTER = "counter", _("Service counter")
    ONLINE = "online", _("Online")
    MANAGER = "manager", _("Entered by the manager")
    COMMITTEE = "committee", _("Customer relationship committee")


class RequestStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("service request status", "Open")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for the customer")
    CLOSED = "closed", pgettext_lazy("service request status", "Closed")
    CANCELLED = "cancelled", _("Cancelled")


class StageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("In progress")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for the customer")
    DONE = "done", _("Done")


class SlaState(models.TextChoices):
    OK = "ok", _("On time")
    WARNING = "warning", _("At warning")
    BREACHED = "breached", _("Breached")


class Clocked(models.Model):
    """A clock against a limit: a stage's or a request's. `warn_at` and `due_at` are the instants
    80 % and 100 % of the limit are used; a customer's waiting moves both later by the counted time
    it lasted (service/clock.py). `sla_state` is what the SLA job last wrote; pages and the API
    compute it as of now (service/sla.py)."""

    limit = models.PositiveIntegerField(_("limit"))
    unit = models.CharField(_("unit"), max_length=20, choices=Unit.choices)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    warn_at = models.DateTimeField(_("warning at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    waited_minutes = models.PositiveIntegerField(_("counted minutes waited"), default=0)
    sla_state = models.CharField(_("SLA state"), max_length=10, choices=SlaState.choices, default=SlaState.OK)
    calendar_missing = models.BooleanField(_("calendar missing"), default=False)

    class Meta:
        abstract = True


class ServiceRequestQuerySet(models.QuerySet):
    def visible_to(self, user):
        from service.selectors import requests_visible_to  # the rule lives with its selectors

        return requests_visible_to(self, user)

    def active(self):
        return self.filter(status__in=[RequestStatus.OPEN, RequestStatus.WAITING_CUSTOMER])


class ServiceRequest(Clocked, TimeStampedModel):
    """A customer's request (客户诉求), carried by its owner through the departments' stages. The
    request's own clock is the total of the company's time (customer waiting excluded)."""

    number = models.CharField(_("number"), max_length=20, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    subtype = models.CharField(_("subtype"), max_length=30, blank=True, choices=Subtype.choices)
    template = models.ForeignKey(
        RequestTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="requests"
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    external_no = models.CharField(_("external number"), max_length=40, unique=True, null=True, blank=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_requests",
    )
    applicant_name = models.CharField(_("applicant"), max_length=200, blank=True)
    applicant_phone = models.CharField(_("applicant's phone"), max_length=30, blank=True)
    applicant_address = models.CharField(_("applicant's address"), max_length=300, blank=True)
    applicant_capacity_kva = models.DecimalField(
        _("applied capacity (kVA)"),
        max_digits=10,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    applicant_voltage_kv = models.DecimalField(
        _("applied voltage (kV)"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    station = models.ForeignKey(Station, verbose_name=_("supply station"), on_delete=models.PROTECT)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_requests",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    received_at = models.DateTimeField(_("received at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancel reason"), max_length=300, blank=True)
    # a callback's satisfaction of 1 or 2 reopens the request for the owner's supervisor
    reopened_at = models.DateTimeField(_("reopened at"), null=True, blank=True)
    follow_up = models.OneToOneField(
        "visits.FollowUp",
        verbose_name=_("visit follow-up"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_request",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ServiceRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="request_kind_valid"),
            models.CheckConstraint(condition=Q(source__in=Source.values), name="request_source_valid"),
            models.CheckConstraint(condition=Q(status__in=RequestStatus.values), name="request_status_valid"),
            models.CheckConstraint(
                condition=Q(customer__isnull=False) | ~Q(applicant_name=""),
                name="request_customer_or_applicant",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"], name="request_owner_status"),
            models.Index(fields=["station", "status"], name="request_station_status"),
            models.Index(fields=["status", "warn_at"], name="request_status_warn"),
            models.Index(fields=["status", "due_at"], name="request_status_due"),
            # the lists' order: a page of 50 is read off this index instead of sorting everything the
            # user may see (at 500,000 requests a department's first page went from 3.9 s to 3 ms)
            models.Index(fields=["-received_at", "-id"], name="request_received"),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in (RequestStatus.OPEN, RequestStatus.WAITING_CUSTOMER)

    @property
    def party_name(self) -> str:
        return self.customer.name if self.customer_id else self.applicant_name


class RequestStage(Clocked, TimeStampedModel):
    """One stage of a request, done by its department's staff (or by the owner where `department`
    is empty), measured against its own limit."""

    request = models.ForeignKey(
        ServiceRequest, verbose_name=_("service request"), on_delete=models.CASCADE, related_name="stages"
    )
    position = models.PositiveSmallIntegerField(_("position"))
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    department_kind = models.CharField(_("department kind"), max_length=20)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stages",
    )
    pauses_for_customer = models.BooleanField(_("customer waiting pauses it"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=StageStatus.choices, default=StageStatus.PENDING
    )
    wait_reason = models.CharField(_("waiting reason"), max_length=300, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["request_id", "position"]
        verbose_name = _("request stage")
        verbose_name_plural = _("request stages")
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="stage_position_unique"),
            models.CheckConstraint(condition=Q(status__in=StageStatus.values), name="stage_status_valid"),
        ]
        indexes = [
            models.Index(fields=["status", "warn_at"], name="stage_status_warn"),
            models.Index(fields=["status", "due_at"], name="stage_status_due"),
            models.Index(fields=["department", "status"], name="stage_department_status"),
        ]

    def __str__(self) -> str:
        return f"{self.request} {self.position}. {self.name}"


class StageEvent(models.Model):
    """What happened to a request, in order: a stage started, waited, resumed, done; the request
    closed, cancelled, reopened. The request page's timeline and its audit."""

    class Action(models.TextChoices):
        OPENED = "opened", _("Opened")
        STARTED = "started", _("Started")
        WAITING = "waiting", _("Waiting for the customer")
        RESUMED = "resumed", _("Resumed")
        DONE = "done", _("Done")
        CLOSED = "closed", pgettext_lazy("service request event", "Closed")
        CANCELLED = "cancelled", _("Cancelled")
        REOPENED = "reopened", _("Reopened")
        CALLBACK = "callback", _("Callback")

    request = models.ForeignKey(
        ServiceRequest, verbose_name=_("service request"), on_delete=models.CASCADE, related_name="events"
    )
    stage = models.ForeignKey(
        RequestStage,
        verbose_name=_("stage"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["request_id", "at", "id"]
        verbose_name = _("request event")
        verbose_name_plural = _("request events")

    def __str__(self) -> str:
        return f"{self.request_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class Callback(TimeStampedModel):
    """The call back to the customer after a request closed (回访)."""

    request = models.ForeignKey(
        ServiceRequest, verbose_name=_("service request"), on_delete=models.CASCADE, related_name="callbacks"
    )
    reached = models.BooleanField(_("customer reached"))
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.CharField(_("comment"), max_length=1000, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="callback_satisfaction_range",
            ),
            models.CheckConstraint(
                condition=Q(reached=True) | Q(satisfaction__isnull=True), name="callback_unreached_unscored"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.satisfaction or '-'}"


class Alert(TimeStampedModel):
    """An SLA warning or breach told to one person (in-app; e-mailed by the SLA job). One per
    recipient, clock and state, so a rerun of the job tells nobody twice."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="sla_alerts",
    )
    request = models.ForeignKey(
        ServiceRequest, verbose_name=_("service request"), on_delete=models.CASCADE, related_name="alerts"
    )
    # empty: the request's own clock (its total)
    stage = models.ForeignKey(
        RequestStage,
        verbose_name=_("stage"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    state = models.CharField(_("state"), max_length=10, choices=SlaState.choices)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("SLA alert")
        verbose_name_plural = _("SLA alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "stage", "state"],
                condition=Q(stage__isnull=False),
                name="alert_stage_once",
            ),
            models.UniqueConstraint(
                fields=["recipient", "request", "state"],
                condition=Q(stage__isnull=True),
                name="alert_request_once",
            ),
        ]
        indexes = [models.Index(fields=["recipient", "read_at"], name="alert_recipient_unread")]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.state} {self.request_id}"
