"""Users in the admin: the reporting tree (supervisor), the role groups, and the product's fields."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "full_name", "phone", "supervisor", "roles", "is_active", "is_staff"]
    list_filter = ["groups", "is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "full_name", "phone", "email"]
    list_select_related = ["supervisor"]
    autocomplete_fields = ["supervisor"]
    ordering = ["username"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("full_name", "phone", "email", "supervisor")}),
        (
            _("Roles and permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Person"), {"fields": ("full_name", "phone", "email", "supervisor", "groups")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, obj) -> str:
        return ", ".join(group.name for group in obj.groups.all())
