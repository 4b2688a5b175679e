"""The browser pages for importing: the upload form, example files and a job's page."""

import csv
import io

import pytest
from django.conf import settings
from django.urls import reverse

from customers.models import Customer, ImportJob
from tests.customers.import_files import (
    CUSTOMER_HEADER,
    csv_bytes,
    customer_row,
    upload,
)

pytestmark = pytest.mark.usefixtures("media_root")

START = reverse("customers:import")


@pytest.fixture
def browser(client):
    def as_user(user):
        client.force_login(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # pages follow the switch, not the browser
        return client

    return as_user


def test_upload_page_shows_the_form_and_example_links(world, browser):
    response = browser(world.integration).get(START)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'enctype="multipart/form-data"' in body
    assert 'name="partial"' in body
    assert "?example=customers" in body


def test_example_customer_file_has_chinese_headers_and_a_bom(world, browser):
    response = browser(world.admin).get(START, {"example": "customers"})
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header[:3] == ["户号", "户名", "用电类别"]


def test_uploading_a_file_leads_to_its_report(world, browser):
    # Given a file with one good and one bad row, uploaded as a partial import
    rows = [
        customer_row("4000000001", station=world.station_a.code),
        customer_row("4000000002", station="无"),
    ]
    client = browser(world.integration)
    response = client.post(
        START, {"kind": "customers", "file": upload(csv_bytes(CUSTOMER_HEADER, rows)), "partial": "on"}
    )
    # Then the browser is sent to the job's page, which shows the counts and the rejected row
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:import-detail", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert "No supply station with this code or name." in page
    assert 'data-label="Row">3<' in page
    assert 'http-equiv="refresh"' not in page
    assert Customer.objects.filter(account_no="4000000001").exists()


def test_refused_file_is_shown_as_a_form_error(world, browser):
    response = browser(world.integration).post(
        START, {"kind": "customers", "file": upload(b"%PDF-1.4", "scan.pdf")}
    )
    assert response.status_code == 200
    assert "Unknown file type" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_running_job_page_shows_progress_polled_in_place(world, browser):
    job = ImportJob.objects.create(
        kind="customers",
        original_name="big.csv",
        created_by=world.integration,
        status=ImportJob.State.RUNNING,
        total_rows=1000,
        processed_rows=250,
    )
    body = browser(world.integration).get(reverse("customers:import-detail", args=[job.pk])).content.decode()
    # the progress fragment moves in place (crm/static/crm/progress.js), the page no longer reloads
    assert 'http-equiv="refresh"' not in body
    assert '<progress max="1000" value="250"' in body
    assert f'data-progress-url="{reverse("customers:import-progress", args=[job.pk])}"' in body
    assert "crm/progress" in body


def test_rejected_rows_are_paginated_on_the_job_page(world, browser):
    rows = [customer_row(f"41{n:08d}", station="无") for n in range(60)]
    client = browser(world.integration)
    client.post(START, {"kind": "customers", "file": upload(csv_bytes(CUSTOMER_HEADER, rows))})
    url = reverse("customers:import-detail", args=[ImportJob.objects.get().pk])
    second = client.get(url, {"page": 2}).content.decode()
    assert "4100000059" in second
    assert "4100000000" not in second


def test_another_users_job_page_answers_404(world, browser):
    from django.contrib.auth.models import Permission

    job = ImportJob.objects.create(kind="customers", original_name="x.csv", created_by=world.integration)
    user = world.manager_a.user
    user.user_permissions.add(Permission.objects.get(codename="view_importjob"))
    response = browser(user).get(reverse("customers:import-detail", args=[job.pk]))
    assert response.status_code == 404


def test_account_manager_may_not_open_the_upload_page(world, browser):
    assert browser(world.manager_a.user).get(START).status_code == 403
