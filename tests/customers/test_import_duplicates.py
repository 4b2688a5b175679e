"""The same file imported twice (issue 15, scenario 8): the same bytes of the same kind from the same
user within IMPORT_DUPLICATE_MINUTES answer 409 over the API with the earlier import, and the page
asks; the user who means it confirms; two uploads of one file at the same moment store one job."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, ImportJob
from tests.customers import import_files
from tests.customers.import_files import CUSTOMER_HEADER, csv_bytes, customer_row, upload

pytestmark = pytest.mark.usefixtures("media_root")


def _file(world, account="3300000101") -> bytes:
    return csv_bytes(CUSTOMER_HEADER, [customer_row(account, station=world.station_a.code)])


def test_the_same_file_again_answers_409_with_the_earlier_import(world, api):
    client = api(world.integration)
    first = import_files.post_file(client, _file(world), language="en")
    assert first.status_code == 201, first.json()
    # When the same file comes again from the same user
    again = import_files.post_file(client, _file(world), language="en")
    # Then it is refused with the earlier import named, and nothing more is written
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "duplicate_import"
    assert body["earlier_import"] == first.json()["id"]
    assert body["earlier_import_url"].endswith(f"/api/v1/imports/{first.json()['id']}/")
    assert "confirm_duplicate" in body["detail"]
    assert ImportJob.objects.count() == 1


def test_the_refusal_is_in_chinese_for_a_chinese_client(world, api):
    client = api(world.integration)
    import_files.post_file(client, _file(world))
    again = import_files.post_file(client, _file(world))
    assert again.status_code == 409
    assert "confirm_duplicate" in again.json()["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in again.json()["detail"])


def test_confirming_imports_the_same_file_again(world, api):
    client = api(world.integration)
    import_files.post_file(client, _file(world))
    data = {"file": upload(_file(world)), "kind": "customers", "partial": False, "confirm_duplicate": True}
    again = client.post(import_files.IMPORTS_URL, data, format="multipart")
    assert again.status_code == 201, again.json()
    assert ImportJob.objects.count() == 2


def test_another_file_another_user_or_a_later_hour_is_no_duplicate(world, api, settings):
    client = api(world.integration)
    assert import_files.post_file(client, _file(world)).status_code == 201
    # another content
    assert import_files.post_file(client, _file(world, "3300000102")).status_code == 201
    # another user
    assert import_files.post_file(api(world.admin), _file(world)).status_code == 201
    # the same user, after the window
    ImportJob.objects.update(
        created_at=timezone.now() - dt.timedelta(minutes=settings.IMPORT_DUPLICATE_MINUTES + 1)
    )
    assert import_files.post_file(client, _file(world)).status_code == 201


def test_a_rejected_import_is_no_duplicate(world, api):
    client = api(world.integration)
    bad = csv_bytes(CUSTOMER_HEADER, [customer_row("not-an-account", station="nowhere")])
    assert import_files.post_file(client, bad).json()["status"] == "rejected"
    assert import_files.post_file(client, bad).status_code != 409


def test_the_page_asks_before_importing_the_same_file_again(world, client):
    client.force_login(world.integration)
    start = reverse("customers:import")
    client.post(start, {"kind": "customers", "file": upload(_file(world))})
    # When the same file is sent again from the page
    response = client.post(start, {"kind": "customers", "file": upload(_file(world))})
    # Then the page says so, links the earlier import and offers the box to confirm
    assert response.status_code == 409
    body = response.content.decode()
    earlier = ImportJob.objects.get()
    assert reverse("customers:import-detail", args=[earlier.pk]) in body
    assert 'name="confirm_duplicate"' in body
    # and with the box ticked it is imported
    confirmed = client.post(
        start, {"kind": "customers", "file": upload(_file(world)), "confirm_duplicate": "on"}
    )
    assert confirmed.status_code == 302
    assert ImportJob.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_uploads_of_one_file_at_once_store_one_job(world, api):
    # Given the same file sent twice at the same moment by one user
    clients = [api(world.integration), api(world.integration)]
    barrier = threading.Barrier(2)
    answers = []

    def send(client):
        barrier.wait()
        try:
            answers.append(import_files.post_file(client, _file(world)).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then one stored and ran it, the other was told
    assert sorted(answers) == [201, 409]
    assert ImportJob.objects.count() == 1
    assert Customer.objects.filter(account_no="3300000101").count() == 1
