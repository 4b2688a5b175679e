"""One error shape for the API: DRF's `{"field": ["message"]}` for validation, `{"detail": ...}`
otherwise, 409 for state conflicts. Django's own errors raised by services become 400s, never 500s."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The object is not in a state that allows this.")
    default_code = "conflict"


class ServiceError(Exception):
    """A business rule refused a request; `field` names the input it is about (or None)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _as_drf(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    if isinstance(exc, ServiceError):
        return exceptions.ValidationError({exc.field or "non_field_errors": [exc.message]})
    if isinstance(exc, IntegrityError):
        return Conflict(_("This conflicts with data that already exists."))
    return exc


def exception_handler(exc, context):
    return drf_exception_handler(_as_drf(exc), context)
