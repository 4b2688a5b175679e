"""A new connection done makes the customer (service.md, "Service requests"): when its request
closes, the applicant becomes a customer with the data it applied with (its phone as the primary
contact), in the tier the rules give
(customers' own `customer_create`), and the request is linked to it.

Who serves the new customer: the request's owner, when they may (their role serves the customer's
tier, the profile is active and the portfolio has room), so the manager who carried the connection
keeps the customer they won; the owner was chosen by the same rule (the least-loaded qualified
manager of the tier's role in the station) when the request opened. Otherwise the customer is left
to the assignment that every new customer gets (`customer_create` calls the hook
`portfolios_changed`), which may leave it on the supervisor's list."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from customers.models import Category, Contact, Customer, Importance
from customers.services import contact_save, customer_create
from managers.models import ROLE_FOR_TIER, Manager
from managers.services import assignment_move

# the category a new customer starts in, by the connection's subtype
CATEGORY_FOR_SUBTYPE = {
    "residential": Category.RESIDENTIAL,
    "lv_non_residential": Category.COMMERCIAL,
    "hv_single": Category.INDUSTRIAL,
    "hv_dual": Category.INDUSTRIAL,
}
# what a residential connection is supplied at when the applicant did not say (220 V)
DEFAULT_VOLTAGE_KV = Decimal("0.22")


def account_no_for(request) -> str:
    """A new account number: "9" and the request's id on 11 digits; an account number already taken
    (an import may have used it) gets the next free suffix."""
    base = f"9{request.pk:011d}"
    taken = set(Customer.objects.filter(account_no__startswith=base).values_list("account_no", flat=True))
    if base not in taken:
        return base
    n = 1
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def connection_make_customer(*, request, by) -> Customer:
    """The customer of a new connection's request: the one it already has (idempotent: a request
    closed again after a callback reopened it makes nobody twice), or a new one made from the
    applicant and linked to the request."""
    if request.customer_id is not None:
        return request.customer
    if not request.applicant_name:
        raise ValidationError({"applicant": [_("The request has neither a customer nor an applicant.")]})
    customer = customer_create(
        by=by,
        account_no=account_no_for(request),
        name=request.applicant_name,
        category=CATEGORY_FOR_SUBTYPE.get(request.subtype, Category.COMMERCIAL),
        voltage_kv=request.applicant_voltage_kv
        if request.applicant_voltage_kv is not None
        else DEFAULT_VOLTAGE_KV,
        contracted_capacity_kva=request.applicant_capacity_kva or Decimal(0),
        importance=Importance.NONE,
        station=request.station,
        address=request.applicant_address,
    )
    if request.applicant_phone:
        contact_save(
            contact=Contact(
                customer=customer,
                name=request.applicant_name[:100],
                phone=request.applicant_phone,
                is_primary=True,
            ),
            by=by,
        )
    request.customer = customer
    type(request).objects.filter(pk=request.pk).update(customer=customer)
    _give_to_owner(customer=customer, owner_id=request.owner_id, by=by)
    return customer


def _give_to_owner(*, customer: Customer, owner_id: int | None, by) -> None:
    if owner_id is None:
        return
    manager = Manager.objects.filter(pk=owner_id, active=True, role=ROLE_FOR_TIER[customer.tier]).first()
    if manager is None:
        return
    load = Customer.objects.active().managed_by(owner_id).count()
    if load >= manager.max_customers:
        return
    assignment_move(
        customer=customer,
        manager=manager,
        reason=_("Carried the customer's new connection"),
        by=None,  # the rule moves it, not the closing user's team (they may be an administrator)
        check_capacity=False,
    )
