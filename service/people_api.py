"""REST endpoints of departments and users (api.md: `departments/`, `users/`).

Departments are reference data: every role holding `service.view_department` reads them all;
administrators write them. Users are for administrators only (the `accounts` permissions only they
hold): their roles are the role groups and, for department staff, their department. Every write is
service.people's."""

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db.models import F, Prefetch
from django_filters import ChoiceFilter
from rest_framework import serializers, viewsets
from rest_framework.relations import PKOnlyObject

from crm.common.fields import ID_PATTERN, ModelSerializer, PrimaryKeyRelatedField
from crm.common.filters import FILTER_BACKENDS, FilterSet, IdFilter
from customers.models import Branch
from service.models import Department, DepartmentKind
from service.people import ROLES, department_delete, department_save, user_delete, user_save

User = get_user_model()


# ---------------------------------------------------------------- departments
class DepartmentSerializer(ModelSerializer):
    branch = PrimaryKeyRelatedField(queryset=Branch.objects.all(), help_text="the county branch's id")
    kind = serializers.ChoiceField(choices=DepartmentKind.choices)

    class Meta:
        model = Department
        fields = ["id", "code", "name", "kind", "branch", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def create(self, validated_data):
        return department_save(department=None, by=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return department_save(department=instance, by=self.context["request"].user, **validated_data)


class DepartmentViewSet(viewsets.ModelViewSet):
    """The departments (专业部门) of every branch. Deleting one that has staff or request stages
    answers 409; its kind and branch stay while it has open stages (400)."""

    serializer_class = DepartmentSerializer
    filter_backends = FILTER_BACKENDS
    filterset_fields = ["kind", "branch"]
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "kind"]
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return Department.objects.order_by("code")

    def perform_destroy(self, instance):
        department_delete(department=instance, by=self.request.user)


# ---------------------------------------------------------------- users
class _DepartmentField(PrimaryKeyRelatedField):
    """The staff user's department id, read from the list's annotation (no query per user)."""

    def get_attribute(self, instance):
        pk = getattr(instance, "department_pk", None)
        return PKOnlyObject(pk=pk) if pk is not None else None


class _SupervisorField(PrimaryKeyRelatedField):
    def get_attribute(self, instance):
        return PKOnlyObject(pk=instance.supervisor_id) if instance.supervisor_id else None


class UserSerializer(ModelSerializer):
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=ROLES),
        required=False,
        max_length=len(ROLES),
        help_text="The user's roles; `department_staff` needs a `department`.",
    )
    department = _DepartmentField(
        queryset=Department.objects.all(),
        required=False,
        allow_null=True,
        help_text="The department of a department staff user (required then); null for anyone else.",
    )
    supervisor = _SupervisorField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="The supervisor's user id: a supervisor or an administrator.",
    )
    password = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=4096,
        style={"input_type": "password"},
        help_text="On create only, checked by the password rules; never read back.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "email",
            "phone",
            "roles",
            "department",
            "supervisor",
            "is_active",
            "password",
            "last_login",
            "date_joined",
        ]
        read_only_fields = ["last_login", "date_joined"]
        # the service answers a username taken, with the model's own message; the pattern stays
        extra_kwargs = {"username": {"validators": [UnicodeUsernameValidator()]}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["roles"] = sorted(group.name for group in instance.groups.all() if group.name in ROLES)
        return data

    def _save(self, user, validated_data):
        saved = user_save(user=user, by=self.context["request"].user, **validated_data)
        return users_for_api().get(pk=saved.pk)

    def create(self, validated_data):
        return self._save(None, validated_data)

    def update(self, instance, validated_data):
        return self._save(instance, validated_data)


def users_for_api():
    return (
        User.objects.annotate(department_pk=F("staff_profile__department_id"))
        .prefetch_related(Prefetch("groups"))
        .order_by("username")
    )


class UserFilter(FilterSet):
    role = ChoiceFilter(
        field_name="groups__name", choices=[(r, r) for r in ROLES], help_text="holds this role"
    )
    department = IdFilter(field_name="staff_profile__department", help_text="a department staff's department")
    supervisor = IdFilter(help_text="the supervisor's user id")

    class Meta:
        model = User
        fields = ["role", "department", "supervisor", "is_active"]


class UserViewSet(viewsets.ModelViewSet):
    """Users with their roles and, for department staff, their department: administrators only.
    The password is set on create only and never read. Deactivating a user (`is_active: false`)
    ends their sessions and tokens. Only a user who never signed in can be deleted (else 409:
    deactivate them)."""

    serializer_class = UserSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = UserFilter
    search_fields = ["username", "full_name", "phone", "email"]
    ordering_fields = ["username", "full_name", "date_joined", "last_login"]
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return users_for_api()

    def perform_destroy(self, instance):
        user_delete(user=instance, by=self.request.user)
