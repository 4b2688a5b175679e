"""Cell values as marketing systems write them, turned into field values. Each parser returns the
value or raises ValueError with a message for the user."""

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from customers.consumption import parse_decimal
from customers.imports.readers import as_text
from customers.models import Category, Importance, Status

MAX_VOLTAGE_KV = Decimal("1000")  # the highest AC transmission voltage in service is 1000 kV
MAX_CAPACITY_KVA = Decimal("5000000")  # no single account contracts 5 GVA


_SPACES_RE = re.compile(r"\s+")


def key(value) -> str:
    """Compare values ignoring width, case and spaces: '１０ＫＶ' and '10 kv' are the same."""
    return _SPACES_RE.sub("", unicodedata.normalize("NFKC", as_text(value)).casefold())


@lru_cache(maxsize=32)
def _table(name: str, language: str | None) -> dict[str, str]:
    """A value table with each choice's code and label (in the active language) added; built once
    per language, not per row."""
    table, choices = {
        "category": (CATEGORY_VALUES, Category.choices),
        "importance": (IMPORTANCE_VALUES, Importance.choices),
        "status": (STATUS_VALUES, Status.choices),
    }[name]
    out = {key(alias): code for alias, code in table.items()}
    for code, label in choices:
        out.setdefault(key(code), code)
        out.setdefault(key(label), code)
    return out


def _choices(name: str) -> dict[str, str]:
    return _table(name, get_language())


CATEGORY_VALUES = {
    "居民生活": Category.RESIDENTIAL,
    "居民": Category.RESIDENTIAL,
    "城乡居民生活": Category.RESIDENTIAL,
    "城镇居民生活": Category.RESIDENTIAL,
    "乡村居民生活": Category.RESIDENTIAL,
    "商业": Category.COMMERCIAL,
    "一般工商业": Category.COMMERCIAL,
    "一般工商业及其他": Category.COMMERCIAL,
    "非居民照明": Category.COMMERCIAL,
    "大工业": Category.INDUSTRIAL,
    "工业": Category.INDUSTRIAL,
    "普通工业": Category.INDUSTRIAL,
    "农业生产": Category.AGRICULTURAL,
    "农业": Category.AGRICULTURAL,
    "农业排灌": Category.AGRICULTURAL,
    "公共服务": Category.PUBLIC_SERVICE,
    "公用事业": Category.PUBLIC_SERVICE,
    "公共事业": Category.PUBLIC_SERVICE,
}
IMPORTANCE_VALUES = {
    "无": Importance.NONE,
    "非": Importance.NONE,
    "否": Importance.NONE,
    "普通": Importance.NONE,
    "一般": Importance.NONE,
    "-": Importance.NONE,
    "特级": Importance.LEVEL_1,
    "一级": Importance.LEVEL_1,
    "二级": Importance.LEVEL_2,
    "临时": Importance.TEMPORARY,
    "临时性": Importance.TEMPORARY,
}
STATUS_VALUES = {
    "正常": Status.ACTIVE,
    "在用": Status.ACTIVE,
    "运行": Status.ACTIVE,
    "正常用电": Status.ACTIVE,
    "暂停": Status.SUSPENDED,
    "暂停用电": Status.SUSPENDED,
    "暂拆": Status.SUSPENDED,
    "停用": Status.SUSPENDED,
    "销户": Status.CLOSED,
    "已销户": Status.CLOSED,
    "注销": Status.CLOSED,
}
# For messages: what a value is called, and the values to suggest besides the codes.
_DESCRIBE = {
    "category": (_lazy("category"), ("居民生活", "一般工商业", "大工业", "农业生产", "公共服务"), Category),
    "importance": (_lazy("importance"), ("一级", "二级", "临时", "无"), Importance),
    "status": (_lazy("status"), ("正常", "暂停", "销户"), Status),
}
_IMPORTANCE_SUFFIXES = ("重要电力用户", "重要用户", "重要客户", "重要")
_VOLTAGE_UNIT_RE = re.compile(r"^(?:交流|ac)?(.*?)(kv|千伏|v|伏)?$")
_CAPACITY_UNIT_RE = re.compile(r"^(.*?)(kva|千伏安)?$")


def text(value, *, required: bool = False) -> str:
    result = as_text(value)
    if required and not result:
        raise ValueError(_("This field is required."))
    return result


def _lookup(value, name: str) -> str:
    found = _choices(name).get(key(value))
    if found is None:
        what, examples, choices = _DESCRIBE[name]
        raise ValueError(
            _("Unknown %(what)s “%(value)s”; accepted: %(accepted)s.")
            % {"what": what, "value": as_text(value), "accepted": ", ".join([*examples, *choices.values])}
        )
    return found


def category(value) -> str:
    if not as_text(value):
        raise ValueError(_("This field is required."))
    normalized = key(value)
    if normalized not in _choices("category") and normalized.endswith("用电"):
        value = normalized[: -len("用电")]
    return _lookup(value, "category")


def importance(value) -> str:
    if not as_text(value):
        return Importance.NONE
    normalized = key(value)
    if normalized not in _choices("importance"):
        for suffix in _IMPORTANCE_SUFFIXES:
            if normalized.endswith(suffix) and normalized != suffix:
                normalized = normalized[: -len(suffix)]
                break
    return _lookup(normalized, "importance")


def status(value) -> str:
    if not as_text(value):
        return Status.ACTIVE
    return _lookup(value, "status")


def voltage_kv(value) -> Decimal:
    """'10kV', '0.4 kV', '220V', '35千伏' or a bare number of kV."""
    if not as_text(value):
        raise ValueError(_("This field is required."))
    match = _VOLTAGE_UNIT_RE.match(key(value))
    number = parse_decimal(match.group(1), required=True)
    if match.group(2) in ("v", "伏"):
        number = number / 1000
    if number <= 0:
        raise ValueError(_("The supply voltage must be greater than zero."))
    if number > MAX_VOLTAGE_KV:
        raise ValueError(_("The value is implausibly large."))
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def capacity_kva(value) -> Decimal:
    """'630', '630kVA' or '630千伏安'; blank is 0."""
    if not as_text(value):
        return Decimal("0")
    match = _CAPACITY_UNIT_RE.match(key(value))
    number = parse_decimal(match.group(1), required=True, maximum=MAX_CAPACITY_KVA)
    return number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
