"""REST endpoints of one-stop service (api.md): `service-requests/` with its actions (advance,
wait-customer, resume, close, cancel, callback), `service-request-templates/` and the 95598 intake
`call-centre/tickets/`. Views translate HTTP to the services of service.services; the scope is
ServiceRequest.objects.visible_to, so a request outside it answers 404 on its detail and its actions.

Every answer that shows a request shows its `sla_state` (and its stages') as of the moment of the
answer (service.sla), one `now` for the whole answer so a list never mixes two instants."""

import datetime as dt

from django.db.models import F, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.common.errors import Conflict
from crm.common.fields import MAX_ID, ModelSerializer, PrimaryKeyRelatedField, ScopedPrimaryKeyRelatedField
from crm.common.filters import FILTER_BACKENDS
from crm.common.permissions import ModelPermissions, model_permissions
from customers.models import Customer, Station
from service import listing, services, sla
from service.filters import ServiceRequestFilter
from service.models import (
    OWNER,
    Callback,
    DepartmentKind,
    Kind,
    RequestStage,
    RequestTemplate,
    ServiceRequest,
    SlaState,
    Source,
    Subtype,
    Unit,
    Variant,
)

# What a manager (or the counter, or the online hall through its staff) opens by hand. A visit's
# follow-up opens its request from the visit report, a committee's need from the meeting, and the
# call centre posts tickets to call-centre/tickets/ with the ticket number that keeps them single.
HAND_SOURCES = [Source.MANAGER, Source.COUNTER, Source.ONLINE]
# A clock of the call centre's system a little ahead of ours is not a ticket from the future.
CLOCK_SKEW = dt.timedelta(minutes=1)

_SLA_FIELD = serializers.ChoiceField(choices=SlaState.choices, help_text="as of the answer")


# ---------------------------------------------------------------- requests
class ApplicantSerializer(serializers.Serializer):
    """Who applies for a new connection before they are a customer."""

    name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    capacity_kva = serializers.DecimalField(
        max_digits=10, decimal_places=1, min_value=0, required=False, allow_null=True, default=None
    )
    voltage_kv = serializers.DecimalField(
        max_digits=6, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
    )


class _ApplicantField(ApplicantSerializer):
    """The applicant of a request without a customer, read from the request's applicant columns."""

    def get_attribute(self, instance):
        if instance.customer_id is not None:
            return None
        return {
            "name": instance.applicant_name,
            "phone": instance.applicant_phone,
            "address": instance.applicant_address,
            "capacity_kva": instance.applicant_capacity_kva,
            "voltage_kv": instance.applicant_voltage_kv,
        }


def _state_now(clock, now: dt.datetime) -> str:
    return sla.sla_state_now(
        warn_at=clock.warn_at,
        due_at=clock.due_at,
        done_at=clock.done_at,
        waiting_since=clock.waiting_since,
        now=now,
    )


class ApplicantFieldSchema(OpenApiSerializerFieldExtension):
    """The applicant inline, as an object or null: behind a reference (`allOf`), `nullable` was lost
    on the way to OpenAPI 3.0 validators, which then refused the null of a customer's request."""

    target_class = "service.api._ApplicantField"

    def map_serializer_field(self, auto_schema, direction):
        return {**auto_schema._map_serializer(ApplicantSerializer(), direction), "nullable": True}


def _now(serializer) -> dt.datetime:
    context = serializer.context
    if "now" not in context:
        context["now"] = timezone.now()
    return context["now"]


class StageSerializer(ModelSerializer):
    department_name = serializers.SerializerMethodField()
    sla_state = serializers.SerializerMethodField()

    class Meta:
        model = RequestStage
        fields = [
            "position", "code", "name", "department_kind", "department", "department_name", "status",
            "limit", "unit", "started_at", "due_at", "done_at", "waiting_since", "wait_reason", "sla_state",
            "calendar_missing",
        ]  # fmt: skip
        read_only_fields = fields

    def get_department_name(self, stage) -> str:
        return getattr(stage, "department_name", None) or ""

    @extend_schema_field(_SLA_FIELD)
    def get_sla_state(self, stage) -> str:
        return _state_now(stage, _now(self))


