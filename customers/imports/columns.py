"""Which column holds which field: Chinese and English header names as marketing systems and people
write them. Within a field, aliases are in order of preference: when a file carries two columns for
one field (抄见电量 and 结算电量), the first alias listed wins and the other is ignored."""

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from customers.imports.errors import ImportFileError
from customers.imports.readers import ExcelError, as_text
from customers.models import ConsumptionRecord, Customer, ImportJob

CUSTOMER_COLUMNS: dict[str, tuple[str, ...]] = {
    "account_no": ("户号", "用户编号", "客户编号", "用户号", "account_no", "account number", "account"),
    "name": ("户名", "客户名称", "用户名称", "name", "customer name"),
    "category": ("用电类别", "客户类别", "用户类别", "category"),
    "industry_code": ("行业代码", "行业分类", "行业分类代码", "industry_code", "industry code", "industry"),
    "voltage_kv": ("供电电压", "电压等级", "voltage_kv", "supply voltage", "voltage"),
    "contracted_capacity_kva": (
        "合同容量",
        "运行容量",
        "contracted_capacity_kva",
        "contracted capacity",
        "capacity",
    ),
    "importance": ("重要用户等级", "重要性", "重要性等级", "importance"),
    "station": ("供电所", "供电单位", "station", "supply station"),
    "community": ("社区编号", "社区", "社区名称", "community"),
    "transformer_district": (
        "台区编号",
        "台区",
        "台区名称",
        "transformer_district",
        "transformer district",
    ),
    "address": ("用电地址", "地址", "address"),
    "status": ("用户状态", "客户状态", "状态", "status"),
}
CUSTOMER_REQUIRED = ("account_no", "name", "category", "voltage_kv", "station")

CONSUMPTION_COLUMNS: dict[str, tuple[str, ...]] = {
    "account_no": ("户号", "用户编号", "客户编号", "用户号", "account_no", "account number", "account"),
    "period": ("电费年月", "抄表年月", "账期", "年月", "period", "month"),
    "kwh": ("结算电量", "抄见电量", "电量", "用电量", "kwh", "consumption"),
    "amount_yuan": ("应收电费", "电费", "电费金额", "amount_yuan", "amount", "billed amount"),
    "max_demand_kw": ("最大需量", "max_demand_kw", "max demand", "maximum demand"),
}
CONSUMPTION_REQUIRED = ("account_no", "period", "kwh")

COLUMNS = {ImportJob.Kind.CUSTOMERS: CUSTOMER_COLUMNS, ImportJob.Kind.CONSUMPTION: CONSUMPTION_COLUMNS}
REQUIRED = {ImportJob.Kind.CUSTOMERS: CUSTOMER_REQUIRED, ImportJob.Kind.CONSUMPTION: CONSUMPTION_REQUIRED}
MODELS = {ImportJob.Kind.CUSTOMERS: Customer, ImportJob.Kind.CONSUMPTION: ConsumptionRecord}
# Title lines above the header ("2026年10月电费明细") are skipped; the header is within this many rows.
HEADER_SEARCH_ROWS = 10

_UNIT_RE = re.compile(r"[(\[【].*?[)\]】]$")
_NOISE_RE = re.compile(r"[\s_.\-*:#]+")


def normalize_header(text) -> str:
    """'抄见电量（kWh）' -> '抄见电量(kwh)'; 'Account No.' -> 'accountno'; '*户号' -> '户号'."""
    value = unicodedata.normalize("NFKC", as_text(text)).casefold()
    return _NOISE_RE.sub("", value)


def _lookup(kind: str) -> dict[str, tuple[str, int]]:
    """normalized alias -> (field, preference: 0 is best)."""
    table = {}
    for name, aliases in COLUMNS[kind].items():
        for rank, alias in enumerate(aliases):
            table.setdefault(normalize_header(alias), (name, rank))
    return table


@dataclass
class ColumnMap:
    kind: str
    header_row: int
    fields: dict[str, int]  # field -> column index in the row's values
    headers: dict[str, str]  # field -> the header as written in the file
    ignored: list[str] = field(default_factory=list)

    def label(self, name: str) -> str:
        """How to name a field to the user: the column header of their file, else the field's name."""
        if name in self.headers:
            return self.headers[name]
        try:
            return str(MODELS[self.kind]._meta.get_field(name).verbose_name)
        except Exception:  # not a model field (e.g. non_field_errors)
            return ""


def map_header(values: tuple, kind: str) -> ColumnMap | str:
    """A ColumnMap for a header row, or a message when a column name is ambiguous."""
    lookup = _lookup(kind)
    chosen: dict[str, tuple[int, int]] = {}  # field -> (rank, column)
    headers: dict[int, str] = {}
    for column, value in enumerate(values):
        if value is None or isinstance(value, ExcelError):
            continue
        text = as_text(value)
        headers[column] = text
        key = normalize_header(text)
        match = lookup.get(key) or lookup.get(_UNIT_RE.sub("", key))
        if match is None:
            continue
        name, rank = match
        if name in chosen and chosen[name][0] == rank:
            return _("Column “%(column)s” appears twice; keep one of them.") % {"column": text}
        if name not in chosen or rank < chosen[name][0]:
            chosen[name] = (rank, column)
    used = {column for _, column in chosen.values()}
    return ColumnMap(
        kind=kind,
        header_row=0,
        fields={name: column for name, (_, column) in chosen.items()},
        headers={name: headers[column] for name, (_, column) in chosen.items()},
        ignored=[text for column, text in headers.items() if column not in used],
    )


def _describe(kind: str, names) -> str:
    return ", ".join(f"{COLUMNS[kind][name][0]} ({name})" for name in names)


def find_columns(rows: Iterator[tuple[int, tuple]], kind: str) -> tuple[ColumnMap, Iterator]:
    """Find the header among the first rows that carry values: the first row naming every required
    column. Returns the map and the rows after the header; refuses the file otherwise."""
    required = REQUIRED[kind]
    seen: list[tuple[int, tuple]] = []
    best: ColumnMap | None = None
    for number, values in rows:
        if all(value is None for value in values):
            continue
        seen.append((number, values))
        mapped = map_header(values, kind)
        if isinstance(mapped, str):
            raise ImportFileError(mapped)
        mapped.header_row = number
        if all(name in mapped.fields for name in required):
            return mapped, rows
        if best is None or len(mapped.fields) > len(best.fields):
            best = mapped
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    if best is None:
        raise ImportFileError(_("The file has no rows."))
    missing = [name for name in required if name not in best.fields]
    message = _("The file lacks required columns: %(columns)s.") % {"columns": _describe(kind, missing)}
    other = next(k for k in COLUMNS if k != kind)
    for _number, values in seen:
        looks = map_header(values, other)
        if not isinstance(looks, str) and all(name in looks.fields for name in REQUIRED[other]):
            message += " " + _("It looks like a file of %(kind)s: choose that kind of import.") % {
                "kind": ImportJob.Kind(other).label.lower()
            }
            break
    raise ImportFileError(message)
