"""imports/ over the API: the file formats and headers it reads, what it writes, its report, its
refusals, background jobs and who sees which job."""

import functools
from decimal import Decimal

import pytest

from customers.models import ConsumptionRecord, Customer, ImportJob, ImportRejection, Tier
from tests.customers import import_files
from tests.customers.import_files import (
    CONSUMPTION_HEADER,
    CUSTOMER_HEADER,
    csv_bytes,
    customer_row,
    xlsx_bytes,
)

pytestmark = pytest.mark.usefixtures("media_root")

URL = import_files.IMPORTS_URL
# this file reads the API's messages in English
post_file = functools.partial(import_files.post_file, language="en")


def test_customers_csv_in_utf8_creates_customers_with_mapped_values(world, api):
    # Given a UTF-8 CSV with Chinese headers and marketing-system values
    rows = [
        customer_row(
            "3300000001", station=world.station_a.code, category="大工业", voltage="10kV", capacity="630"
        ),
        customer_row("3300000002", station=world.station_a.name, category="居民生活", voltage="220V"),
    ]
    # When the integration client uploads it
    response = post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows))
    # Then both are created with codes, kV and the initial tier
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "done"
    assert response.json()["created_count"] == 2
    plant = Customer.objects.get(account_no="3300000001")
    assert (plant.category, plant.voltage_kv, plant.contracted_capacity_kva) == (
        "industrial",
        Decimal("10.00"),
        Decimal("630.0"),
    )
    assert plant.tier == Tier.KEY_ACCOUNT
    home = Customer.objects.get(account_no="3300000002")
    assert (home.category, home.voltage_kv, home.station) == ("residential", Decimal("0.22"), world.station_a)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_customers_csv_is_read_in_each_encoding(world, api, encoding):
    # Given a CSV with Chinese names saved in the encoding
    rows = [customer_row("3300000003", station=world.station_a.code, name="城关镇张三")]
    # When it is uploaded
    response = post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows, encoding=encoding))
    # Then the Chinese name arrives intact
    assert response.status_code == 201, response.json()
    assert Customer.objects.get(account_no="3300000003").name == "城关镇张三"


def test_customers_xlsx_is_read_with_number_cells(world, api):
    # Given a workbook whose account number and capacity are number cells
    rows = [[3300000004, "某厂", "一般工商业", "0.4kV", 80, "二级", world.station_a.code, "地址", "正常"]]
    # When it is uploaded
    response = post_file(api(world.integration), xlsx_bytes(CUSTOMER_HEADER, rows), name="客户.xlsx")
    # Then the account number is the digits, not "3300000004.0"
    assert response.status_code == 201, response.json()
    customer = Customer.objects.get(account_no="3300000004")
    assert (customer.importance, customer.contracted_capacity_kva) == ("level_2", Decimal("80.0"))


def test_english_headers_in_any_order_are_recognised(world, api):
    # Given English headers in another order, with an extra column
    header = ["Station", "Account No", "Name", "Category", "Supply voltage", "Remarks"]
    rows = [[world.station_a.code, "3300000005", "Shop", "commercial", "0.4", "anything"]]
    # When uploaded
    response = post_file(api(world.integration), csv_bytes(header, rows))
    # Then the customer is created and the extra column ignored
    assert response.status_code == 201, response.json()
    assert Customer.objects.get(account_no="3300000005").category == "commercial"


def test_existing_accounts_are_updated_and_counted_apart_from_created(world, api):
    # Given a file with one existing and one new account
    rows = [
        customer_row(world.customer_a.account_no, station=world.station_a.code, name="甲钢铁厂（新名）"),
        customer_row("3300000006", station=world.station_a.code),
    ]
    # When uploaded
    response = post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows))
    # Then one is created, one updated, and the existing one keeps its tier
    body = response.json()
    assert (body["created_count"], body["updated_count"], body["rejected_count"]) == (1, 1, 0)
    world.customer_a.refresh_from_db()
    assert world.customer_a.name == "甲钢铁厂（新名）"
    assert world.customer_a.tier == Tier.KEY_ACCOUNT


