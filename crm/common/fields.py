"""Serializer fields for references by id, safe against any input and respectful of the user's scope."""

import datetime as dt
import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# The largest primary key the database can hold (a signed 64-bit integer): ids beyond it are
# reported as "does not exist" and never reach the database driver (SQLite raises OverflowError).
MAX_ID = 2**63 - 1


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


class ModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose generated relations use the safe field above."""

    serializer_related_field = PrimaryKeyRelatedField


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-01"})
class PeriodField(serializers.Field):
    """A month as `YYYY-MM` (api.md); stored as the first day of the month."""

    default_error_messages = {"invalid": _("Enter a month as YYYY-MM.")}

    def to_representation(self, value: dt.date) -> str:
        return f"{value:%Y-%m}"

    def to_internal_value(self, data) -> dt.date:
        match = re.fullmatch(r"(\d{4})-(\d{2})", str(data).strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            self.fail("invalid")
        return dt.date(int(match.group(1)), int(match.group(2)), 1)
