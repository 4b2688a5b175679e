"""A customer import leaves an audit trail: who imported, which job, what changed; a row that changes
nothing is neither written, nor recorded, nor counted as updated."""

import pytest
from django.conf import settings
from django.urls import reverse

from customers.imports.jobs import import_create
from customers.models import Customer
from tests.customers.import_files import (
    CUSTOMER_HEADER,
    csv_bytes,
    customer_row,
    upload,
)

pytestmark = pytest.mark.usefixtures("media_root")


def _import(world, rows):
    content = csv_bytes(CUSTOMER_HEADER, rows)
    # The tests here import a file again on purpose: confirmed, as a user would (imports.jobs).
    return import_create(
        upload=upload(content), kind="customers", partial=False, by=world.integration, confirm_duplicate=True
    )


def test_import_records_history_of_created_and_changed_customers_by_the_uploader(world):
    # Given customer A and a file that renames it and adds a new account
    before = world.customer_a.history.count()
    rows = [
        customer_row(world.customer_a.account_no, station=world.station_a.code, name="甲钢铁厂（新名）"),
        customer_row("3300000101", station=world.station_a.code),
    ]
    # When the integration client imports it
    job = _import(world, rows)
    # Then each customer has a record of the import, by the uploader, naming the job
    assert (job.status, job.created_count, job.updated_count) == ("done", 1, 1)
    changed = world.customer_a.history.order_by("-history_id").first()
    assert world.customer_a.history.count() == before + 1
    assert (changed.history_type, changed.name) == ("~", "甲钢铁厂（新名）")
    created = Customer.objects.get(account_no="3300000101").history.get()
    assert created.history_type == "+"
    for record in (changed, created):
        assert record.history_user == world.integration
        assert str(job.pk) in record.history_change_reason


def test_rows_that_change_nothing_are_not_written_recorded_or_counted_as_updated(world):
    # Given a file already imported once
    rows = [customer_row(f"33000002{n:02d}", station=world.station_a.code) for n in range(3)]
    _import(world, rows)
    stamps = dict(Customer.objects.filter(account_no__startswith="33000002").values_list("pk", "updated_at"))
    records = sum(Customer.objects.get(pk=pk).history.count() for pk in stamps)
    # When the same file, with one row changed, is imported again
    rows[0] = customer_row("3300000200", station=world.station_a.code, name="改名公司")
    job = _import(world, rows)
    # Then one customer is updated and two are unchanged: untouched, with no new history record
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 2)
    after = dict(Customer.objects.filter(pk__in=stamps).values_list("pk", "updated_at"))
    assert sum(after[pk] != stamps[pk] for pk in stamps) == 1
    assert sum(Customer.objects.get(pk=pk).history.count() for pk in stamps) == records + 1


def test_the_import_page_shows_how_many_rows_were_unchanged(world, client):
    # Given an import whose rows were all there already
    rows = [customer_row("3300000301", station=world.station_a.code)]
    _import(world, rows)
    job = _import(world, rows)
    # When its uploader opens its page
    client.force_login(world.integration)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("customers:import-detail", args=[job.pk]))
    # Then the counts include the unchanged row
    assert job.unchanged_count == 1
    assert "unchanged" in response.content.decode()
