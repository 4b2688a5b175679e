"""Who owns a request (service.md, "Owner"): the account manager who answers for it.

An existing customer's request belongs to the customer's manager. An applicant is not a customer
yet: its request goes to the manager the tiering rules would give the future customer, chosen like
any assignment (the least-loaded active, qualified manager of that role in the station, below the
maximum portfolio size). Nobody fits: no owner, and the request waits on the supervisor's list."""

from decimal import Decimal

from customers.models import Importance
from customers.tiering.rules import decide_tier, thresholds_in_force
from managers.models import ROLE_FOR_TIER
from managers.services import managers_with_room


def applicant_tier(*, capacity_kva: Decimal | None, voltage_kv: Decimal | None, thresholds=None) -> str:
    """The tier the rules give a future customer from what it applied for: no consumption yet, no
    importance graded, and no community (an applicant's address is not yet placed in one)."""
    return decide_tier(
        annual_kwh=Decimal(0),
        voltage_kv=Decimal(voltage_kv or 0),
        capacity_kva=Decimal(capacity_kva or 0),
        importance=Importance.NONE,
        in_community=False,
        thresholds=thresholds or thresholds_in_force(),
    ).tier


def applicant_role(*, capacity_kva: Decimal | None, voltage_kv: Decimal | None, thresholds=None) -> str:
    """The manager's role the rules give an applicant's future tier."""
    tier = applicant_tier(capacity_kva=capacity_kva, voltage_kv=voltage_kv, thresholds=thresholds)
    return ROLE_FOR_TIER[tier]


def owner_of_role(*, station_id: int, role: str):
    """The least-loaded qualified manager of `role` in the station with room (a user), or None."""
    candidates = managers_with_room(station_id=station_id, role=role)
    return candidates[0][0].user if candidates else None


def owner_for_applicant(*, station_id: int, capacity_kva: Decimal | None, voltage_kv: Decimal | None):
    """The user who owns an applicant's request, or None (the supervisor's list)."""
    role = applicant_role(capacity_kva=capacity_kva, voltage_kv=voltage_kv)
    return owner_of_role(station_id=station_id, role=role)


def owner_for(*, customer=None, station=None, capacity_kva=None, voltage_kv=None):
    """The owner of a new request: the customer's manager (None when the customer has none), or for
    an applicant the manager the rules choose in `station`."""
    if customer is not None:
        return customer.manager
    return owner_for_applicant(station_id=station.pk, capacity_kva=capacity_kva, voltage_kv=voltage_kv)
