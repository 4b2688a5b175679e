"""Industry sections of GB/T 4754-2017, as the industry trends group customers: the code's section
letter (A agriculture ... T international organisations), manufacturing (C) split by its two-digit
division ("C34"), and the customers with no code (residents, mostly) together."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

NO_CODE = "-"

SECTIONS = {
    "A": gettext_lazy("Agriculture, forestry, animal husbandry and fishery"),
    "B": gettext_lazy("Mining"),
    "C": gettext_lazy("Manufacturing"),
    "D": gettext_lazy("Electricity, heat, gas and water supply"),
    "E": gettext_lazy("Construction"),
    "F": gettext_lazy("Wholesale and retail"),
    "G": gettext_lazy("Transport, storage and post"),
    "H": gettext_lazy("Accommodation and catering"),
    "I": gettext_lazy("Information transmission, software and IT services"),
    "J": gettext_lazy("Finance"),
    "K": gettext_lazy("Real estate"),
    "L": gettext_lazy("Leasing and business services"),
    "M": gettext_lazy("Scientific research and technical services"),
    "N": gettext_lazy("Water, environment and public facilities"),
    "O": gettext_lazy("Residential, repair and other services"),
    "P": gettext_lazy("Education"),
    "Q": gettext_lazy("Health and social work"),
    "R": gettext_lazy("Culture, sports and entertainment"),
    "S": gettext_lazy("Public administration and social organisations"),
    "T": gettext_lazy("International organisations"),
}


def section_key(raw: str | None) -> str:
    """The grouping key of what the database cut from an industry code ("C34", "Q", ""): a known
    section letter, C with two digits, or NO_CODE."""
    raw = (raw or "").strip().upper()
    if not raw or raw[0] not in SECTIONS:
        return NO_CODE
    if raw[0] == "C":
        return raw if len(raw) == 3 and raw[1:].isdigit() else "C"
    return raw[0]


def section_label(key: str) -> str:
    """ "制造业 34 大类" for a division, the section's name for a letter, "未填行业代码" for none."""
    if key == NO_CODE:
        return _("No industry code")
    if len(key) == 3:
        return _("%(section)s, division %(division)s") % {"section": SECTIONS["C"], "division": key[1:]}
    return str(SECTIONS[key])
