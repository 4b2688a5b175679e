"""Request templates: the default stages of service.md as data, which template a request follows,
and the administrators' new versions.

A template is keyed by (kind, subtype, variant). The variant picks between two stage lists of one
kind: a capacity change follows the low-voltage (`lv`, as `lv_non_residential`) or high-voltage
(`hv`, as `hv_single`) connection by the customer's voltage, and a fault repair the limits of the
station's area (`city`, `rural`, `remote`).

Which stages the customer's own time pauses (`pauses_for_customer`), decided stage by stage:
- 受理 accept: no. Acceptance takes the customer's ID alone (一证受理); missing documents are
  collected later, so the customer never holds the acceptance up.
- 现场勘查 survey: yes. The visit is booked at a time the customer agrees, and the customer (or their
  electrician) must be on site; a customer who postpones it is not the company's delay.
- 供电方案答复 supply plan: no. Drawing up and answering the plan is the company's own work from the
  survey's findings; the customer's answer to the plan comes after the stage is done.
- 设计审查 design review, 中间检查 mid inspection, 竣工检验 completion: yes. They wait on the
  customer's designer and builder: a design sent back, or works not ready or needing rectification.
- 装表接电 connect: yes. It needs the customer's contract signed, fees paid and site ready.
- installs (load control, prepaid meter) and the orderly use agreement: yes, the customer gives
  access to the site or signs; meter faults, billing queries, complaints, repairs, reconnection and
  answers: no, they are the company's work throughout.

Reconnection (复电, 24 clock hours after the arrears are paid) is split in two stages: billing
confirms the payment and issues the order within 2 hours, operations restores supply within the 22
left. The 2 hours mirror how quickly a payment reaches the billing system; the split keeps the total
at the 24 hours promised.

A fault repair's total is arrival plus restore (the restore limit counts from arrival, as the
commitment says "after reaching the site"): 45 + 180 minutes in a city, 90 + 240 rural, 120 + 240
remote."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from service.models import OWNER, SUBTYPES, DepartmentKind, Kind, RequestTemplate, Subtype, Unit, Variant

DEFAULT_EFFECTIVE_FROM = dt.date(2023, 1, 1)
WD, MIN = Unit.WORKING_DAYS.value, Unit.MINUTES.value
MARKETING, METERING = DepartmentKind.MARKETING.value, DepartmentKind.METERING.value
BILLING = DepartmentKind.BILLING.value
OPERATIONS, CALL_CENTRE = DepartmentKind.OPERATIONS.value, DepartmentKind.CALL_CENTRE.value

# the variants a kind takes; a kind not listed takes none
VARIANTS: dict[str, list[str]] = {
    Kind.CAPACITY_CHANGE: [Variant.LOW_VOLTAGE, Variant.HIGH_VOLTAGE],
    Kind.FAULT_REPAIR: [Variant.CITY, Variant.RURAL, Variant.REMOTE],
}


def _stage(code: str, name: str, department_kind: str, limit: int, unit: str = WD, pauses: bool = False):
    return {
        "code": code,
        "name": name,
        "department_kind": department_kind,
        "limit": limit,
        "unit": unit,
        "pauses_for_customer": pauses,
    }


def _connection(plan_days: int) -> list[dict]:
    return [
        _stage("accept", "受理", MARKETING, 1),
        _stage("survey", "现场勘查", OPERATIONS, 2, pauses=True),
        _stage("supply_plan", "供电方案答复", MARKETING, plan_days),
        _stage("design_review", "设计审查", MARKETING, 10, pauses=True),
        _stage("mid_inspection", "中间检查", OPERATIONS, 5, pauses=True),
        _stage("completion", "竣工检验", OPERATIONS, 5, pauses=True),
        _stage("connect", "装表接电", METERING, 5, pauses=True),
    ]


LV_CONNECTION = [
    _stage("accept", "受理", MARKETING, 1),
    _stage("survey", "现场勘查", OPERATIONS, 2, pauses=True),
    _stage("supply_plan", "供电方案答复", MARKETING, 2),
    _stage("connect", "装表接电", METERING, 3, pauses=True),
]


def _one(code: str, name: str, department_kind: str, days: int, pauses: bool = False) -> tuple:
    return [_stage(code, name, department_kind, days, pauses=pauses)], days, WD


def _complaint(department_kind: str) -> tuple:
    return (
        [_stage("contact", "联系客户", OWNER, 1), _stage("answer", "处理答复", department_kind, 7)],
        7,
        WD,
    )


def _repair(arrival: int, restore: int) -> tuple:
    return (
        [
            _stage("arrival", "到达现场", OPERATIONS, arrival, MIN),
            _stage("restore", "恢复送电", OPERATIONS, restore, MIN),
        ],
        arrival + restore,
        MIN,
    )


# (kind, subtype, variant) -> (stages, total_limit, total_unit): service.md's defaults
DEFAULTS: dict[tuple[str, str, str], tuple[list[dict], int, str]] = {
    (Kind.NEW_CONNECTION, Subtype.RESIDENTIAL, ""): (
        [_stage("accept", "受理", MARKETING, 1), _stage("connect", "装表接电", METERING, 3, pauses=True)],
        5,
        WD,
    ),
    (Kind.NEW_CONNECTION, Subtype.LV_NON_RESIDENTIAL, ""): (LV_CONNECTION, 6, WD),
    (Kind.NEW_CONNECTION, Subtype.HV_SINGLE, ""): (_connection(15), 22, WD),
    (Kind.NEW_CONNECTION, Subtype.HV_DUAL, ""): (_connection(30), 32, WD),
    **{
        (Kind.CAPACITY_CHANGE, subtype, variant): stages
        for subtype in (Subtype.INCREASE, Subtype.DECREASE)
        for variant, stages in (
            (Variant.LOW_VOLTAGE, (LV_CONNECTION, 6, WD)),
            (Variant.HIGH_VOLTAGE, (_connection(15), 22, WD)),
        )
    },
    (Kind.ORDERLY_USE_AGREEMENT, "", ""): _one("agreement", "协议签订", MARKETING, 5, pauses=True),
    (Kind.LOAD_CONTROL_INSTALL, "", ""): _one("install", "负控终端安装", METERING, 5, pauses=True),
    (Kind.PREPAID_METER_INSTALL, "", ""): _one("install", "卡表安装", METERING, 5, pauses=True),
    (Kind.BILLING_QUERY, "", ""): _one("check", "核查答复", BILLING, 6),
    (Kind.METER_FAULT, "", ""): _one("check", "计量检查处理", METERING, 4),
    (Kind.RECONNECTION, "", ""): (
        [
            _stage("confirm_payment", "缴费确认", BILLING, 120, MIN),
            _stage("reconnect", "复电", OPERATIONS, 22 * 60, MIN),
        ],
        24 * 60,
        MIN,
    ),
    (Kind.FAULT_REPAIR, "", Variant.CITY): _repair(45, 180),
    (Kind.FAULT_REPAIR, "", Variant.RURAL): _repair(90, 240),
    (Kind.FAULT_REPAIR, "", Variant.REMOTE): _repair(120, 240),
    (Kind.COMPLAINT, Subtype.SERVICE, ""): _complaint(MARKETING),
    (Kind.COMPLAINT, Subtype.BUSINESS, ""): _complaint(MARKETING),
    (Kind.COMPLAINT, Subtype.OUTAGE, ""): _complaint(OPERATIONS),
    (Kind.COMPLAINT, Subtype.POWER_QUALITY, ""): _complaint(OPERATIONS),
    (Kind.COMPLAINT, Subtype.GRID_CONSTRUCTION, ""): _complaint(OPERATIONS),
    (Kind.CONSULTATION, "", ""): _one("answer", "咨询答复", CALL_CENTRE, 5),
    (Kind.SUGGESTION, "", ""): _one("answer", "处理答复", OWNER, 5),
    (Kind.PRAISE, "", ""): _one("answer", "处理答复", OWNER, 5),
}


def default_rows() -> list[dict]:
    """The defaults as RequestTemplate field values (version 1), for the data migration."""
    return [
        {
            "kind": str(kind),
            "subtype": str(subtype),
            "variant": str(variant),
            "version": 1,
            "effective_from": DEFAULT_EFFECTIVE_FROM,
            "stages": stages,
            "total_limit": total,
            "total_unit": unit,
        }
        for (kind, subtype, variant), (stages, total, unit) in DEFAULTS.items()
    ]


# ---------------------------------------------------------------- validation
def validate_key(*, kind: str, subtype: str = "", variant: str | None = None) -> None:
    """Refuse an unknown kind, a subtype the kind does not take (or a missing one), and a variant
    the kind does not take (None: not chosen yet, not checked), each on its own field."""
    if kind not in Kind.values:
        raise ValidationError({"kind": [_("Choose one of the request kinds.")]})
    allowed = SUBTYPES.get(kind, [])
    if allowed and subtype not in allowed:
        raise ValidationError(
            {
                "subtype": [
                    _("A %(kind)s needs one of these subtypes: %(subtypes)s.")
                    % {
                        "kind": Kind(kind).label,
                        "subtypes": "、".join(str(Subtype(s).label) for s in allowed),
                    }
                ]
            }
        )
    if not allowed and subtype:
        raise ValidationError({"subtype": [_("A %(kind)s has no subtype.") % {"kind": Kind(kind).label}]})
    variants = VARIANTS.get(kind, [])
    if variant is None:
        return
    if (variants and variant not in variants) or (not variants and variant):
        raise ValidationError({"variant": [_("This variant does not apply to this kind of request.")]})


STAGE_KEYS = ("code", "name", "department_kind", "limit", "unit", "pauses_for_customer")


def validate_stages(stages) -> list[dict]:
    """The stages list cleaned (the six keys, in order), or a ValidationError on `stages` with one
    message per fault, each naming its stage by position."""
    if not isinstance(stages, list) or not stages:
        raise ValidationError({"stages": [_("Give at least one stage.")]})
    errors, cleaned, codes = [], [], set()
    department_kinds = [*DepartmentKind.values, OWNER]
    for n, stage in enumerate(stages, start=1):
        if not isinstance(stage, dict):
            errors.append(_("Stage %(n)s: give its code, name, department kind, limit and unit.") % {"n": n})
            continue
        code = str(stage.get("code") or "").strip()
        name = str(stage.get("name") or "").strip()
        limit = stage.get("limit")
        pauses = stage.get("pauses_for_customer", False)
        if not code or len(code) > 30:
            errors.append(_("Stage %(n)s: give a code of at most 30 characters.") % {"n": n})
        elif code in codes:
            errors.append(_("Stage %(n)s: the code “%(code)s” is used twice.") % {"n": n, "code": code})
        codes.add(code)
        if not name or len(name) > 100:
            errors.append(_("Stage %(n)s: give a name of at most 100 characters.") % {"n": n})
        if stage.get("department_kind") not in department_kinds:
            errors.append(
                _("Stage %(n)s: the department kind is not one of the departments or the owner.") % {"n": n}
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            errors.append(_("Stage %(n)s: the limit must be a whole number of at least 1.") % {"n": n})
        if stage.get("unit") not in Unit.values:
            errors.append(
                _("Stage %(n)s: the unit must be working days, working hours or minutes.") % {"n": n}
            )
        if not isinstance(pauses, bool):
            errors.append(_("Stage %(n)s: say yes or no for whether customer waiting pauses it.") % {"n": n})
        cleaned.append(
            {
                "code": code,
                "name": name,
                "department_kind": stage.get("department_kind"),
                "limit": limit,
                "unit": stage.get("unit"),
                "pauses_for_customer": pauses,
            }
        )
    if errors:
        raise ValidationError({"stages": errors})
    return cleaned


# ---------------------------------------------------------------- which template, new versions
def _in_force(kind: str, subtype: str, variant: str, on: dt.date) -> RequestTemplate | None:
    return (
        RequestTemplate.objects.filter(kind=kind, subtype=subtype, variant=variant, effective_from__lte=on)
        .order_by("-version")
        .first()
    )


def template_in_force(kind: str, subtype: str, variant: str, on: dt.date) -> RequestTemplate:
    """The highest version of (kind, subtype, variant) whose `effective_from` is on or before `on`.

    A key with no row at all gets its default loaded first: the data migration normally did, but a
    database flushed by a test (or a template deleted before any request used it) must not make every
    request of the kind impossible. A key whose versions all start later than `on` is refused."""
    validate_key(kind=kind, subtype=subtype, variant=variant)
    template = _in_force(kind, subtype, variant, on)
    if template is None:
        if not RequestTemplate.objects.filter(kind=kind, subtype=subtype, variant=variant).exists():
            _load_default(kind, subtype, variant)
        # read again either way: a request at the same moment may have loaded the default between
        # the two reads above (its row committed after the first, before the second)
        template = _in_force(kind, subtype, variant, on)
    if template is None:
        raise ValidationError(
            {"kind": [_("No template of this kind of request is in force on %(date)s.") % {"date": on}]}
        )
    return template


def _load_default(kind: str, subtype: str, variant: str) -> None:
    default = DEFAULTS.get((kind, subtype, variant))
    if default is None:
        return
    stages, total, unit = default
    try:
        with transaction.atomic():  # another request may load it at the same moment
            RequestTemplate.objects.create(
                kind=kind,
                subtype=subtype,
                variant=variant,
                version=1,
                effective_from=DEFAULT_EFFECTIVE_FROM,
                stages=stages,
                total_limit=total,
                total_unit=unit,
            )
    except IntegrityError:
        pass


@transaction.atomic
def template_create(
    *,
    kind: str,
    subtype: str = "",
    variant: str = "",
    effective_from: dt.date,
    stages: list[dict],
    total_limit: int,
    total_unit: str,
    by=None,
) -> RequestTemplate:
    """A new version of (kind, subtype, variant), in force from `effective_from`. Requests already
    running keep the version they started with. A version may not start before the newest one does:
    versions then keep the order of their dates, and "the highest version in force" is the newest."""
    validate_key(kind=kind, subtype=subtype, variant=variant)
    errors = {}
    try:
        stages = validate_stages(stages)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if isinstance(total_limit, bool) or not isinstance(total_limit, int) or total_limit < 1:
        errors["total_limit"] = [_("The total limit must be a whole number of at least 1.")]
    if total_unit not in Unit.values:
        errors["total_unit"] = [_("The unit must be working days, working hours or minutes.")]
    same = RequestTemplate.objects.select_for_update().filter(kind=kind, subtype=subtype, variant=variant)
    latest = same.order_by("-version").first()
    if latest is not None and effective_from < latest.effective_from:
        errors["effective_from"] = [
            _("A new version cannot start before the current one (%(date)s).")
            % {"date": latest.effective_from}
        ]
    if errors:
        raise ValidationError(errors)
    version = (same.aggregate(top=Max("version"))["top"] or 0) + 1
    return RequestTemplate.objects.create(
        kind=kind,
        subtype=subtype,
        variant=variant,
        version=version,
        effective_from=effective_from,
        stages=stages,
        total_limit=total_limit,
        total_unit=total_unit,
        created_by=by,
    )
