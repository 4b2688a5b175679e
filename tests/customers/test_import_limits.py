"""The limits of an import against hostile files (docs/security.md, "High 2"): a workbook packed far
tighter than any export, a sheet of millions of empty rows, a sheet that declares more rows than may
be imported, a row or line of megabytes; the request reads only the first rows of a file and hands
a longer one to the worker, which counts its rows while streaming; uploads from the page are
rationed like the API's. Counters, not clocks, show how much of a file was read."""

import io
import random

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from customers.models import Customer, ImportJob
from tests.customers.hostile_files import (
    empty_rows,
    header_row,
    sheet_xml,
    workbook,
)
from tests.customers.import_files import CUSTOMER_HEADER, csv_bytes, customer_row, post_file, refusal, upload

pytestmark = pytest.mark.usefixtures("media_root")


def request_rows() -> int:
    """The most rows of a file (blank ones count) the request may read before handing it on."""
    from customers.imports.jobs import inline_read_rows

    return inline_read_rows()


def _spy_on(monkeypatch, owner, name: str, *, keep_results=False) -> list:
    """`owner.name` wrapped to be counted: the list gets a 1 as each call starts or, with
    `keep_results`, what each call returned."""
    calls = []
    real = getattr(owner, name)

    def spy(*args, **kwargs):
        if not keep_results:
            calls.append(1)
        result = real(*args, **kwargs)
        if keep_results:
            calls.append(result)
        return result

    monkeypatch.setattr(owner, name, spy)
    return calls


@pytest.fixture
def opened_tables(monkeypatch):
    """Every table the import service opens, to read afterwards how many rows of the file it read."""
    import customers.imports.jobs as jobs

    return _spy_on(monkeypatch, jobs, "open_table", keep_results=True)


@pytest.fixture
def workbook_loads(monkeypatch):
    """How many times openpyxl opened a workbook (a list with one entry per opening)."""
    from openpyxl.reader.excel import ExcelReader

    return _spy_on(monkeypatch, ExcelReader, "read")


@pytest.fixture
def parsed_rows(monkeypatch):
    """Rows of sheet XML that openpyxl parsed (a list with one entry per row)."""
    from openpyxl.worksheet._reader import WorkSheetParser

    return _spy_on(monkeypatch, WorkSheetParser, "parse_row")


# ---------------------------------------------------------------- packing (zip bombs)
def test_a_workbook_of_two_million_empty_rows_is_refused_for_its_packing_before_it_is_opened(
    world, api, workbook_loads
):
    # Given 2,000,000 bare empty rows under a header: 12 MB of sheet XML packed into some 20 KB
    content = workbook(sheet_xml(header_row(CUSTOMER_HEADER) + empty_rows(2, 2_000_000, numbered=False)))
    assert len(content) < 100_000
    # When it is uploaded
    message = refusal(post_file(api(world.integration), content, "客户.xlsx"))
    # Then it is refused in Chinese for its packing, before openpyxl opened it, and no job is kept
    assert "解压后" in message
    assert workbook_loads == []
    assert not ImportJob.objects.exists()


def test_one_part_packed_far_tighter_than_any_export_is_refused_even_when_the_whole_is_not(
    world, api, workbook_loads
):
    # Given a bomb sheet beside 3 MB of incompressible data, so the file as a whole unpacks to a
    # few times its size
    sheet = sheet_xml(header_row(CUSTOMER_HEADER) + empty_rows(2, 1_000_000, numbered=False))
    noise = random.Random(6).randbytes(3_000_000)  # noqa: S311 (test data)
    content = workbook(sheet, extra={"xl/media/image1.png": noise})
    assert len(content) * 10 > len(sheet) + len(noise)
    # When it is uploaded, then the sheet part is named in the refusal
    message = refusal(post_file(api(world.integration), content, "客户.xlsx"))
    assert "xl/worksheets/sheet1.xml" in message
    assert "解压后" in message
    assert workbook_loads == []


# ---------------------------------------------------------------- rows
def test_a_sheet_declaring_more_rows_than_may_be_imported_is_refused_before_its_rows_are_read(
    world, api, settings, parsed_rows
):
    # Given a limit of 1,000 rows and a sheet whose <dimension> declares 5,000
    settings.IMPORT_MAX_ROWS = 1000
    rows = header_row(CUSTOMER_HEADER) + empty_rows(2, 4999)
    content = workbook(sheet_xml(rows, dimension="A1:I5000"))
    # When it is uploaded
    message = refusal(post_file(api(world.integration), content, "客户.xlsx"))
    # Then the refusal names both numbers, and not one row was parsed
    assert "5,000" in message
    assert "1,000" in message
    assert parsed_rows == []
    assert not ImportJob.objects.exists()


