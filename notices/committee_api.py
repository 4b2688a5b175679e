"""REST endpoints of the committee (api.md): `committees/` (a committee: `name`, `branch`,
`members`), `committee-meetings/` (`committee`, `held_on`, `place`, `attendees`, `minutes`, read
`agenda` on the detail) and `committee-meetings/{id}/needs/` (a need, answered as the service
request it opened). Scope: the committees of the user's branches; outside them, 404."""

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.common.fields import ModelSerializer, PrimaryKeyRelatedField, ScopedPrimaryKeyRelatedField
from crm.common.permissions import ModelPermissions
from customers.models import Branch, Contact, Customer
from notices import committee as services
from notices.models import Committee, CommitteeMember, Meeting, branches_of


class MemberSerializer(ModelSerializer):
    contact = PrimaryKeyRelatedField(queryset=Contact.objects.all(), required=False, allow_null=True)

    class Meta:
        model = CommitteeMember
        fields = ["id", "contact", "user", "role"]

    def validate(self, attrs):
        if bool(attrs.get("contact")) == bool(attrs.get("user")):
            raise serializers.ValidationError(
                {"contact": [services._("Give a customer's contact or a staff member.")]}
            )
        return attrs


class CommitteeSerializer(ModelSerializer):
    members = MemberSerializer(many=True, required=False)

    class Meta:
        model = Committee
        fields = ["id", "name", "branch", "members", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_branch(self, branch: Branch) -> Branch:
        branches = branches_of(self.context["request"].user)
        if branches is not None and branch.pk not in branches:
            raise serializers.ValidationError(services._("A committee of a branch you do not work in."))
        return branch

    def _members(self, committee, members):
        if members is None:
            return
        CommitteeMember.objects.filter(committee=committee).delete()
        CommitteeMember.objects.bulk_create([CommitteeMember(committee=committee, **m) for m in members])

    @transaction.atomic
    def create(self, validated_data):
        members = validated_data.pop("members", None)
        committee = Committee.objects.create(**validated_data)
        self._members(committee, members)
        return committee

    @transaction.atomic
    def update(self, instance, validated_data):
        members = validated_data.pop("members", None)
        committee = super().update(instance, validated_data)
        self._members(committee, members)
        return committee


class CommitteeViewSet(viewsets.ModelViewSet):
    serializer_class = CommitteeSerializer
    permission_classes = [ModelPermissions]

    def get_queryset(self):
        return (
            Committee.objects.visible_to(self.request.user)
            .prefetch_related("members")
            .order_by("branch", "name")
        )


class MeetingSerializer(ModelSerializer):
    committee = ScopedPrimaryKeyRelatedField(queryset=Committee.objects.all())

    class Meta:
        model = Meeting
        fields = [
            "id",
            "committee",
            "held_on",
            "place",
            "attendees",
            "minutes",
            "notified_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["notified_at", "created_at", "updated_at"]


def agenda_data(agenda: dict) -> dict:
    return {
        "outages": [
            {
                "id": n.pk,
                "kind": n.kind,
                "status": n.status,
                "starts_at": n.starts_at,
                "ends_at": n.ends_at,
                "reason": n.reason,
                "members_affected": n.members_affected,
            }
            for n in agenda["outages"]
        ],
        "open_requests": [
            {"id": r.pk, "number": r.number, "kind": r.kind, "customer": r.customer_id, "status": r.status}
            for r in agenda["open_requests"]
        ],
        "closed_late": [
            {"id": r.pk, "number": r.number, "customer": r.customer_id} for r in agenda["closed_late"]
        ],
        "consumption_trend": [
            {
                "customer": row["customer_id"],
                "name": row["customer__name"],
                "last_12_months_kwh": row["recent"],
                "previous_12_months_kwh": row["before"],
                "change_percent": row["change"],
            }
            for row in agenda["trend"]
        ],
        "previous_needs": [
            {
                "id": need.pk,
                "customer": need.customer_id,
                "description": need.description,
                "request": need.request_id,
                "request_number": need.request.number,
                "request_status": need.request.status,
            }
            for need in agenda["previous_needs"]
        ],
    }


class MeetingDetailSerializer(MeetingSerializer):
    agenda = serializers.SerializerMethodField()

    class Meta(MeetingSerializer.Meta):
        fields = [*MeetingSerializer.Meta.fields, "agenda"]

    @extend_schema(responses=dict)
    def get_agenda(self, meeting) -> dict:
        return agenda_data(services.meeting_agenda(meeting))


class NotifyAnswerSerializer(serializers.Serializer):
    texted = serializers.IntegerField(help_text="members sent the meeting notice")
    unreachable = serializers.IntegerField(help_text="members with no usable mainland mobile")


class NeedSerializer(serializers.Serializer):
    customer = PrimaryKeyRelatedField(queryset=Customer.objects.all())
    description = serializers.CharField()
    kind = serializers.CharField(max_length=30)
    subtype = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")


class MeetingViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [ModelPermissions]

    def get_queryset(self):
        return (
            Meeting.objects.visible_to(self.request.user)
            .select_related("committee")
            .order_by("-held_on", "-id")
        )

    def get_serializer_class(self):
        return MeetingDetailSerializer if self.action == "retrieve" else MeetingSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.meeting_create(
            committee=data["committee"],
            held_on=data.get("held_on"),
            place=data.get("place", ""),
            attendees=data.get("attendees", ""),
            by=self.request.user,
        )

    def perform_update(self, serializer):
        serializer.instance = services.meeting_record(
            meeting=serializer.instance, by=self.request.user, **serializer.validated_data
        )

    @extend_schema(request=None, responses={200: NotifyAnswerSerializer})
    @action(detail=True, methods=["post"])
    def notify(self, request, pk=None):
        """The meeting notice to the members by text message, once (a second time: 409)."""
        return Response(services.meeting_notify(meeting=self.get_object(), by=request.user))

    @extend_schema(request=NeedSerializer, responses={201: dict})
    @action(detail=True, methods=["post"])
    def needs(self, request, pk=None):
        """A need a member raised: answered as the service request it opened (201)."""
        from service.api import ServiceRequestSerializer, with_stages
        from service.models import ServiceRequest

        meeting = self.get_object()
        body = NeedSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        need = services.need_raise(meeting=meeting, by=request.user, **body.validated_data)
        opened = with_stages(ServiceRequest.objects.all()).get(pk=need.request_id)
        context = {**self.get_serializer_context(), "now": timezone.now()}
        return Response(
            ServiceRequestSerializer(opened, context=context).data, status=status.HTTP_201_CREATED
        )
