"""REST endpoints of tiering: policy versions, classification runs, a customer's tier history and
pinning its tier. Views translate HTTP to service calls; the rules live in the services."""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.common.fields import DateField, ModelSerializer
from customers.models import ClassificationRun, Customer, Tier, TierChange, TierPolicy
from customers.tiering.classification import classification_run_start
from customers.tiering.rules import explain_change
from customers.tiering.services import (
    POLICY_FIELDS,
    can_pin,
    customer_pin_tier,
    customer_unpin_tier,
    tier_policy_create,
)


class CanViewCustomers(BasePermission):
    """A customer's tier history is part of the customer: whoever may read customers may read it
    (for the customers in their scope)."""

    def has_permission(self, request, view):
        return request.user.has_perm("customers.view_customer")


class SupervisorOrAdministrator(BasePermission):
    """Pinning a tier is for supervisors and administrators (domain.md, "Pinning")."""

    def has_permission(self, request, view):
        return can_pin(request.user)


# ---------------------------------------------------------------- policies
KWH_THRESHOLD_MAX = Decimal("9999999999999.99")


class TierPolicySerializer(ModelSerializer):  # ours: its dates are crm.common.fields.DateField
    class Meta:
        model = TierPolicy
        fields = ["id", "version", *POLICY_FIELDS, "created_by", "created_at"]
        read_only_fields = ["version", "created_by", "created_at"]
        # SQLite stores a decimal as a double (15 significant digits): a 16-digit kWh threshold came
        # back rounded past max_digits, a 500 on reading it (found by schemathesis). No threshold comes
        # near 10^13 kWh a year; the bound holds on PostgreSQL too and the schema declares it.
        # Thresholds are not negative (the table's check constraint says so too, but in words that name
        # the constraint, not the field).
        extra_kwargs = {
            "vip_kwh": {"min_value": 0, "max_value": KWH_THRESHOLD_MAX},
            "key_kwh": {"min_value": 0, "max_value": KWH_THRESHOLD_MAX},
            "vip_voltage_kv": {"min_value": 0},
            "key_voltage_kv": {"min_value": 0},
            "key_capacity_kva": {"min_value": 0},
            "hysteresis_pct": {"min_value": 0},
        }

    def create(self, validated_data):
        return tier_policy_create(by=self.context["request"].user, **validated_data)


class TierPolicyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Versions of the tiering thresholds; the newest one effective on a day applies. Administrators
    add versions; a version is never edited once saved."""

    queryset = TierPolicy.objects.select_related("created_by")
    serializer_class = TierPolicySerializer
    filterset_fields = ["version"]
    ordering_fields = ["version", "effective_from"]


# ---------------------------------------------------------------- runs and changes
class TierChangeSerializer(serializers.ModelSerializer):
    policy_version = serializers.IntegerField(source="policy.version", read_only=True, allow_null=True)
    explanation = serializers.SerializerMethodField(help_text="Why, in plain words.")

    class Meta:
        model = TierChange
        fields = [
            "id",
            "customer",
            "old_tier",
            "new_tier",
            "rule",
            "explanation",
            "measures",
            "policy",
            "policy_version",
            "run",
            "at",
            "by",
            "note",
        ]
        read_only_fields = fields

    def get_explanation(self, change) -> str:
        return explain_change(change)


class ClassificationRunSerializer(serializers.ModelSerializer):
    policy_version = serializers.IntegerField(source="policy.version", read_only=True, allow_null=True)
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = ClassificationRun
        fields = [
            "id",
            "status",
            "trigger",
            "started_by",
            "policy",
            "policy_version",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "examined",
            "total",  # the active customers it examines, counted as it starts (null while queued)
            "changed",
            "pinned",
            "released",
            "transitions",
            "reassignment",
            "last_pk",
            "max_pk",
            "error",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, run) -> float | None:
        return run.duration.total_seconds() if run.duration is not None else None


class ClassificationRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reclassification runs: POST starts one (202, the run to poll); a run already waiting is
    returned instead of a second one, and two runs never overlap."""

    queryset = ClassificationRun.objects.select_related("policy")
    serializer_class = ClassificationRunSerializer
    filterset_fields = ["status", "trigger"]
    ordering_fields = ["created_at", "started_at"]

    @extend_schema(request=None, responses={202: ClassificationRunSerializer})
    def create(self, request):
        run, _created = classification_run_start(trigger=ClassificationRun.Trigger.MANUAL, by=request.user)
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=TierChangeSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=TierChangeSerializer)
    def changes(self, request, pk=None):
        """The tier changes this run recorded, for the customers in the caller's scope."""
        run = self.get_object()
        changes = (
            TierChange.objects.visible_to(request.user)
            .filter(run=run)
            .select_related("policy", "by")
            .order_by("customer_id")
        )
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(TierChangeSerializer(page, many=True).data)


# ---------------------------------------------------------------- one customer's tier
class TierHistoryView(generics.ListAPIView):
    """customers/{id}/tier-history/: old, new, rule, measures, policy version, run, at; newest first."""

    serializer_class = TierChangeSerializer
    permission_classes = [IsAuthenticated, CanViewCustomers]
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TierChange.objects.none()
        customer = get_object_or_404(Customer.objects.visible_to(self.request.user), pk=self.kwargs["pk"])
        return customer.tier_changes.select_related("policy", "by")


class PinSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices)
    reason = serializers.CharField(max_length=300)
    until = DateField(required=False, allow_null=True)


class PinStateSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="pk", read_only=True)
    reason = serializers.CharField(source="tier_pin_reason", read_only=True)
    until = DateField(source="tier_pinned_until", read_only=True, allow_null=True)
    pinned_by = serializers.PrimaryKeyRelatedField(source="tier_pinned_by", read_only=True, allow_null=True)

    class Meta:
        model = Customer
        fields = ["customer", "tier", "tier_pinned", "reason", "until", "pinned_by"]
        read_only_fields = fields


class PinTierView(APIView):
    """customers/{id}/pin-tier/: POST pins a tier with a reason and an optional end date (inclusive);
    DELETE releases the pin. Supervisors (for their team's customers) and administrators."""

    permission_classes = [IsAuthenticated, SupervisorOrAdministrator]

    def _customer(self, request, pk) -> Customer:
        return get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)

    @extend_schema(request=PinSerializer, responses={200: PinStateSerializer})
    def post(self, request, pk):
        customer = self._customer(request, pk)
        data = PinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer_pin_tier(
            customer=customer,
            tier=data.validated_data["tier"],
            reason=data.validated_data["reason"],
            until=data.validated_data.get("until"),
            by=request.user,
        )
        return Response(PinStateSerializer(customer).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk):
        customer_unpin_tier(customer=self._customer(request, pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