def test_file_with_a_bad_row_writes_nothing(world, api):
    # Given a file whose second data row has an unknown category
    rows = [
        customer_row("3300000007", station=world.station_a.code),
        customer_row("3300000008", station=world.station_a.code, category="外星人"),
        customer_row(world.customer_a.account_no, station=world.station_a.code, name="改名"),
    ]
    # When uploaded without partial
    response = post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows))
    # Then the job is rejected, the report names row 3, and nothing was created or changed
    body = response.json()
    assert response.status_code == 201
    assert (body["status"], body["created_count"], body["updated_count"], body["rejected_count"]) == (
        "rejected",
        0,
        0,
        1,
    )
    assert body["rejections"] == [
        {
            "row": 3,
            "account_no": "3300000008",
            "field": "用电类别",
            "message": body["rejections"][0]["message"],
        }
    ]
    assert "外星人" in body["rejections"][0]["message"]
    assert not Customer.objects.filter(account_no__in=["3300000007", "3300000008"]).exists()
    world.customer_a.refresh_from_db()
    assert world.customer_a.name == "甲钢铁厂"


def test_partial_import_writes_the_good_rows_and_reports_the_bad(world, api):
    rows = [
        customer_row("3300000009", station=world.station_a.code),
        customer_row("3300000010", station="没有这个供电所"),
    ]
    response = post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows), partial=True)
    body = response.json()
    assert (body["status"], body["created_count"], body["rejected_count"]) == ("done", 1, 1)
    assert [(r["row"], r["field"]) for r in body["rejections"]] == [(3, "供电所")]
    assert Customer.objects.filter(account_no="3300000009").exists()
    assert not Customer.objects.filter(account_no="3300000010").exists()


def test_consumption_csv_upserts_records_and_refreshes_annual_consumption(
    world, api, django_capture_on_commit_callbacks
):
    # Given a GBK consumption file with periods in three spellings
    account = world.customer_a.account_no
    rows = [[account, "2026-01", "1000", "560", ""], [account, "202602", "2000", "1120", "80"]]
    rows.append([account, "2026年3月", "3000", "", ""])
    # When uploaded, and the jobs queued on commit have run (the reclassification writes the figure)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(
            api(world.integration),
            csv_bytes(CONSUMPTION_HEADER, rows, encoding="gbk"),
            name="电量.csv",
            kind="consumption",
        )
    # Then three records exist and the annualised figure is current
    assert response.json()["created_count"] == 3, response.json()
    assert ConsumptionRecord.objects.filter(customer=world.customer_a).count() == 3
    world.customer_a.refresh_from_db()
    assert world.customer_a.annual_consumption_kwh == Decimal("24000.00")


def test_blank_rows_are_skipped_and_row_numbers_stay_as_in_the_file(world, api):
    # Given a consumption file with a blank line before a bad row
    rows = [[world.customer_a.account_no, "2026-01", "1000", "", ""], ["", "", "", "", ""]]
    rows.append([world.customer_a.account_no, "2026-02", "-5", "", ""])
    response = post_file(api(world.integration), csv_bytes(CONSUMPTION_HEADER, rows), kind="consumption")
    # Then the blank row is not counted and the bad row is row 4, as a spreadsheet shows it
    body = response.json()
    assert (body["total_rows"], body["rejected_count"]) == (2, 1)
    assert [(r["row"], r["field"]) for r in body["rejections"]] == [(4, "抄见电量(kWh)")]


def test_title_rows_above_the_header_are_skipped(world, api):
    # Given a workbook with a title line above the header
    rows = [[world.customer_a.account_no, "2026-01", 1000, 560, None]]
    content = xlsx_bytes(CONSUMPTION_HEADER, rows, title="2026年1月电费明细")
    response = post_file(api(world.integration), content, name="明细.xlsx", kind="consumption")
    assert response.json()["created_count"] == 1, response.json()


# ---------------------------------------------------------------- refused files
def _refusal(response) -> str:
    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["file"]
    return response.json()["file"][0]


