"""Who a published notice affects, resolved once in the database (committee.md, "affected"):

1. one `INSERT ... SELECT` writes a Delivery per affected active customer (its transformer district
   hangs on a feeder of the scope, or it is on such a feeder's dedicated line, or it lies in a
   district of the scope, or is served by a station of the scope), with its manager, whether it is
   important and its primary contact's phone as they are now: the snapshot kept for audit;
2. two UPDATEs mark the text-message customers without a usable mainland mobile `unreachable`
   with the reason, and one `INSERT ... SELECT` gives each of them a contact fix for the manager;
3. one `INSERT ... SELECT` queues the text message of every reachable customer.

A fixed number of statements whatever the number of customers (bench/notices.py measures 50,000):
no customer row passes through Python."""

import re

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Contact, Customer, Status
from notices.models import (
    IMPORTANT_LEVELS,
    IMPORTANT_TIERS,
    Channel,
    ContactFix,
    DedicatedLine,
    Delivery,
    DeliveryStatus,
    FeederDistrict,
    MessagePurpose,
    MessageStatus,
    OutageNotice,
    SmsMessage,
)

# A mainland mobile number once spaces and dashes are gone: 11 digits from 13x to 19x, perhaps
# after +86 or 86. Django gives SQLite a REGEXP function, so the same lookup runs on both databases.
MOBILE_REGEX = r"^(\+?86)?1[3-9][0-9]{9}$"


def usable_mobile(phone: str | None) -> str | None:
    """The phone as a number the gateway takes (spaces and dashes gone), or None when it is not a
    mainland mobile: the rule `affected_sql` applies in SQL, for one number in Python."""
    mobile = re.sub(r"[\s-]", "", phone or "")
    return mobile if re.match(MOBILE_REGEX, mobile) else None


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _through(field: str) -> str:
    return connection.ops.quote_name(getattr(OutageNotice, field).through._meta.db_table)


# A customer who is called rather than texted: the top two tiers, or a declared important load.
_CALLED = "(c.tier IN (%(tier0)s, %(tier1)s) OR c.importance IN (%(level0)s, %(level1)s))"


def affected_sql() -> str:
    """The SELECT of the affected customers of notice %(notice)s, as the Delivery columns."""
    return f"""
        SELECT %(notice)s, c.id, c.manager_id,
               CASE WHEN {_CALLED} THEN %(yes)s ELSE %(no)s END,
               CASE WHEN {_CALLED} THEN %(call)s ELSE %(sms)s END,
               %(queued)s,
               COALESCE((SELECT REPLACE(REPLACE(ct.phone, ' ', ''), '-', '') FROM {_t(Contact)} ct
                         WHERE ct.customer_id = c.id AND ct.is_primary = %(yes)s
                         ORDER BY ct.id LIMIT 1), ''),
               '', %(due)s, '', %(revision)s, %(now)s, %(now)s
        FROM {_t(Customer)} c
        WHERE c.status = %(active)s AND (
            c.transformer_district_id IN (
                SELECT fd.transformer_district_id FROM {_t(FeederDistrict)} fd
                JOIN {_through("feeders")} nf ON nf.feeder_id = fd.feeder_id
                WHERE nf.outagenotice_id = %(notice)s)
            OR c.id IN (
                SELECT dl.customer_id FROM {_t(DedicatedLine)} dl
                JOIN {_through("feeders")} nf ON nf.feeder_id = dl.feeder_id
                WHERE nf.outagenotice_id = %(notice)s)
            OR c.transformer_district_id IN (
                SELECT nt.transformerdistrict_id FROM {_through("transformer_districts")} nt
                WHERE nt.outagenotice_id = %(notice)s)
            OR c.station_id IN (
                SELECT ns.station_id FROM {_through("stations")} ns WHERE ns.outagenotice_id = %(notice)s)
        )"""  # noqa: S608 - table names from the models, every value bound  # nosec B608


