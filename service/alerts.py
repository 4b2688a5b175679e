"""SLA alerts (service.md, "SLA state"): who is told when a clock reaches warning or breaches, in-app
(an Alert row each) and by e-mail.

- at warning: the request's owner and, for a department's stage, that department's staff;
- at breach: the same and the owner's supervisor.

An Alert is unique per recipient, clock and state (the model's constraints), so creating them with
`ignore_conflicts` tells nobody twice, whatever runs again. Inactive users are not told."""

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from service.models import Alert, RequestStage, ServiceRequest, SlaState, StaffProfile

EMAIL_CHUNK = 1000  # alerts per locked batch of the e-mail step


def _people(owner_id, owner_active, supervisor_id, supervisor_active, state) -> set[int]:
    people = {owner_id} if owner_id and owner_active else set()
    if state == SlaState.BREACHED and supervisor_id and supervisor_active:
        people.add(supervisor_id)
    return people


def alert_recipients(
    *, model: type[models.Model], ids: list[int], state: str
) -> list[tuple[int, int, int | None]]:
    """(recipient id, request id, stage id or None) for every person to tell about these clocks
    (stages or requests) at `state`. Two queries for stages (the clocks, the departments' staff),
    one for requests."""
    owner = "request__owner" if model is RequestStage else "owner"
    columns = [
        f"{owner}_id",
        f"{owner}__is_active",
        f"{owner}__supervisor_id",
        f"{owner}__supervisor__is_active",
    ]
    rows: list[tuple[int, int, int | None]] = []
    if model is ServiceRequest:
        for pk, *person in ServiceRequest.objects.filter(pk__in=ids).values_list("pk", *columns):
            rows += [(user_id, pk, None) for user_id in _people(*person, state)]
        return rows
    clocks = list(
        RequestStage.objects.filter(pk__in=ids).values_list("pk", "request_id", "department_id", *columns)
    )
    staff: defaultdict[int, set[int]] = defaultdict(set)
    departments = {department for _pk, _r, department, *_ in clocks if department}
    for department, user_id in StaffProfile.objects.filter(
        department_id__in=departments, user__is_active=True
    ).values_list("department_id", "user_id"):
        staff[department].add(user_id)
    for pk, request_id, department, *person in clocks:
        people = _people(*person, state) | staff.get(department, set())
        rows += [(user_id, request_id, pk) for user_id in people]
    return rows


def alerts_create(*, model: type[models.Model], ids: list[int], state: str) -> list[int]:
    """Create the alerts of these clocks at `state` (those that exist already are left as they
    are); returns the ids of the alerts of these clocks at `state` not yet e-mailed."""
    rows = alert_recipients(model=model, ids=ids, state=state)
    Alert.objects.bulk_create(
        [
            Alert(recipient_id=user, request_id=request, stage_id=stage, state=state)
            for user, request, stage in rows
        ],
        ignore_conflicts=True,
    )
    if model is RequestStage:
        mine = models.Q(stage_id__in=ids)
    else:
        mine = models.Q(request_id__in=ids, stage__isnull=True)
    return list(Alert.objects.filter(mine, state=state, emailed_at__isnull=True).values_list("pk", flat=True))


# What an e-mail line shows of an alert, read with values(): thousands of alerts in a first run
# after a pause would otherwise build five model instances each.
LINE = (
    "pk",
    "recipient_id",
    "recipient__email",
    "state",
    "request_id",
    "request__number",
    "request__customer__name",
    "request__applicant_name",
    "request__due_at",
    "request__unit",
    "stage_id",
    "stage__name",
    "stage__due_at",
    "stage__unit",
)


def _line(row: dict, states: dict[str, str]) -> str:
    from service.sla import due_label

    party = row["request__customer__name"] or row["request__applicant_name"]
    what = f"{row['request__number'] or row['request_id']} {party}"
    if row["stage_id"] is not None:
        what += f" · {row['stage__name']}"
        due = due_label(row["stage__due_at"], row["stage__unit"])
    else:
        what += f" · {_('the whole request')}"
        due = due_label(row["request__due_at"], row["request__unit"])
    return f"- {what}: {states[row['state']]} ({_('due %(due)s') % {'due': due}})"


def _by_recipient(alert_ids: list[int]) -> dict[int, list[int]]:
    """The alerts among `alert_ids` not yet e-mailed to someone with an address, per recipient."""
    mine: defaultdict[int, list[int]] = defaultdict(list)
    for start in range(0, len(alert_ids), EMAIL_CHUNK):
        pending = Alert.objects.filter(pk__in=alert_ids[start : start + EMAIL_CHUNK], emailed_at__isnull=True)
        for recipient, pk in pending.exclude(recipient__email="").values_list("recipient_id", "pk"):
            mine[recipient].append(pk)
    return mine


def _batches(per_recipient: dict[int, list[int]]):
    """Whole recipients' alerts, about EMAIL_CHUNK alerts a batch (a person's are never split)."""
    batch: list[int] = []
    for recipient in sorted(per_recipient):
        batch += per_recipient[recipient]
        if len(batch) >= EMAIL_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def alerts_email(*, alert_ids: list[int], now: dt.datetime | None = None) -> int:
    """E-mail the alerts not yet e-mailed among `alert_ids`: one message per recipient whatever the
    number of their alerts, in the product's language. Each batch of recipients' alerts is locked
    as it is read (alerts another run holds are skipped: that run mails them) and marked e-mailed
    in the same transaction. Returns the number of messages sent."""
    now = now or timezone.now()
    per_recipient = _by_recipient(alert_ids)
    sent = 0
    for batch in _batches(per_recipient):
        with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
            states = {value: str(label) for value, label in SlaState.choices}
            locked = (
                Alert.objects.filter(pk__in=batch, emailed_at__isnull=True)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("recipient_id", "state", "pk")
            )
            per_person: defaultdict[int, list[dict]] = defaultdict(list)
            for row in locked.values(*LINE):
                per_person[row["recipient_id"]].append(row)
            for rows in per_person.values():
                breached = sum(row["state"] == SlaState.BREACHED for row in rows)
                subject = _("Service requests: %(breached)s breached, %(warning)s at warning") % {
                    "breached": breached,
                    "warning": len(rows) - breached,
                }
                body = "\n".join(
                    [_("These service requests need you:"), "", *(_line(r, states) for r in rows)]
                )
                send_mail(subject, body, None, [rows[0]["recipient__email"]])
                sent += 1
            mailed = [row["pk"] for rows in per_person.values() for row in rows]
            Alert.objects.filter(pk__in=mailed).update(emailed_at=now, updated_at=now)
    return sent


# ---------------------------------------------------------------- in-app
def alerts_for(user):
    """The user's unread alerts, newest first, with what the list shows of each."""
    return (
        Alert.objects.filter(recipient_id=user.pk, read_at__isnull=True)
        .select_related("request__customer", "request__station", "stage")
        .order_by("-created_at", "-pk")
    )


def alerts_mark_read(*, user, alert_ids) -> int:
    """Mark the user's own alerts among `alert_ids` read (a page calls it once it has shown them)."""
    return Alert.objects.filter(recipient_id=user.pk, pk__in=list(alert_ids), read_at__isnull=True).update(
        read_at=timezone.now(), updated_at=timezone.now()
    )
