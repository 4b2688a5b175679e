"""Customer rows: validated without per-row queries (territories are cached by code and name, and
existing accounts are looked up once per chunk), then created and updated in bulk, each created or
changed customer with its history record (by the uploader, the job named as the reason). A row that
repeats an existing customer's values is neither written nor recorded: it is counted as unchanged.

A present column is authoritative for the rows of the file: a blank cell means the field's default
(no community, capacity 0, importance none, status active). An absent column leaves existing
customers' values as they are. The tier of a new customer is its initial tier; an existing
customer's tier is left to reclassification, as for an edit in the browser."""

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from crm.common import hooks
from customers.imports import values as parse
from customers.imports.columns import ColumnMap
from customers.imports.errors import ImportFileError
from customers.imports.readers import as_text
from customers.imports.rows import Rejection, SourceRow, rejections_for, with_cell_notes
from customers.models import Community, Customer, Station, TransformerDistrict
from customers.services import (
    LOCATION_FIELDS,
    PLAIN_FIELDS,
    customer_initial_tier,
    customer_validate_location,
)
from customers.tiering.rules import thresholds_in_force

CHUNK = 1000
PORTFOLIO_FIELDS = {"station", "community", "transformer_district", "status"}

MODEL_FIELDS = {name: Customer._meta.get_field(name) for name in PLAIN_FIELDS}


class Reference:
    """Supply stations, communities and transformer districts by id, code and name: three queries
    per file, however many rows."""

    def __init__(self) -> None:
        self.stations = {s.pk: s for s in Station.objects.all()}
        self.communities = {c.pk: c for c in Community.objects.all()}
        self.districts = {d.pk: d for d in TransformerDistrict.objects.all()}
        self._station_code = {parse.key(s.code): s for s in self.stations.values()}
        self._station_name = defaultdict(list)
        for s in self.stations.values():
            self._station_name[parse.key(s.name)].append(s)
        self._territory = {}
        for kind, objects in (("community", self.communities), ("district", self.districts)):
            by_code, by_name = {}, defaultdict(list)
            for t in objects.values():
                by_code[parse.key(t.code)] = t
                by_name[(t.station_id, parse.key(t.name))].append(t)
                if kind == "district" and t.transformer_code:
                    by_code.setdefault(parse.key(t.transformer_code), t)
            self._territory[kind] = (by_code, by_name)

    def station(self, value) -> Station:
        wanted = parse.key(value)
        if not wanted:
            raise ValueError(_("This field is required."))
        found = self._station_code.get(wanted)
        if found is not None:
            return found
        named = self._station_name.get(wanted, [])
        if len(named) == 1:
            return named[0]
        if named:
            raise ValueError(_("Several supply stations have this name; give the station's code."))
        raise ValueError(_("No supply station with this code or name."))

    def territory(self, kind: str, value, station: Station | None):
        """A community or transformer district by code, else by name within the row's station."""
        wanted = parse.key(value)
        if not wanted:
            return None
        by_code, by_name = self._territory[kind]
        found = by_code.get(wanted)
        if found is not None:
            return found
        named = by_name.get((station.pk, wanted), []) if station is not None else []
        if len(named) == 1:
            return named[0]
        if named:
            raise ValueError(_("Several territories of this station have this name; give the code."))
        if kind == "community":
            raise ValueError(_("No community with this code, or with this name in the supply station."))
        raise ValueError(
            _("No transformer district with this code, or with this name in the supply station.")
        )


