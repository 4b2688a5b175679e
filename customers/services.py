"""Writes to the customer base. Every rule about what a valid customer is lives here, so the API,
the browser, the admin and the importer refuse the same things with the same words."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.common import hooks
from customers.models import Contact, Customer
from customers.tiering.rules import TierThresholds, decide_customer_tier, thresholds_in_force

# The fields a customer's own rules (lengths, digits, choices) check, and where it is supplied; the
# API, the admin and the import take these and no others.
PLAIN_FIELDS = (
    "account_no",
    "name",
    "category",
    "industry_code",
    "voltage_kv",
    "contracted_capacity_kva",
    "importance",
    "address",
    "status",
)
LOCATION_FIELDS = ("station", "community", "transformer_district")
# In the order the API and the admin show them: the location after the importance.
CUSTOMER_FIELDS = (*PLAIN_FIELDS[:7], *LOCATION_FIELDS, *PLAIN_FIELDS[7:])


def customer_validate_location(*, station, community, transformer_district) -> None:
    errors = {}
    if community is not None and transformer_district is not None:
        errors["transformer_district"] = [
            _("A customer lies in a community or a transformer district, not both.")
        ]
    if community is not None and community.station_id != station.pk:
        errors["community"] = [_("This community belongs to another supply station.")]
    if transformer_district is not None and transformer_district.station_id != station.pk:
        errors["transformer_district"] = [_("This transformer district belongs to another supply station.")]
    if errors:
        raise ValidationError(errors)


def customer_initial_tier(customer: Customer, *, thresholds: TierThresholds | None = None) -> str:
    """The tier a new customer starts in, under the policy in force (pass `thresholds` when
    creating many, so the policy is read once)."""
    return decide_customer_tier(customer, thresholds=thresholds or thresholds_in_force()).tier


@transaction.atomic
def customer_create(*, by, **data) -> Customer:
    """Create a customer with its initial tier; a manager is given to it by the assignment job."""
    unknown = set(data) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    customer = Customer(**data)
    customer_validate_location(
        station=customer.station,
        community=customer.community,
        transformer_district=customer.transformer_district,
    )
    customer.tier = customer_initial_tier(customer)
    customer.full_clean(exclude=["manager"])
    customer._history_user = by
    customer.save()
    hooks.after_commit("portfolios_changed")
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, by, **data) -> Customer:
    """Change a customer's master data. The tier is left to reclassification, which records why."""
    unknown = set(data) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    for name, value in data.items():
        setattr(customer, name, value)
    customer_validate_location(
        station=customer.station,
        community=customer.community,
        transformer_district=customer.transformer_district,
    )
    customer.full_clean(exclude=["manager"])
    customer._history_user = by
    customer.save()
    if {"community", "transformer_district", "station", "status"} & set(data):
        hooks.after_commit("portfolios_changed")
    return customer


@transaction.atomic
def contact_save(*, contact: Contact, by) -> Contact:
    """Create or update a contact; at most one primary contact per customer."""
    contact.full_clean()
    if contact.is_primary:
        Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(
            pk=contact.pk
        ).update(is_primary=False)
    contact.save()
    return contact
