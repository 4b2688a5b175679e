"""REST endpoints of outage notices (api.md): `feeders/`, `outage-notices/` with publish, cancel,
deliveries and the acknowledgement of a call, `customers/{id}/outages/` and the call centre's
look-up by account number `call-centre/outages/`. Views translate HTTP to notices.services; the
scope is OutageNotice.objects.visible_to (the user's branches) and Delivery.objects.visible_to
(the customers in the user's scope): outside it, 404."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.common.fields import MAX_ID, ModelSerializer, PrimaryKeyRelatedField
from crm.common.permissions import ModelPermissions, model_permissions
from customers.models import Customer, Station, TransformerDistrict
from notices import services
from notices.models import Delivery, Feeder, NoticeKind, OutageNotice
from notices.selectors import outages_for_customer
from notices.topology import feeder_link, topology_import


# ---------------------------------------------------------------- feeders
class FeederSerializer(ModelSerializer):
    """A feeder with the transformer districts hanging on it and the customers on its dedicated
    lines (a district or a customer hangs on one feeder: naming it here moves it off another)."""

    transformer_districts = PrimaryKeyRelatedField(
        many=True, required=False, write_only=True, queryset=TransformerDistrict.objects.all()
    )
    dedicated_customers = PrimaryKeyRelatedField(
        many=True, required=False, write_only=True, queryset=Customer.objects.all()
    )

    class Meta:
        model = Feeder
        fields = [
            "id",
            "code",
            "name",
            "station",
            "substation",
            "transformer_districts",
            "dedicated_customers",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["transformer_districts"] = [
            link.transformer_district_id for link in instance.district_links.all()
        ]
        data["dedicated_customers"] = [line.customer_id for line in instance.dedicated_lines.all()]
        return data

    @transaction.atomic
    def create(self, validated_data):
        links = (
            validated_data.pop("transformer_districts", None),
            validated_data.pop("dedicated_customers", None),
        )
        feeder = Feeder.objects.create(**validated_data)
        feeder_link(feeder=feeder, districts=links[0], customers=links[1])
        return feeder

    @transaction.atomic
    def update(self, instance, validated_data):
        links = (
            validated_data.pop("transformer_districts", None),
            validated_data.pop("dedicated_customers", None),
        )
        feeder = super().update(instance, validated_data)
        feeder_link(feeder=feeder, districts=links[0], customers=links[1])
        return feeder


class ImportPermission(ModelPermissions):
    """The import adds and changes feeders: both permissions."""

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user and user.is_authenticated and user.has_perms(["notices.add_feeder", "notices.change_feeder"])
        )


class AcknowledgePermission(ModelPermissions):
    """Recording a 签收 changes the delivery: `change_delivery` (managers hold it)."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("notices.change_delivery"))


class FeederViewSet(viewsets.ModelViewSet):
    """The topology: reference data everyone reads, administrators edit (or import)."""

    serializer_class = FeederSerializer
    permission_classes = [ModelPermissions]
    queryset = Feeder.objects.prefetch_related("district_links", "dedicated_lines")
    filterset_fields = ["station"]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        responses={200: dict},
    )
    @action(detail=False, methods=["post"], url_path="import", permission_classes=[ImportPermission])
    def import_file(self, request):
        """The topology from a CSV/XLSX file with Chinese headers (线路编号, 线路名称, 供电所, 变电站,
        台区编号, 专线户号): all rows or none."""
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": [services._("Choose a file to upload.")]})
        return Response(topology_import(fileobj=upload, filename=upload.name))


# ---------------------------------------------------------------- notices
class OutageNoticeSerializer(ModelSerializer):
    feeders = PrimaryKeyRelatedField(
        many=True, required=False, queryset=Feeder.objects.select_related("station")
    )
    transformer_districts = PrimaryKeyRelatedField(
        many=True, required=False, queryset=TransformerDistrict.objects.select_related("station")
    )
    stations = PrimaryKeyRelatedField(many=True, required=False, queryset=Station.objects.all())

    class Meta:
        model = OutageNotice
        fields = [
            "id",
            "branch",
            "kind",
            "status",
            "starts_at",
            "ends_at",
            "reason",
            "feeders",
            "transformer_districts",
            "stations",
            "affected_count",
            "important_count",
            "reclassified_reason",
            "published_at",
            "cancelled_at",
            "revision",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "branch",
            "status",
            "affected_count",
            "important_count",
            "reclassified_reason",
            "published_at",
            "cancelled_at",
            "revision",
            "created_at",
            "updated_at",
        ]


class PublishSerializer(serializers.Serializer):
    reclassify_as_temporary = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class DeliverySerializer(ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    account_no = serializers.CharField(source="customer.account_no", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "customer",
            "account_no",
            "customer_name",
            "manager",
            "important",
            "channel",
            "status",
            "unreachable_reason",
            "due_at",
            "acknowledged_by",
            "acknowledged_at",
            "escalated_at",
            "escalated_to",
            "revision",
        ]
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer):
    acknowledged_by = serializers.CharField(max_length=100, help_text="the person at the customer")


class OutageNoticeViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Outage notices of the user's branches. A draft is edited with PUT/PATCH; a published one
    takes a new window with PATCH `starts_at`/`ends_at` (everyone told gets the update). There is
    no DELETE: a notice is cancelled (`cancel/`), and its record stays."""

    serializer_class = OutageNoticeSerializer
    permission_classes = [ModelPermissions]
    filterset_fields = ["status", "kind"]

    def get_queryset(self):
        return (
            OutageNotice.objects.visible_to(self.request.user)
            .prefetch_related("feeders", "transformer_districts", "stations")
            .order_by("-starts_at", "-id")
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.notice_create(
            kind=data.get("kind", ""),
            starts_at=data.get("starts_at"),
            ends_at=data.get("ends_at"),
            reason=data.get("reason", ""),
            feeders=data.get("feeders", []),
            transformer_districts=data.get("transformer_districts", []),
            stations=data.get("stations", []),
            by=self.request.user,
        )

    def perform_update(self, serializer):
        notice, data = serializer.instance, dict(serializer.validated_data)
        if notice.status == "published":
            if set(data) - {"starts_at", "ends_at"}:
                raise serializers.ValidationError(
                    {"non_field_errors": [services._("A published notice changes only its window.")]}
                )
            serializer.instance = services.notice_change_window(
                notice=notice,
                starts_at=data.get("starts_at", notice.starts_at),
                ends_at=data.get("ends_at", notice.ends_at),
                by=self.request.user,
            )
            return
        serializer.instance = services.notice_update(notice=notice, by=self.request.user, **data)

    def _answer(self, notice, code=status.HTTP_200_OK):
        notice = self.get_queryset().get(pk=notice.pk)
        return Response(
            OutageNoticeSerializer(notice, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(request=PublishSerializer, responses=OutageNoticeSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        notice = self.get_object()
        body = PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        notice = services.notice_publish(notice=notice, by=request.user, **body.validated_data)
        return self._answer(notice)

    @extend_schema(request=None, responses=OutageNoticeSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        notice = services.notice_cancel(notice=self.get_object(), by=request.user)
        return self._answer(notice)

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"], permission_classes=[model_permissions(Delivery)])
    def deliveries(self, request, pk=None):
        """The deliveries of the customers in the user's scope: two queries whatever their number
        (the page's rows with their customers, and the count)."""
        notice = self.get_object()
        rows = (
            Delivery.objects.visible_to(request.user)
            .filter(notice=notice)
            .select_related("customer")
            .order_by("-important", "customer__account_no", "pk")
        )
        status_filter = request.query_params.get("status")
        if status_filter:
            rows = rows.filter(status=status_filter)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=AcknowledgeSerializer, responses=DeliverySerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<customer>[0-9]{1,19})/acknowledge",
        permission_classes=[AcknowledgePermission],
    )
    def acknowledge(self, request, pk=None, customer=None):
        notice = self.get_object()
        if int(customer) > MAX_ID:
            raise Delivery.DoesNotExist
        delivery = get_object_or_404(
            Delivery.objects.visible_to(request.user), notice=notice, customer_id=customer
        )
        body = AcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        delivery = services.delivery_acknowledge(
            delivery=delivery, acknowledged_by=body.validated_data["acknowledged_by"], by=request.user
        )
        delivery = Delivery.objects.select_related("customer").get(pk=delivery.pk)
        return Response(DeliverySerializer(delivery).data)


# ---------------------------------------------------------------- the call centre
class OutageBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutageNotice
        fields = ["id", "kind", "status", "starts_at", "ends_at", "reason"]
        read_only_fields = fields


class CustomerOutagesView(APIView):
    """`customers/{id}/outages/`: published notices covering the customer, current or upcoming."""

    permission_classes = [model_permissions(OutageNotice)]

    @extend_schema(responses=OutageBriefSerializer(many=True), operation_id="customers_outages_list")
    def get(self, request, pk: int):
        if pk > MAX_ID:
            raise Customer.DoesNotExist
        customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
        notices = outages_for_customer(customer_id=customer.pk)
        return Response(OutageBriefSerializer(notices, many=True).data)


class OutageLookupSerializer(serializers.Serializer):
    account_no = serializers.CharField(max_length=30)


class OutageLookupAnswerSerializer(serializers.Serializer):
    """What call-centre/outages/ answers: the account found, and the notices covering it."""

    customer = serializers.IntegerField()
    account_no = serializers.CharField()
    name = serializers.CharField()
    outages = OutageBriefSerializer(many=True)


class CallCentreOutagesView(APIView):
    """`call-centre/outages/?account_no=`: for a 95598 operator, whether a published notice covers
    that account now or soon, without a ticket. An account outside the user's scope is not found."""

    permission_classes = [model_permissions(OutageNotice)]

    @extend_schema(
        parameters=[OpenApiParameter("account_no", str, required=True)],
        responses={
            200: OutageLookupAnswerSerializer,
            404: OpenApiResponse(description="No customer of that account number in the user's scope."),
        },
        operation_id="call_centre_outages_list",
    )
    def get(self, request):
        query = OutageLookupSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = get_object_or_404(
            Customer.objects.visible_to(request.user), account_no=query.validated_data["account_no"].strip()
        )
        notices = outages_for_customer(customer_id=customer.pk)
        return Response(
            {
                "customer": customer.pk,
                "account_no": customer.account_no,
                "name": customer.name,
                "outages": OutageBriefSerializer(notices, many=True).data,
            }
        )


NOTICE_KINDS = NoticeKind  # for the schema's enum names (crm.api)
