"""Publishing an outage notice: the lead-time rules, the affected customers resolved once, their
deliveries, and the bad input of issue 19."""

import pytest
from django.utils.translation import gettext

from crm.common.models import JobRun
from notices.models import (
    Channel,
    ContactFix,
    Delivery,
    DeliveryStatus,
    MessageStatus,
    NoticeKind,
    OutageNotice,
    SmsMessage,
)
from tests.factories import BranchFactory, CompanyFactory, FeederFactory, StationFactory
from tests.notices.conftest import notice_body


def _create(api, user, body):
    return api(user).post("/api/v1/outage-notices/", body, format="json")


def test_publishing_a_planned_outage_10_days_ahead_resolves_and_delivers(grid, api, publish):
    # given a draft for the feeder, 10 days ahead
    supervisor = grid.world.supervisor
    created = _create(api, supervisor, notice_body(grid))
    assert created.status_code == 201, created.data
    # when the supervisor publishes it
    answer = publish(supervisor, created.data["id"])
    # then the six customers on the feeder are affected, two of them important
    assert answer.status_code == 200, answer.data
    assert answer.data["status"] == "published"
    assert (answer.data["affected_count"], answer.data["important_count"]) == (6, 2)
    deliveries = {d.customer_id: d for d in Delivery.objects.filter(notice_id=created.data["id"])}
    assert deliveries[grid.world.customer_a.pk].channel == Channel.CALL
    assert deliveries[grid.hospital.pk].channel == Channel.CALL
    assert deliveries[grid.world.customer_a.pk].status == DeliveryStatus.QUEUED
    # the ordinary customers with a mobile got their message (the console backend)
    for home in grid.homes:
        assert deliveries[home.pk].status == DeliveryStatus.SENT
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert sorted(SmsMessage.objects.values_list("mobile", flat=True)) == ["+8613800000003", "13800000002"]
    # the landline and the customer without a contact are unreachable, with the reason, as tasks
    assert deliveries[grid.landline.pk].status == DeliveryStatus.UNREACHABLE
    assert deliveries[grid.landline.pk].unreachable_reason == gettext("Not a mainland mobile number.")
    assert deliveries[grid.silent.pk].status == DeliveryStatus.UNREACHABLE
    fixes = ContactFix.objects.filter(notice_id=created.data["id"])
    assert {f.customer_id for f in fixes} == {grid.landline.pk, grid.silent.pk}
    assert {f.manager_id for f in fixes} == {grid.world.manager_a.user.pk}


def test_the_affected_list_is_kept_when_the_grid_changes_later(grid, api, publish):
    supervisor = grid.world.supervisor
    notice_id = _create(api, supervisor, notice_body(grid)).data["id"]
    publish(supervisor, notice_id)
    # a customer moved off the district after publishing stays on the notice's list
    grid.hospital.transformer_district = None
    grid.hospital.save()
    answer = api(supervisor).get(f"/api/v1/outage-notices/{notice_id}/deliveries/")
    assert grid.hospital.pk in {row["customer"] for row in answer.data["results"]}


def test_a_planned_outage_3_days_ahead_is_refused_naming_the_rule(grid, api, publish):
    supervisor = grid.world.supervisor
    notice_id = _create(api, supervisor, notice_body(grid, days=3)).data["id"]
    answer = publish(supervisor, notice_id)
    assert answer.status_code == 400
    assert "planned_7_days" in answer.data["starts_at"][0]
    assert not Delivery.objects.exists()
    assert OutageNotice.objects.get(pk=notice_id).status == "draft"


def test_a_supervisor_may_reclassify_a_late_planned_outage_as_temporary_with_a_reason(grid, api, publish):
    supervisor = grid.world.supervisor
    notice_id = _create(api, supervisor, notice_body(grid, days=3)).data["id"]
    refused = publish(supervisor, notice_id, {"reclassify_as_temporary": True})
    assert refused.status_code == 400
    assert "reason" in refused.data
    answer = publish(supervisor, notice_id, {"reclassify_as_temporary": True, "reason": "抢修需要"})
    assert answer.status_code == 200, answer.data
    notice = OutageNotice.objects.get(pk=notice_id)
    assert (notice.kind, notice.reclassified_reason, notice.reclassified_by) == (
        NoticeKind.TEMPORARY,
        "抢修需要",
        supervisor,
    )