def test_file_above_the_size_limit_is_refused(world, api, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1024
    rows = [customer_row(f"34{n:08d}", station=world.station_a.code) for n in range(50)]
    message = _refusal(post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows)))
    assert "MB" in message
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("report.pdf", b"%PDF-1.4", "Unknown file type"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        ("broken.xlsx", b"not a zip at all", "not a valid XLSX"),
        ("latin.csv", b"account,name\n1,caf\xe9,x\n", "UTF-8"),
        ("binary.csv", b"\x00\x01\x02\x03", "not a text"),
        ("empty.csv", b"", "empty"),
    ],
)
def test_unreadable_files_are_refused_with_one_message(world, api, name, content, words):
    message = _refusal(post_file(api(world.integration), content, name=name))
    assert words in message
    assert not ImportJob.objects.exists()


def test_missing_required_column_is_named(world, api):
    # Given a customer file without the station column
    header = ["户号", "户名", "用电类别", "供电电压"]
    content = csv_bytes(header, [["3300000011", "某户", "居民", "220V"]])
    message = _refusal(post_file(api(world.integration), content))
    assert "供电所 (station)" in message
    assert not Customer.objects.filter(account_no="3300000011").exists()


def test_consumption_file_sent_as_customers_says_which_kind_it_looks_like(world, api):
    content = csv_bytes(CONSUMPTION_HEADER, [[world.customer_a.account_no, "2026-01", "1", "", ""]])
    message = _refusal(post_file(api(world.integration), content))
    assert "consumption" in message


def test_duplicate_column_is_refused(world, api):
    header = [*CUSTOMER_HEADER, "户号"]
    content = csv_bytes(header, [[*customer_row("3300000012", station=world.station_a.code), "x"]])
    assert "户号" in _refusal(post_file(api(world.integration), content))


def test_header_without_data_rows_is_refused(world, api):
    assert "no data rows" in _refusal(post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, [])))


# ---------------------------------------------------------------- background jobs
def test_large_file_answers_202_and_the_task_finishes_it(
    world, api, settings, django_capture_on_commit_callbacks
):
    # Given an inline limit of 5 rows and a file of 12
    settings.IMPORT_INLINE_MAX_ROWS = 5
    rows = [customer_row(f"35{n:08d}", station=world.station_a.code) for n in range(12)]
    # When uploaded (the task runs eagerly once the request's work is committed)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows))
    # Then the answer is the queued job, and the job ends done with progress = total
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.processed_rows, job.total_rows, job.created_count) == ("done", 12, 12, 12)
    polled = api(world.integration).get(f"{URL}{job.pk}/").json()
    assert (polled["status"], polled["progress"]) == ("done", 100)


def test_background_job_reports_in_the_uploaders_language(
    world, api, settings, django_capture_on_commit_callbacks
):
    # Given a large file uploaded by a Chinese-speaking user, with a row missing its name
    settings.IMPORT_INLINE_MAX_ROWS = 1
    rows = [
        customer_row("3600000001", station=world.station_a.code, name=""),
        customer_row("3600000002", station=world.station_a.code),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows), language="zh-hans")
    # Then the worker wrote the reason in Chinese
    assert response.status_code == 202
    rejection = ImportRejection.objects.get(job_id=response.json()["id"])
    assert rejection.message == "该字段是必填项。"


# ---------------------------------------------------------------- who may do what
def test_rejections_are_paginated(world, api):
    rows = [customer_row(f"37{n:08d}", station="无此所") for n in range(3)]
    job_id = post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows)).json()["id"]
    page = api(world.integration).get(f"{URL}{job_id}/rejections/?page_size=2").json()
    assert page["count"] == 3
    assert [r["row"] for r in page["results"]] == [2, 3]


def test_manager_without_permission_cannot_upload(world, api):
    content = csv_bytes(CUSTOMER_HEADER, [customer_row("3300000013", station=world.station_a.code)])
    assert post_file(api(world.manager_a.user), content).status_code == 403


