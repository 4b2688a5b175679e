"""REST endpoints of the customer base (api.md). Views translate HTTP to service calls; rules live in
services. Reference data (stations, communities, transformer districts) is readable by every user with
the view permission and written only with the model permission; customers, their contacts and their
consumption are narrowed to the user's scope (`visible_to`), and an object outside it answers 404."""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.common.fields import (
    ModelSerializer,
    PeriodField,
    PrimaryKeyRelatedField,
    ScopedPrimaryKeyRelatedField,
)
from crm.common.filters import FILTER_BACKENDS, BooleanFilter, FilterSet, IdFilter
from crm.common.parsers import DecimalJSONParser
from crm.common.permissions import ModelPermissions, model_permissions
from crm.common.replica import ReplicaListMixin
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
class StationSerializer(ModelSerializer):
    branch = PrimaryKeyRelatedField(queryset=Branch.objects.all())

    class Meta:
        model = Station
        fields = ["id", "code", "name", "branch", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class StationFilter(FilterSet):
    class Meta:
        model = Station
        fields = ["branch", "code"]


class ReferenceViewSet(viewsets.ModelViewSet):
    """A list of reference data (stations and territories): found by code or name, ordered by either."""

    filter_backends = FILTER_BACKENDS
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "created_at"]


class StationViewSet(ReferenceViewSet):
    """Supply stations (供电所). Deleting one still in use answers 409."""

    queryset = Station.objects.all()
    serializer_class = StationSerializer
    filterset_class = StationFilter


class TerritorySerializer(ModelSerializer):
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


class TerritoryFilter(FilterSet):
    class Meta:
        model = Community
        fields = ["station", "manager", "code"]


class CommunityViewSet(ReferenceViewSet):
    """Communities (社区) and the community manager serving each."""

    queryset = Community.objects.all()
    serializer_class = CommunitySerializer
    filterset_class = TerritoryFilter


class TransformerDistrictFilter(TerritoryFilter):
    class Meta:
        model = TransformerDistrict
        fields = ["station", "manager", "code", "transformer_code"]


class TransformerDistrictViewSet(CommunityViewSet):
    """Transformer districts (台区) and the transformer-district manager serving each."""

    queryset = TransformerDistrict.objects.all()
    serializer_class = TransformerDistrictSerializer
    filterset_class = TransformerDistrictFilter
    search_fields = ["code", "name", "transformer_code"]
    ordering_fields = ["code", "name", "rated_capacity_kva", "created_at"]


# ---------------------------------------------------------------- customers
class CustomerSerializer(ModelSerializer):
    station = PrimaryKeyRelatedField(queryset=Station.objects.all())
    community = PrimaryKeyRelatedField(queryset=Community.objects.all(), required=False, allow_null=True)
    transformer_district = PrimaryKeyRelatedField(
        queryset=TransformerDistrict.objects.all(), required=False, allow_null=True
    )
    latest_period = PeriodField(read_only=True, allow_null=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            *services.CUSTOMER_FIELDS,
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


class CustomerFilter(FilterSet):
    manager = IdFilter(help_text="The responsible manager's user id.")
    unassigned = BooleanFilter(
        field_name="manager", lookup_expr="isnull", help_text="true: customers without a manager."
    )

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
            "unassigned",
        ]


CUSTOMER_SEARCH_FIELDS = ["account_no", "name", "address"]
CUSTOMER_ORDERING_FIELDS = [
    "account_no",
    "name",
    "tier",
    "status",
    "annual_consumption_kwh",
    "contracted_capacity_kva",
    "voltage_kv",
    "created_at",
    "updated_at",
]


class ConsumptionSerializer(serializers.ModelSerializer):
    period = PeriodField(read_only=True)

    class Meta:
        model = ConsumptionRecord
        fields = ["period", "kwh", "amount_yuan", "max_demand_kw", "updated_at"]


class ContactSerializer(ModelSerializer):
    customer = ScopedPrimaryKeyRelatedField(queryset=Customer.objects.all())

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

    def save(self, **kwargs):
        instance = self.instance or Contact()
        for name, value in {**self.validated_data, **kwargs}.items():
            setattr(instance, name, value)
        self.instance = services.contact_save(contact=instance, by=self.context["request"].user)
        return self.instance


class CustomerContactSerializer(ContactSerializer):
    """A contact posted under `customers/{id}/contacts/`: the customer comes from the path."""

    customer = serializers.PrimaryKeyRelatedField(read_only=True)


