"""What the server enforces, written into the OpenAPI schema where drf-spectacular does not see it
(api.md: "The schema is true"; tests/crm/test_api_fuzz.py holds the server to it both ways: a request
the schema allows is not refused as invalid, one it forbids is refused).

- A query parameter of a filter carries the filter's bounds (django-filter's `min_value`,
  `max_value`, `max_length`), so `?year=99999` is outside the schema as it is outside the server.
- A decimal in a request is a multiple of its smallest step (`multipleOf: 0.01` for two places):
  DRF refuses more decimal places than the field keeps, rather than rounding them away.
- A list body that must not be empty, or is capped, says so (`minItems`/`maxItems` from the list
  serializer's `allow_empty`, `min_length` and `max_length`).
- A reference by id names the model it refers to (`x-references: "customers.station"`): any whole
  number is well formed, but only the id of an existing object the caller may see is accepted;
  another answers 400 on that field. JSON Schema cannot say which ids exist, so the extension tells
  clients (and the fuzz test, which draws real ids for the requests it expects to be accepted).
- A string a request sends holds no NUL character, and where it may not be blank, something besides
  whitespace; a filter's `?status=` is allowed empty (no filter at all).
- A body is JSON (api.md): the form encodings DRF also parses are left out (document_json_bodies)."""

from django.core.validators import RegexValidator
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

from crm.common.serializers import NO_NUL

# What Python's str.strip() removes, which DRF's CharField strips before it refuses a blank value:
# ECMA-262's \s (the regex dialect of JSON Schema) differs (it lacks \x1c-\x1f and \x85, and has \ufeff).
_PYTHON_WHITESPACE = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
NOT_BLANK = f"[^{_PYTHON_WHITESPACE}\\x00]"

# django-filter's field arguments and the JSON Schema keyword each one is
_FILTER_BOUNDS = {"min_value": "minimum", "max_value": "maximum", "max_length": "maxLength"}


def filter_bounds(filter_field) -> dict:
    """The JSON Schema bounds of a django-filter filter, for a parameter declared by hand."""
    return {
        keyword: filter_field.extra[argument]
        for argument, keyword in _FILTER_BOUNDS.items()
        if filter_field.extra.get(argument) is not None
    }


class BoundedFilterExtension(DjangoFilterExtension):
    """drf-spectacular's django-filter support, with each filter's bounds on its parameter, and
    `allowEmptyValue`: django-filter reads `?status=` as no filter at all, whatever the filter."""

    priority = 1  # over drf-spectacular's own, which it extends

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        for parameter in parameters:
            parameter["allowEmptyValue"] = True
            schema = parameter["schema"]
            if schema.get("type") in {"integer", "number", "string"}:
                schema.update(filter_bounds(filter_field))
            if schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema):
                schema["pattern"] = NO_NUL  # Django's CharField refuses it, in a form too
        return parameters


class DecimalFieldSchema(OpenApiSerializerFieldExtension):
    """A decimal a client sends has no more places than the field keeps."""

    target_class = serializers.DecimalField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        places = self.target.decimal_places
        if direction == "request" and schema.get("type") == "number" and places is not None:
            # a float that JSON spells as the decimal itself (0.01, not 0.01000000000000000020816...)
            schema["multipleOf"] = 1 if places == 0 else float(f"1e-{places}")
        return schema


class ReferenceSchema(OpenApiSerializerFieldExtension):
    """A reference by id (crm.common.fields.PrimaryKeyRelatedField and its scoped subclass) names
    what it refers to."""

    target_class = "crm.common.fields.PrimaryKeyRelatedField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        queryset = self.target.queryset
        if direction == "request" and queryset is not None:
            schema["x-references"] = queryset.model._meta.label_lower
        return schema


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, with the bounds of a list body, and a string's pattern: no NUL
    character, and where it may not be blank something besides whitespace (DRF strips it, then
    refuses "")."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.RegexField) and isinstance(schema, dict):
            # its own pattern, which drf-spectacular adds to a body's field but not to a query's
            regexes = [v.regex.pattern for v in field.validators if isinstance(v, RegexValidator)]
            if regexes:
                schema["pattern"] = regexes[0]
        if (
            isinstance(field, serializers.ListField)
            and isinstance(schema, dict)
            and not field.allow_empty
            and "minItems" not in schema
        ):
            schema["minItems"] = 1  # DRF refuses [] ("this list may not be empty")
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and isinstance(schema, dict)
            and schema.get("type") == "string"
            and "pattern" not in schema
        ):
            # DRF refuses a NUL character in any CharField (ProhibitNullCharactersValidator)
            if field.allow_blank or not field.trim_whitespace:
                schema["pattern"] = NO_NUL
            else:
                schema["pattern"] = f"^[^\\x00]*{NOT_BLANK}[^\\x00]*$"
        return schema

    def _unwrap_list_serializer(self, serializer, direction):
        schema = super()._unwrap_list_serializer(serializer, direction)
        if schema is not None and isinstance(serializer, serializers.ListSerializer):
            if serializer.min_length is not None:
                schema["minItems"] = serializer.min_length
            elif not serializer.allow_empty:
                schema["minItems"] = 1
            if serializer.max_length is not None:
                schema["maxItems"] = serializer.max_length
        return schema


def document_json_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook: a body the API takes is JSON (api.md); DRF's form
    parsers, there for the browsable API, are left out of the schema wherever JSON is taken, for a
    form cannot say null (`?community=null` is a string) nor tell a number from its digits. An
    operation that takes a file (imports/) keeps its multipart form."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            content = (
                operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            )
            if "application/json" in content:
                for media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                    content.pop(media_type, None)
    return result
