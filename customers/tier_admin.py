"""Tiering in the admin: administrators add tier policy versions (numbered by the service, never
edited once saved); runs and tier changes are records the product writes, to look at only.
Imported by customers/admin.py."""

from django import forms
from django.contrib import admin

from crm.common.admin import ReadOnlyAdmin
from customers.models import ClassificationRun, TierChange, TierPolicy
from customers.tier_services import POLICY_FIELDS, tier_policy_create, tier_policy_validate


class TierPolicyForm(forms.ModelForm):
    class Meta:
        model = TierPolicy
        fields = list(POLICY_FIELDS)

    def clean(self):
        cleaned = super().clean()
        tier_policy_validate(TierPolicy(**{k: v for k, v in cleaned.items() if k in POLICY_FIELDS}))
        return cleaned


@admin.register(TierPolicy)
class TierPolicyAdmin(admin.ModelAdmin):
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
    ]
    fields = list(POLICY_FIELDS)
    readonly_fields = []

    def get_readonly_fields(self, request, obj=None):
        # A saved version is history: runs and tier changes name it. Add a new version instead.
        return list(POLICY_FIELDS) if obj is not None else []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            saved = tier_policy_create(
                by=request.user, **{name: getattr(obj, name) for name in POLICY_FIELDS}
            )
            obj.pk, obj.version = saved.pk, saved.version


@admin.register(ClassificationRun)
class ClassificationRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "status",
        "trigger",
        "started_by",
        "policy",
        "started_at",
        "finished_at",
        "examined",
        "changed",
        "pinned",
    ]
    list_filter = ["status", "trigger"]
    list_select_related = ["started_by", "policy"]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "customer", "old_tier", "new_tier", "rule", "run", "by"]
    list_filter = ["new_tier", "rule"]
    list_select_related = ["customer", "run", "by"]
    raw_id_fields = ["customer", "run", "policy", "by"]
    search_fields = ["customer__account_no", "customer__name"]
    show_full_result_count = False
