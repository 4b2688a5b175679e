"""REST endpoints of the manager organization."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from customers.api import CustomerSerializer
from customers.models import Customer
from managers.models import Assignment, Manager
from managers.services import assignment_move, manager_save

User = get_user_model()


class ManagerSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    name = serializers.CharField(max_length=100, required=False)
    supervisor = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    portfolio_size = serializers.IntegerField(read_only=True)

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
        return Manager.objects.with_portfolio_size().select_related("user").get(pk=manager.pk)

    def update(self, instance, validated_data):
        validated_data.pop("user", None)
        manager = manager_save(manager=instance, by=self.context["request"].user, **validated_data)
        return Manager.objects.with_portfolio_size().select_related("user").get(pk=manager.pk)


class ManagerViewSet(viewsets.ModelViewSet):
    serializer_class = ManagerSerializer
    filterset_fields = ["role", "station", "active", "qualified"]
    search_fields = ["employee_no", "user__full_name", "user__username"]
    ordering_fields = ["employee_no", "role", "portfolio_size"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return (
            Manager.objects.visible_to(self.request.user)
            .with_portfolio_size()
            .select_related("user")
            .order_by("employee_no")
        )

    @extend_schema(responses=CustomerSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_fields=[], search_fields=["account_no", "name"])
    def portfolio(self, request, pk=None):
        manager = self.get_object()
        customers = Customer.objects.visible_to(request.user).managed_by(manager.pk).order_by("account_no")
        customers = self.filter_queryset(customers)
        page = self.paginate_queryset(customers)
        return self.get_paginated_response(
            CustomerSerializer(page, many=True, context={"request": request}).data
        )


class AssignmentSerializer(serializers.ModelSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    manager = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True)
    reason = serializers.CharField(max_length=300)

    class Meta:
        model = Assignment
        fields = ["id", "customer", "manager", "started_at", "ended_at", "reason", "by", "created_at"]
        read_only_fields = ["started_at", "ended_at", "by", "created_at"]

    def validate_customer(self, customer):
        if not Customer.objects.visible_to(self.context["request"].user).filter(pk=customer.pk).exists():
            raise serializers.ValidationError(_("No customer with this id."))
        return customer

    def validate_manager(self, user):
        if user is None:
            return None
        manager = Manager.objects.visible_to(self.context["request"].user).filter(pk=user.pk).first()
        if manager is None:
            raise serializers.ValidationError(_("No manager with this id."))
        return manager

    def create(self, validated_data):
        return assignment_move(by=self.context["request"].user, **validated_data)


class AssignmentViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """History of who served which customer; POST moves a customer by hand with a reason."""

    serializer_class = AssignmentSerializer
    filterset_fields = ["customer", "manager"]
    ordering_fields = ["started_at"]

    def get_queryset(self):
        return Assignment.objects.visible_to(self.request.user)
