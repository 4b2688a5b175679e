"""The import runner: bounded queries whatever the file's length, idempotent runs, failures recorded."""

import pytest
from django.core.files.base import ContentFile

from customers.imports.jobs import import_create, import_run
from customers.imports.tasks import import_run_task
from customers.models import ConsumptionRecord, Customer, ImportJob, ImportRejection
from tests.customers.import_files import (
    CONSUMPTION_HEADER,
    CUSTOMER_HEADER,
    csv_bytes,
    customer_row,
    upload,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.usefixtures("media_root")

# Queries for a whole import, whatever its length up to one chunk of rows: the user's scope and
# permissions, the territories, the accounts of the chunk, the writes with their history records,
# the job's progress and end. (About 23 on PostgreSQL; SQLite cuts a bulk insert into statements of
# 999 parameters, some 40 rows of customers or of their history, hence the margin.)
QUERY_BOUND = 50


def _customer_file(world, size: int) -> bytes:
    existing = [CustomerFactory(station=world.station_a).account_no for _ in range(size // 10)]
    rows = [customer_row(account, station=world.station_a.code, name="更新") for account in existing]
    rows += [customer_row(f"39{n:08d}", station=world.station_a.name) for n in range(size - len(existing))]
    return csv_bytes(CUSTOMER_HEADER, rows)


@pytest.mark.parametrize("size", [50, 500])
def test_customer_import_queries_stay_bounded(world, settings, django_assert_max_num_queries, size):
    # Given a file of new and existing customers, imported inside the call
    settings.IMPORT_INLINE_MAX_ROWS = 1000
    content = _customer_file(world, size)
    # When it is imported, then the number of queries does not grow with the rows
    with django_assert_max_num_queries(QUERY_BOUND):
        job = import_file(world, content)
    assert (job.status, job.created_count + job.updated_count) == ("done", size)


@pytest.mark.parametrize("size", [50, 500])
def test_consumption_import_queries_stay_bounded(world, settings, django_assert_max_num_queries, size):
    settings.IMPORT_INLINE_MAX_ROWS = 1000
    customers = [CustomerFactory(station=world.station_a) for _ in range(size // 10)]
    rows = [[c.account_no, f"2025-{month:02d}", "100", "56", ""] for c in customers for month in range(1, 11)]
    content = csv_bytes(CONSUMPTION_HEADER, rows)
    with django_assert_max_num_queries(QUERY_BOUND):
        job = import_file(world, content, kind="consumption")
    assert (job.status, job.created_count) == ("done", size)


def _queued_job(world, content: bytes, *, kind="customers") -> ImportJob:
    return ImportJob.objects.create(
        kind=kind,
        file=ContentFile(content, name="file.csv"),
        original_name="file.csv",
        created_by=world.integration,
    )


def test_a_finished_job_is_not_run_again(world):
    # Given a job the task has finished
    job = _queued_job(
        world, csv_bytes(CUSTOMER_HEADER, [customer_row("3900100001", station=world.station_a.code)])
    )
    import_run_task.delay(job.pk)
    Customer.objects.filter(account_no="3900100001").update(name="改过")
    # When the task is delivered again
    import_run_task.delay(job.pk)
    # Then nothing is written again
    assert Customer.objects.get(account_no="3900100001").name == "改过"
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 1)


def test_an_interrupted_job_runs_again_from_the_start(world):
    # Given a job a lost worker left running half-way (only progress was written)
    rows = [customer_row("3900100002", station=world.station_a.code), customer_row("x", station="无")]
    job = _queued_job(world, csv_bytes(CUSTOMER_HEADER, rows))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.State.RUNNING, processed_rows=1)
    # When the redelivered task runs it
    import_run_task.delay(job.pk)
    # Then it ends as an uninterrupted run would: rejected, nothing written, one report
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.rejected_count) == ("rejected", 2, 1)
    assert ImportRejection.objects.filter(job=job).count() == 1
    assert not Customer.objects.filter(account_no="3900100002").exists()


def test_a_file_that_became_unreadable_fails_the_job_with_its_message(world):
    # Given a stored file that is neither UTF-8 nor GBK
    job = _queued_job(world, b"account\n\x80\x80\xff\n")
    # When it is run
    job = import_run(job_id=job.pk, language="en")
    # Then the job failed with the reason
    assert job.status == "failed"
    assert "neither UTF-8 nor GBK" in job.error
    assert job.finished_at is not None


def test_a_database_error_on_the_last_retry_fails_the_job(world, monkeypatch):
    # Given a database that refuses every write of the import
    from django.db import OperationalError

    import customers.imports.jobs as jobs

    def refuse(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(jobs, "_finish", refuse)
    monkeypatch.setattr(import_run_task, "max_retries", 0)
    job = _queued_job(
        world, csv_bytes(CUSTOMER_HEADER, [customer_row("3900100003", station=world.station_a.code)])
    )
    # When the task has no retry left
    import_run_task.delay(job.pk)
    # Then the job says it failed, and nothing was written
    job.refresh_from_db()
    assert job.status == "failed"
    assert not Customer.objects.filter(account_no="3900100003").exists()


def test_consumption_landed_hook_fires_once_per_import(world, settings, django_capture_on_commit_callbacks):
    calls = hook_calls(settings, "consumption_landed")
    rows = [[world.customer_a.account_no, f"2025-{m:02d}", "100", "", ""] for m in range(1, 7)]
    with django_capture_on_commit_callbacks(execute=True):
        import_file(world, csv_bytes(CONSUMPTION_HEADER, rows), kind="consumption")
    assert calls == [1]
    assert ConsumptionRecord.objects.filter(customer=world.customer_a).count() == 6


def test_portfolios_changed_hook_fires_once_after_customers_are_created(
    world, settings, django_capture_on_commit_callbacks
):
    calls = hook_calls(settings, "portfolios_changed")
    rows = [customer_row(f"39002000{n:02d}", station=world.station_a.code) for n in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        import_file(world, csv_bytes(CUSTOMER_HEADER, rows))
    assert calls == [1]


def test_no_hook_fires_when_nothing_is_written(world, settings, django_capture_on_commit_callbacks):
    calls = hook_calls(settings, "portfolios_changed")
    rows = [
        customer_row("3900300001", station=world.station_a.code),
        customer_row("3900300002", station="无"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        job = import_file(world, csv_bytes(CUSTOMER_HEADER, rows))
    assert job.status == "rejected"
    assert calls == []


def record_hook(**kwargs):
    record_hook.calls.append(1)


def hook_calls(settings, hook: str) -> list:
    """`hook` pointed at record_hook: the list it adds a 1 to each time it fires."""
    settings.CRM_HOOKS = {hook: "tests.customers.test_import_jobs.record_hook"}
    record_hook.calls = []
    return record_hook.calls


def import_file(world, content: bytes, *, kind="customers"):
    """The integration client's import of `content`, all or nothing."""
    return import_create(upload=upload(content), kind=kind, partial=False, by=world.integration)


def test_a_file_beyond_the_row_limit_fails_without_writing(world, settings):
    settings.IMPORT_MAX_ROWS = 3
    rows = [customer_row(f"39004000{n:02d}", station=world.station_a.code) for n in range(5)]
    job = import_run(job_id=_queued_job(world, csv_bytes(CUSTOMER_HEADER, rows)).pk, language="en")
    assert (job.status, job.error) == (
        "failed",
        "The file has more than 3 rows; split it and upload the parts.",
    )
    assert not Customer.objects.filter(account_no__startswith="39004000").exists()
