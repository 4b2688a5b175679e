"""Every write of the webhooks: endpoints (created with a secret shown once, rotated, turned off),
the fan-out of outbox events into deliveries, and replays. The delivery job itself is
integrations.delivery."""

# The fan-out's SQL is assembled from table names and placeholders; every value is bound.
# ruff: noqa: S608

import base64
import datetime as dt
import logging
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import mail_admins, send_mail
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common.models import OutboxEvent
from crm.common.outbox import EVENT_TYPES
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.urlguard import UrlRefused, url_check

logger = logging.getLogger(__name__)

ENDPOINT_FIELDS = ("url", "events", "active", "description")
ROTATION_OVERLAP = dt.timedelta(hours=24)
FAN_OUT_CHUNK = 2000


def _require(by, perm: str) -> None:
    """`by` None is the system (the delivery job, the demo seed)."""
    if by is not None and not by.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# ---------------------------------------------------------------- endpoints
def _endpoint_errors(data: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "url" in data:
        try:
            url_check(data["url"])
        except UrlRefused as exc:
            errors["url"] = [str(exc)]
    if "events" in data:
        events = data["events"]
        if not isinstance(events, list) or not events:
            errors["events"] = [_("Choose at least one event type.")]
        else:
            unknown = [str(e) for e in events if e not in EVENT_TYPES]
            if unknown:
                errors["events"] = [
                    _("Unknown event type: %(types)s. Choose among %(known)s.")
                    % {"types": ", ".join(unknown), "known": ", ".join(EVENT_TYPES)}
                ]
    return errors


@transaction.atomic
def endpoint_save(*, endpoint: WebhookEndpoint | None, by, **data) -> WebhookEndpoint:
    """Create (endpoint=None; `by` becomes its owner and a secret is made: read it from the answer,
    it is never shown again) or change an endpoint. Turning one back on clears why it was off: its
    pending deliveries are sent again from then."""
    unknown = set(data) - set(ENDPOINT_FIELDS)
    if unknown:
        raise TypeError(f"unknown endpoint fields: {sorted(unknown)}")
    creating = endpoint is None
    _require(by, "integrations.add_webhookendpoint" if creating else "integrations.change_webhookendpoint")
    if creating:
        for name in ("url", "events"):
            data.setdefault(name, None if name == "url" else [])
        endpoint = WebhookEndpoint(secret=new_secret(), owner=by)
    else:
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    errors = _endpoint_errors(data)
    if creating and not data.get("url"):
        errors["url"] = [_("Enter the URL the events are sent to.")]
    if errors:
        raise ValidationError(errors)
    if data.get("active") and not endpoint.active:
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
    for name, value in data.items():
        setattr(endpoint, name, value)
    if "events" in data:
        endpoint.events = sorted(set(endpoint.events), key=EVENT_TYPES.index)
    endpoint.full_clean(exclude=["secret", "owner"])
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, by) -> WebhookEndpoint:
    """A new secret; the old one keeps signing beside it for 24 hours, so the receiver can switch
    without losing an event. Returns the endpoint with the new secret (shown this once)."""
    _require(by, "integrations.change_webhookendpoint")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = timezone.now() + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, by) -> None:
    """Delete an endpoint and its delivery log (turn it off instead to keep the log)."""
    _require(by, "integrations.delete_webhookendpoint")
    endpoint.delete()


def endpoint_disable(*, endpoint_id: int, reason: str) -> None:
    """The product turns an endpoint off (410, or a delivery exhausted) and tells its owner by
    e-mail once the change commits (the administrators when it has no owner with an address)."""
    now = timezone.now()
    changed = WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
        active=False, disabled_at=now, disabled_reason=reason[:300], updated_at=now
    )
    if changed:
        transaction.on_commit(lambda: _tell_owner(endpoint_id))


