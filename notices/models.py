"""Feeders and the topology notices need, outage notices with the customers they affect (each
customer's delivery: a call task or a text message), the text messages themselves, and the
contact fixes an unreachable customer leaves for its manager (committee.md). The committee's
tables are in notices/committee_models.py, imported at the end.

The topology lives here and not as a `feeder` column on customers' tables: the feeder is what
notices need, and customers must not import notices (conventions.md, the direction of
dependencies). A transformer district hangs on one feeder (`FeederDistrict`, one row per
district) and a dedicated-line customer names its feeder (`DedicatedLine`, one row per customer):
link tables owned by this app, so customers' migrations and models stay untouched."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.common.models import TimeStampedModel
from crm.common.scopes import ScopedQuerySet, scope_for
from customers.models import Branch, Customer, Station, TransformerDistrict


# ---------------------------------------------------------------- the grid
class Feeder(TimeStampedModel):
    """A 10 kV line (线路) leaving a substation, run by a supply station."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    station = models.ForeignKey(
        Station, verbose_name=_("supply station"), on_delete=models.PROTECT, related_name="feeders"
    )
    substation = models.CharField(_("substation"), max_length=100, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("feeder")
        verbose_name_plural = _("feeders")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class FeederDistrict(TimeStampedModel):
    """The feeder a transformer district hangs on (one per district)."""

    feeder = models.ForeignKey(
        Feeder, verbose_name=_("feeder"), on_delete=models.CASCADE, related_name="district_links"
    )
    transformer_district = models.OneToOneField(
        TransformerDistrict,
        verbose_name=_("transformer district"),
        on_delete=models.CASCADE,
        related_name="feeder_link",
    )

    class Meta:
        ordering = ["feeder", "transformer_district"]
        verbose_name = _("feeder of a transformer district")
        verbose_name_plural = _("feeders of transformer districts")

    def __str__(self) -> str:
        return f"{self.transformer_district_id} -> {self.feeder_id}"


class DedicatedLine(TimeStampedModel):
    """A customer on a dedicated line (专线) names its feeder directly."""

    feeder = models.ForeignKey(
        Feeder, verbose_name=_("feeder"), on_delete=models.CASCADE, related_name="dedicated_lines"
    )
    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="dedicated_line"
    )

    class Meta:
        ordering = ["feeder", "customer"]
        verbose_name = _("dedicated line")
        verbose_name_plural = _("dedicated lines")

    def __str__(self) -> str:
        return f"{self.customer_id} -> {self.feeder_id}"


# ---------------------------------------------------------------- outage notices
class NoticeKind(models.TextChoices):
    PLANNED = "planned", _("Planned outage")
    TEMPORARY = "temporary", _("Temporary maintenance")
    FAULT = "fault", _("Fault outage")
    ORDERLY_USE = "orderly_use", _("Orderly power use")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


def branches_of(user) -> set[int] | None:
    """The branches a user works in: those of the stations of the managers in their scope (a
    supervisor's team, a manager themselves); None for those who see everything."""
    scope = scope_for(user)
    if scope.sees_all:
        return None
    from managers.models import Manager

    return set(
        Manager.objects.filter(user_id__in=scope.user_ids).values_list("station__branch_id", flat=True)
    )


class OutageNoticeQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The notices of the branches the user works in (a notice concerns a whole branch's grid,
        so every manager of the branch reads it; their own customers' deliveries are narrower)."""
        branches = branches_of(user)
        return self if branches is None else self.filter(branch_id__in=branches)

    def published(self):
        return self.filter(status=NoticeStatus.PUBLISHED)


class OutageNotice(TimeStampedModel):
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    reason = models.CharField(_("reason"), max_length=300)
    feeders = models.ManyToManyField(Feeder, verbose_name=_("feeders"), blank=True, related_name="+")
    transformer_districts = models.ManyToManyField(
        TransformerDistrict, verbose_name=_("transformer districts"), blank=True, related_name="+"
    )
    stations = models.ManyToManyField(Station, verbose_name=_("stations"), blank=True, related_name="+")
    # a planned notice inside 7 days that a supervisor published as temporary: why, and who
    reclassified_reason = models.CharField(_("reason for reclassification"), max_length=300, blank=True)
    reclassified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reclassified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    # each change of a published window or its cancellation is a new revision, sent as an update
    revision = models.PositiveIntegerField(_("revision"), default=0)
    affected_count = models.PositiveIntegerField(_("affected customers"), default=0)
    important_count = models.PositiveIntegerField(_("important customers"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = OutageNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("outage notice")
        verbose_name_plural = _("outage notices")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="notice_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(kind__in=NoticeKind.values), name="notice_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=NoticeStatus.values), name="notice_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "starts_at"], name="notice_status_starts")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"


class Channel(models.TextChoices):
    CALL = "call", _("Call by the manager")
    SMS = "sms", _("Text message")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNREACHABLE = "unreachable", _("Unreachable")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")


IMPORTANT_TIERS = ("vip", "key_account")
IMPORTANT_LEVELS = ("level_1", "level_2")


class DeliveryQuerySet(ScopedQuerySet):
    # the customer's manager now (not the snapshot's): a customer moved to another manager is
    # followed by its new manager
    scope_field = "customer__manager_id"


class Delivery(TimeStampedModel):
    """One affected customer of a published notice: the snapshot publishing resolved once (who was
    affected, important or not, its manager and mobile number then) and how it is told. Important
    customers are a call task for the manager (`call`), acknowledged (签收) by the person at the
    customer who took it; the others a text message (`sms`), whose status follows the message."""

    notice = models.ForeignKey(
        OutageNotice, verbose_name=_("notice"), on_delete=models.CASCADE, related_name="deliveries"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    important = models.BooleanField(_("important customer"), default=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    mobile = models.CharField(_("mobile number"), max_length=30, blank=True)
    unreachable_reason = models.CharField(_("why unreachable"), max_length=200, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    acknowledged_by = models.CharField(_("acknowledged by"), max_length=100, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("escalated to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # the notice's revision this customer was last told of (an update reopens a call task)
    revision = models.PositiveIntegerField(_("revision"), default=0)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["notice", "-important", "customer"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notice", "customer"], name="delivery_one_per_customer"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="delivery_channel_valid"),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["manager", "channel", "status"], name="delivery_manager_tasks"),
            models.Index(fields=["customer", "notice"], name="delivery_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id}/{self.customer_id} {self.channel} {self.status}"


class MessagePurpose(models.TextChoices):
    NOTICE = "notice", _("Notice")
    REMINDER = "reminder", _("Reminder the day before")
    UPDATE = "update", _("Change of window")
    CANCEL = "cancel", _("Cancellation")
    MEETING = "meeting", _("Committee meeting")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class SmsMessage(TimeStampedModel):
    """One text message through the SMS gateway. Its `message_id` goes to the gateway with every
    attempt, so a send retried after a timeout is the same message, never a second one; the
    gateway's last answer is kept."""

    delivery = models.ForeignKey(
        Delivery,
        verbose_name=_("delivery"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=MessagePurpose.choices)
    revision = models.PositiveIntegerField(_("revision"), default=0)
    mobile = models.CharField(_("mobile number"), max_length=30)
    text = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    answer = models.JSONField(_("gateway answer"), default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")
        constraints = [
            # one message per customer, purpose and revision: publishing or a reminder run twice
            # makes none twice
            models.UniqueConstraint(
                fields=["delivery", "purpose", "revision"],
                condition=Q(delivery__isnull=False),
                name="sms_one_per_delivery_purpose",
            ),
            models.CheckConstraint(condition=Q(status__in=MessageStatus.values), name="sms_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "id"], name="sms_status")]

    def __str__(self) -> str:
        return self.message_id

    @property
    def message_id(self) -> str:
        """The id the gateway deduplicates on: stable across retries."""
        return f"crm-sms-{self.pk}"


class ContactFixQuerySet(ScopedQuerySet):
    scope_field = "manager_id"


class ContactFix(TimeStampedModel):
    """A data-quality task: a customer a notice could not reach (no usable mobile number on its
    primary contact), for its manager to fix the contact. Never a silent drop."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    notice = models.ForeignKey(
        OutageNotice, verbose_name=_("notice"), on_delete=models.CASCADE, related_name="contact_fixes"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    objects = ContactFixQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("contact to fix")
        verbose_name_plural = _("contacts to fix")
        constraints = [
            models.UniqueConstraint(fields=["notice", "customer"], name="contactfix_one_per_notice")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.reason}"


from notices.committee_models import Committee, CommitteeMember, Meeting, Need  # noqa: E402

__all__ = [
    "Channel",
    "Committee",
    "CommitteeMember",
    "ContactFix",
    "DedicatedLine",
    "Delivery",
    "DeliveryStatus",
    "Feeder",
    "FeederDistrict",
    "Meeting",
    "MessagePurpose",
    "MessageStatus",
    "Need",
    "NoticeKind",
    "NoticeStatus",
    "OutageNotice",
    "SmsMessage",
]
