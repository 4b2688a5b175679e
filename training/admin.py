"""The admin of courses, sessions and records. Saves and deletes go through the services, so an
administrator's change keeps every manager's qualification current as the pages and the API do."""

from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from managers.models import Role
from training import services
from training.forms import CourseAdminForm
from training.models import Course, Session, TrainingRecord


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    form = CourseAdminForm
    list_display = ["code", "title", "category", "delivery", "hours", "pass_mark", "roles"]
    list_filter = ["category", "delivery", "requirements__role"]
    search_fields = ["code", "title"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("requirements")

    @admin.display(description=_("Required for roles"))
    def roles(self, course):
        return ", ".join(str(Role(role).label) for role in course.required_for_roles)

    def save_model(self, request, obj, form, change):
        # The form has set the course's own fields on `obj`; the service saves them with the roles.
        services.course_save(
            course=obj, by=request.user, required_for_roles=form.cleaned_data["required_for_roles"]
        )

    def delete_model(self, request, obj):
        services.course_delete(course=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for course in queryset:
            services.course_delete(course=course, by=request.user)


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["date", "course", "place", "trainer"]
    list_filter = ["course__category", "date"]
    search_fields = ["course__code", "course__title", "place", "trainer"]
    date_hierarchy = "date"
    list_select_related = ["course"]


@admin.register(TrainingRecord)
class TrainingRecordAdmin(admin.ModelAdmin):
    list_display = ["session_date", "manager", "course", "result", "score", "hours"]
    list_filter = ["result", "course__category", "course"]
    search_fields = ["manager__employee_no", "manager__user__full_name", "course__code", "course__title"]
    date_hierarchy = "session_date"
    autocomplete_fields = ["course"]
    raw_id_fields = ["manager", "session"]
    list_select_related = ["manager__user", "course"]

    def save_model(self, request, obj, form, change):
        # The form has set the fields on `obj`; a record moved to another manager requalifies both.
        previous = TrainingRecord.objects.filter(pk=obj.pk).values_list("manager_id", flat=True).first()
        with transaction.atomic():
            services.training_record_save(record=obj, by=request.user)
            if previous is not None and previous != obj.manager_id:
                services.qualification_refresh(manager_ids=[previous])

    def delete_model(self, request, obj):
        services.training_record_delete(record=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            manager_ids = set(queryset.values_list("manager_id", flat=True))
            queryset.delete()
            services.qualification_refresh(manager_ids=manager_ids)
