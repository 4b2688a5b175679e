"""Demo outage notices and the customer relationship committee (committee.md), so that after
`make run` the notices pages, the managers' call tasks and the committee show something real:

- feeders: four per supply station, each transformer district hanging on one of them, and every
  large customer outside a district or community on a feeder's dedicated line;
- primary contacts for the ordinary customers on the feeders the notices cover (a few left without
  a usable mobile number, so they become contact fixes for their manager);
- notices published through the real service (the lead-time rules, the affected customers
  resolved once): a planned outage 10 days ahead, published two days ago, its text messages sent
  (two failed) and half its call tasks acknowledged; temporary maintenance tomorrow whose
  unacknowledged calls are escalated to the supervisor; a fault outage going on now (the call
  centre's look-up finds it); a draft planned 3 days ahead (publishing it is refused with the
  rule) and a cancelled draft;
- a committee per branch: VIP customers' contacts and staff, a meeting three months ago with its
  minutes and two needs that became service requests (source `committee`), and the next meeting
  in a week, whose agenda lists the planned outage and what became of those needs.

Messages are marked as the gateway would have answered (nothing waits for a worker), so the demo
is the same on every run. Deterministic for a given seed; a second run adds nothing."""

import datetime as dt
import random

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.demo import names
from customers.models import Branch, Contact, Customer, Station, Status, Tier, TransformerDistrict
from managers.models import Manager
from notices import committee as committee_services
from notices import jobs, services
from notices.committee_models import CommitteeRole
from notices.models import (
    Channel,
    Committee,
    CommitteeMember,
    DedicatedLine,
    Delivery,
    DeliveryStatus,
    Feeder,
    FeederDistrict,
    MessageStatus,
    NoticeKind,
    SmsMessage,
)
from notices.topology import feeder_link

DEFAULT_SEED = 20260101
FEEDERS_PER_STATION = 4
NO_MOBILE_EVERY = 12  # one ordinary customer in this many has no usable mobile number
FAILED_MESSAGES = 2
NEEDS = (
    ("consultation", "希望提前告知明年春检的停电计划，便于安排生产"),
    ("suggestion", "建议为医院增加一路备用电源，并开展一次应急演练"),
)


def _supervisor_of(station: Station) -> User:
    supervisor_id = (
        Manager.objects.filter(station=station, user__supervisor__isnull=False)
        .values_list("user__supervisor_id", flat=True)
        .first()
    )
    return User.objects.get(pk=supervisor_id)


def _feeders(rng: random.Random) -> dict[int, list[Feeder]]:
    """Four feeders a station, its districts dealt among them, its large customers outside any
    district or community on their dedicated lines: {station id: feeders}."""
    by_station = {}
    for station in Station.objects.order_by("code"):
        town = station.name.removesuffix("供电所")
        feeders = Feeder.objects.bulk_create(
            Feeder(
                code=f"{station.code}-F{n:02d}",
                name=f"10kV{town}{'一二三四五六'[n - 1]}线",
                station=station,
                substation=f"{town}110kV变电站" if n % 2 else f"{town}35kV变电站",
            )
            for n in range(1, FEEDERS_PER_STATION + 1)
        )
        districts = list(TransformerDistrict.objects.filter(station=station).order_by("code"))
        dedicated = list(
            Customer.objects.filter(
                station=station,
                status=Status.ACTIVE,
                transformer_district__isnull=True,
                community__isnull=True,
                tier__in=[Tier.VIP, Tier.KEY_ACCOUNT],
            ).order_by("pk")
        )
        rng.shuffle(dedicated)
        for n, feeder in enumerate(feeders):
            feeder_link(
                feeder=feeder,
                districts=districts[n::FEEDERS_PER_STATION],
                customers=dedicated[n::FEEDERS_PER_STATION],
            )
        by_station[station.pk] = feeders
    return by_station


