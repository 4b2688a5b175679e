"""Outbound webhooks (integration.md): the endpoints other systems register, one delivery per event
and endpoint that wants it, and every try of a delivery. The events themselves are the outbox rows
the lower apps write (crm.common.models.OutboxEvent)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.common.models import OutboxEvent, TimeStampedModel


class WebhookEndpoint(TimeStampedModel):
    """A receiver: its URL, the event types it wants, and its signing secret (`whsec_...`, shown
    once). During a rotation the previous secret signs too, until `previous_secret_until`.
    `active` False: nothing is fanned out to it nor delivered (its pending deliveries wait);
    `disabled_reason` says why the product turned it off (410, exhausted)."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("event types"), default=list)
    active = models.BooleanField(_("active"), default=True)
    secret = models.CharField(_("secret"), max_length=100, editable=False)
    previous_secret = models.CharField(_("previous secret"), max_length=100, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(_("previous secret valid until"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Told by e-mail when the endpoint is turned off."),
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)

    class Meta:
        ordering = ["url", "pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # to be tried (first time, or again at next_attempt_at)
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")  # an answer not worth trying again (410, 4xx), or a refused address
    EXHAUSTED = "exhausted", _("Exhausted")  # every try of the schedule failed


class WebhookDeliveryQuerySet(models.QuerySet):
    def due(self, now):
        """Pending, due, and to an active endpoint: what the delivery job claims."""
        return self.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__active=True)


class WebhookDelivery(TimeStampedModel):
    """One event to one endpoint. `attempts` counts the tries of the current round (a replay starts
    a new round; the tries stay in the log). A claimed delivery's `next_attempt_at` is moved past
    the try's lease, so one whose worker died is claimed again once the lease is over and sent
    again with the same `webhook-id` (at least once)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        OutboxEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="+"
    )
    event_type = models.CharField(_("event type"), max_length=60)  # the event's, for the log's filter
    status = models.CharField(
        _("status"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last answer"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            # fanning the same event out twice makes no second delivery
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhookdelivery_endpoint_event"),
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values), name="webhookdelivery_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhookdelivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhookdelivery_endpoint_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try of a delivery: when, the answer's code (none: no answer), the error, how long."""

    delivery = models.ForeignKey(
        WebhookDelivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="tries"
    )
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveIntegerField(_("answer"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        indexes = [models.Index(fields=["delivery", "-at"], name="deliveryattempt_delivery_at")]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
