"""Serializer fields for references by id, safe against any input and respectful of the user's scope;
dates and months as api.md writes them."""

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.utils import humanize_datetime

from crm.common import months

# The largest primary key the database can hold (a signed 64-bit integer): ids beyond it are
# reported as "does not exist" and never reach the database driver (SQLite raises OverflowError).
MAX_ID = 2**63 - 1
# An id in a URL (a router's lookup_value_regex, an action's url_path): longer numbers cannot be ids,
# and anything else is a 404 from the resolver instead of a ValueError in the lookup.
ID_PATTERN = r"[0-9]{1,18}"


class PrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """DRF's field that also refuses booleans and out-of-range numbers with a 400, never a 500."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        number = data
        if isinstance(data, str) and data.strip().lstrip("-").isdigit():
            number = int(data)
        if isinstance(number, int) and not 0 < number <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class ScopedPrimaryKeyRelatedField(PrimaryKeyRelatedField):
    """A reference to an object the requesting user may see. An object outside the user's scope is
    refused with the very words used for one that does not exist, so the answer reveals nothing.
    The field's queryset must offer `visible_to(user)`."""

    def get_queryset(self):
        return super().get_queryset().visible_to(self.context["request"].user)


class DateField(serializers.DateField):
    """Every date the API takes (the ModelSerializer below maps model date fields to it; declared
    fields use it by name): YYYY-MM-DD in ASCII digits, in a year from months.MIN_YEAR to MAX_YEAR.
    Django's parse_date reads any script's digits and any year from 1, and a year before 1000 came
    back as "471-08-31". Written by DRF's iso-8601 DATE_FORMAT (settings), four digits of year always."""

    default_error_messages = {"year": _("Enter a date as YYYY-MM-DD with a year from {min} to {max}.")}

    def to_internal_value(self, value):
        if isinstance(value, str) and not value.isascii():
            formats = getattr(self, "input_formats", api_settings.DATE_INPUT_FORMATS)
            self.fail("invalid", format=humanize_datetime.date_formats(formats))
        day = super().to_internal_value(value)
        if not months.MIN_YEAR <= day.year <= months.MAX_YEAR:
            self.fail("year", min=months.MIN_YEAR, max=months.MAX_YEAR)
        return day


# The years months.MIN_YEAR..MAX_YEAR (1900..2100) as a pattern, for the schema of a date the API
# takes (tests/crm/test_dates.py holds it to the bounds).
_YEARS_PATTERN = "(19[0-9]{2}|20[0-9]{2}|2100)"


class DateFieldSchema(OpenApiSerializerFieldExtension):
    """A date in a request names a year from 1900 to 2100; one in a response is any four-digit year
    (a row may predate the bound)."""

    target_class = DateField

    def map_serializer_field(self, auto_schema, direction):
        year = _YEARS_PATTERN if direction == "request" else "[0-9]{4}"
        return {"type": "string", "format": "date", "pattern": f"^{year}-[0-9]{{2}}-[0-9]{{2}}$"}


class ModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose generated relations and dates use the safe fields above."""

    serializer_related_field = PrimaryKeyRelatedField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: DateField,
    }


@extend_schema_field({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "example": "2026-01"})
class PeriodField(serializers.Field):
    """A month as `YYYY-MM` (api.md); stored as the first day of the month."""

    def to_representation(self, value: dt.date) -> str:
        return months.label(value)

    def to_internal_value(self, data) -> dt.date:
        try:
            return months.parse(data, strict=True)
        except ValueError as exc:  # months' own words: a malformed month, or a year out of bounds
            raise serializers.ValidationError(str(exc), code="invalid") from None