def _busiest(feeders: list[Feeder]) -> Feeder:
    """The feeder with the most important customers (dedicated lines), ties to the first."""
    counts = {
        row["pk"]: row["lines"]
        for row in Feeder.objects.filter(pk__in=[f.pk for f in feeders])
        .annotate(lines=Count("dedicated_lines"))
        .values("pk", "lines")
    }
    return max(feeders, key=lambda f: (counts[f.pk], -f.pk))


def _contacts(rng: random.Random, feeders: list[Feeder]) -> None:
    """A primary contact with a mobile for the ordinary customers on `feeders` who have none; every
    NO_MOBILE_EVERY-th is left without one, or given a landline."""
    district_ids = FeederDistrict.objects.filter(feeder__in=feeders).values("transformer_district_id")
    customers = (
        Customer.objects.filter(transformer_district_id__in=district_ids, status=Status.ACTIVE)
        .exclude(Q(tier__in=[Tier.VIP, Tier.KEY_ACCOUNT]))
        .exclude(pk__in=Contact.objects.filter(is_primary=True).values("customer_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    contacts = []
    for n, customer_id in enumerate(customers, start=1):
        if n % NO_MOBILE_EVERY == 0:
            continue  # no contact at all
        phone = (
            f"0571-{rng.randrange(10**7):07d}"
            if n % NO_MOBILE_EVERY == NO_MOBILE_EVERY // 2
            else f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        )
        contacts.append(
            Contact(
                customer_id=customer_id, name=names.person(rng), title="户主", phone=phone, is_primary=True
            )
        )
    Contact.objects.bulk_create(contacts, batch_size=1000)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _answered(notice, at: dt.datetime, failed: int = 0) -> None:
    """The notice's queued text messages as the gateway answered them: the first `failed` refused
    (an empty number), the rest taken; their deliveries follow."""
    queued = SmsMessage.objects.filter(delivery__notice=notice, status=MessageStatus.QUEUED).order_by("pk")
    refused = list(queued.values_list("pk", flat=True)[:failed])
    SmsMessage.objects.filter(pk__in=refused).update(
        status=MessageStatus.FAILED, attempts=1, answer={"code": "invalid_mobile", "demo": True}
    )
    queued.exclude(pk__in=refused).update(
        status=MessageStatus.SENT, attempts=1, sent_at=at, answer={"code": "ok", "demo": True}
    )
    texts = Delivery.objects.filter(notice=notice, channel=Channel.SMS, status=DeliveryStatus.QUEUED)
    texts.filter(messages__pk__in=refused).update(status=DeliveryStatus.FAILED)
    texts.update(status=DeliveryStatus.SENT)


def _acknowledge(rng: random.Random, notice, at: dt.datetime, every: int) -> int:
    """Every `every`-th call task acknowledged by the person at the customer who took it."""
    calls = list(
        Delivery.objects.filter(notice=notice, channel=Channel.CALL).select_related("manager").order_by("pk")
    )
    done = 0
    for n, delivery in enumerate(calls):
        if n % every == 0 and delivery.manager is not None:
            contact = (
                Contact.objects.filter(customer_id=delivery.customer_id).order_by("-is_primary", "pk").first()
            )
            services.delivery_acknowledge(
                delivery=delivery,
                acknowledged_by=contact.name if contact else names.person(rng),
                by=delivery.manager,
                at=at - dt.timedelta(minutes=rng.randint(10, 600)),
            )
            done += 1
    return done


def _notices(rng: random.Random, feeders: dict[int, list[Feeder]], now: dt.datetime) -> dict[str, int]:
    stations = list(Station.objects.order_by("code"))
    today = timezone.localdate(now)
    first, second, third = (stations + stations + stations)[:3]
    planned_on, temporary_on, fault_on = (
        _busiest(feeders[first.pk]),
        _busiest(feeders[second.pk]),
        feeders[third.pk][1],
    )
    # every feeder's ordinary customers, so that a notice a user publishes on any feeder texts them
    _contacts(rng, [feeder for station_feeders in feeders.values() for feeder in station_feeders])
    counts = {"published": 0, "acknowledged": 0, "escalated": 0}

    # a planned outage 10 days ahead, published two days ago
    supervisor = _supervisor_of(first)
    published_at = now - dt.timedelta(days=2)
    planned = services.notice_create(
        kind=NoticeKind.PLANNED,
        starts_at=_at(today + dt.timedelta(days=10), 8),
        ends_at=_at(today + dt.timedelta(days=10), 17),
        reason="线路检修及绝缘子更换",
        feeders=[planned_on],
        by=supervisor,
    )
    services.notice_publish(notice=planned, by=supervisor, now=published_at)
    _answered(planned, published_at + dt.timedelta(minutes=2), failed=FAILED_MESSAGES)
    counts["acknowledged"] += _acknowledge(rng, planned, now, every=2)
    counts["published"] += 1

    # temporary maintenance in 20 hours, published 10 hours ago: the calls not taken are escalated
    supervisor = _supervisor_of(second)
    starts_at = (now + dt.timedelta(hours=20)).replace(minute=0, second=0, microsecond=0)
    temporary = services.notice_create(
        kind=NoticeKind.TEMPORARY,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=4),
        reason="变压器渗油临时检修",
        feeders=[temporary_on],
        by=supervisor,
    )
    published_at = starts_at - dt.timedelta(hours=30)
    services.notice_publish(notice=temporary, by=supervisor, now=published_at)
    _answered(temporary, published_at + dt.timedelta(minutes=1))
    counts["acknowledged"] += _acknowledge(rng, temporary, now, every=3)
    counts["published"] += 1
    counts["escalated"] = jobs.escalate_unacknowledged(now=now)

    # a fault going on now
    supervisor = _supervisor_of(third)
    starts_at = now - dt.timedelta(minutes=50)
    fault = services.notice_create(
        kind=NoticeKind.FAULT,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=4),
        reason="大风导致线路跳闸，正在抢修",
        feeders=[fault_on],
        by=supervisor,
    )
    services.notice_publish(notice=fault, by=supervisor, now=starts_at + dt.timedelta(minutes=15))
    _answered(fault, starts_at + dt.timedelta(minutes=17))
    counts["published"] += 1

    # a planned outage that took place five days ago, published 12 days before it: done
    supervisor = _supervisor_of(second)
    starts_at = _at(today - dt.timedelta(days=5), 8)
    past = services.notice_create(
        kind=NoticeKind.PLANNED,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=9),
        reason="10kV线路春检预试",
        feeders=[feeders[second.pk][0]],
        by=supervisor,
    )
    services.notice_publish(notice=past, by=supervisor, now=starts_at - dt.timedelta(days=12))
    _answered(past, starts_at - dt.timedelta(days=12, minutes=-2))
    jobs.finish_ended(now=now)

    # drafts: one 3 days ahead (publishing it is refused: planned_7_days), one cancelled
    supervisor = _supervisor_of(first)
    services.notice_create(
        kind=NoticeKind.PLANNED,
        starts_at=_at(today + dt.timedelta(days=3), 8),
        ends_at=_at(today + dt.timedelta(days=3), 12),
        reason="配合市政道路施工迁改线路",
        feeders=[feeders[first.pk][0]],
        by=supervisor,
    )
    cancelled = services.notice_create(
        kind=NoticeKind.PLANNED,
        starts_at=_at(today + dt.timedelta(days=20), 8),
        ends_at=_at(today + dt.timedelta(days=20), 18),
        reason="新建线路接火（已改期）",
        feeders=[feeders[first.pk][-1]],
        by=supervisor,
    )
    services.notice_cancel(notice=cancelled, by=supervisor)
    return counts


