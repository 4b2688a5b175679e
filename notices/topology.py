"""Writes of the topology: which feeder a transformer district hangs on, which customers are on a
feeder's dedicated line, and the import of both from a file with Chinese headers."""

from django.db import transaction

from notices.models import DedicatedLine, Feeder, FeederDistrict


@transaction.atomic
def feeder_link(*, feeder: Feeder, districts=None, customers=None) -> None:
    """Make `districts` (and `customers`) exactly those on `feeder`; None leaves that side alone.
    A district or customer hangs on one feeder, so naming it here takes it off any other."""
    if districts is not None:
        FeederDistrict.objects.filter(feeder=feeder).exclude(transformer_district__in=districts).delete()
        FeederDistrict.objects.filter(transformer_district__in=districts).exclude(feeder=feeder).delete()
        FeederDistrict.objects.bulk_create(
            [FeederDistrict(feeder=feeder, transformer_district=d) for d in districts], ignore_conflicts=True
        )
    if customers is not None:
        DedicatedLine.objects.filter(feeder=feeder).exclude(customer__in=customers).delete()
        DedicatedLine.objects.filter(customer__in=customers).exclude(feeder=feeder).delete()
        DedicatedLine.objects.bulk_create(
            [DedicatedLine(feeder=feeder, customer=c) for c in customers], ignore_conflicts=True
        )


# ---------------------------------------------------------------- the import
# Header names as the production system (PMS/GIS) exports them, the first alias preferred.
TOPOLOGY_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("线路编号", "馈线编号", "线路编码", "feeder_code", "code"),
    "name": ("线路名称", "馈线名称", "feeder_name", "name"),
    "station": ("供电所", "供电所编号", "供电单位", "station"),
    "substation": ("变电站", "所属变电站", "substation"),
    "transformer_district": ("台区编号", "台区", "transformer_district"),
    "account_no": ("专线户号", "专线用户户号", "户号", "account_no"),
}
TOPOLOGY_REQUIRED = ("code", "name", "station")
MAX_ERRORS = 50


def _header(values: tuple) -> dict[str, int]:
    from customers.imports.columns import normalize_header

    lookup = {}
    for name, aliases in TOPOLOGY_COLUMNS.items():
        for alias in aliases:
            lookup.setdefault(normalize_header(alias), name)
    found: dict[str, int] = {}
    for column, value in enumerate(values):
        name = lookup.get(normalize_header(value)) if value is not None else None
        if name is not None and name not in found:
            found[name] = column
    return found


def topology_import(*, fileobj, filename: str) -> dict[str, int]:
    """Import feeders and their topology from a CSV/XLSX file with Chinese headers (the readers of
    customers.imports): one row a feeder, perhaps with one transformer district hanging on it or one
    dedicated-line account. A feeder code already known is updated. All or nothing: any bad row
    refuses the file with every row's reason (ValidationError on `file`)."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from customers.imports.errors import ImportFileError
    from customers.imports.readers import as_text, open_table
    from customers.models import Customer, Station, TransformerDistrict

    try:
        with open_table(fileobj, filename) as table:
            rows = list(table.rows())
    except ImportFileError as exc:
        raise ValidationError({"file": [exc.message]}) from None
    if not rows:
        raise ValidationError({"file": [_("The file is empty.")]})
    columns = _header(rows[0][1])
    missing = [TOPOLOGY_COLUMNS[name][0] for name in TOPOLOGY_REQUIRED if name not in columns]
    if missing:
        raise ValidationError(
            {"file": [_("Missing columns: %(columns)s.") % {"columns": "、".join(missing)}]}
        )

    def cell(values, name):
        column = columns.get(name)
        return (
            as_text(values[column]).strip()
            if column is not None and column < len(values) and values[column] is not None
            else ""
        )

    records = [
        (number, {name: cell(values, name) for name in TOPOLOGY_COLUMNS}) for number, values in rows[1:]
    ]
    stations = {s.code: s for s in Station.objects.all()} | {s.name: s for s in Station.objects.all()}
    districts = {
        d.code: d
        for d in TransformerDistrict.objects.filter(code__in={r["transformer_district"] for _, r in records})
    }
    customers = {
        c.account_no: c for c in Customer.objects.filter(account_no__in={r["account_no"] for _, r in records})
    }
    errors = []
    for number, record in records:
        if not record["code"] or not record["name"]:
            errors.append(_("Row %(row)s: give the feeder's code and name.") % {"row": number})
        elif record["station"] not in stations:
            errors.append(
                _("Row %(row)s: no supply station “%(value)s”.") % {"row": number, "value": record["station"]}
            )
        elif record["transformer_district"] and record["transformer_district"] not in districts:
            errors.append(
                _("Row %(row)s: no transformer district “%(value)s”.")
                % {"row": number, "value": record["transformer_district"]}
            )
        elif record["account_no"] and record["account_no"] not in customers:
            errors.append(
                _("Row %(row)s: no customer with account number “%(value)s”.")
                % {"row": number, "value": record["account_no"]}
            )
    if errors:
        raise ValidationError({"file": errors[:MAX_ERRORS]})
    counts = {"feeders": 0, "transformer_districts": 0, "dedicated_lines": 0}
    with transaction.atomic():
        feeders: dict[str, Feeder] = {}
        for _number, record in records:
            if record["code"] not in feeders:
                feeders[record["code"]], _created = Feeder.objects.update_or_create(
                    code=record["code"],
                    defaults={
                        "name": record["name"],
                        "station": stations[record["station"]],
                        "substation": record["substation"],
                    },
                )
                counts["feeders"] += 1
            feeder = feeders[record["code"]]
            if record["transformer_district"]:
                FeederDistrict.objects.update_or_create(
                    transformer_district=districts[record["transformer_district"]],
                    defaults={"feeder": feeder},
                )
                counts["transformer_districts"] += 1
            if record["account_no"]:
                DedicatedLine.objects.update_or_create(
                    customer=customers[record["account_no"]], defaults={"feeder": feeder}
                )
                counts["dedicated_lines"] += 1
    return counts
