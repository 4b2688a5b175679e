"""The admin of the visit system: administrators edit the policies; tasks, reports and runs are there
to look into (reports are written by the managers' pages and the API, runs by the jobs)."""

from django import forms
from django.contrib import admin
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from visits import generation
from visits.models import FollowUp, FollowUpStatus, VisitPolicy, VisitReport, VisitRun, VisitTask
from visits.reports import refuse_if_carried


@admin.register(VisitPolicy)
class VisitPolicyAdmin(admin.ModelAdmin):
    list_display = ["tier", "target", "frequency_months", "lead_days", "updated_at"]


@admin.register(VisitTask)
class VisitTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "target_name", "manager", "period", "due_date", "status"]
    list_filter = ["kind", "status", "period"]
    search_fields = [
        "customer__account_no",
        "customer__name",
        "community__name",
        "transformer_district__name",
    ]
    raw_id_fields = ["customer", "community", "transformer_district", "manager"]
    date_hierarchy = "due_date"
    list_select_related = ["customer", "community", "transformer_district", "manager"]

    @admin.display(description=_("visited target"))
    def target_name(self, task):
        return str(task.target)


class FollowUpInlineForm(forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = ["department", "action", "status", "closed_on"]

    def clean(self):
        cleaned = super().clean()
        # closing by hand one a service request carries is refused, as everywhere (visits.reports)
        if self.instance.pk and cleaned.get("status") == FollowUpStatus.CLOSED != self.instance.status:
            refuse_if_carried(self.instance)
        return cleaned


class FollowUpInline(admin.TabularInline):
    model = FollowUp
    form = FollowUpInlineForm
    extra = 0


@admin.register(VisitReport)
class VisitReportAdmin(admin.ModelAdmin):
    list_display = ["task", "visited_on", "channel", "business_trend", "satisfaction", "forecast_kwh_12m"]
    list_filter = ["channel", "business_trend", "satisfaction"]
    raw_id_fields = ["task", "by"]
    inlines = [FollowUpInline]
    list_select_related = ["task__customer", "task__community", "task__transformer_district"]


@admin.register(VisitRun)
class VisitRunAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "day", "status", "started_at", "finished_at", "counts"]
    list_filter = ["job", "status"]
    readonly_fields = [f.name for f in VisitRun._meta.fields]
    actions = ["generate_now"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Generate visit tasks now"))
    def generate_now(self, request, queryset):
        run = generation.visit_run_start(job=VisitRun.Job.GENERATE, by=request.user)
        self.message_user(request, _("Visit task generation queued."))
        return redirect("visits:run", pk=run.pk)  # the run's page shows how far it has got
