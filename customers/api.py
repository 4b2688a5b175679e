"""REST endpoints of the customer base. Views translate HTTP to service calls; rules live in services."""

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.common.permissions import ModelPermissions
from customers import services
from customers.consumption import consumption_upsert
from customers.models import (
    Branch,
    Community,
    ConsumptionRecord,
    Contact,
    Customer,
    Station,
    TransformerDistrict,
)
from customers.territories import territory_save


# ---------------------------------------------------------------- territories
class StationSerializer(serializers.ModelSerializer):
    branch = serializers.PrimaryKeyRelatedField(queryset=Branch.objects.all())

    class Meta:
        model = Station
        fields = ["id", "code", "name", "branch", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class StationViewSet(viewsets.ModelViewSet):
    queryset = Station.objects.select_related("branch")
    serializer_class = StationSerializer
    filterset_fields = ["branch", "code"]
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name"]


class TerritorySerializer(serializers.ModelSerializer):
    def save(self, **kwargs):
        instance = self.instance or self.Meta.model()
        for name, value in {**self.validated_data, **kwargs}.items():
            setattr(instance, name, value)
        self.instance = territory_save(territory=instance, by=self.context["request"].user)
        return self.instance


class CommunitySerializer(TerritorySerializer):
    class Meta:
        model = Community
        fields = ["id", "code", "name", "station", "manager", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class TransformerDistrictSerializer(TerritorySerializer):
    class Meta:
        model = TransformerDistrict
        fields = [
            "id",
            "code",
            "name",
            "station",
            "transformer_code",
            "rated_capacity_kva",
            "manager",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class CommunityViewSet(viewsets.ModelViewSet):
    queryset = Community.objects.all()
    serializer_class = CommunitySerializer
    filterset_fields = ["station", "manager", "code"]
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name"]


class TransformerDistrictViewSet(CommunityViewSet):
    queryset = TransformerDistrict.objects.all()
    serializer_class = TransformerDistrictSerializer
    search_fields = ["code", "name", "transformer_code"]


# ---------------------------------------------------------------- customers
class CustomerSerializer(serializers.ModelSerializer):
    station = serializers.PrimaryKeyRelatedField(queryset=Station.objects.all())
    community = serializers.PrimaryKeyRelatedField(
        queryset=Community.objects.all(), required=False, allow_null=True
    )
    transformer_district = serializers.PrimaryKeyRelatedField(
        queryset=TransformerDistrict.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "account_no",
            "name",
            "category",
            "industry_code",
            "voltage_kv",
            "contracted_capacity_kva",
            "importance",
            "station",
            "community",
            "transformer_district",
            "address",
            "status",
            "tier",
            "tier_pinned",
            "manager",
            "annual_consumption_kwh",
            "latest_period",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "tier",
            "tier_pinned",
            "manager",
            "annual_consumption_kwh",
            "latest_period",
            "created_at",
            "updated_at",
        ]

    def create(self, validated_data):
        return services.customer_create(by=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return services.customer_update(customer=instance, by=self.context["request"].user, **validated_data)


class CustomerFilter(django_filters.FilterSet):
    class Meta:
        model = Customer
        fields = [
            "tier",
            "manager",
            "station",
            "community",
            "transformer_district",
            "category",
            "importance",
            "status",
            "tier_pinned",
            "account_no",
        ]


class ConsumptionSerializer(serializers.ModelSerializer):
    period = serializers.DateField(format="%Y-%m", read_only=True)

    class Meta:
        model = ConsumptionRecord
        fields = ["period", "kwh", "amount_yuan", "max_demand_kw", "updated_at"]


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "customer",
            "name",
            "title",
            "phone",
            "email",
            "is_primary",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_customer(self, customer):
        # A contact can only be added to a customer the user can see.
        if not Customer.objects.visible_to(self.context["request"].user).filter(pk=customer.pk).exists():
            raise serializers.ValidationError(_("No customer with this id."))
        return customer

    def save(self, **kwargs):
        instance = self.instance or Contact()
        for name, value in {**self.validated_data, **kwargs}.items():
            setattr(instance, name, value)
        self.instance = services.contact_save(contact=instance, by=self.context["request"].user)
        return self.instance


class CustomerViewSet(viewsets.ModelViewSet):
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    search_fields = ["account_no", "name", "address"]
    ordering_fields = [
        "account_no",
        "name",
        "annual_consumption_kwh",
        "contracted_capacity_kva",
        "created_at",
    ]
    http_method_names = [
        "get",
        "post",
        "put",
        "patch",
        "head",
        "options",
    ]  # customers are closed, not deleted

    def get_queryset(self):
        return Customer.objects.visible_to(self.request.user).order_by("account_no")

    @extend_schema(responses=ConsumptionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def consumption(self, request, pk=None):
        customer = self.get_object()
        records = customer.consumption.order_by("-period")
        return Response(ConsumptionSerializer(records, many=True).data)

    @extend_schema(responses=ContactSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def contacts(self, request, pk=None):
        customer = self.get_object()
        return Response(ContactSerializer(customer.contacts.all(), many=True).data)


class ContactViewSet(viewsets.ModelViewSet):
    serializer_class = ContactSerializer
    filterset_fields = ["customer", "is_primary"]
    search_fields = ["name", "phone"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return Contact.objects.visible_to(self.request.user)


# ---------------------------------------------------------------- consumption in bulk
class ConsumptionRowSerializer(serializers.Serializer):
    account_no = serializers.CharField()
    period = serializers.CharField(help_text="YYYY-MM")
    kwh = serializers.DecimalField(max_digits=14, decimal_places=2)
    amount_yuan = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    max_demand_kw = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)


BulkResultSerializer = inline_serializer(
    name="ConsumptionBulkResult",
    fields={
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "written": serializers.BooleanField(),
        "errors": serializers.ListField(child=serializers.DictField()),
    },
)


class ConsumptionBulkView(APIView):
    """Upsert many monthly records. All or nothing unless ?partial=true; every bad row is reported."""

    permission_classes = [ModelPermissions]
    queryset = ConsumptionRecord.objects.none()  # for ModelPermissions: needs add_consumptionrecord
    MAX_ROWS = 50000

    @extend_schema(
        request=ConsumptionRowSerializer(many=True),
        parameters=[
            OpenApiParameter("partial", bool, description="write the good rows even if some are bad")
        ],
        responses={200: BulkResultSerializer, 400: BulkResultSerializer},
    )
    def post(self, request):
        rows = request.data.get("rows") if isinstance(request.data, dict) else request.data
        if not isinstance(rows, list) or not rows:
            return Response({"non_field_errors": [_("Send a non-empty JSON list of rows.")]}, status=400)
        if len(rows) > self.MAX_ROWS:
            return Response(
                {
                    "non_field_errors": [
                        _("At most %(n)s rows per request; send a file to imports/ for more.")
                        % {"n": self.MAX_ROWS}
                    ]
                },
                status=400,
            )
        partial = request.query_params.get("partial", "").lower() in {"1", "true", "yes"}
        result = consumption_upsert(
            rows=rows, customers=Customer.objects.visible_to(request.user), partial=partial
        )
        body = {
            "created": result.created,
            "updated": result.updated,
            "rejected": result.rejected,
            "written": result.written,
            "errors": result.errors,
        }
        code = status.HTTP_400_BAD_REQUEST if result.errors and not partial else status.HTTP_200_OK
        return Response(body, status=code)
