"""REST endpoints of the manager organization: manager profiles, their portfolios, and the history of
who served which customer (api.md: `managers/`, `managers/{id}/portfolio/`, `assignments/`)."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.relations import PKOnlyObject

from crm.common.fields import ModelSerializer, PrimaryKeyRelatedField, ScopedPrimaryKeyRelatedField
from crm.common.filters import FILTER_BACKENDS, BooleanFilter, FilterSet, IdFilter
from crm.common.permissions import ModelPermissions, model_permissions
from crm.common.scopes import scope_for
from customers.api import (
    CUSTOMER_ORDERING_FIELDS,
    CUSTOMER_SEARCH_FIELDS,
    CustomerFilter,
    CustomerSerializer,
)
from customers.models import Customer
from managers.models import Assignment, Manager
from managers.selectors import unassigned_customers_for
from managers.services import assignment_move, manager_delete, manager_save

User = get_user_model()


class _SupervisorField(PrimaryKeyRelatedField):
    """The supervisor's user id, read from the manager's user without loading the supervisor."""

    def get_attribute(self, instance):
        return PKOnlyObject(pk=instance.user.supervisor_id)


class ManagerSerializer(ModelSerializer):
    id = serializers.IntegerField(source="pk", read_only=True, help_text="the same as `user`")
    user = PrimaryKeyRelatedField(queryset=User.objects.all(), help_text="the user id; fixed once created")
    name = serializers.CharField(max_length=100, required=False, help_text="the user's full name")
    supervisor = _SupervisorField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="the supervisor's user id: a supervisor or administrator; a supervisor may choose only "
        "one in their own team",
    )
    portfolio_size = serializers.IntegerField(read_only=True, help_text="active customers served")

    class Meta:
        model = Manager
        fields = [
            "id",
            "user",
            "employee_no",
            "name",
            "role",
            "station",
            "supervisor",
            "max_customers",
            "active",
            "qualified",
            "portfolio_size",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["qualified", "created_at", "updated_at"]

    def validate_user(self, user):
        if self.instance is not None and user.pk != self.instance.pk:
            raise serializers.ValidationError(_("A manager profile cannot change its user."))
        return user

    def create(self, validated_data):
        manager = manager_save(manager=None, by=self.context["request"].user, **validated_data)
        return _with_size(manager)

    def update(self, instance, validated_data):
        validated_data.pop("user", None)
        manager = manager_save(manager=instance, by=self.context["request"].user, **validated_data)
        return _with_size(manager)


def _with_size(manager: Manager) -> Manager:
    return Manager.objects.with_portfolio_size().select_related("user").get(pk=manager.pk)


MANAGER_SEARCH_FIELDS = ["employee_no", "user__full_name", "user__username"]


class ManagerFilter(FilterSet):
    supervisor = IdFilter(field_name="user__supervisor", help_text="the supervisor's user id")

    class Meta:
        model = Manager
        fields = ["role", "station", "supervisor", "active", "qualified", "employee_no"]


class ManagerViewSet(viewsets.ModelViewSet):
    """Manager profiles in the user's scope: a manager sees their own, a supervisor their team's.
    A profile is removed only when it serves no customer and no territory (else 409): deactivate it
    (`active: false`) to stop new assignments. A change of supervisor, role or maximum portfolio size
    is refused (400) where it would take the manager out of the caller's team, put them under someone
    who leads no team, or leave them customers they cannot serve."""

    serializer_class = ManagerSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ManagerFilter
    search_fields = MANAGER_SEARCH_FIELDS
    ordering_fields = ["employee_no", "role", "station", "max_customers", "portfolio_size", "created_at"]

    lookup_value_regex = r"[0-9]{1,18}"  # the manager's user id; longer numbers cannot be ids

    def get_queryset(self):
        if self.action == "portfolio":
            return Customer.objects.visible_to(self.request.user).active().order_by("account_no")
        return (
            Manager.objects.visible_to(self.request.user)
            .with_portfolio_size()
            .select_related("user")
            .order_by("employee_no")
        )

    def perform_destroy(self, instance):
        manager_delete(manager=instance, by=self.request.user)

    def get_serializer_class(self):
        return CustomerSerializer if self.action == "portfolio" else ManagerSerializer

    @extend_schema(responses=CustomerSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        filterset_class=CustomerFilter,
        search_fields=CUSTOMER_SEARCH_FIELDS,
        ordering_fields=CUSTOMER_ORDERING_FIELDS,
        permission_classes=[ModelPermissions, model_permissions(Manager)],
    )
    def portfolio(self, request, pk=None):
        """The active customers the manager serves (the ones `portfolio_size` counts)."""
        manager = get_object_or_404(Manager.objects.visible_to(request.user), pk=pk)
        self.check_object_permissions(request, manager)
        customers = self.filter_queryset(self.get_queryset().managed_by(manager.pk))
        page = self.paginate_queryset(customers)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def customers_assignable_by(user):
    """The customers a user may move: those in their scope, and the unassigned active customers of
    the stations where their team works (the supervisor's unassigned list, managers/unassigned_views.py)."""
    if scope_for(user).sees_all:
        return Customer.objects.all()
    return Customer.objects.visible_to(user) | unassigned_customers_for(user)


class _AssignableCustomerField(PrimaryKeyRelatedField):
    def get_queryset(self):
        return customers_assignable_by(self.context["request"].user)


class AssignmentSerializer(ModelSerializer):
    customer = _AssignableCustomerField(queryset=Customer.objects.all())
    manager = ScopedPrimaryKeyRelatedField(
        queryset=Manager.objects.select_related("user"),
        allow_null=True,
        help_text="the manager's user id; null leaves the customer without a manager",
    )
    reason = serializers.CharField(max_length=300)

    class Meta:
        model = Assignment
        fields = ["id", "customer", "manager", "started_at", "ended_at", "reason", "by", "created_at"]
        read_only_fields = ["started_at", "ended_at", "by", "created_at"]

    def create(self, validated_data):
        return assignment_move(by=self.context["request"].user, **validated_data)


class AssignmentFilter(FilterSet):
    manager = IdFilter(help_text="the manager's user id")
    by = IdFilter(help_text="the user id of who made the move")
    current = BooleanFilter(
        field_name="ended_at", lookup_expr="isnull", help_text="true: only assignments still running"
    )

    class Meta:
        model = Assignment
        fields = ["customer", "manager", "by", "current"]


class AssignmentViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """History of who served which customer, newest first; POST moves a customer by hand with a reason
    (supervisors and administrators), to a manager in one's scope whose role serves the customer's
    tier and whose portfolio is not full."""

    serializer_class = AssignmentSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = AssignmentFilter
    search_fields = ["customer__account_no", "customer__name", "reason"]
    ordering_fields = ["started_at", "ended_at"]

    def get_queryset(self):
        return Assignment.objects.visible_to(self.request.user)
