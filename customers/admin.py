"""The customer base in the admin. Customers, contacts and territories are saved through the same
services as the API, so the admin refuses what they refuse; consumption, imports and the records
the jobs write can be looked at, not edited by hand."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.common.admin import ReadOnlyAdmin, register_remaining
from customers.models import (
    Branch,
    Community,
    Company,
    ConsumptionRecord,
    Contact,
    Customer,
    Station,
    TransformerDistrict,
)
from customers.services import (
    CUSTOMER_FIELDS,
    contact_save,
    customer_create,
    customer_update,
    customer_validate_location,
)
from customers.territories import TERRITORY_MANAGER_ROLE, territory_save


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "company"]
    list_filter = ["company"]
    search_fields = ["code", "name"]
    list_select_related = ["company"]


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "branch"]
    list_filter = ["branch"]
    search_fields = ["code", "name"]
    list_select_related = ["branch"]


class TerritoryForm(forms.ModelForm):
    def clean_manager(self):
        """The rule of customers.territories.territory_save, checked here so it shows on the field."""
        user = self.cleaned_data.get("manager")
        if user is not None:
            profile = getattr(user, "manager_profile", None)
            wanted = TERRITORY_MANAGER_ROLE[self._meta.model._meta.model_name]
            if profile is None or profile.role != wanted or not profile.active:
                raise ValidationError(_("Choose an active manager of the role that serves this territory."))
        return user


class TerritoryAdmin(admin.ModelAdmin):
    form = TerritoryForm
    list_display = ["code", "name", "station", "manager"]
    list_filter = ["station"]
    search_fields = ["code", "name"]
    list_select_related = ["station", "manager"]
    autocomplete_fields = ["station", "manager"]

    def save_model(self, request, obj, form, change):
        territory_save(territory=obj, by=request.user)


@admin.register(Community)
class CommunityAdmin(TerritoryAdmin):
    pass


@admin.register(TransformerDistrict)
class TransformerDistrictAdmin(TerritoryAdmin):
    list_display = ["code", "name", "transformer_code", "rated_capacity_kva", "station", "manager"]
    search_fields = ["code", "name", "transformer_code"]


class CustomerForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        if data.get("station") is not None:
            try:
                customer_validate_location(
                    station=data["station"],
                    community=data.get("community"),
                    transformer_district=data.get("transformer_district"),
                )
            except ValidationError as error:
                self.add_error(None, error)
        return data


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["name", "title", "phone", "email", "is_primary"]
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerForm
    list_display = [
        "account_no",
        "name",
        "tier",
        "category",
        "station",
        "manager",
        "status",
        "annual_consumption_kwh",
    ]
    list_filter = ["tier", "status", "category", "importance", "tier_pinned", "station"]
    search_fields = ["account_no", "name", "address"]
    list_select_related = ["station", "manager"]
    autocomplete_fields = ["station", "community", "transformer_district"]
    # The tier is kept by reclassification and the manager by assignment, each with its history.
    readonly_fields = ["tier", "tier_pinned", "manager", "annual_consumption_kwh", "latest_period"]
    fields = [*CUSTOMER_FIELDS, *readonly_fields]
    inlines = [ContactInline]
    show_full_result_count = False  # no COUNT(*) over every customer on each page

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in CUSTOMER_FIELDS if name in form.cleaned_data}
        if change:
            changed = {name: value for name, value in data.items() if name in form.changed_data}
            customer_update(customer=obj, by=request.user, **changed)
        else:
            created = customer_create(by=request.user, **data)
            obj.pk, obj.tier = created.pk, created.tier

    def save_formset(self, request, form, formset, change):
        contacts = formset.save(commit=False)
        for contact in formset.deleted_objects:
            contact.delete()
        for contact in contacts:
            contact_save(contact=contact, by=request.user)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "title", "phone", "email", "is_primary"]
    list_filter = ["is_primary"]
    search_fields = ["name", "phone", "customer__account_no", "customer__name"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]

    def save_model(self, request, obj, form, change):
        contact_save(contact=obj, by=request.user)


@admin.register(ConsumptionRecord)
class ConsumptionRecordAdmin(ReadOnlyAdmin):
    """Consumption arrives through imports and the API, which keep each customer's annual figure."""

    list_display = ["customer", "period", "kwh", "amount_yuan", "max_demand_kw"]
    search_fields = ["customer__account_no", "customer__name"]
    list_select_related = ["customer"]
    date_hierarchy = "period"
    show_full_result_count = False


# The sub-packages' admins register themselves when imported; Django's autodiscovery imports only
# this module.
from customers.imports import admin as _imports_admin  # noqa: E402, F401
from customers.tiering import admin as _tiering_admin  # noqa: E402, F401

register_remaining("customers")
