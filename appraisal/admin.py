"""The appraisal in the admin. Cycles are created and opened through appraisal.services (the same
rules as the pages and the API); their criteria are edited inline while the cycle is a draft, with
the weights checked to sum to 100. Appraisals, panels and scores are written by the services only:
here they are read, with their history (who changed what, and why a reopening happened)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from appraisal import services
from appraisal.models import Appraisal, AppraisalCycle, Criterion, CycleStatus, Rater, Score
from appraisal.tasks import compute_evidence_task
from crm.common import hooks
from crm.common.admin import register_remaining
from crm.common.errors import Conflict


def _draft(obj) -> bool:
    return obj is None or obj.status == CycleStatus.DRAFT


class CriteriaFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        weights = [
            form.cleaned_data.get("weight") or 0
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if weights and sum(weights) != 100:
            raise ValidationError(
                _("The criteria's weights must sum to 100 (they sum to %(total)s).") % {"total": sum(weights)}
            )


class CriterionInline(admin.TabularInline):
    model = Criterion
    formset = CriteriaFormSet
    fields = ["position", "code", "name", "weight"]
    extra = 0

    def has_add_permission(self, request, obj=None):
        return _draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _draft(obj) and super().has_delete_permission(request, obj)


class CycleForm(forms.ModelForm):
    class Meta:
        model = AppraisalCycle
        fields = [
            "year",
            "supervisor_weight",
            "customer_representative_weight",
            "collaborator_weight",
            "link_valid_days",
        ]

    def clean(self):
        data = super().clean()
        weights = [
            data.get(f)
            for f in ("supervisor_weight", "customer_representative_weight", "collaborator_weight")
        ]
        if all(w is not None for w in weights) and sum(weights) != 100:
            raise ValidationError(
                _("The rater weights must sum to 100 (they sum to %(total)s).") % {"total": sum(weights)}
            )
        return data


@admin.register(AppraisalCycle)
class AppraisalCycleAdmin(SimpleHistoryAdmin):
    form = CycleForm
    inlines = [CriterionInline]
    list_display = [
        "year",
        "status",
        "supervisor_weight",
        "customer_representative_weight",
        "collaborator_weight",
        "appraisal_count",
        "opened_at",
        "evidence_computed_at",
    ]
    list_filter = ["status"]
    readonly_fields = ["status", "opened_at", "opened_by", "evidence_computed_at"]
    actions = ["open_cycles", "compute_evidence"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(appraisal_count=Count("appraisals"))

    @admin.display(description=_("appraisals"), ordering="appraisal_count")
    def appraisal_count(self, obj):
        return obj.appraisal_count

    def get_readonly_fields(self, request, obj=None):
        if _draft(obj):
            return [*self.readonly_fields, "year"] if obj is not None else self.readonly_fields
        return [*self.readonly_fields, *CycleForm.Meta.fields]

    def get_inline_instances(self, request, obj=None):
        # A new cycle starts with the default criteria (services.cycle_create); edit them after.
        return super().get_inline_instances(request, obj) if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            obj._history_user = request.user
            super().save_model(request, obj, form, change)
            return
        created = services.cycle_create(
            year=form.cleaned_data["year"],
            rater_weights={
                "supervisor": form.cleaned_data["supervisor_weight"],
                "customer_representative": form.cleaned_data["customer_representative_weight"],
                "collaborator": form.cleaned_data["collaborator_weight"],
            },
            link_valid_days=form.cleaned_data["link_valid_days"],
            by=request.user,
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None):
        return _draft(obj) and super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.cycle_delete(cycle=obj, by=request.user)

    @admin.action(description=_("Open the selected draft cycles"), permissions=["change"])
    def open_cycles(self, request, queryset):
        for cycle in queryset:
            try:
                created = services.cycle_open(cycle=cycle, by=request.user)
            except (Conflict, ValidationError) as exc:
                self.message_user(request, f"{cycle}: {getattr(exc, 'detail', None) or exc}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    ngettext(
                        "%(cycle)s opened: %(count)d appraisal created.",
                        "%(cycle)s opened: %(count)d appraisals created.",
                        created,
                    )
                    % {"cycle": cycle, "count": created},
                )

    @admin.action(description=_("Compute the evidence again"), permissions=["change"])
    def compute_evidence(self, request, queryset):
        for cycle in queryset.exclude(status=CycleStatus.DRAFT):
            hooks.send_after_commit(compute_evidence_task, cycle.pk)
        self.message_user(request, _("The evidence is being computed."))


class RaterInline(admin.TabularInline):
    model = Rater
    fields = ["kind", "user", "name", "organisation", "link_expires_at", "submitted_at", "added_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class WrittenByServicesAdmin(SimpleHistoryAdmin):
    """Rows only the services write: read here with their history, never added or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Appraisal)
class AppraisalAdmin(WrittenByServicesAdmin):
    """Read-mostly: scores, panels and the workflow go through the pages and the API."""

    list_display = ["cycle", "manager", "status", "score", "grade", "evidence_computed_at", "finalized_at"]
    list_filter = ["cycle", "status", "grade"]
    search_fields = ["manager__employee_no", "manager__user__full_name", "manager__user__username"]
    list_select_related = ["cycle", "manager__user"]
    inlines = [RaterInline]
    fields = [
        "cycle",
        "manager",
        "status",
        "score",
        "grade",
        "kind_scores",
        "evidence",
        "evidence_computed_at",
        "finalized_at",
        "finalized_by",
    ]
    readonly_fields = fields


@admin.register(Rater)
class RaterAdmin(WrittenByServicesAdmin):
    list_display = ["__str__", "kind", "appraisal", "link_expires_at", "submitted_at"]
    list_filter = ["kind"]
    search_fields = ["name", "organisation", "user__full_name", "user__username"]
    list_select_related = ["appraisal__cycle", "user"]
    fields = [
        "appraisal",
        "kind",
        "user",
        "name",
        "organisation",
        "link_expires_at",
        "submitted_at",
        "added_by",
    ]
    readonly_fields = fields


@admin.register(Score)
class ScoreAdmin(WrittenByServicesAdmin):
    list_display = ["rater", "criterion", "score", "updated_at"]
    list_filter = ["criterion__cycle", "criterion__code"]
    search_fields = ["rater__name", "rater__user__full_name", "comment"]
    list_select_related = ["rater__user", "criterion__cycle"]
    fields = ["rater", "criterion", "score", "comment"]
    readonly_fields = fields


register_remaining("appraisal")