def resolve_affected(*, notice: OutageNotice, due_at, text: str) -> dict[str, int]:
    """Write the notice's deliveries, contact fixes and first messages (the module's steps 1-3);
    answers the counts. Runs inside the publishing transaction."""
    now = timezone.now()
    params = {
        "notice": notice.pk,
        "tier0": IMPORTANT_TIERS[0],
        "tier1": IMPORTANT_TIERS[1],
        "level0": IMPORTANT_LEVELS[0],
        "level1": IMPORTANT_LEVELS[1],
        "yes": True,
        "no": False,
        "call": Channel.CALL,
        "sms": Channel.SMS,
        "queued": DeliveryStatus.QUEUED,
        "due": due_at,
        "revision": notice.revision,
        "now": now,
        "active": Status.ACTIVE,
    }
    columns = (
        "notice_id, customer_id, manager_id, important, channel, status, mobile, unreachable_reason,"
        " due_at, acknowledged_by, revision, created_at, updated_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {_t(Delivery)} ({columns}) {affected_sql()}", params)  # noqa: S608  # nosec
    texts = Delivery.objects.filter(notice=notice, channel=Channel.SMS)
    texts.filter(mobile="").update(
        status=DeliveryStatus.UNREACHABLE, unreachable_reason=_("No phone number on the primary contact.")
    )
    texts.exclude(mobile="").exclude(mobile__regex=MOBILE_REGEX).update(
        status=DeliveryStatus.UNREACHABLE, unreachable_reason=_("Not a mainland mobile number.")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {_t(ContactFix)}
                (customer_id, notice_id, manager_id, reason, created_at, updated_at)
            SELECT d.customer_id, d.notice_id, d.manager_id, d.unreachable_reason, %(now)s, %(now)s
            FROM {_t(Delivery)} d
            WHERE d.notice_id = %(notice)s AND d.status = %(unreachable)s""",  # noqa: S608  # nosec
            {"now": now, "notice": notice.pk, "unreachable": DeliveryStatus.UNREACHABLE},
        )
    queue_messages(notice=notice, purpose=MessagePurpose.NOTICE, text=text, told_only=False)
    return Delivery.objects.filter(notice=notice).aggregate(
        affected=Count("id"),
        important=Count("id", filter=Q(important=True)),
        unreachable=Count("id", filter=Q(status=DeliveryStatus.UNREACHABLE)),
    )


def queue_messages(*, notice: OutageNotice, purpose: str, text: str, told_only: bool) -> None:
    """Queue one message of `purpose` at the notice's revision for each text-message customer with
    a usable number: all of them (the notice), or those already told (a reminder, an update). The
    unique (delivery, purpose, revision) makes a second run queue nothing twice: a row already there
    is skipped by ON CONFLICT, one index probe each. (A NOT EXISTS here was planned, for deliveries
    inserted moments before in the same transaction and so never analysed, as a nested loop over the
    messages the statement itself inserted: 239 s for 50,000 at publishing, bench/notices.py.)"""
    statuses = [DeliveryStatus.SENT] if told_only else [DeliveryStatus.QUEUED]
    now = timezone.now()
    placeholders = ", ".join(["%s"] * len(statuses))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {_t(SmsMessage)}
                (delivery_id, purpose, revision, mobile, text, status, attempts, answer,
                 created_at, updated_at)
            SELECT d.id, %s, %s, d.mobile, %s, %s, 0, '{{}}', %s, %s
            FROM {_t(Delivery)} d
            WHERE d.notice_id = %s AND d.channel = %s AND d.status IN ({placeholders})
            ON CONFLICT (delivery_id, purpose, revision) WHERE delivery_id IS NOT NULL
            DO NOTHING""",  # noqa: S608  # nosec
            [
                purpose,
                notice.revision,
                text,
                MessageStatus.QUEUED,
                now,
                now,
                notice.pk,
                Channel.SMS,
                *statuses,
            ],
        )