def _committees(rng: random.Random, now: dt.datetime) -> dict[str, int]:
    """A committee per branch: the primary contacts of its VIP customers (those on a notice's call
    list first) and staff; a meeting three months ago with two needs, and the next one in a week."""
    director = User.objects.filter(username="director").first()
    today = timezone.localdate(now)
    counts = {"committees": 0, "members": 0, "needs": 0}
    for branch in Branch.objects.order_by("code"):
        stations = Station.objects.filter(branch=branch).order_by("code")
        if not stations.exists():
            continue
        supervisor = _supervisor_of(stations[0])
        committee = Committee.objects.create(branch=branch, name=f"{branch.name}客户关系委员会")
        called = Delivery.objects.filter(channel=Channel.CALL, notice__branch=branch).values("customer_id")
        contacts = list(
            Contact.objects.filter(is_primary=True, customer__station__branch=branch, customer__tier=Tier.VIP)
            .annotate(called=Count("customer__pk", filter=Q(customer_id__in=called)))
            .order_by("-called", "customer_id")[:8]
        )
        members = [
            CommitteeMember(committee=committee, contact=c, role=CommitteeRole.MEMBER) for c in contacts
        ]
        staff = [(director, CommitteeRole.CHAIR), (supervisor, CommitteeRole.SECRETARY)]
        staff += [
            (u, CommitteeRole.MEMBER)
            for u in User.objects.filter(username__in=["vip1", "key1"]).order_by("username")
        ]
        members += [CommitteeMember(committee=committee, user=u, role=role) for u, role in staff if u]
        CommitteeMember.objects.bulk_create(members)
        counts["committees"] += 1
        counts["members"] += len(members)
        attendees = "、".join([c.name for c in contacts[:5]] + [u.full_name for u, _role in staff if u])
        past = committee_services.meeting_create(
            committee=committee,
            held_on=today - dt.timedelta(days=85),
            place="县供电公司三楼会议室",
            attendees=attendees,
            by=supervisor,
        )
        committee_services.meeting_record(
            meeting=past,
            by=supervisor,
            minutes=(
                "一、通报本季度电网建设与运行情况及下季度检修计划。\n"
                "二、通报95598工单办理情况，听取客户意见。\n"
                "三、客户代表提出用电需求，会后转相关部门办理。"
            ),
        )
        for (kind, description), contact in zip(NEEDS, contacts, strict=False):
            committee_services.need_raise(
                meeting=past, customer=contact.customer, description=description, kind=kind, by=supervisor
            )
            counts["needs"] += 1
        committee_services.meeting_create(
            committee=committee,
            held_on=today + dt.timedelta(days=7),
            place="县供电公司三楼会议室",
            attendees=attendees,
            by=supervisor,
        )
    return counts


