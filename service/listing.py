"""The request list of the API (`service-requests/`) written out by hand: the same JSON as
service.api.ServiceRequestSerializer gives for each request (every field, in its order, the
`sla_state`s as of one `now`), read with values() and built as plain dicts.

Why not the serializer: building 50 requests with their stages through DRF's fields (a model
instance per row and per stage, a field object per value) was about half of the list's time and
kept it above twice its values() floor. The detail, the actions and the 95598 intake still answer
through the serializer: one request at a time, where its cost does not show. The list and the
serializer are kept the same by tests/service/test_listing.py, field by field."""

import datetime as dt

from django.db.models import F, QuerySet
from rest_framework import serializers

from service.models import RequestStage
from service.sla import sla_state_now

REQUEST_COLUMNS = (
    "id", "number", "kind", "subtype", "source", "external_no", "customer_id", "applicant_name",
    "applicant_phone", "applicant_address", "applicant_capacity_kva", "applicant_voltage_kv", "station_id",
    "description", "owner_id", "status", "received_at", "warn_at", "due_at", "done_at", "waiting_since",
    "calendar_missing", "closed_at", "created_at", "updated_at",
)  # fmt: skip
STAGE_COLUMNS = (
    "request_id", "position", "code", "name", "department_kind", "department_id", "status", "limit",
    "unit", "started_at", "warn_at", "due_at", "done_at", "waiting_since", "wait_reason",
    "calendar_missing",
)  # fmt: skip

# The serializer's own field classes for the values that need converting, so the text of a time
# (in the current time zone, `Z` for UTC) and of a decimal is theirs exactly.
_TIME = serializers.DateTimeField()
_CAPACITY = serializers.DecimalField(max_digits=10, decimal_places=1)
_VOLTAGE = serializers.DecimalField(max_digits=6, decimal_places=2)


def listed(queryset: QuerySet) -> QuerySet:
    """The rows the list shows of `queryset` (requests, filtered and ordered), as dicts."""
    return queryset.annotate(customer_name=F("customer__name")).values(*REQUEST_COLUMNS, "customer_name")


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else _TIME.to_representation(value)


def _decimal(field: serializers.DecimalField, value):
    return None if value is None else field.to_representation(value)


def _state(row: dict, now: dt.datetime) -> str:
    return sla_state_now(
        warn_at=row["warn_at"],
        due_at=row["due_at"],
        done_at=row["done_at"],
        waiting_since=row["waiting_since"],
        now=now,
    )


def _stage(row: dict, now: dt.datetime) -> dict:
    return {
        "position": row["position"],
        "code": row["code"],
        "name": row["name"],
        "department_kind": row["department_kind"],
        "department": row["department_id"],
        "department_name": row["department_name"] or "",
        "status": row["status"],
        "limit": row["limit"],
        "unit": row["unit"],
        "started_at": _time(row["started_at"]),
        "due_at": _time(row["due_at"]),
        "done_at": _time(row["done_at"]),
        "waiting_since": _time(row["waiting_since"]),
        "wait_reason": row["wait_reason"],
        "sla_state": _state(row, now),
        "calendar_missing": row["calendar_missing"],
    }


def _applicant(row: dict) -> dict | None:
    if row["customer_id"] is not None:
        return None
    return {
        "name": row["applicant_name"],
        "phone": row["applicant_phone"],
        "address": row["applicant_address"],
        "capacity_kva": _decimal(_CAPACITY, row["applicant_capacity_kva"]),
        "voltage_kv": _decimal(_VOLTAGE, row["applicant_voltage_kv"]),
    }


def requests_listed(rows: list[dict], *, now: dt.datetime) -> list[dict]:
    """The answer for `rows` (from listed()): their stages read in one query, in position order."""
    stages: dict[int, list[dict]] = {row["id"]: [] for row in rows}
    if stages:
        for stage in (
            RequestStage.objects.filter(request_id__in=list(stages))
            .order_by("request_id", "position")
            .values(*STAGE_COLUMNS, department_name=F("department__name"))
        ):
            stages[stage["request_id"]].append(_stage(stage, now))
    return [
        {
            "id": row["id"],
            "number": row["number"],
            "kind": row["kind"],
            "subtype": row["subtype"],
            "source": row["source"],
            "external_no": row["external_no"],
            "customer": row["customer_id"],
            "applicant": _applicant(row),
            "party_name": row["customer_name"] or row["applicant_name"],
            "station": row["station_id"],
            "description": row["description"],
            "owner": row["owner_id"],
            "status": row["status"],
            "stages": stages[row["id"]],
            "received_at": _time(row["received_at"]),
            "due_at": _time(row["due_at"]),
            "sla_state": _state(row, now),
            "calendar_missing": row["calendar_missing"],
            "closed_at": _time(row["closed_at"]),
            "created_at": _time(row["created_at"]),
            "updated_at": _time(row["updated_at"]),
        }
        for row in rows
    ]
