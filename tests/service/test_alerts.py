"""SLA alerts (service/alerts.py): who is told, once; the e-mail; the in-app list, read once shown."""

import datetime as dt

from django.core import mail
from django.urls import reverse

from service.alerts import alert_recipients, alerts_create, alerts_email, alerts_for, alerts_mark_read
from service.models import Alert, RequestStage, ServiceRequest, SlaState
from service.services import request_open
from service.sla import sla_states_refresh
from tests.factories import StaffProfileFactory, UserFactory


def open_request(world, kind="meter_fault", customer=None):
    customer = customer or world.customer_a
    return request_open(kind=kind, source="manager", by=customer.manager, customer=customer)


def people(rows) -> set[int]:
    return {user for user, _request, _stage in rows}


def test_at_warning_the_owner_and_every_active_staff_of_the_department_are_told(world):
    # given a second metering staff user, and a third who has left
    request = open_request(world)
    stage = request.stages.get()
    colleague = StaffProfileFactory(department=stage.department).user
    gone = StaffProfileFactory(department=stage.department, user=UserFactory(is_active=False)).user
    # when the recipients of the stage's warning are chosen
    rows = alert_recipients(model=RequestStage, ids=[stage.pk], state=SlaState.WARNING)
    # then the owner and the two active staff, not the supervisor nor the one who left
    assert people(rows) == {world.manager_a.user.pk, world.staff.pk, colleague.pk}
    assert gone.pk not in people(rows)


def test_a_request_without_a_supervisor_tells_the_owner_alone_of_its_breach(world):
    # given manager B's request (manager B has no supervisor)
    request = open_request(world, customer=world.customer_b)
    # when the recipients of the whole request's breach are chosen
    rows = alert_recipients(model=ServiceRequest, ids=[request.pk], state=SlaState.BREACHED)
    # then only the owner
    assert rows == [(world.manager_b.user.pk, request.pk, None)]


def test_creating_the_same_alerts_twice_keeps_one_each(world):
    request = open_request(world)
    stage = request.stages.get()
    alerts_create(model=RequestStage, ids=[stage.pk], state=SlaState.BREACHED)
    # when they are created again
    alerts_create(model=RequestStage, ids=[stage.pk], state=SlaState.BREACHED)
    # then each person still has one
    assert Alert.objects.filter(stage=stage).count() == 3


def test_each_person_gets_one_email_listing_their_clocks(world, monkeypatch):
    # given two of manager A's requests past due, and e-mails read one alert at a time
    monkeypatch.setattr("service.alerts.EMAIL_CHUNK", 1)
    requests = [open_request(world) for _ in range(2)]
    # when the job runs
    sla_states_refresh(now=max(r.due_at for r in requests) + dt.timedelta(minutes=1))
    # then manager A gets one message naming both requests, in Chinese
    to_owner = [m for m in mail.outbox if m.to == [world.manager_a.user.email]]
    assert len(to_owner) == 1
    assert all(r.number in to_owner[0].body for r in requests)
    assert "超时" in to_owner[0].subject


def test_an_alert_is_emailed_once(world):
    request = open_request(world)
    ids = alerts_create(model=ServiceRequest, ids=[request.pk], state=SlaState.WARNING)
    alerts_email(alert_ids=ids)
    sent = len(mail.outbox)
    # when the same alerts are e-mailed again
    again = alerts_email(alert_ids=ids)
    # then nothing is sent and they are marked e-mailed
    assert (again, len(mail.outbox)) == (0, sent)
    assert not Alert.objects.filter(pk__in=ids, emailed_at__isnull=True).exists()


def test_a_person_without_an_email_address_is_told_in_app_only(world):
    type(world.manager_a.user).objects.filter(pk=world.manager_a.user.pk).update(email="")
    request = open_request(world)
    ids = alerts_create(model=ServiceRequest, ids=[request.pk], state=SlaState.WARNING)
    # when the alerts are e-mailed
    sent = alerts_email(alert_ids=ids)
    # then no message, and the alert waits unread in the app
    assert sent == 0
    assert alerts_for(world.manager_a.user).filter(request=request).exists()


def test_the_in_app_list_holds_ones_own_unread_alerts(world):
    mine, theirs = open_request(world), open_request(world, customer=world.customer_b)
    alerts_create(model=ServiceRequest, ids=[mine.pk, theirs.pk], state=SlaState.WARNING)
    # then manager A's list has their request's alert only
    assert list(alerts_for(world.manager_a.user).values_list("request_id", flat=True)) == [mine.pk]


def test_marking_read_touches_only_ones_own_alerts(world):
    mine, theirs = open_request(world), open_request(world, customer=world.customer_b)
    alerts_create(model=ServiceRequest, ids=[mine.pk, theirs.pk], state=SlaState.WARNING)
    every_id = list(Alert.objects.values_list("pk", flat=True))
    # when manager A marks every alert's id read
    marked = alerts_mark_read(user=world.manager_a.user, alert_ids=every_id)
    # then only their own are read
    assert marked == 1
    assert not alerts_for(world.manager_a.user).exists()
    assert alerts_for(world.manager_b.user).count() == 1


def test_the_board_shows_the_viewers_new_alerts_and_marks_them_read(world, client):
    request = open_request(world)
    alerts_create(model=ServiceRequest, ids=[request.pk], state=SlaState.BREACHED)
    client.force_login(world.manager_a.user)
    # when manager A opens the board
    page = client.get(reverse("service:board"))
    # then the alert is shown, and read from then on
    assert request.number in page.content.decode()
    assert 'id="alerts"' in page.content.decode()
    assert not alerts_for(world.manager_a.user).exists()
