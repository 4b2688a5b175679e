"""REST endpoints of training: courses/, training-records/ and training-compliance/ (api.md).
Views translate HTTP to service calls; the rules live in training.services."""

import django_filters
from django import forms
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, viewsets

from crm.common.errors import Conflict
from crm.common.fields import MAX_ID, DateField, PrimaryKeyRelatedField, ScopedPrimaryKeyRelatedField
from crm.common.filters import FilterSet, YearFilter
from crm.common.schema import filter_bounds
from managers.models import Manager, Role
from training import services
from training.models import Category, Course, Session, TrainingRecord
from training.selectors import compliance, compliance_managers, in_team


# ---------------------------------------------------------------- courses
class CourseSerializer(serializers.ModelSerializer):
    required_for_roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices),
        required=False,
        help_text=gettext_lazy("The manager roles that must pass this course to be qualified."),
    )

    class Meta:
        model = Course
        fields = [
            "id",
            "code",
            "title",
            "category",
            "delivery",
            "hours",
            "pass_mark",
            "required_for_roles",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def create(self, validated_data):
        return services.course_save(course=None, by=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return services.course_save(course=instance, by=self.context["request"].user, **validated_data)


class CourseFilter(django_filters.FilterSet):
    required_for = django_filters.ChoiceFilter(
        field_name="requirements__role", choices=Role.choices, label=gettext_lazy("required for role")
    )

    class Meta:
        model = Course
        fields = ["category", "delivery", "code", "required_for"]


class CourseViewSet(viewsets.ModelViewSet):
    """Courses and the roles that must pass them. Changing `required_for_roles` requalifies the
    managers of the roles concerned at once."""

    serializer_class = CourseSerializer
    filterset_class = CourseFilter
    search_fields = ["code", "title"]
    ordering_fields = ["code", "title", "category"]

    def get_queryset(self):
        return Course.objects.prefetch_related("requirements").order_by("category", "code")

    def perform_destroy(self, instance):
        try:
            services.course_delete(course=instance, by=self.request.user)
        except ProtectedError as exc:
            raise Conflict(_("This course has sessions or training records and cannot be deleted.")) from exc


# ---------------------------------------------------------------- records
class TrainingRecordSerializer(serializers.ModelSerializer):
    # A manager outside the caller's scope is refused with the words used for an id that does not
    # exist, so the answer does not tell who exists elsewhere.
    manager = ScopedPrimaryKeyRelatedField(
        queryset=Manager.objects.all(), help_text=gettext_lazy("The manager's id (their user id).")
    )
    course = PrimaryKeyRelatedField(queryset=Course.objects.all())
    session = PrimaryKeyRelatedField(queryset=Session.objects.all(), required=False, allow_null=True)
    session_date = DateField(
        required=False, help_text=gettext_lazy("Defaults to the session's date when a session is given.")
    )
    hours = serializers.DecimalField(
        max_digits=5,
        decimal_places=1,
        min_value=0,
        required=False,
        help_text=gettext_lazy("Defaults to the course's hours."),
    )
    manager_name = serializers.CharField(source="manager.user.display_name", read_only=True)
    course_title = serializers.CharField(source="course.title", read_only=True)

    class Meta:
        model = TrainingRecord
        fields = [
            "id",
            "manager",
            "manager_name",
            "course",
            "course_title",
            "session",
            "session_date",
            "hours",
            "result",
            "score",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness (one record per manager, course and day) is checked by the service, which also
        # fills the date from the session.
        validators = []

    def validate(self, attrs):
        if self.instance is None and "session_date" not in attrs and not attrs.get("session"):
            raise serializers.ValidationError({"session_date": [_("Give the session date or the session.")]})
        return attrs

    def create(self, validated_data):
        return services.training_record_save(record=None, by=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return services.training_record_save(
            record=instance, by=self.context["request"].user, **validated_data
        )


class TrainingRecordFilter(FilterSet):
    year = YearFilter(field_name="session_date")
    category = django_filters.ChoiceFilter(field_name="course__category", choices=Category.choices)
    session_after = django_filters.DateFilter(field_name="session_date", lookup_expr="gte")
    session_before = django_filters.DateFilter(field_name="session_date", lookup_expr="lte")

    class Meta:
        model = TrainingRecord
        fields = [
            "manager",
            "course",
            "session",
            "result",
            "year",
            "category",
            "session_after",
            "session_before",
        ]


class TrainingRecordViewSet(viewsets.ModelViewSet):
    """Training records in the caller's scope: a manager sees their own, a supervisor their team's.
    Every write requalifies the manager concerned."""

    serializer_class = TrainingRecordSerializer
    filterset_class = TrainingRecordFilter
    search_fields = ["course__code", "course__title", "manager__employee_no", "manager__user__full_name"]
    ordering_fields = ["session_date", "score", "manager"]

    def get_queryset(self):
        return (
            TrainingRecord.objects.visible_to(self.request.user)
            .select_related("course", "manager__user")
            .order_by("-session_date", "-id")
        )

    def perform_destroy(self, instance):
        services.training_record_delete(record=instance, by=self.request.user)


# ---------------------------------------------------------------- compliance
class CourseRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()


class HoursSerializer(serializers.Serializer):
    basic = serializers.DecimalField(max_digits=8, decimal_places=1)
    professional = serializers.DecimalField(max_digits=8, decimal_places=1)
    skills = serializers.DecimalField(max_digits=8, decimal_places=1)


class ComplianceRowSerializer(serializers.Serializer):
    manager = serializers.IntegerField(source="manager.pk")
    employee_no = serializers.CharField(source="manager.employee_no")
    name = serializers.CharField(source="manager.name")
    role = serializers.ChoiceField(source="manager.role", choices=Role.choices)
    station = serializers.IntegerField(source="manager.station_id")
    station_name = serializers.CharField(source="manager.station.name")
    required = serializers.SerializerMethodField(help_text=gettext_lazy("Courses the role must pass."))
    passed = serializers.SerializerMethodField(
        help_text=gettext_lazy("Required courses passed by the end of the year.")
    )
    qualified = serializers.BooleanField(help_text=gettext_lazy("Every required course passed."))
    missing = CourseRefSerializer(many=True, help_text=gettext_lazy("Required courses not yet passed."))
    hours = HoursSerializer(help_text=gettext_lazy("Hours trained in the year, per course category."))
    hours_total = serializers.DecimalField(max_digits=8, decimal_places=1)

    def get_required(self, row) -> int:
        return len(row.required)

    def get_passed(self, row) -> int:
        return len(row.passed)


class _IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class ComplianceFilter(FilterSet):
    """The compliance report's query, of training-compliance/ and of the compliance page: which of
    the managers (compliance_managers) it covers, and the year (`report_year`, this year unless
    given). Documented by the view's parameters below."""

    year = _IntegerFilter(method="of_the_report", min_value=2000, max_value=2100)
    station = _IntegerFilter(field_name="station", min_value=1, max_value=MAX_ID)
    team = _IntegerFilter(method="in_team", min_value=1, max_value=MAX_ID)

    class Meta:
        model = Manager
        fields = ["year", "station", "team"]

    def of_the_report(self, managers, name, value):
        return managers  # the year is the report's, not a filter of the managers

    def in_team(self, managers, name, lead):
        """The team of a lead: their user id (the API), or the user chosen (the page)."""
        return in_team(managers, getattr(lead, "pk", lead))

    @property
    def report_year(self) -> int:
        self.form.is_valid()  # a value that does not validate is left out of cleaned_data
        return self.form.cleaned_data.get("year") or timezone.localdate().year


def _bounded(name: str) -> dict:
    return {"type": "integer", **filter_bounds(ComplianceFilter.base_filters[name])}


@extend_schema(
    parameters=[
        OpenApiParameter("year", _bounded("year"), description="Calendar year (default: this year)."),
        OpenApiParameter("station", _bounded("station"), description="Supply station id."),
        OpenApiParameter("team", _bounded("team"), description="A supervisor's user id: their whole team."),
    ]
)
class TrainingComplianceView(generics.ListAPIView):
    """Per manager in the caller's scope: required versus passed courses, hours per category in the
    year, whether qualified and what is missing."""

    serializer_class = ComplianceRowSerializer
    queryset = TrainingRecord.objects.none()  # for the model permission (view_trainingrecord) only
    filter_backends = []

    def list(self, request, *args, **kwargs):
        query = ComplianceFilter(
            request.query_params, queryset=compliance_managers(user=request.user), request=request
        )
        if not query.is_valid():
            raise translate_validation(query.errors)
        rows = compliance(user=request.user, year=query.report_year, managers=query.qs)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
