"""Bad files at scale: a 50 MB export is read to its end within the request limits and, when one
row at its end is bad, nothing of it is written and the message names that row.

The other bad files of the issue are tested beside the features they touch: wrong encodings
(test_import_api: test_unreadable_files_are_refused_with_one_message, each accepted encoding),
missing columns and duplicate columns (test_import_api), extra columns (ignored:
test_english_headers_in_any_order_are_recognised), duplicate rows, negative or absurd kWh, periods
in the future, formulas without a saved result, Excel error values and merged cells
(test_import_rejections), a file above the size limit (test_import_api) and beyond the row limit
(test_import_jobs)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Customer, ImportJob
from tests.customers.import_files import (
    CUSTOMER_HEADER,
    customer_row,
)

pytestmark = pytest.mark.usefixtures("media_root")
FIFTY_MB = 50 * 1024 * 1024
REMARK = "备注"
# A marketing-system export with a long free-text column: 5,000 characters (15 KB) of remarks a row.
REMARK_TEXT = "线路巡视记录" * 833


def _fifty_mb_export(path, station: str) -> int:
    """Write a customers CSV of at least 50 MB to `path`, the last row with an unknown station;
    returns the number of data rows."""
    header = ",".join([*CUSTOMER_HEADER, REMARK]) + "\r\n"
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(header)
        size = len(header.encode())
        while size < FIFTY_MB:
            line = ",".join([*customer_row(f"36{rows:08d}", station=station), REMARK_TEXT]) + "\r\n"
            out.write(line)
            size += len(line.encode())
            rows += 1
        out.write(",".join([*customer_row(f"36{rows:08d}", station="不存在的供电所"), ""]) + "\r\n")
    return rows + 1


def test_a_50_mb_export_with_one_bad_row_at_its_end_writes_nothing_and_names_the_row(
    world, api, tmp_path, django_capture_on_commit_callbacks
):
    # Given a 50 MB export whose last row names a station that does not exist
    path = tmp_path / "export.csv"
    rows = _fifty_mb_export(path, world.station_a.code)
    assert path.stat().st_size >= FIFTY_MB
    # When it is uploaded (too many rows for the request: a job, run here once the upload commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.integration).post(
            "/api/v1/imports/",
            {"file": SimpleUploadedFile("export.csv", path.read_bytes()), "kind": "customers"},
            format="multipart",
            HTTP_ACCEPT_LANGUAGE="en",
        )
    # Then the job read every row, wrote nothing, and names the bad row (row 1 is the header)
    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.total_rows, job.created_count) == (ImportJob.State.REJECTED, rows, 0)
    [rejection] = job.rejections.all()
    assert (rejection.row_number, rejection.field) == (rows + 1, "供电所")
    assert not Customer.objects.filter(account_no__startswith="36").exists()
