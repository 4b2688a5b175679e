"""One error shape for the API (api.md, "Errors").

- 400 `{"field": ["message"]}` for validation (`non_field_errors` when no single field is at fault);
- 401/403/404/405/429 `{"detail": "message"}` as DRF answers them;
- 409 `{"detail": "message"}` for a state conflict.

Services raise Django's `ValidationError`, which becomes the 400 shape here, so a rule refuses the
same way in the browser and over the API; a state conflict they raise as `Conflict`. An
`IntegrityError` that validation did not foresee (two requests racing for the same unique value,
deleting a station still in use) is a conflict with existing data: 409, never a 500.
`add_error_responses` writes these shapes into the OpenAPI schema, which must describe every
response the server sends."""

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The object is not in a state that allows this.")
    default_code = "conflict"


def _field(name: str | None) -> str:
    return api_settings.NON_FIELD_ERRORS_KEY if name in (None, NON_FIELD_ERRORS) else name


def _as_drf(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError({_field(name): msgs for name, msgs in exc.message_dict.items()})
        return exceptions.ValidationError({_field(None): exc.messages})
    if isinstance(exc, ProtectedError | RestrictedError):
        return Conflict(_("This object is still in use by other records and cannot be deleted."))
    if isinstance(exc, IntegrityError):
        return Conflict(_("This conflicts with data that already exists."))
    if isinstance(exc, ObjectDoesNotExist):
        return exceptions.NotFound()
    return exc


def exception_handler(exc, context):
    return drf_exception_handler(_as_drf(exc), context)


# ---------------------------------------------------------------- the error shapes in the schema
ERROR_COMPONENTS = {
    "ErrorDetail": {
        "type": "object",
        "description": "Any error that is not about particular fields (401, 403, 404, 409, 415, 429).",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": 'Invalid input: {"field": ["message", ...]}; "non_field_errors" when no single '
        'field is at fault; a malformed body or query answers {"detail": "message"}. A list or nested '
        'field answers its errors by position or by field: {"field": {"0": ["message"]}}.',
        "additionalProperties": {
            "oneOf": [{"type": "array", "items": {}}, {"type": "string"}, {"type": "object"}]
        },
    },
}
_REF = "#/components/schemas/"
_ERRORS = {
    "400": ("ValidationError", "Invalid input."),
    "401": ("ErrorDetail", "Not authenticated."),
    "403": ("ErrorDetail", "Not allowed: the user lacks the permission."),
    "404": ("ErrorDetail", "Not found, or outside the user's scope."),
    "409": ("ErrorDetail", "Conflicts with the object's state or with existing data."),
    "415": ("ErrorDetail", "The body is not JSON (or another accepted media type)."),
    "429": ("ErrorDetail", "Too many requests; retry later."),
}


def _error_codes(path: str, method: str, operation: dict) -> list[str]:
    codes = []
    has_input = method in {"post", "put", "patch"} or any(
        p.get("in") == "query" for p in operation.get("parameters", [])
    )
    if has_input:
        codes.append("400")
    if any(operation.get("security") or []):  # an operation open to all declares no security
        codes += ["401", "403"]
    if "{" in path or any(p.get("name") == "page" for p in operation.get("parameters", [])):
        codes.append("404")  # the object, or a page past the last one
    if method in {"post", "put", "patch", "delete"}:
        codes.append("409")
    if method in {"post", "put", "patch"}:
        codes.append("415")
    codes.append("429")
    return codes


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the error answers of every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in ERROR_COMPONENTS.items():
        schemas.setdefault(name, schema)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code in _error_codes(path, method, operation):
                operation["responses"].setdefault(code, {"description": _ERRORS[code][1]})
            # an error a view declares itself (with its own description) has the same body
            for code, response in operation["responses"].items():
                if code in _ERRORS and "content" not in response:
                    schema = {"$ref": _REF + _ERRORS[code][0]}
                    response["content"] = {"application/json": {"schema": schema}}
    return result
