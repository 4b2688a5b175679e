"""Manager profiles and assignment history in the admin. Profiles are saved through
managers.services.manager_save; `qualified` is kept by the training app and assignments by the
assignment services, so both are shown, not edited."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from crm.common.admin import ReadOnlyAdmin, register_remaining
from customers.models import Status
from managers.models import Assignment, Manager
from managers.services import MANAGER_FIELDS, manager_check_fit, manager_save


class ManagerAdminForm(forms.ModelForm):
    """Checks what manager_save will refuse (managers.services.manager_check_fit) while the form can
    still show it on its field: save_model runs after validation, where a refusal would be a 500."""

    def clean(self):
        data = super().clean()
        manager = self.instance if self.instance.pk else Manager(user=data.get("user"))
        if manager.user_id is not None:
            try:
                manager_check_fit(
                    manager=manager, role=data.get("role"), max_customers=data.get("max_customers")
                )
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


@admin.register(Manager)
class ManagerAdmin(admin.ModelAdmin):
    form = ManagerAdminForm
    list_display = [
        "employee_no",
        "full_name",
        "role",
        "station",
        "supervisor",
        "portfolio_size",
        "max_customers",
        "active",
        "qualified",
    ]
    list_filter = ["role", "station", "active", "qualified"]
    search_fields = ["employee_no", "user__full_name", "user__username"]
    list_select_related = ["user__supervisor", "station"]
    autocomplete_fields = ["user", "station"]
    fields = ["user", *MANAGER_FIELDS, "qualified"]
    readonly_fields = ["qualified"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                portfolio_size=Count(
                    "user__customers", filter=Q(user__customers__status=Status.ACTIVE), distinct=True
                )
            )
        )

    def get_readonly_fields(self, request, obj=None):
        # The profile's key is its user: it cannot move to another user.
        return [*self.readonly_fields, "user"] if obj is not None else self.readonly_fields

    @admin.display(description=_("name"), ordering="user__full_name")
    def full_name(self, obj):
        return obj.user.display_name

    @admin.display(description=_("supervisor"))
    def supervisor(self, obj):
        return obj.user.supervisor

    @admin.display(description=_("active customers"), ordering="portfolio_size")
    def portfolio_size(self, obj):
        return obj.portfolio_size

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in MANAGER_FIELDS if name in form.cleaned_data}
        if change:
            manager_save(manager=obj, by=request.user, **data)
        else:
            manager_save(manager=None, by=request.user, user=form.cleaned_data["user"], **data)


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    """Customers move through the assignment services (the API and the supervisor's pages), which
    keep the history and each customer's manager in step."""

    list_display = ["customer", "manager", "started_at", "ended_at", "reason", "by"]
    list_filter = [("ended_at", admin.EmptyFieldListFilter)]
    search_fields = ["customer__account_no", "customer__name", "manager__full_name", "reason"]
    list_select_related = ["customer", "manager", "by"]
    raw_id_fields = ["customer", "manager", "by"]
    date_hierarchy = "started_at"
    show_full_result_count = False


register_remaining("managers")