class CustomerImporter:
    def __init__(self, *, job, columns: ColumnMap) -> None:
        self.columns = columns
        self.present = set(columns.fields)
        self.reference = Reference()
        self.by = job.created_by
        self.job_id = job.pk
        self.visible = Customer.objects.visible_to(job.created_by)
        self.rejections: list[Rejection] = []
        self.rejected_rows = 0
        self._first_row: dict[str, int] = {}
        self._new: list[dict] = []
        self._existing: list[tuple[int, dict]] = []

    # ------------------------------------------------------------ validation (no writes)
    def check(self, rows: Iterable[SourceRow]) -> None:
        """Validate one chunk of rows; two queries whatever the chunk's size."""
        cleaned: list[tuple[SourceRow, dict]] = []
        for row in rows:
            values, errors = self._clean(row)
            account_no = values.get("account_no") or as_text(row.values.get("account_no"))
            if account_no:
                first = self._first_row.setdefault(account_no, row.number)
                if first != row.number:
                    errors.setdefault("account_no", []).append(
                        _("Row %(row)s already gives this account number.") % {"row": first}
                    )
            errors = with_cell_notes(row, errors)
            if errors:
                self._reject(row.number, account_no, errors)
            else:
                cleaned.append((row, values))
        if not cleaned:
            return
        numbers = [values["account_no"] for _, values in cleaned]
        existing = set(Customer.objects.filter(account_no__in=numbers).values_list("account_no", flat=True))
        mine = {
            account_no: (pk, (station_id, community_id, district_id))
            for account_no, pk, station_id, community_id, district_id in self.visible.filter(
                account_no__in=[n for n in numbers if n in existing]
            ).values_list("account_no", "pk", "station_id", "community_id", "transformer_district_id")
        }
        for row, values in cleaned:
            account_no = values["account_no"]
            if account_no in existing and account_no not in mine:
                # Whether the account exists outside the user's scope is not theirs to learn.
                message = _("This account number is already used by another customer.")
                self._reject(row.number, account_no, {"account_no": [message]})
                continue
            pk, location = mine.get(account_no, (None, None))
            errors = self._location_errors(values, location)
            if errors:
                self._reject(row.number, account_no, with_cell_notes(row, errors))
            elif pk is None:
                self._new.append(values)
            else:
                self._existing.append((pk, values))

    def finish_check(self) -> None:
        return None

    def _clean(self, row: SourceRow) -> tuple[dict, dict[str, list[str]]]:
        raw = row.values
        values: dict = {}
        errors: dict[str, list[str]] = {}

        def take(name, parser):
            if name not in self.present:
                return
            try:
                values[name] = parser(raw.get(name))
            except ValueError as exc:
                errors[name] = [str(exc)]

        take("account_no", lambda v: parse.text(v, required=True))
        take("name", lambda v: parse.text(v, required=True))
        take("category", parse.category)
        take("industry_code", parse.text)
        take("voltage_kv", parse.voltage_kv)
        take("contracted_capacity_kva", parse.capacity_kva)
        take("importance", parse.importance)
        take("address", parse.text)
        take("status", parse.status)
        take("station", self.reference.station)
        station = values.get("station")
        if "station" not in errors:
            take("community", lambda v: self.reference.territory("community", v, station))
            take("transformer_district", lambda v: self.reference.territory("district", v, station))

        # The model fields' own validators (lengths, digits), without building a model per row.
        for name in PLAIN_FIELDS:
            if name in values and name not in errors:
                try:
                    MODEL_FIELDS[name].run_validators(values[name])
                except ValidationError as exc:
                    errors[name] = exc.messages
        return values, errors

    def _location_errors(self, values: dict, current) -> dict[str, list[str]]:
        """The location rule of customer_validate_location, on cached objects (no query). For an
        existing customer, columns the file lacks keep the customer's current place."""
        station_id, community_id, district_id = current or (None, None, None)
        station = values["station"] if "station" in values else self.reference.stations.get(station_id)
        if station is None:
            return {}
        community = (
            values["community"] if "community" in values else self.reference.communities.get(community_id)
        )
        district = (
            values["transformer_district"]
            if "transformer_district" in values
            else self.reference.districts.get(district_id)
        )
        try:
            customer_validate_location(station=station, community=community, transformer_district=district)
        except ValidationError as exc:
            return exc.message_dict
        return {}

    def _reject(self, row_number: int, account_no: str, errors: dict[str, list[str]]) -> None:
        self.rejected_rows += 1
        self.rejections.extend(rejections_for(row_number, account_no, errors, self.columns))

    # ------------------------------------------------------------ writing (inside one transaction)
    def write(self) -> tuple[int, int, int]:
        """Create and update; returns (created, updated, unchanged). The caller holds the transaction."""
        now = timezone.now()
        # The job's language is in force here (import_run): the reason reads as the uploader reads.
        history = {
            "default_user": self.by,
            "default_change_reason": _("Import %(job)s") % {"job": self.job_id},
            "default_date": now,
        }
        portfolios_changed = bool(self._new)
        updated = 0
        thresholds = thresholds_in_force()
        for start in range(0, len(self._new), CHUNK):
            batch = []
            for values in self._new[start : start + CHUNK]:
                customer = Customer(**values)
                customer.tier = customer_initial_tier(customer, thresholds=thresholds)
                batch.append(customer)
            bulk_create_with_history(batch, Customer, **history)
        for start in range(0, len(self._existing), CHUNK):
            chunk = self._existing[start : start + CHUNK]
            current = Customer.objects.in_bulk([pk for pk, _ in chunk])
            changed, fields = [], set()
            for pk, values in chunk:
                customer = current.get(pk)
                if customer is None:
                    raise ImportFileError(
                        _(
                            "Customers were deleted while the file was read; nothing was written. "
                            "Upload it again."
                        )
                    )
                dirty = [name for name, value in values.items() if _differs(customer, name, value)]
                for name in dirty:
                    setattr(customer, name, values[name])
                if dirty:
                    customer.updated_at = now
                    changed.append(customer)
                    fields.update(dirty)
            if changed:
                bulk_update_with_history(changed, Customer, sorted(fields | {"updated_at"}), **history)
                updated += len(changed)
                portfolios_changed = portfolios_changed or bool(fields & PORTFOLIO_FIELDS)
        if portfolios_changed:
            hooks.after_commit("portfolios_changed")
        return len(self._new), updated, len(self._existing) - updated


def _differs(customer: Customer, name: str, value) -> bool:
    if name in LOCATION_FIELDS:
        return getattr(customer, f"{name}_id") != (value.pk if value is not None else None)
    return getattr(customer, name) != value