class ServiceRequestSerializer(ModelSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    subtype = serializers.ChoiceField(choices=Subtype.choices, required=False, allow_blank=True, default="")
    source = serializers.ChoiceField(
        choices=Source.choices,
        default=Source.MANAGER,
        help_text="how the request reached the manager: `manager`, `counter` or `online` when opened here; "
        "95598 tickets come through call-centre/tickets/",
    )
    customer = ScopedPrimaryKeyRelatedField(
        queryset=Customer.objects.all(),
        required=False,
        allow_null=True,
        help_text="the customer's id; or give `applicant` for a new connection",
    )
    applicant = _ApplicantField(required=False, allow_null=True, default=None)
    party_name = serializers.SerializerMethodField(help_text="the customer's name, or the applicant's")
    station = PrimaryKeyRelatedField(
        queryset=Station.objects.all(),
        required=False,
        allow_null=True,
        help_text="the supply station: required for an applicant; a customer's own station otherwise",
    )
    stages = StageSerializer(many=True, read_only=True)
    sla_state = serializers.SerializerMethodField()

    class Meta:
        model = ServiceRequest
        fields = [
            "id", "number", "kind", "subtype", "source", "external_no", "customer", "applicant",
            "party_name", "station", "description", "owner", "status", "stages", "received_at", "due_at",
            "sla_state", "calendar_missing", "closed_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "number", "external_no", "owner", "status", "received_at", "due_at", "calendar_missing",
            "closed_at", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs = {"description": {"max_length": 4000}}

    def get_party_name(self, request) -> str:
        return getattr(request, "customer_name", None) or request.applicant_name

    @extend_schema_field(_SLA_FIELD)
    def get_sla_state(self, request) -> str:
        return _state_now(request, _now(self))

    def validate_source(self, source):
        if source not in HAND_SOURCES:
            raise serializers.ValidationError(
                _("A request opened here comes from the manager, the counter or online.")
            )
        return source

    def validate(self, attrs):
        if self.instance is not None:
            # A request's kind, party and station are what its stages and owner were made from;
            # only the description is the manager's to edit.
            fixed = (
                sorted(set(self.initial_data) - {"description"})
                if isinstance(self.initial_data, dict)
                else []
            )
            if fixed:
                message = _("Only the description can be changed once the request is open.")
                raise serializers.ValidationError({name: [message] for name in fixed})
        return attrs

    def create(self, validated_data):
        applicant = validated_data.pop("applicant", None)
        return services.request_open(
            by=self.context["request"].user,
            applicant=services.Applicant(**applicant) if applicant else None,
            **validated_data,
        )

    def update(self, instance, validated_data):
        if "description" in validated_data:
            instance.description = validated_data["description"]
            instance.save(update_fields=["description", "updated_at"])
        return instance


class AdvanceSerializer(serializers.Serializer):
    stage = serializers.CharField(max_length=30, help_text="the code of the active stage")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class CallbackSerializer(ModelSerializer):
    satisfaction = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True, default=None, help_text="1-5 when reached"
    )
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    request_status = serializers.CharField(
        source="request.status", read_only=True, help_text="open again after a satisfaction of 1 or 2"
    )

    class Meta:
        model = Callback
        fields = ["id", "reached", "satisfaction", "comment", "by", "request_status", "created_at"]
        read_only_fields = ["by", "created_at"]


def _holding(*perms: str) -> type[permissions.BasePermission]:
    """The caller holds every one of `perms` (an action's own, not the view's model permission)."""

    class _Holding(permissions.BasePermission):
        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    _Holding.__name__ = "Holding_" + "_".join(p.split(".")[1] for p in perms)
    return _Holding


WORK_STAGES = _holding("service.change_requeststage")
CARRY_REQUESTS = _holding("service.change_servicerequest")


def with_stages(queryset):
    """Requests with what their answer shows, in a fixed number of queries whatever their number."""
    # the two names an answer shows are annotated, not joined as whole rows: a customer row is wide,
    # and building 50 customers and departments per page doubled the list's time over its floor
    stages = RequestStage.objects.annotate(department_name=F("department__name")).order_by("position")
    return queryset.annotate(customer_name=F("customer__name")).prefetch_related(
        Prefetch("stages", queryset=stages)
    )


def requests_for(user):
    """The requests `user` may see, ready to answer."""
    return with_stages(ServiceRequest.objects.visible_to(user))


class ServiceRequestViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Service requests in the caller's scope (service.md): a manager's own and their team's, the
    requests with a stage of a staff user's department, all for administrators and integration
    clients. POST opens one (kind, customer or applicant; the owner and the stages follow from the
    rules); PATCH changes its description only. The actions answer the request as it now is;
    one the request's state does not allow answers 409."""

    serializer_class = ServiceRequestSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ServiceRequestFilter
    search_fields = ["number", "external_no", "customer__account_no", "customer__name", "applicant_name"]
    ordering_fields = ["received_at", "due_at", "number", "status", "kind"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return requests_for(self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def list(self, request, *args, **kwargs):
        # the same JSON as the serializer's, written by hand from values() (service/listing.py)
        found = self.filter_queryset(ServiceRequest.objects.visible_to(request.user))
        page = self.paginate_queryset(listing.listed(found))
        return self.get_paginated_response(listing.requests_listed(page, now=timezone.now()))

    def _answer(self, request_id: int, code: int = status.HTTP_200_OK) -> Response:
        fresh = requests_for(self.request.user).get(pk=request_id)
        return Response(self.get_serializer(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        opened = serializer.save()
        # An applicant's request goes to the manager the tiering rules give, maybe not the one who
        # entered it: they are still answered with what they made (its number, its owner), once.
        made = with_stages(ServiceRequest.objects.all()).get(pk=opened.pk)
        return Response(self.get_serializer(made).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return self._answer(serializer.instance.pk)

    @extend_schema(request=AdvanceSerializer, responses={200: ServiceRequestSerializer})
    @action(detail=True, methods=["post"], permission_classes=[WORK_STAGES], filterset_class=None)
    def advance(self, request, pk=None):
        """Complete the active stage (its department's staff, or the owner) and start the next."""
        target = self.get_object()
        body = AdvanceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.stage_advance(
            request=target,
            stage_code=body.validated_data["stage"],
            note=body.validated_data["note"],
            by=request.user,
        )
        return self._answer(target.pk)

    @extend_schema(request=ReasonSerializer, responses={200: ServiceRequestSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="wait-customer",
        permission_classes=[WORK_STAGES],
        filterset_class=None,
    )
    def wait_customer(self, request, pk=None):
        """Pause the active stage's clock (and the request's) for the customer, with a reason."""
        target = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.request_wait_customer(request=target, reason=body.validated_data["reason"], by=request.user)
        return self._answer(target.pk)

    @extend_schema(request=None, responses={200: ServiceRequestSerializer})
    @action(detail=True, methods=["post"], permission_classes=[WORK_STAGES], filterset_class=None)
    def resume(self, request, pk=None):
        """Resume the clock of the stage waiting for the customer."""
        target = self.get_object()
        services.request_resume(request=target, by=request.user)
        return self._answer(target.pk)

    @extend_schema(request=None, responses={200: ServiceRequestSerializer})
    @action(detail=True, methods=["post"], permission_classes=[CARRY_REQUESTS], filterset_class=None)
    def close(self, request, pk=None):
        """Close the request after its last stage (the owner, their supervisor or an administrator)."""
        target = self.get_object()
        services.request_close(request=target, by=request.user)
        return self._answer(target.pk)

    @extend_schema(request=ReasonSerializer, responses={200: ServiceRequestSerializer})
    @action(detail=True, methods=["post"], permission_classes=[CARRY_REQUESTS], filterset_class=None)
    def cancel(self, request, pk=None):
        """Cancel an open request, with a reason."""
        target = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.request_cancel(request=target, reason=body.validated_data["reason"], by=request.user)
        return self._answer(target.pk)

    @extend_schema(
        methods=["GET"], request=None, responses={200: CallbackSerializer(many=True)}, filters=False
    )
    @extend_schema(methods=["POST"], request=CallbackSerializer, responses={201: CallbackSerializer})
    @action(
        detail=True,
        methods=["get", "post"],
        permission_classes=[model_permissions(Callback)],
        filterset_class=None,
        pagination_class=None,
    )
    def callback(self, request, pk=None):
        """The callbacks (回访) of a closed request, newest first; POST records one. A satisfaction of
        1 or 2 reopens the request for the owner's supervisor."""
        target = self.get_object()
        if request.method == "GET":
            callbacks = Callback.objects.filter(request=target).select_related("request")
            return Response(CallbackSerializer(callbacks, many=True).data)
        body = CallbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        made = services.callback_record(request=target, by=request.user, **body.validated_data)
        made = Callback.objects.select_related("request").get(pk=made.pk)
        return Response(CallbackSerializer(made).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------- templates
# Who does a template's stage: a kind of department, or the request's owner (service.models.OWNER).
TEMPLATE_DEPARTMENT_KINDS = [*DepartmentKind.choices, (OWNER, gettext_lazy("The request's owner"))]


class TemplateStageSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=30)
    name = serializers.CharField(max_length=100)
    department_kind = serializers.ChoiceField(
        choices=TEMPLATE_DEPARTMENT_KINDS,
        help_text="the kind of department that does it, or `owner`: the account manager",
    )
    limit = serializers.IntegerField(min_value=1, max_value=100000)
    unit = serializers.ChoiceField(choices=Unit.choices)
    pauses_for_customer = serializers.BooleanField(default=False)


class RequestTemplateSerializer(ModelSerializer):
    subtype = serializers.ChoiceField(choices=Subtype.choices, required=False, allow_blank=True, default="")
    variant = serializers.ChoiceField(choices=Variant.choices, required=False, allow_blank=True, default="")
    stages = TemplateStageSerializer(many=True, allow_empty=False, max_length=30)
    total_limit = serializers.IntegerField(min_value=1, max_value=100000)

    class Meta:
        model = RequestTemplate
        fields = [
            "id", "kind", "subtype", "variant", "version", "effective_from", "stages", "total_limit",
            "total_unit", "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = ["version", "created_by", "created_at"]
        validators = []  # the version is the next one of the kind, given by template_create

    def create(self, validated_data):
        from service.templates_data import template_create

        return template_create(by=self.context["request"].user, **validated_data)


class RequestTemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The stages of each kind (and subtype, and variant), versioned: POST makes a new version from
    its effective date on (administrators); a running request keeps the version it started with."""

    serializer_class = RequestTemplateSerializer
    queryset = RequestTemplate.objects.all()
    filter_backends = FILTER_BACKENDS
    filterset_fields = ["kind", "subtype", "variant"]
    ordering_fields = ["kind", "version", "effective_from"]


# ---------------------------------------------------------------- the 95598 intake
@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 30}]})
class StationRefField(serializers.Field):
    """A station by its id (a number) or its code (a string), as the call centre's system knows it."""

    default_error_messages = {"does_not_exist": gettext_lazy("No station with this id or code.")}

    def to_internal_value(self, data):
        ref = self.reference(data)
        station = None
        if isinstance(ref, int):
            station = Station.objects.filter(pk=ref).first()
        elif ref is not None:
            station = Station.objects.filter(code=ref).first()
        if station is None:
            self.fail("does_not_exist")
        return station

    @staticmethod
    def reference(data) -> int | str | None:
        """An id or a code of the right shape, else None (no station can have it)."""
        if isinstance(data, int) and not isinstance(data, bool) and 0 < data <= MAX_ID:
            return data
        if isinstance(data, str) and 0 < len(data) <= 30:
            return data
        return None

    def to_representation(self, value):
        return value.code


class TicketSerializer(serializers.Serializer):
    ticket_no = serializers.CharField(max_length=40, help_text="the 95598 ticket number; unique")
    kind = serializers.ChoiceField(choices=Kind.choices)
    subtype = serializers.ChoiceField(choices=Subtype.choices, required=False, allow_blank=True, default="")
    account_no = serializers.CharField(
        max_length=30, required=False, allow_blank=True, default="", help_text="the customer's account number"
    )
    applicant = ApplicantSerializer(required=False, allow_null=True, default=None)
    station = StationRefField(
        required=False, allow_null=True, default=None, help_text="an applicant's station: id or code"
    )
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    received_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="default: now"
    )

    def validate_received_at(self, value):
        if value is not None and value > timezone.now() + CLOCK_SKEW:
            raise serializers.ValidationError(_("The ticket cannot be received in the future."))
        return value

    def validate(self, attrs):
        account_no = self.party_given(attrs)
        if account_no:
            user = self.context["request"].user
            customer = Customer.objects.visible_to(user).filter(account_no=account_no).first()
            if customer is None:
                raise serializers.ValidationError(
                    {"account_no": [_("No customer with this account number.")]}
                )
            attrs["customer"] = customer
        return attrs

    @staticmethod
    def party_given(attrs) -> str:
        """The account number given (stripped), or an applicant with their station: else 400."""
        account_no = attrs["account_no"].strip()
        if account_no:
            return account_no
        if attrs["applicant"] is None:
            raise serializers.ValidationError(
                {"account_no": [_("Give the customer's account number, or an applicant.")]}
            )
        if attrs["station"] is None:
            raise serializers.ValidationError({"station": [_("Give the applicant's supply station.")]})
        return ""


class CallCentreTicketView(APIView):
    """A 95598 ticket from the call centre's system (an integration client's token): opens the
    service request (201), or answers the request the same ticket number opened before (200), never
    a second one. The call centre reads progress back through service-requests/?external_no= and the
    callback through service-requests/{id}/callback/."""

    permission_classes = [ModelPermissions]
    queryset = ServiceRequest.objects.none()  # for the model permissions: POST needs add_servicerequest

    @extend_schema(
        request=TicketSerializer,
        responses={201: ServiceRequestSerializer, 200: ServiceRequestSerializer},
        operation_id="call_centre_tickets_create",
    )
    def post(self, request):
        body = TicketSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        ticket_no = data["ticket_no"].strip()
        existing = self._existing(ticket_no)
        if existing is not None:
            return existing
        applicant = data["applicant"]
        # request_open answers the request a ticket number made before, also when two posts of it
        # race (the unique external number decides, the loser re-reads): `created` says which.
        opened = services.request_open(
            kind=data["kind"],
            subtype=data["subtype"],
            source=Source.CALL_CENTRE,
            external_no=ticket_no,
            by=request.user,
            customer=data.get("customer"),
            applicant=services.Applicant(**applicant) if applicant else None,
            station=None if data.get("customer") else data["station"],
            description=data["description"],
            received_at=data["received_at"] or timezone.now(),
        )
        if not opened.created:
            return self._existing(ticket_no)
        return self._answer(opened.pk, status.HTTP_201_CREATED)

    def _existing(self, ticket_no: str) -> Response | None:
        found = ServiceRequest.objects.filter(external_no=ticket_no).values_list("pk", flat=True).first()
        if found is None:
            return None
        if not requests_for(self.request.user).filter(pk=found).exists():
            raise Conflict(_("This ticket number belongs to another request."))
        return self._answer(found)

    def _answer(self, request_id: int, code: int = status.HTTP_200_OK) -> Response:
        fresh = requests_for(self.request.user).get(pk=request_id)
        context = {"request": self.request, "now": timezone.now()}
        return Response(ServiceRequestSerializer(fresh, context=context).data, status=code)
