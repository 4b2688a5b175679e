"""The admin pages of the visit system open for an administrator."""

import pytest
from django.urls import reverse

from tests.factories import FollowUpFactory


@pytest.mark.parametrize("model", ["visitpolicy", "visittask", "visitreport", "visitrun"])
def test_admin_changelists_open(client, world, model):
    FollowUpFactory(report__task__customer=world.customer_a)
    client.force_login(world.admin)
    response = client.get(reverse(f"admin:visits_{model}_changelist"))
    assert response.status_code == 200


def test_admin_report_page_shows_its_follow_ups(client, world):
    follow_up = FollowUpFactory(report__task__customer=world.customer_a, action="装负控终端")
    client.force_login(world.admin)
    response = client.get(reverse("admin:visits_visitreport_change", args=[follow_up.report_id]))
    assert "装负控终端" in response.content.decode()
