"""REST endpoints of the visit system (api.md): `visit-policies/`, `visit-tasks/` with
`visit-tasks/{id}/report/`, and `visit-runs/`. Views translate HTTP to service calls; the rules live
in visits.services, visits.reports and visits.generation, the scope in VisitTask.objects.visible_to."""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext as _
from django_filters import rest_framework as df
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.common.fields import ModelSerializer, PrimaryKeyRelatedField, ScopedPrimaryKeyRelatedField
from crm.common.filters import FilterSet, IdFilter
from crm.common.permissions import ModelPermissions, model_permissions
from crm.common.scopes import scope_for
from customers.models import Community, Customer, TransformerDistrict
from visits import generation, reports, services
from visits.models import (
    Department,
    FollowUp,
    FollowUpStatus,
    TaskStatus,
    VisitPhoto,
    VisitPolicy,
    VisitReport,
    VisitRun,
    VisitTask,
)

User = get_user_model()


# ---------------------------------------------------------------- policies
class VisitPolicySerializer(ModelSerializer):
    class Meta:
        model = VisitPolicy
        fields = ["id", "tier", "target", "frequency_months", "lead_days", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class VisitPolicyViewSet(viewsets.ModelViewSet):
    """The visit policy of each tier; administrators edit them, everyone may read them."""

    serializer_class = VisitPolicySerializer
    queryset = VisitPolicy.objects.order_by("tier")
    filterset_fields = ["tier", "target"]


# ---------------------------------------------------------------- tasks
class _ManagerField(PrimaryKeyRelatedField):
    """A manager's user id, within the caller's scope."""

    def get_queryset(self):
        scope = scope_for(self.context["request"].user)
        users = User.objects.filter(manager_profile__isnull=False)
        return users if scope.sees_all else users.filter(pk__in=scope.user_ids)


class VisitTaskSerializer(ModelSerializer):
    customer = ScopedPrimaryKeyRelatedField(queryset=Customer.objects.all(), required=False, allow_null=True)
    community = PrimaryKeyRelatedField(queryset=Community.objects.all(), required=False, allow_null=True)
    transformer_district = PrimaryKeyRelatedField(
        queryset=TransformerDistrict.objects.all(), required=False, allow_null=True
    )
    manager = _ManagerField(queryset=User.objects.all(), help_text="the manager's user id")
    target_name = serializers.SerializerMethodField()
    has_report = serializers.SerializerMethodField()

    class Meta:
        model = VisitTask
        fields = [
            "id",
            "kind",
            "customer",
            "community",
            "transformer_district",
            "target_name",
            "manager",
            "period",
            "due_date",
            "planned_on",
            "status",
            "cancel_reason",
            "note",
            "has_report",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {
            "period": {
                "required": False,
                "help_text": "first day of the month; defaults to the due date's month",
            },
            "kind": {"required": False},
            "planned_on": {
                "help_text": "the day the manager means to go, inside the period up to the due date; "
                "null clears it (the due date stays the deadline)",
            },
        }
        validators = []  # tasks made here are ad hoc, which are not unique per (target, kind, period)

    def get_target_name(self, task) -> str:
        return str(task.target)

    def get_has_report(self, task) -> bool:
        return task.status == TaskStatus.DONE

    def to_representation(self, task):
        # `status` answers as of now (a planned task past its due date is overdue before the nightly
        # job writes it): the live status the view's queryset annotates, re-read after a write.
        data = super().to_representation(task)
        data["status"] = getattr(task, "live_status", task.status)
        return data

    @staticmethod
    def _live(task):
        task.live_status = (
            VisitTask.objects.with_live_status().values_list("live_status", flat=True).get(pk=task.pk)
        )
        return task

    def validate(self, attrs):
        if self.instance is not None:
            for fixed in ("kind", "customer", "community", "transformer_district", "period"):
                if fixed in attrs and attrs[fixed] != getattr(self.instance, fixed):
                    raise serializers.ValidationError({fixed: [_("This cannot be changed once created.")]})
        # On create, visits.services.visit_task_create refuses any kind but ad hoc and a target
        # outside the caller's scope, on the field, before anything is written.
        return attrs

    def create(self, validated_data):
        validated_data.pop("status", None)
        validated_data.pop("cancel_reason", None)
        return self._live(services.visit_task_create(by=self.context["request"].user, **validated_data))

    def update(self, instance, validated_data):
        for fixed in ("kind", "customer", "community", "transformer_district", "period"):
            validated_data.pop(fixed, None)
        return self._live(
            services.visit_task_update(task=instance, by=self.context["request"].user, **validated_data)
        )


class VisitTaskFilter(FilterSet):
    manager = IdFilter(help_text="the manager's user id")
    customer = IdFilter()
    due_before = df.DateFilter(field_name="due_date", lookup_expr="lte", help_text="due on or before")
    due_after = df.DateFilter(field_name="due_date", lookup_expr="gte", help_text="due on or after")
    planned_before = df.DateFilter(
        field_name="planned_on", lookup_expr="lte", help_text="planned on or before"
    )
    planned_after = df.DateFilter(field_name="planned_on", lookup_expr="gte", help_text="planned on or after")
    status = df.ChoiceFilter(
        choices=TaskStatus.choices,
        method="filter_status",
        help_text="the status as of now: `overdue` includes planned tasks past their due date",
    )

    class Meta:
        model = VisitTask
        fields = [
            "manager",
            "status",
            "kind",
            "customer",
            "due_before",
            "due_after",
            "planned_before",
            "planned_after",
        ]

    def filter_status(self, queryset, name, value):
        return queryset.live_status_is(value)


class FollowUpSerializer(ModelSerializer):
    department = serializers.ChoiceField(choices=Department.choices)
    status = serializers.ChoiceField(choices=FollowUpStatus.choices, required=False)

    class Meta:
        model = FollowUp
        fields = ["id", "department", "action", "status", "closed_on"]


class CheckinSerializer(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)
    accuracy_m = serializers.FloatField(min_value=0, help_text="the phone's accuracy radius, metres")
    at = serializers.DateTimeField(help_text="when the phone took the position")


class ReportPhotoSerializer(ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = VisitPhoto
        fields = ["id", "url", "content_type", "size", "width", "height", "created_at"]
        read_only_fields = fields

    def get_url(self, photo) -> str:
        # the address of the view that checks the reader's scope, never the storage's own
        return reverse("visit-report-photo-file", kwargs={"pk": photo.report_id, "photo_id": photo.pk})


class VisitReportSerializer(ModelSerializer):
    follow_ups = FollowUpSerializer(many=True, required=False)
    client_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="an id made on the phone: sent again, it answers 200 with the report already made",
    )
    checkin = CheckinSerializer(required=False, allow_null=True, help_text="optional check-in position")
    photos = ReportPhotoSerializer(many=True, read_only=True)
    satisfaction = serializers.IntegerField(min_value=1, max_value=5)
    forecast_kwh_12m = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=0, required=False, allow_null=True
    )

    class Meta:
        model = VisitReport
        fields = [
            "id",
            "task",
            "visited_on",
            "channel",
            "people_met",
            "business_trend",
            "needs",
            "follow_ups",
            "satisfaction",
            "forecast_kwh_12m",
            "client_id",
            "checkin",
            "photos",
            "by",
            "created_at",
        ]
        read_only_fields = ["task", "by", "created_at"]

    def to_representation(self, report):
        data = super().to_representation(report)
        data["checkin"] = (
            {
                "lat": float(report.checkin_lat),
                "lon": float(report.checkin_lon),
                "accuracy_m": report.checkin_accuracy_m,
                "at": serializers.DateTimeField().to_representation(report.checkin_at),
            }
            if report.has_checkin
            else None
        )
        return data


class VisitTaskViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Visit tasks of the managers in the caller's scope. POST creates an ad hoc task; PATCH
    reschedules, hands over or cancels (with `cancel_reason`); posting the report marks it done."""

    serializer_class = VisitTaskSerializer
    filterset_class = VisitTaskFilter
    ordering_fields = ["due_date", "planned_on", "period", "status", "kind"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (
            VisitTask.objects.visible_to(self.request.user)
            .with_live_status()
            .select_related("customer", "community", "transformer_district")
            .order_by("due_date", "id")
        )

    @extend_schema(methods=["GET"], responses={200: VisitReportSerializer})
    @extend_schema(
        methods=["POST"],
        request=VisitReportSerializer,
        responses={201: VisitReportSerializer, 200: VisitReportSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=VisitReportSerializer,
        permission_classes=[model_permissions(VisitReport)],
        filterset_class=None,
    )
    def report(self, request, pk=None):
        task = self.get_object()
        if request.method == "GET":
            report = (
                VisitReport.objects.filter(task=task)
                .prefetch_related(Prefetch("follow_ups", queryset=FollowUp.objects.order_by("id")), "photos")
                .first()
            )
            if report is None:
                return Response(
                    {"detail": _("This visit has no report yet.")}, status=status.HTTP_404_NOT_FOUND
                )
            return Response(VisitReportSerializer(report, context=self.get_serializer_context()).data)
        serializer = VisitReportSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        report, made = reports.visit_report_submit_once(
            task=task, by=request.user, client_id=data.pop("client_id", None), **data
        )
        return Response(
            VisitReportSerializer(report, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED if made else status.HTTP_200_OK,
        )


# ---------------------------------------------------------------- runs
class VisitRunSerializer(ModelSerializer):
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = VisitRun
        fields = [
            "id",
            "job",
            "day",
            "status",
            "started_by",
            "started_at",
            "finished_at",
            "duration_seconds",
            "counts",
            "error",
            "created_at",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, run) -> float | None:
        return run.duration.total_seconds() if run.duration else None


class VisitRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs of the visit jobs. POST generates the visit tasks due today, in the background (202: the
    run to poll). Company-wide records: supervisors and administrators read them, account managers
    hold no `view_visitrun` and are answered 403 (crm/accounts/roles.py)."""

    serializer_class = VisitRunSerializer
    queryset = VisitRun.objects.order_by("-created_at", "-id")
    filterset_fields = ["job", "status"]
    permission_classes = [ModelPermissions]

    @extend_schema(request=None, responses={202: VisitRunSerializer})
    def create(self, request, *args, **kwargs):
        run = generation.visit_run_start(job=VisitRun.Job.GENERATE, by=request.user)
        run.refresh_from_db()
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)