def _tell_owner(endpoint_id: int) -> None:
    endpoint = WebhookEndpoint.objects.select_related("owner").get(pk=endpoint_id)
    subject = _("Webhook endpoint turned off: %(url)s") % {"url": endpoint.url}
    body = _(
        "The product stopped sending events to %(url)s: %(reason)s\n"
        "Its undelivered events wait. Once the receiver answers again, turn the endpoint back on "
        "(the webhook endpoints page, or PATCH active=true) and replay what failed."
    ) % {"url": endpoint.url, "reason": endpoint.disabled_reason}
    try:
        if endpoint.owner is not None and endpoint.owner.email:
            send_mail(subject, body, None, [endpoint.owner.email])
        else:
            mail_admins(subject, body)
    except OSError:  # the mail server is down: the page still shows why it is off
        logger.exception("could not tell the owner of webhook endpoint %s", endpoint_id)


# ---------------------------------------------------------------- fan-out
def _event_ids() -> list[int]:
    query = OutboxEvent.objects.undispatched().order_by("pk").values_list("pk", flat=True)
    if connection.features.has_select_for_update_skip_locked:
        # another fan-out takes the rows after these; SQLite runs one writer at a time anyway
        query = query.select_for_update(skip_locked=True)
    return list(query[:FAN_OUT_CHUNK])


def deliveries_fan_out(*, chunk_limit: int | None = None) -> int:
    """Make one pending delivery per undispatched outbox event and active endpoint that wants its
    type, and mark the events dispatched: per chunk of events one transaction, one INSERT ...
    SELECT per endpoint. Returns the number of events dispatched."""
    done, chunks = 0, 0
    table = WebhookDelivery._meta.db_table
    outbox = OutboxEvent._meta.db_table
    while chunk_limit is None or chunks < chunk_limit:
        with transaction.atomic():
            ids = _event_ids()
            if not ids:
                break
            now = timezone.now()
            at = connection.ops.adapt_datetimefield_value(now)
            endpoints = list(WebhookEndpoint.objects.filter(active=True).values_list("pk", "events"))
            id_marks = ", ".join(["%s"] * len(ids))
            with connection.cursor() as cursor:
                for endpoint_id, events in endpoints:
                    if not events:
                        continue
                    type_marks = ", ".join(["%s"] * len(events))
                    cursor.execute(
                        f"INSERT INTO {table} (endpoint_id, event_id, event_type, status, attempts, "  # nosec B608 - names from the models
                        "next_attempt_at, last_error, created_at, updated_at) "
                        f"SELECT %s, o.id, o.event_type, %s, 0, %s, '', %s, %s FROM {outbox} o "
                        f"WHERE o.id IN ({id_marks}) AND o.event_type IN ({type_marks})",
                        [endpoint_id, DeliveryStatus.PENDING, at, at, at, *ids, *events],
                    )
            OutboxEvent.objects.filter(pk__in=ids).update(dispatched_at=now)
        done += len(ids)
        chunks += 1
    return done


# ---------------------------------------------------------------- replays
@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery, by) -> WebhookDelivery:
    """Send a delivery again, whatever its state: a new round of the schedule, the same
    `webhook-id` (the receiver may have it already, and deduplicates). Its endpoint must be on."""
    _require(by, "integrations.change_webhookdelivery")
    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if not delivery.endpoint.active:
        raise ValidationError(
            {"endpoint": [_("This endpoint is turned off: turn it back on before replaying.")]}
        )
    now = timezone.now()
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, now
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    return delivery


@transaction.atomic
def deliveries_replay(*, by, since: dt.datetime, until: dt.datetime, endpoint=None, status=None) -> int:
    """Replay every delivery made in [since, until) (of one endpoint, of one status if given) in one
    UPDATE; deliveries of endpoints that are off are left. Returns how many."""
    _require(by, "integrations.change_webhookdelivery")
    if until <= since:
        raise ValidationError({"until": [_("The end must be after the start.")]})
    query = WebhookDelivery.objects.filter(created_at__gte=since, created_at__lt=until, endpoint__active=True)
    if endpoint is not None:
        query = query.filter(endpoint=endpoint)
    if status:
        query = query.filter(status=status)
    now = timezone.now()
    return WebhookDelivery.objects.filter(pk__in=query.values("pk")).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
