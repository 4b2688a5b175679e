"""Writing events into the outbox (crm.common.models.OutboxEvent), for the apps that make changes.

Every app below `integrations` records what happened here, inside the transaction of the change:
`outbox_record` for one event (a pin, a request's stage), `outbox_record_many` for a handful built
in Python, and `outbox_insert_select` for a set-based step, which writes all of a chunk's events in
ONE `INSERT ... SELECT` beside its own statement (a reclassification's 30,000 tier changes are not a
loop of 30,000 inserts). `integrations` fans the rows out to the endpoints and delivers them; the
apps that write never import it.

Payloads are thin (integration.md): ids, what changed, and `link`, the API path to read the rest
with the receiver's own token. Call it from the other helpers' apps as

    outbox_record(
        "outage_notice.published", {"outage_notice": n.pk, "link": api_link("outage-notices", n.pk)}
    )
"""

# The SQL below is assembled from constants of this module and from the caller's constant column
# expressions; every value is a bound parameter.
# ruff: noqa: S608

from django.db import connection
from django.utils import timezone

from crm.common.models import OutboxEvent

# The event types of integration.md; an endpoint subscribes to some of them.
EVENT_TYPES = (
    "customer.tier_changed",
    "customer.manager_changed",
    "visit_task.done",
    "service_request.created",
    "service_request.stage_changed",
    "service_request.closed",
    "outage_notice.published",
    "appraisal.finalized",
)
API_PREFIX = "/api/v1/"


def api_link(collection: str, pk) -> str:
    """The API path of one object (`/api/v1/customers/12/`), for the payload's `link`."""
    return f"{API_PREFIX}{collection}/{pk}/"


def _check_type(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; known: {', '.join(EVENT_TYPES)}")


def outbox_record(event_type: str, payload: dict, *, at=None) -> OutboxEvent:
    """Record one event in the current transaction (call it inside the change's transaction)."""
    _check_type(event_type)
    return OutboxEvent.objects.create(
        event_type=event_type, payload=payload, occurred_at=at or timezone.now()
    )


def outbox_record_many(event_type: str, payloads: list[dict], *, at=None) -> int:
    """Record several events of one type in one INSERT; returns how many."""
    _check_type(event_type)
    at = at or timezone.now()
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(event_type=event_type, payload=p, occurred_at=at) for p in payloads], batch_size=2000
    )
    return len(payloads)


def json_object_sql(fields: dict[str, str]) -> str:
    """A JSON object built in SQL from {key: column expression} (PostgreSQL jsonb, SQLite json1)."""
    function = "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"
    pairs = ", ".join(f"'{key}', {expr}" for key, expr in fields.items())
    return f"{function}({pairs})"


def link_sql(collection: str, id_expr: str) -> str:
    """The `link` of api_link as a SQL expression over an id column."""
    cast = f"CAST({id_expr} AS TEXT)"
    return f"'{API_PREFIX}{collection}/' || {cast} || '/'"


def _uid_sql() -> str:
    if connection.vendor == "postgresql":
        return "gen_random_uuid()"  # built in since PostgreSQL 13
    return "lower(hex(randomblob(16)))"  # Django keeps a UUID on SQLite as 32 hex digits


def outbox_insert_sql(*, fields: dict[str, str], from_sql: str) -> str:
    """The `INSERT ... SELECT` of outbox_insert_select, for a caller that puts it in a statement of
    its own (a PostgreSQL data-modifying CTE); bind outbox_params() with it."""
    table = OutboxEvent._meta.db_table
    return (
        f"INSERT INTO {table} (uid, event_type, payload, occurred_at) "  # nosec B608 - names from the model, values bound
        f"SELECT {_uid_sql()}, %(outbox_type)s, {json_object_sql(fields)}, %(outbox_at)s FROM {from_sql}"
    )


def outbox_params(event_type: str, at=None) -> dict:
    _check_type(event_type)
    return {
        "outbox_type": event_type,
        "outbox_at": connection.ops.adapt_datetimefield_value(at or timezone.now()),
    }


def outbox_insert_select(
    *, event_type: str, fields: dict[str, str], from_sql: str, params: dict | None = None, at=None
) -> int:
    """Record one event per row of `FROM <from_sql>` in ONE statement, the payload built from
    `fields` ({key: column expression}). `from_sql` uses %(name)s parameters. Returns the number of
    events written."""
    sql = outbox_insert_sql(fields=fields, from_sql=from_sql)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**(params or {}), **outbox_params(event_type, at)})
        return cursor.rowcount


__all__ = [
    "EVENT_TYPES",
    "api_link",
    "json_object_sql",
    "link_sql",
    "outbox_insert_select",
    "outbox_insert_sql",
    "outbox_params",
    "outbox_record",
    "outbox_record_many",
]
