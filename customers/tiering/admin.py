"""The admin of tier policies (versioned: added, never edited), classification runs and tier changes."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from crm.common.admin import ReadOnlyAdmin
from customers.tiering.models import ClassificationRun, TierChange, TierPolicy
from customers.tiering.services import POLICY_FIELDS, tier_policy_create, tier_policy_validate


class TierPolicyForm(forms.ModelForm):
    class Meta:
        model = TierPolicy
        fields = POLICY_FIELDS

    def _post_clean(self):
        super()._post_clean()
        try:
            tier_policy_validate(self.instance)
        except ValidationError as error:
            self._update_errors(error)


@admin.register(TierPolicy)
class TierPolicyAdmin(admin.ModelAdmin):
    """Thresholds are versioned: an administrator adds a new version (prefilled with the newest
    one's values) and never edits one that runs and tier changes have recorded."""

    form = TierPolicyForm
    list_display = [
        "version",
        "effective_from",
        "vip_kwh",
        "vip_voltage_kv",
        "key_capacity_kva",
        "key_kwh",
        "key_voltage_kv",
        "hysteresis_pct",
        "created_by",
        "created_at",
    ]
    list_select_related = ["created_by"]
    search_fields = ["note"]
    date_hierarchy = "effective_from"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_changeform_initial_data(self, request):
        newest = TierPolicy.objects.order_by("-version").first()
        initial = {name: getattr(newest, name) for name in POLICY_FIELDS} if newest else {}
        initial["note"] = ""
        return {**initial, **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        created = tier_policy_create(
            by=request.user, **{name: form.cleaned_data[name] for name in POLICY_FIELDS}
        )
        obj.pk, obj.version = created.pk, created.version


@admin.register(ClassificationRun)
class ClassificationRunAdmin(ReadOnlyAdmin):
    """Runs are started from the tiering pages or the API and written by the job."""

    list_display = [
        "id",
        "trigger",
        "status",
        "policy",
        "examined",
        "changed",
        "pinned",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "trigger"]
    list_select_related = ["policy"]
    raw_id_fields = ["started_by", "policy"]
    date_hierarchy = "created_at"


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["customer", "old_tier", "new_tier", "rule", "at", "run", "by"]
    list_filter = ["new_tier", "old_tier", "rule"]
    search_fields = ["customer__account_no", "customer__name"]
    list_select_related = ["customer", "run", "by"]
    raw_id_fields = ["customer", "policy", "run", "by"]
    date_hierarchy = "at"
    show_full_result_count = False