def test_a_long_sheet_without_dimension_is_handed_to_the_worker_after_its_first_rows(
    world, api, settings, parsed_rows
):
    # Given a sheet of a header and 30,000 empty rows, with no <dimension> to say so
    settings.IMPORT_MAX_ROWS = 20_000
    content = workbook(sheet_xml(header_row(CUSTOMER_HEADER) + empty_rows(2, 30_000)))
    # When it is uploaded (the worker's task is not run here)
    response = post_file(api(world.integration), content, "客户.xlsx")
    # Then the request read no more than its share of rows, whether opening the workbook (which
    # looks for a <dimension>) or reading rows, and queued the file
    assert response.status_code == 202, response.json()
    assert len(parsed_rows) <= request_rows() + 1
    assert ImportJob.objects.get().status == ImportJob.State.QUEUED


def test_the_worker_refuses_a_sheet_longer_than_the_limit_while_counting_its_rows(
    world, api, settings, parsed_rows, django_capture_on_commit_callbacks
):
    # Given a limit of 20,000 rows and a sheet of a header, one customer and 30,000 empty rows
    settings.IMPORT_MAX_ROWS = 20_000
    row = customer_row("3310000001", station=world.station_a.code)
    content = workbook(sheet_xml(header_row(CUSTOMER_HEADER) + header_row(row, 2) + empty_rows(3, 30_000)))
    # When it is uploaded and the worker runs the job
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(api(world.integration), content, "客户.xlsx")
    # Then the job failed in Chinese past 20,000 rows, reading no further, and wrote nothing
    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get()
    assert (job.status, job.error) == ("failed", "文件超过 20,000 行，请拆分后分别上传。")
    assert len(parsed_rows) <= request_rows() + 20_001
    assert not Customer.objects.filter(account_no="3310000001").exists()


def test_a_csv_of_one_customer_and_many_blank_lines_is_decided_from_its_first_rows(
    world, api, opened_tables, django_capture_on_commit_callbacks
):
    # Given one customer followed by 100,000 blank lines
    content = csv_bytes(CUSTOMER_HEADER, [customer_row("3310000002", station=world.station_a.code)])
    content += b"\r\n" * 100_000
    # When it is uploaded
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(api(world.integration), content, "customers.csv")
    # Then the request read only its share of the lines and handed the file to the worker, which
    # imported the customer
    assert response.status_code == 202, response.json()
    request_table = opened_tables[0]
    assert request_table.rows_read <= request_rows() + 1
    assert ImportJob.objects.get().status == ImportJob.State.DONE
    assert Customer.objects.filter(account_no="3310000002").exists()


def test_a_file_whose_first_thousands_of_rows_are_blank_is_refused_in_the_request(world, api, opened_tables):
    # Given 10,000 blank lines before the header
    content = b"\r\n" * 10_000 + csv_bytes(CUSTOMER_HEADER, [customer_row("3310000003", station="x")])
    # When it is uploaded, then it is refused in Chinese after the request's share of rows
    message = refusal(post_file(api(world.integration), content, "customers.csv"))
    assert f"前 {request_rows():,} 行都是空行" in message
    assert opened_tables[0].rows_read <= request_rows() + 1
    assert not ImportJob.objects.exists()


def test_a_file_over_the_inline_limit_goes_to_the_worker_after_the_request_read_its_share(
    world, api, settings, opened_tables
):
    # Given an inline limit of 5 rows and a file of 50
    settings.IMPORT_INLINE_MAX_ROWS = 5
    rows = [customer_row(f"33200{n:05d}", station=world.station_a.code) for n in range(50)]
    # When it is uploaded
    response = post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows), "customers.csv")
    # Then it is queued, the request having read no more than its share
    assert response.status_code == 202, response.json()
    assert opened_tables[0].rows_read <= request_rows() + 1
    assert not Customer.objects.filter(account_no__startswith="33200").exists()