class CustomerViewSet(ReplicaListMixin, viewsets.ModelViewSet):
    """Customers in the user's scope. A customer is closed (`status: closed`), never deleted: its
    consumption and history stay."""

    serializer_class = CustomerSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = CustomerFilter
    search_fields = CUSTOMER_SEARCH_FIELDS
    ordering_fields = CUSTOMER_ORDERING_FIELDS
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return Customer.objects.visible_to(self.request.user).order_by("account_no")

    @extend_schema(responses=ConsumptionSerializer(many=True), filters=False)
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        permission_classes=[ModelPermissions, model_permissions(ConsumptionRecord)],
    )
    def consumption(self, request, pk=None):
        """The customer's monthly consumption records, newest first."""
        customer = self.get_object()
        page = self.paginate_queryset(customer.consumption.order_by("-period"))
        return self.get_paginated_response(ConsumptionSerializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses=ContactSerializer(many=True), filters=False)
    @extend_schema(methods=["POST"], request=CustomerContactSerializer, responses={201: ContactSerializer})
    @action(
        detail=True,
        methods=["get", "post"],
        filter_backends=[],
        permission_classes=[model_permissions(Contact)],
    )
    def contacts(self, request, pk=None):
        """The customer's contacts; POST adds one."""
        customer = self.get_object()
        if request.method == "POST":
            serializer = CustomerContactSerializer(data=request.data, context=self.get_serializer_context())
            serializer.is_valid(raise_exception=True)
            contact = serializer.save(customer=customer)
            return Response(
                ContactSerializer(contact, context=self.get_serializer_context()).data, status=201
            )
        page = self.paginate_queryset(customer.contacts.order_by("-is_primary", "name", "pk"))
        return self.get_paginated_response(ContactSerializer(page, many=True).data)


class ContactFilter(FilterSet):
    class Meta:
        model = Contact
        fields = ["customer", "is_primary"]


class ContactViewSet(viewsets.ModelViewSet):
    """Contacts of the customers in the user's scope."""

    serializer_class = ContactSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ContactFilter
    search_fields = ["name", "title", "phone", "email"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self):
        return Contact.objects.visible_to(self.request.user)


# ---------------------------------------------------------------- consumption in bulk
# The schema of a row; the rows are read by customers.consumption.parse_decimal, whose docstring has
# the rules the help text sums up.
_NUMBER_HELP = (
    "a JSON number or a numeric string of at most 40 characters; at most 2 decimal places (a value "
    "that would be rounded is refused); thousands separators and fullwidth digits are read"
)


class ConsumptionRowSerializer(serializers.Serializer):
    account_no = serializers.CharField()
    period = serializers.CharField(help_text="YYYY-MM")
    kwh = serializers.DecimalField(max_digits=14, decimal_places=2, help_text=_NUMBER_HELP)
    amount_yuan = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, help_text=_NUMBER_HELP
    )
    max_demand_kw = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, help_text=_NUMBER_HELP
    )


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1 for the first row of the request")
    account_no = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text='{"field": ["message"]}'
    )


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    rejected = serializers.IntegerField()
    written = serializers.BooleanField(help_text="false: nothing was written")
    errors = RowErrorSerializer(many=True)


BulkRefusal = inline_serializer(
    name="ConsumptionBulkRefusal",
    fields={"non_field_errors": serializers.ListField(child=serializers.CharField())},
)
# A body that cannot be parsed at all (malformed JSON, a broken multipart form) answers DRF's {detail}.
BulkMalformed = inline_serializer(name="ConsumptionBulkMalformed", fields={"detail": serializers.CharField()})


class ConsumptionWritePermissions(ModelPermissions):
    """An upsert both adds and changes records."""

    perms_map = {
        **ModelPermissions.perms_map,
        "POST": ["%(app_label)s.add_%(model_name)s", "%(app_label)s.change_%(model_name)s"],
    }


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class ConsumptionBulkView(APIView):
    """Upsert many monthly records. All or nothing unless ?partial=true; every bad row is reported."""

    permission_classes = [ConsumptionWritePermissions]
    # a bare JSON number arrives as the Decimal it spells, for customers.consumption.parse_decimal to
    # judge (as a float, 1e-20000 was 0.0 and was stored over a real reading)
    parser_classes = [DecimalJSONParser, FormParser, MultiPartParser]
    queryset = ConsumptionRecord.objects.none()  # for the model permissions
    MAX_ROWS = 50000

    @extend_schema(
        request=ConsumptionRowSerializer(many=True, allow_empty=False, max_length=MAX_ROWS),
        parameters=[
            OpenApiParameter("partial", bool, description="true: write the good rows even if some are bad")
        ],
        responses={
            200: BulkResultSerializer,
            400: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="ConsumptionBulkError",
                    serializers=[BulkResultSerializer, BulkRefusal, BulkMalformed],
                    resource_type_field_name=None,
                ),
                description="Rows refused (nothing written unless partial), or a body that is not a "
                "non-empty list of rows.",
            ),
            413: OpenApiResponse(description="The body is larger than the server accepts."),
        },
    )
    def post(self, request):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge(_("The request is too large; send a file to imports/ instead."))
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
