"""The demo of outage notices and the committee (crm/demo/notices.py, through manage.py seed_demo):
feeders for every district, planned, temporary and fault notices in every state with their
deliveries, a committee per branch with two meetings whose needs became requests; nothing more on a
second run."""

import io

import pytest
from django.core.management import call_command

from customers.models import Branch, TransformerDistrict
from notices.committee_models import Committee, Meeting, Need
from notices.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    FeederDistrict,
    NoticeKind,
    NoticeStatus,
    OutageNotice,
)
from service.models import Source


def _seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", customers=300, until="2026-06", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def seeded(db) -> str:
    return _seed()


def test_every_transformer_district_hangs_on_a_feeder(seeded):
    districts = TransformerDistrict.objects.count()
    assert districts > 0
    assert FeederDistrict.objects.count() == districts


def test_notices_of_every_kind_and_state_with_their_deliveries(seeded):
    states = set(OutageNotice.objects.values_list("kind", "status"))
    assert {
        (NoticeKind.PLANNED, NoticeStatus.DRAFT),
        (NoticeKind.PLANNED, NoticeStatus.PUBLISHED),
        (NoticeKind.PLANNED, NoticeStatus.DONE),
        (NoticeKind.PLANNED, NoticeStatus.CANCELLED),
        (NoticeKind.TEMPORARY, NoticeStatus.PUBLISHED),
        (NoticeKind.FAULT, NoticeStatus.PUBLISHED),
    } <= states
    published = Delivery.objects.filter(notice__status=NoticeStatus.PUBLISHED)
    # calls to important customers, some acknowledged, some not yet; texts sent; and the customers
    # without a usable mobile as tasks
    assert published.filter(channel=Channel.CALL, status=DeliveryStatus.ACKNOWLEDGED).exists()
    assert published.filter(channel=Channel.CALL, status=DeliveryStatus.QUEUED).exists()
    assert published.filter(channel=Channel.SMS, status=DeliveryStatus.SENT).exists()
    assert published.filter(status=DeliveryStatus.UNREACHABLE).exists()


def test_a_committee_per_branch_with_a_past_and_a_next_meeting_whose_needs_became_requests(seeded):
    assert Committee.objects.count() == Branch.objects.count() == 1
    committee = Committee.objects.get()
    assert committee.members.filter(contact__isnull=False).exists()
    assert committee.members.filter(user__isnull=False).exists()
    meetings = list(Meeting.objects.filter(committee=committee).order_by("held_on"))
    assert len(meetings) == 2
    assert meetings[0].minutes
    needs = Need.objects.filter(meeting=meetings[0])
    assert needs.count() >= 2
    assert all(n.request is not None and n.request.source == Source.COMMITTEE for n in needs)
    assert all(n.request.owner_id == n.customer.manager_id for n in needs)


def test_a_second_run_adds_no_notice_nor_committee(seeded):
    before = (OutageNotice.objects.count(), Delivery.objects.count(), Committee.objects.count())
    _seed(if_empty=True)
    assert (OutageNotice.objects.count(), Delivery.objects.count(), Committee.objects.count()) == before