def test_a_temporary_outage_inside_24_hours_is_refused(grid, api, publish):
    supervisor = grid.world.supervisor
    notice_id = _create(api, supervisor, notice_body(grid, kind="temporary", days=0.5)).data["id"]
    answer = publish(supervisor, notice_id)
    assert answer.status_code == 400
    assert "temporary_24_hours" in answer.data["starts_at"][0]


def test_a_fault_outage_is_published_at_once(grid, api, publish):
    supervisor = grid.world.supervisor
    notice_id = _create(api, supervisor, notice_body(grid, kind="fault", days=0.01)).data["id"]
    assert publish(supervisor, notice_id).status_code == 200


def test_publishing_twice_is_a_conflict(grid, api, publish):
    supervisor = grid.world.supervisor
    notice_id = _create(api, supervisor, notice_body(grid)).data["id"]
    assert publish(supervisor, notice_id).status_code == 200
    again = publish(supervisor, notice_id)
    assert again.status_code == 409
    assert Delivery.objects.count() == 6


def test_a_notice_with_no_scope_is_refused_and_nothing_written(grid, api):
    answer = _create(api, grid.world.supervisor, notice_body(grid, feeders=[]))
    assert answer.status_code == 400
    assert "feeders" in answer.data
    assert not OutageNotice.objects.exists()


def test_an_end_before_the_start_is_refused(grid, api):
    body = notice_body(grid)
    body["ends_at"], body["starts_at"] = body["starts_at"], body["ends_at"]
    answer = _create(api, grid.world.supervisor, body)
    assert answer.status_code == 400
    assert "ends_at" in answer.data
    assert not OutageNotice.objects.exists()


def test_a_scope_outside_the_users_branch_is_refused(grid, api):
    other_branch = BranchFactory(code="BR02", name="另一县公司", company=CompanyFactory())
    far_feeder = FeederFactory(station=StationFactory(branch=other_branch))
    answer = _create(api, grid.world.supervisor, notice_body(grid, feeders=[far_feeder.pk]))
    assert answer.status_code == 400
    assert "feeders" in answer.data
    assert not OutageNotice.objects.exists()


def test_a_manager_may_not_issue_a_notice(grid, api):
    answer = _create(api, grid.world.manager_a.user, notice_body(grid))
    assert answer.status_code == 403
    assert not OutageNotice.objects.exists()


def test_another_branchs_notice_is_not_found(grid, api):
    other_branch = BranchFactory(code="BR02", name="另一县公司", company=CompanyFactory())
    far_feeder = FeederFactory(station=StationFactory(branch=other_branch))
    notice = OutageNotice.objects.create(
        branch=other_branch,
        kind="planned",
        starts_at=grid.world.customer_a.created_at,
        ends_at=grid.world.customer_a.created_at.replace(year=2100),
        reason="x",
    )
    notice.feeders.set([far_feeder])
    client = api(grid.world.supervisor)
    assert client.get(f"/api/v1/outage-notices/{notice.pk}/").status_code == 404
    assert client.post(f"/api/v1/outage-notices/{notice.pk}/publish/", {}, format="json").status_code == 404
    assert client.get(f"/api/v1/outage-notices/{notice.pk}/deliveries/").status_code == 404


def test_escalation_24_hours_before_goes_to_the_supervisor(grid, api, publish):
    from django.utils import timezone

    from notices.jobs import escalate_unacknowledged

    supervisor = grid.world.supervisor
    notice_id = _create(api, supervisor, notice_body(grid)).data["id"]
    publish(supervisor, notice_id)
    OutageNotice.objects.filter(pk=notice_id).update(starts_at=timezone.now() + timezone.timedelta(hours=20))
    assert escalate_unacknowledged() == 2
    escalated = Delivery.objects.filter(escalated_at__isnull=False)
    assert {d.escalated_to_id for d in escalated} == {supervisor.pk}
    assert escalate_unacknowledged() == 0  # once
    assert JobRun.objects.filter(job="notices.escalate").count() == 2


@pytest.mark.parametrize("phone", ["1380000000", "12800000000", "138000000001", "abc"])
def test_a_malformed_mobile_is_unreachable(grid, api, phone, publish):
    grid.homes[0].contacts.update(phone=phone)
    supervisor = grid.world.supervisor
    notice_id = _create(api, supervisor, notice_body(grid)).data["id"]
    publish(supervisor, notice_id)
    delivery = Delivery.objects.get(notice_id=notice_id, customer=grid.homes[0])
    assert delivery.status == DeliveryStatus.UNREACHABLE
    assert delivery.unreachable_reason