def _uploader(world, *perms):
    """manager A's colleague under the same supervisor, allowed to import, seeing only their own."""
    from django.contrib.auth.models import Permission

    user = world.manager_a.user
    names = ["add_importjob", "view_importjob", *perms]
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="customers", codename__in=names)
    )
    return user


def test_another_users_job_answers_404(world, api):
    # Given a job of the integration client
    content = csv_bytes(CUSTOMER_HEADER, [customer_row("3300000014", station=world.station_a.code)])
    job_id = post_file(api(world.integration), content).json()["id"]
    # When a user allowed to import, but not to see all, asks for it
    client = api(_uploader(world))
    # Then it does not exist for them, nor do its rejections, nor is it listed
    assert client.get(f"{URL}{job_id}/").status_code == 404
    assert client.get(f"{URL}{job_id}/rejections/").status_code == 404
    assert client.get(URL).json()["count"] == 0


def test_administrator_sees_every_job(world, api):
    content = csv_bytes(CUSTOMER_HEADER, [customer_row("3300000015", station=world.station_a.code)])
    job_id = post_file(api(world.integration), content).json()["id"]
    assert api(world.admin).get(f"{URL}{job_id}/").status_code == 200


def test_consumption_of_an_account_outside_the_scope_is_unknown(world, api):
    # Given an uploader who sees only manager A's portfolio
    client = api(_uploader(world, "add_consumptionrecord", "change_consumptionrecord"))
    rows = [[world.customer_b.account_no, "2026-01", "100", "", ""]]
    # When they send consumption for customer B
    body = post_file(client, csv_bytes(CONSUMPTION_HEADER, rows), kind="consumption").json()
    # Then the row is rejected exactly as an unknown account, and nothing is written
    assert body["rejections"][0]["field"] == "户号"
    assert "No customer" in body["rejections"][0]["message"]
    assert not ConsumptionRecord.objects.filter(customer=world.customer_b).exists()


def test_customer_row_for_an_account_outside_the_scope_does_not_reveal_it(world, api):
    client = api(_uploader(world, "add_customer", "change_customer"))
    rows = [customer_row(world.customer_b.account_no, station=world.station_a.code, name="冒名")]
    body = post_file(client, csv_bytes(CUSTOMER_HEADER, rows)).json()
    assert body["rejections"][0]["message"] == "This account number is already used by another customer."
    world.customer_b.refresh_from_db()
    assert world.customer_b.name == "乙水泥厂"


def test_upload_of_a_kind_the_user_may_not_write_is_forbidden(world, api):
    # Given an uploader allowed consumption only
    client = api(_uploader(world, "add_consumptionrecord", "change_consumptionrecord"))
    content = csv_bytes(CUSTOMER_HEADER, [customer_row("3300000016", station=world.station_a.code)])
    assert post_file(client, content).status_code == 403


def test_uploads_are_throttled_by_the_imports_rate(world, api, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"imports": "1/hour"})
    cache.clear()
    client = api(world.integration)
    content = csv_bytes(CUSTOMER_HEADER, [customer_row("3300000017", station=world.station_a.code)])
    try:
        assert post_file(client, content).status_code == 201
        assert post_file(client, content).status_code == 429
        assert client.get(URL).status_code == 200  # reading jobs is not rationed
    finally:
        cache.clear()


def test_unauthenticated_upload_answers_401(world, api):
    content = csv_bytes(CUSTOMER_HEADER, [customer_row("3300000018", station=world.station_a.code)])
    assert post_file(api(), content).status_code == 401


def test_workbook_that_unpacks_to_far_more_than_its_size_is_refused(world, api, settings):
    # Given a small workbook whose cells hold megabytes of one repeated character
    settings.IMPORT_MAX_FILE_BYTES = 40_000
    filler = ["正" * 32_000] * 40
    content = xlsx_bytes(
        CUSTOMER_HEADER, [[*customer_row("3300000019", station=world.station_a.code), *filler]]
    )
    assert len(content) < settings.IMPORT_MAX_FILE_BYTES
    # When uploaded, then it is refused before it is unpacked
    assert "unpacks" in _refusal(post_file(api(world.integration), content, name="bomb.xlsx"))