def test_rows_written_with_a_namespace_prefix_are_counted_all_the_same(parsed_rows):
    # Given a sheet of 10,000 rows spelled <x:row> under <x:sheetData>, without <dimension>
    from customers.imports.readers import open_table
    from tests.customers.hostile_files import MAIN_NS

    rows = b"".join(
        b'<x:row r="%d"><x:c r="A%d"><x:v>%d</x:v></x:c></x:row>' % (n, n, n) for n in range(1, 10_001)
    )
    sheet = (
        f'<x:worksheet xmlns:x="{MAIN_NS}"><x:sheetData>'.encode() + rows + b"</x:sheetData></x:worksheet>"
    )
    # When a table reading at most 50 rows reads it
    with open_table(io.BytesIO(workbook(sheet)), "f.xlsx", read_rows=50) as table:
        read = list(table.rows())
    # Then it read 50 rows, openpyxl parsed no more, and the table knows there were more
    assert [number for number, _ in read] == list(range(1, 51))
    assert len(parsed_rows) <= 51
    assert not table.read_all


def test_a_workbook_of_thousands_of_parts_is_refused_before_its_directory_is_read(world, api, workbook_loads):
    # Given a workbook with 5,000 extra (empty) parts
    content = workbook(
        sheet_xml(header_row(CUSTOMER_HEADER)), extra={f"xl/x{n}.xml": b"" for n in range(5000)}
    )
    # When it is uploaded, then it is refused in Chinese, unopened
    message = refusal(post_file(api(world.integration), content, "客户.xlsx"))
    assert "5,009" in message
    assert workbook_loads == []


def test_a_sheet_row_of_megabytes_is_refused_before_openpyxl_builds_it(world, api, parsed_rows):
    # Given a header and a second row of 3 MB of cells (random values: it packs like data)
    rng = random.Random(2)  # noqa: S311 (test data)
    cells = b"".join(b"<c><v>%d</v></c>" % rng.randrange(10**9) for _ in range(200_000))
    content = workbook(sheet_xml(header_row(CUSTOMER_HEADER) + b'<row r="2">' + cells + b"</row>"))
    # When it is uploaded
    message = refusal(post_file(api(world.integration), content, "客户.xlsx"))
    # Then it is refused in Chinese, and openpyxl parsed no more than the header
    assert "第 2 行" in message
    assert len(parsed_rows) <= 1


def test_a_csv_line_of_megabytes_is_refused_without_being_split_into_cells(world, api):
    # Given a header, then a line of two million commas
    content = csv_bytes(CUSTOMER_HEADER, []) + b"," * 2_000_000 + b"\r\n"
    # When it is uploaded, then it is refused in Chinese, naming the line
    message = refusal(post_file(api(world.integration), content, "customers.csv"))
    assert "第 2 行" in message
    assert not ImportJob.objects.exists()


# ---------------------------------------------------------------- the upload page is rationed
START = reverse("customers:import")


def _page_post(client, account_no: str, station: str):
    content = csv_bytes(CUSTOMER_HEADER, [customer_row(account_no, station=station)])
    return client.post(START, {"kind": "customers", "file": upload(content)}, HTTP_ACCEPT_LANGUAGE="zh-hans")


@pytest.fixture
def one_upload_an_hour(monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"imports": "1/hour"})
    cache.clear()
    yield
    cache.clear()


def test_page_uploads_are_rationed_by_the_imports_rate_with_a_chinese_message(
    world, client, one_upload_an_hour
):
    # Given the integration client on the page, allowed one upload an hour
    client.force_login(world.integration)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert _page_post(client, "3330000001", world.station_a.code).status_code == 302
    # When they upload a second file
    response = _page_post(client, "3330000002", world.station_a.code)
    # Then the page answers 429 in Chinese and the file is not imported
    assert response.status_code == 429
    assert "上传过于频繁" in response.content.decode()
    assert ImportJob.objects.count() == 1
    assert not Customer.objects.filter(account_no="3330000002").exists()


def test_the_page_and_the_api_share_one_ration_of_uploads(world, api, client, one_upload_an_hour):
    # Given an upload through the API, with one upload an hour allowed
    content = csv_bytes(CUSTOMER_HEADER, [customer_row("3330000003", station=world.station_a.code)])
    assert post_file(api(world.integration), content, "customers.csv").status_code == 201
    # When the same user uploads on the page
    client.force_login(world.integration)
    response = _page_post(client, "3330000004", world.station_a.code)
    # Then the page counts the API's upload too
    assert response.status_code == 429
    assert not Customer.objects.filter(account_no="3330000004").exists()
