"""The audit trail (django-simple-history): who changed what, when, from what to what.

A model with `history = HistoricalRecords()` records every save() and delete(). Services name the
acting user themselves (`instance._history_user = by`) rather than relying on the request's
thread-local, which the admin falls back to. Changes a service makes with a queryset UPDATE bypass
save(): for a single object it records the new state with `history_record`; set-based jobs record
each object's move in their own tables (TierChange with its ClassificationRun and counts for
reclassification, Assignment with its reason and author for assignment)."""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from simple_history.utils import get_history_manager_for_model


def history_record(instance, *, by, reason: str = "") -> None:
    """Record `instance`'s current state (as loaded: refresh it after an UPDATE) as a change made
    by `by`, with an optional reason."""
    get_history_manager_for_model(type(instance)).bulk_history_create(
        [instance], update=True, default_user=by, default_change_reason=reason[:100]
    )


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    who: str
    kind: str  # created, changed or deleted
    changes: list[FieldChange]
    reason: str


KINDS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}


def _shown(field, value, related: dict) -> str:
    if value is None or value == "":
        return "—"
    if field.is_relation:
        return related.get((field.related_model, value), f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return str(value)


def audit_trail(instance, *, limit: int = 30) -> list[AuditEntry]:
    """The newest `limit` recorded changes of `instance`, each with who made it, when, why, and
    every field that changed from what to what, in the fields' own words (labels, choice names,
    the related object's name). A creation lists no fields: there is nothing to compare with."""
    model = type(instance)
    history = instance.history.select_related("history_user").order_by("-history_date", "-history_id")
    records = list(history[: limit + 1])
    diffs, wanted = [], {}
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        changed = []
        if previous is not None:
            delta = record.diff_against(previous, foreign_keys_are_objs=False)
            changed = [
                (model._meta.get_field(c.field), c.old, c.new) for c in delta.changes if c.field not in SILENT
            ]
        for field, old, new in changed:
            if field.is_relation:
                wanted.setdefault(field.related_model, set()).update(v for v in (old, new) if v is not None)
        diffs.append((record, changed))
    related = {
        (related_model, obj.pk): str(obj)
        for related_model, pks in wanted.items()
        for obj in related_model._default_manager.filter(pk__in=pks)
    }
    return [
        AuditEntry(
            at=record.history_date,
            who=str(record.history_user) if record.history_user else str(_("the system")),
            kind=str(KINDS.get(record.history_type, record.history_type)),
            changes=[
                FieldChange(str(field.verbose_name), _shown(field, old, related), _shown(field, new, related))
                for field, old, new in changed
            ],
            reason=record.history_change_reason or "",
        )
        for record, changed in diffs
    ]


# Bookkeeping that says nothing to a reader of the trail.
SILENT = {"id", "created_at", "updated_at"}
