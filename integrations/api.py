"""REST endpoints of the webhooks (api.md: `webhook-endpoints/`, `webhook-deliveries/`), for
administrators only (the `integrations` permissions only they hold). The secret is in the answer to
create and to `rotate-secret/` and never again. Every write is integrations.services'."""

from django_filters import ChoiceFilter, IsoDateTimeFilter
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.common.fields import ModelSerializer, PrimaryKeyRelatedField
from crm.common.filters import FILTER_BACKENDS, FilterSet, IdFilter
from crm.common.outbox import EVENT_TYPES
from integrations.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.services import (
    deliveries_replay,
    delivery_replay,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_save,
)

ID = r"[0-9]{1,18}"


def _holding(*perms: str) -> type[permissions.BasePermission]:
    class _Holding(permissions.BasePermission):
        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    return _Holding


CHANGE_ENDPOINTS = _holding("integrations.change_webhookendpoint")
CHANGE_DELIVERIES = _holding("integrations.view_webhookdelivery", "integrations.change_webhookdelivery")


# ---------------------------------------------------------------- endpoints
class WebhookEndpointSerializer(ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        allow_empty=False,
        max_length=len(EVENT_TYPES),
        help_text="The event types sent to this endpoint.",
    )
    url = serializers.CharField(max_length=500, help_text="http(s); never a private address (SSRF guard).")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "active",
            "description",
            "owner",
            "disabled_at",
            "disabled_reason",
            "previous_secret_until",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "owner",
            "disabled_at",
            "disabled_reason",
            "previous_secret_until",
            "created_at",
            "updated_at",
        ]

    def create(self, validated_data):
        return endpoint_save(endpoint=None, by=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return endpoint_save(endpoint=instance, by=self.context["request"].user, **validated_data)


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="whsec_...: shown this once, keep it.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointViewSet(viewsets.ModelViewSet):
    """Receivers of the events (Standard Webhooks). The `secret` is in the answer to create and to
    `rotate-secret/` only. An endpoint the product turned off (410, a delivery exhausted) says why in
    `disabled_reason`; PATCH `active: true` turns it back on."""

    serializer_class = WebhookEndpointSerializer
    filter_backends = FILTER_BACKENDS
    filterset_fields = ["active"]
    search_fields = ["url", "description"]
    ordering_fields = ["url", "created_at"]
    lookup_value_regex = ID

    def get_queryset(self):
        return WebhookEndpoint.objects.order_by("url", "pk")

    def get_serializer_class(self):
        return WebhookEndpointWithSecretSerializer if self.action == "create" else WebhookEndpointSerializer

    def perform_destroy(self, instance):
        endpoint_delete(endpoint=instance, by=self.request.user)

    @extend_schema(request=None, responses={200: WebhookEndpointWithSecretSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="rotate-secret",
        permission_classes=[CHANGE_ENDPOINTS],
        filterset_fields=None,
    )
    def rotate_secret(self, request, pk=None):
        """A new secret (in this answer only); the old one signs beside it for 24 hours."""
        endpoint = endpoint_rotate_secret(endpoint=self.get_object(), by=request.user)
        return Response(WebhookEndpointWithSecretSerializer(endpoint, context={"request": request}).data)


# ---------------------------------------------------------------- deliveries
class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["at", "status_code", "error", "duration_ms"]


class WebhookDeliverySerializer(ModelSerializer):
    event_id = serializers.SerializerMethodField(help_text="the `webhook-id` of every try")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_type",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_event_id(self, delivery) -> str:
        return f"msg_{delivery.event.uid.hex}"


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    tries = serializers.SerializerMethodField(help_text="every try, newest first")
    payload = serializers.SerializerMethodField()

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "payload", "tries"]
        read_only_fields = fields

    def get_payload(self, delivery) -> dict:
        return delivery.event.payload

    def get_tries(self, delivery) -> list[dict]:
        return DeliveryAttemptSerializer(delivery.tries.all()[:50], many=True).data


class DeliveryFilter(FilterSet):
    endpoint = IdFilter(help_text="the endpoint's id")
    event_type = ChoiceFilter(choices=[(t, t) for t in EVENT_TYPES])
    status = ChoiceFilter(choices=DeliveryStatus.choices)
    since = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="made at or after")
    until = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", help_text="made before")

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "event_type", "status", "since", "until"]


class ReplayRangeSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    endpoint = PrimaryKeyRelatedField(queryset=WebhookEndpoint.objects.all(), required=False, allow_null=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)


class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The delivery log: one row per event and endpoint, with its tries (detail). `replay/` sends one
    again; `webhook-deliveries/replay/` all of a time range (of an endpoint, of a status)."""

    filter_backends = FILTER_BACKENDS
    filterset_class = DeliveryFilter
    ordering_fields = ["created_at", "next_attempt_at"]
    lookup_value_regex = ID

    def get_queryset(self):
        return WebhookDelivery.objects.select_related("event").order_by("-created_at", "-pk")

    def get_serializer_class(self):
        return WebhookDeliveryDetailSerializer if self.action == "retrieve" else WebhookDeliverySerializer

    @extend_schema(request=None, responses={200: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], permission_classes=[CHANGE_DELIVERIES], filterset_class=None)
    def replay(self, request, pk=None):
        """Send it again (a new round of tries, the same `webhook-id`)."""
        delivery = delivery_replay(delivery=self.get_object(), by=request.user)
        delivery = self.get_queryset().get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery, context={"request": request}).data)

    @extend_schema(
        operation_id="webhook_deliveries_replay_range",
        request=ReplayRangeSerializer,
        responses={202: inline_serializer("ReplayRangeAnswer", {"replayed": serializers.IntegerField()})},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="replay",
        permission_classes=[CHANGE_DELIVERIES],
        filterset_class=None,
    )
    def replay_range(self, request):
        """Send again every delivery made in [since, until)."""
        body = ReplayRangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        count = deliveries_replay(by=request.user, **body.validated_data)
        return Response({"replayed": count}, status=status.HTTP_202_ACCEPTED)
