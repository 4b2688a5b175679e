"""95598 tickets in batches (`call-centre/tickets/batch/`): the call centre's system hands over a
list of tickets at once, and each becomes the request service.services.request_open would make of
it alone, the same rows (owner, template, stages with their departments, both clocks, number,
events), written together (service.bulk.requests_bulk_create).

Set-based: the ticket numbers already taken, the customers (within the caller's scope), their
stations, the templates and the applicants' owners are read once per batch, not once per ticket.
All or nothing: a bad ticket refuses the whole batch with every bad ticket's index and fields, and
nothing is written. A ticket number already taken (by an earlier post, or earlier in the same
batch) answers the request it made, as a single post of it does."""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common.outbox import api_link, outbox_record_many
from customers.models import Customer, Station
from customers.tiering.rules import thresholds_in_force
from service import clock
from service.bulk import Plan, requests_bulk_create
from service.models import RequestTemplate, ServiceRequest, Source
from service.owners import applicant_role, owner_of_role
from service.services import Applicant, _check_party, _variant
from service.templates_data import template_in_force, validate_key

MAX_TICKETS = 1000  # per batch: a bigger backlog goes in several posts


@dataclass(frozen=True)
class Ticket:
    ticket_no: str
    kind: str
    subtype: str = ""
    account_no: str = ""
    applicant: Applicant | None = None
    station: int | str | None = None  # an applicant's supply station: its id or its code
    description: str = ""
    received_at: dt.datetime | None = None


@dataclass(frozen=True)
class Taken:
    """What a ticket of the batch answers: its request, and whether this post made it."""

    ticket_no: str
    request_id: int
    created: bool


class BatchRefused(Exception):
    """Bad tickets: `errors` is [{"index", "ticket_no", "errors": {field: [message]}}], by index."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class _Station:
    """What a request's rules read of its station (service.services._variant, the departments)."""

    pk: int
    area: str
    branch_id: int


@dataclass(frozen=True)
class _Customer:
    pk: int
    manager_id: int | None
    voltage_kv: object
    station: _Station


def tickets_open(
    *, tickets: list[Ticket | None], by, refused: list[dict] | None = None, now: dt.datetime | None = None
) -> list[Taken]:
    """Open the requests of `tickets` (in their order) for `by` (the caller: account numbers are
    looked up in their scope; None is the system). `refused` are the errors the caller found in
    the items it could not read (those items None here): with them, or with any ticket bad here,
    BatchRefused is raised with all of them, nothing written. Two batches racing with the same
    ticket number: the loser reads again and answers the winner's request."""
    now = now or timezone.now()
    try:
        return _open(tickets, by, list(refused or []), now)
    except IntegrityError:
        # a ticket number taken meanwhile by another post: read again, it is now an existing one
        return _open(tickets, by, list(refused or []), now)


def _taken(by, numbers: set[str]) -> tuple[dict[str, int], set[str]]:
    """The ticket numbers a request carries already, and those of them `by` may not see."""
    taken = dict(ServiceRequest.objects.filter(external_no__in=numbers).values_list("external_no", "pk"))
    if by is None or not taken:
        return taken, set()
    visible = ServiceRequest.objects.visible_to(by).filter(pk__in=taken.values())
    seen = set(visible.values_list("pk", flat=True))
    return taken, {number for number, pk in taken.items() if pk not in seen}


def _open(tickets: list[Ticket | None], by, errors: list[dict], now: dt.datetime) -> list[Taken]:
    numbers = [ticket.ticket_no.strip() if ticket is not None else None for ticket in tickets]
    taken, hidden = _taken(by, {number for number in numbers if number is not None})
    tickets_read = [ticket for ticket in tickets if ticket is not None]
    customers = _customers(by, {t.account_no.strip() for t in tickets_read if t.account_no.strip()})
    stations = _stations({t.station for t in tickets_read if t.station is not None})
    lookups = _Lookups()
    plans: dict[str, Plan] = {}  # by ticket number, in the order of first appearance
    first: dict[str, int] = {}  # ticket number -> the index of its first appearance
    for index, (ticket, number) in enumerate(zip(tickets, numbers, strict=True)):
        if ticket is None:
            continue
        first.setdefault(number, index)
        account_no = ticket.account_no.strip()
        if account_no and account_no not in customers:
            # checked for a repeated ticket too, as a single post checks its body before its number
            errors.append(_error(index, number, "account_no", _("No customer with this account number.")))
            continue
        if number in hidden:
            message = _("This ticket number belongs to another request.")
            errors.append(_error(index, number, "ticket_no", message))
            continue
        if number in taken or number in plans:
            continue
        try:
            plans[number] = _plan(ticket, number, customers, stations, lookups, by, now)
        except ValidationError as exc:
            errors.append({"index": index, "ticket_no": number, "errors": exc.message_dict})
    if errors:
        raise BatchRefused(sorted(errors, key=lambda error: error["index"]))
    with transaction.atomic():
        ids = requests_bulk_create(list(plans.values()), now=now, read_states=False)
        made_ids = dict(zip(plans, ids, strict=True))
        outbox_record_many(
            "service_request.created",
            [
                {"service_request": pk, "external_no": number, "link": api_link("service-requests", pk)}
                for number, pk in made_ids.items()
            ],
            at=now,
        )
    made = dict(zip(plans, ids, strict=True))
    return [
        Taken(
            ticket_no=number,
            request_id=taken[number] if number in taken else made[number],
            created=number in made and first[number] == index,
        )
        for index, number in enumerate(numbers)
    ]


