"""One-stop service in the admin: the request templates (a change is a new version,
made through service.templates_data.template_create), and the requests with their stages, which
only the request services write, so here they are looked at, never edited."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from crm.accounts.admin import UserAdmin as AccountsUserAdmin
from crm.accounts.roles import DEPARTMENT_STAFF
from crm.common.admin import ReadOnlyAdmin, register_remaining
from service import calendar as work_calendar
from service.models import (
    CalendarDay,
    CalendarYear,
    Department,
    RequestStage,
    RequestTemplate,
    ServiceRequest,
    StaffProfile,
    StageEvent,
)
from service.people import OPEN_STAGES, department_delete, department_save
from service.templates_data import template_create, validate_key, validate_stages

User = get_user_model()


class RequestTemplateForm(forms.ModelForm):
    """Checks what template_create will refuse while the form can still show it on its field."""

    class Meta:
        model = RequestTemplate
        fields = ["kind", "subtype", "variant", "effective_from", "stages", "total_limit", "total_unit"]

    def clean(self):
        data = super().clean()
        try:
            validate_key(
                kind=data.get("kind"), subtype=data.get("subtype") or "", variant=data.get("variant") or ""
            )
            data["stages"] = validate_stages(data.get("stages"))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return data


@admin.register(RequestTemplate)
class RequestTemplateAdmin(admin.ModelAdmin):
    """A saved version is never changed: requests that started on it keep it. Adding one makes the
    next version of its kind, subtype and variant."""

    form = RequestTemplateForm
    list_display = ["kind", "subtype", "variant", "version", "effective_from", "total_limit", "total_unit"]
    list_filter = ["kind", "total_unit"]
    readonly_fields = ["version", "created_by", "created_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            created = template_create(
                kind=data["kind"],
                subtype=data.get("subtype") or "",
                variant=data.get("variant") or "",
                effective_from=data["effective_from"],
                stages=data["stages"],
                total_limit=data["total_limit"],
                total_unit=data["total_unit"],
                by=request.user,
            )
        except ValidationError as exc:  # a version raced in with a later date: say so, write nothing
            self.message_user(request, "; ".join(exc.messages), level="error")
            return
        form.instance = obj
        obj.pk, obj.version = created.pk, created.version


class StageInline(admin.TabularInline):
    model = RequestStage
    extra = 0
    can_delete = False
    fields = [
        "position",
        "code",
        "name",
        "department",
        "status",
        "started_at",
        "due_at",
        "done_at",
        "sla_state",
        "done_by",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department", "done_by")


class EventInline(StageInline):
    model = StageEvent
    fields = ["at", "action", "stage", "by", "note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return admin.TabularInline.get_queryset(self, request).select_related("stage", "by")


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "kind",
        "subtype",
        "status",
        "party_name",
        "station",
        "owner",
        "due_at",
        "sla_state",
    ]
    list_filter = ["kind", "status", "sla_state", "source"]
    search_fields = ["number", "external_no", "applicant_name", "customer__name", "customer__account_no"]
    list_select_related = ["customer", "station", "owner"]
    raw_id_fields = ["customer", "station", "owner", "template", "follow_up", "created_by"]
    date_hierarchy = "received_at"
    inlines = [StageInline, EventInline]

    @admin.display(description=_("customer or applicant"))
    def party_name(self, obj) -> str:
        return obj.party_name


# ---------------------------------------------------------------- departments and their staff
# A staff user is made on the user's own page, where the role (the `department_staff` group) and
# the department are chosen together and checked together, as the `users/` API checks them
# (service.people). The user admin is extended here rather than in crm.accounts, which sits below
# every app and may not import this one.
class DepartmentAdminForm(forms.ModelForm):
    """Refuses on the form what department_save refuses (a kind or branch changed under open
    stages): a refusal in save_model would be a 500."""

    class Meta:
        model = Department
        fields = ["code", "name", "kind", "branch"]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None or self.errors:
            return data
        moved = [name for name in ("kind", "branch") if data.get(name) != getattr(self.instance, name)]
        if moved and RequestStage.objects.filter(department=self.instance, status__in=OPEN_STAGES).exists():
            for name in moved:
                self.add_error(
                    name, _("This department still has open stages: its kind and branch cannot change yet.")
                )
        return data


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    form = DepartmentAdminForm
    list_display = ["code", "name", "kind", "branch", "staff_count"]
    list_filter = ["kind", "branch"]
    search_fields = ["code", "name"]
    list_select_related = ["branch"]
    ordering = ["code"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(staff_total=Count("staff"))

    @admin.display(description=_("number of staff"), ordering="staff_total")
    def staff_count(self, obj) -> int:
        return obj.staff_total

    def save_model(self, request, obj, form, change):
        # the service's checks ran in the form's clean (DepartmentAdminForm); here it only writes
        data = {name: form.cleaned_data[name] for name in ("code", "name", "kind", "branch")}
        saved = department_save(department=obj if change else None, by=request.user, **data)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        department_delete(department=obj, by=request.user)


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    """The department staff, listed by department. A staff user is added on the user's page (role
    and department together); here their department is changed."""

    list_display = ["user", "full_name", "department", "branch"]
    list_filter = ["department__kind", "department__branch"]
    search_fields = ["user__username", "user__full_name", "department__name", "department__code"]
    list_select_related = ["user", "department__branch"]
    autocomplete_fields = ["department"]
    readonly_fields = ["user"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("full name"), ordering="user__full_name")
    def full_name(self, obj) -> str:
        return obj.user.full_name

    @admin.display(description=_("branch"), ordering="department__branch__name")
    def branch(self, obj):
        return obj.department.branch


class StaffProfileFormSet(forms.BaseInlineFormSet):
    """A department exactly when the `department_staff` role is chosen on the same page."""

    def __init__(self, *args, staff_role: bool = False, **kwargs):
        self.staff_role = staff_role
        super().__init__(*args, **kwargs)

    def clean(self):
        super().clean()
        if not self.is_bound or any(self.errors):
            return
        department = any(
            form.cleaned_data.get("department") and not form.cleaned_data.get("DELETE") for form in self.forms
        )
        if self.staff_role and not department:
            raise ValidationError(_("A department staff user needs a department."))
        if not self.staff_role and department:
            raise ValidationError(_("Only a department staff user belongs to a department: leave it empty."))


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    formset = StaffProfileFormSet
    fk_name = "user"
    extra = 1
    max_num = 1
    autocomplete_fields = ["department"]
    verbose_name = _("department (department staff only)")
    verbose_name_plural = _("department (department staff only)")


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(AccountsUserAdmin):
    inlines = [*AccountsUserAdmin.inlines, StaffProfileInline]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, StaffProfileInline):
            kwargs["staff_role"] = self._staff_role_posted(request)
        return kwargs

    @staticmethod
    def _staff_role_posted(request) -> bool:
        """Whether the form being sent gives the user the `department_staff` group (its ids, as
        posted: a bad id fails the user's own form)."""
        if request.method != "POST":
            return False
        staff_group = Group.objects.filter(name=DEPARTMENT_STAFF).values_list("pk", flat=True).first()
        return staff_group is not None and str(staff_group) in request.POST.getlist("groups")


# Department and department staff admin (service.people), and the work calendar's: their helpers'
# classes go above this line.


class CalendarDayForm(forms.ModelForm):
    """Refuses, on its field, a day that changes nothing (service.calendar.changes_nothing)."""

    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "name"]

    def clean(self):
        data = super().clean()
        if data.get("date") and data.get("kind"):
            problem = work_calendar.changes_nothing(data["date"], data["kind"])
            if problem:
                self.add_error("kind", problem)
        return data


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Days are entered and deleted through service.calendar, which moves the running clocks they
    change; once entered only the name can be edited (delete and enter again to change the kind)."""

    form = CalendarDayForm
    list_display = ["date", "kind", "name"]
    list_filter = ["kind"]
    search_fields = ["name"]
    date_hierarchy = "date"

    def get_readonly_fields(self, request, obj=None):
        return ["date", "kind"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "updated_at"])
            return
        try:
            created = work_calendar.calendar_day_add(
                date=obj.date, kind=obj.kind, name=obj.name, by=request.user
            )
        except ValidationError as exc:  # entered a moment ago by someone else
            self.message_user(request, "; ".join(exc.messages), level="error")
            return
        obj.pk = created.pk

    def delete_model(self, request, obj):
        work_calendar.calendar_day_delete(day=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for day in queryset:
            work_calendar.calendar_day_delete(day=day, by=request.user)


@admin.register(CalendarYear)
class CalendarYearAdmin(ReadOnlyAdmin):
    """Years are loaded on the work calendar page (a file, or the days entered declared complete)."""

    list_display = ["year", "source", "loaded_by", "updated_at"]
    list_filter = ["source"]
    list_select_related = ["loaded_by"]


register_remaining("service")