@transaction.atomic
def seed_notices_demo(*, seed: int = DEFAULT_SEED, now: dt.datetime | None = None) -> dict[str, int]:
    empty = {"feeders": 0, "dedicated_lines": 0, "published": 0, "acknowledged": 0, "escalated": 0}
    empty |= {"committees": 0, "members": 0, "needs": 0}
    if Feeder.objects.exists() or not Station.objects.exists():
        return empty
    now = now or timezone.now()
    rng = random.Random(seed + 30)  # noqa: S311 - demo data, not secrets  # nosec B311
    feeders = _feeders(rng)
    counts = {"feeders": Feeder.objects.count(), "dedicated_lines": DedicatedLine.objects.count()}
    counts |= _notices(rng, feeders, now)
    counts |= _committees(rng, now)
    return counts


def seed_demo(*, seed: int, until: dt.date | None = None) -> str:
    """The entry point `manage.py seed_demo` calls: what it made, in a line."""
    return _(
        "Outage notices: %(feeders)s feeders (%(dedicated_lines)s dedicated lines), %(published)s "
        "published notices, %(acknowledged)s calls acknowledged, %(escalated)s escalated; %(committees)s "
        "committees with "
        "%(members)s members and %(needs)s needs turned into requests."
    ) % seed_notices_demo(seed=seed)