def _error(index: int, number: str, field: str, message: str) -> dict:
    return {"index": index, "ticket_no": number, "errors": {field: [message]}}


def _customers(by, account_nos: set[str]) -> dict[str, _Customer]:
    if not account_nos:
        return {}
    found = Customer.objects.visible_to(by).filter(account_no__in=account_nos)
    return {
        account_no: _Customer(pk, manager_id, voltage_kv, _Station(station_id, area, branch_id))
        for account_no, pk, manager_id, voltage_kv, station_id, area, branch_id in found.values_list(
            "account_no",
            "pk",
            "manager_id",
            "voltage_kv",
            "station_id",
            "station__area",
            "station__branch_id",
        )
    }


def _stations(refs: set[int | str]) -> dict[int | str, _Station]:
    """The stations named by id or by code, under both."""
    if not refs:
        return {}
    ids = {ref for ref in refs if isinstance(ref, int)}
    codes = refs - ids
    found = Station.objects.filter(Q(pk__in=ids) | Q(code__in=codes))
    stations = {}
    for pk, code, area, branch_id in found.values_list("pk", "code", "area", "branch_id"):
        stations[pk] = stations[code] = _Station(pk, area, branch_id)
    return stations


class _Lookups:
    """The templates, the tier thresholds and the applicants' owners of one batch, each read once
    (an owner once per station and role)."""

    def __init__(self):
        self.templates: dict[tuple[str, str, str], list[RequestTemplate]] = {}
        for template in RequestTemplate.objects.order_by("-version"):
            self.templates.setdefault((template.kind, template.subtype, template.variant), []).append(
                template
            )
        self.thresholds = None
        self.owners: dict[tuple[int, str], int | None] = {}

    def template(self, kind: str, subtype: str, variant: str, day: dt.date) -> RequestTemplate:
        """The highest version in force on `day`, as template_in_force chooses it; a key without
        one goes to template_in_force, which loads its default or refuses on `kind`."""
        versions = self.templates.get((kind, subtype, variant), [])
        found = next((t for t in versions if t.effective_from <= day), None)
        if found is None:
            found = template_in_force(kind, subtype, variant, day)
            self.templates[(kind, subtype, variant)] = list(
                RequestTemplate.objects.filter(kind=kind, subtype=subtype, variant=variant).order_by(
                    "-version"
                )
            )
        return found

    def applicant_owner(self, station_id: int, applicant: Applicant) -> int | None:
        if self.thresholds is None:
            self.thresholds = thresholds_in_force()
        role = applicant_role(
            capacity_kva=applicant.capacity_kva, voltage_kv=applicant.voltage_kv, thresholds=self.thresholds
        )
        if (station_id, role) not in self.owners:
            owner = owner_of_role(station_id=station_id, role=role)
            self.owners[(station_id, role)] = owner.pk if owner is not None else None
        return self.owners[(station_id, role)]


def _plan(ticket: Ticket, number: str, customers, stations, lookups: _Lookups, by, now) -> Plan:
    """The plan of the request request_open would make of the ticket, or its ValidationError."""
    subtype = ticket.subtype or ""
    validate_key(kind=ticket.kind, subtype=subtype)
    customer, station, applicant = None, None, ticket.applicant
    if ticket.station is not None and ticket.station not in stations:
        # refused whatever else the ticket gives, as the single ticket's station field refuses it
        raise ValidationError({"station": [_("No station with this id or code.")]})
    account_no = ticket.account_no.strip()
    if account_no:  # found: _open checked it; an applicant beside it is refused below, as alone
        customer = customers[account_no]
        station = customer.station
    elif ticket.station is not None:
        station = stations[ticket.station]
    # by=None: the customer was found in the caller's scope above, the rest is request_open's check
    _check_party(kind=ticket.kind, customer=customer, applicant=applicant, station=station, by=None)
    received_at = ticket.received_at or now
    variant = _variant(ticket.kind, customer=customer, applicant=applicant, station=station)
    template = lookups.template(ticket.kind, subtype, variant, clock._local(received_at).date())
    owner_id = customer.manager_id if customer else lookups.applicant_owner(station.pk, applicant)
    return Plan(
        kind=ticket.kind,
        subtype=subtype,
        variant=template.variant,
        source=Source.CALL_CENTRE,
        station_id=station.pk,
        branch_id=station.branch_id,
        received_at=received_at,
        customer_id=customer.pk if customer is not None else None,
        applicant={}
        if applicant is None
        else {
            "name": applicant.name.strip(),
            "phone": applicant.phone or "",
            "address": applicant.address or "",
            "capacity_kva": applicant.capacity_kva,
            "voltage_kv": applicant.voltage_kv,
        },
        owner_id=owner_id,
        by_id=by.pk if by is not None else None,
        description=ticket.description,
        external_no=number,
    )
