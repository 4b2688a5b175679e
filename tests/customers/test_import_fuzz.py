"""Random and hostile bytes as import files (docs/security.md, "High 2" and "Medium 6"): random bytes,
a byte order mark before garbage, lines in mixed encodings, good files with bytes changed, truncated
workbooks, zips of the wrong parts, zips inside zips, sheets of random XML. Each upload is either
refused with a message or imported cleanly (or, the same bytes a second time, told it is a repeat):
never an exception (the test client raises what the
view raises), never a server error, and never a replacement character (U+FFFD) stored.

Hypothesis generates the files, derandomized (the same examples on every run) and bounded in
count, so the test is repeatable in CI and takes seconds."""

import hashlib
import io
import zipfile

import pytest
from django.db.models import CharField, Q, TextField
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from customers.models import Customer, ImportJob, ImportRejection
from tests.customers.hostile_files import SHEET_PATH, workbook
from tests.customers.import_files import CUSTOMER_HEADER, csv_bytes, customer_row, post_file, xlsx_bytes

pytestmark = pytest.mark.usefixtures("media_root")

FUZZ = hypothesis_settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ENCODINGS = ["utf-8", "gbk", "gb18030", "latin-1", "cp1252", "shift_jis", "utf-16-le", "utf-16"]
NAMES = ["file.csv", "file.xlsx", "file.txt", "file", "file.xlsm", "file.tsv"]
# Text a marketing export and its mistakes are made of: Chinese, accented Latin, Japanese, digits.
TEXT = st.text(
    alphabet=st.sampled_from(
        list('户号户名城关镇张三钢铁厂一般工商业正常镕喆Müllerçéàñ山田太郎カナ0123456789,.;\t "')
    ),
    max_size=40,
)


def good_rows(station: str, count: int = 3) -> list[list[str]]:
    return [customer_row(f"36900{n:05d}", station=station, name=f"城关镇{n}号厂") for n in range(count)]


def assert_refused_or_imported(client, content: bytes, name: str) -> None:
    response = post_file(client, content, name)
    assert response.status_code in (201, 202, 400, 409), (response.status_code, content[:200])
    if response.status_code == 409:
        # Hypothesis made these bytes again and an earlier example imported them (the database is
        # not emptied between examples): told so, naming that import, as a repeat must be.
        assert response.json()["code"] == "duplicate_import"
        earlier = ImportJob.objects.get(pk=response.json()["earlier_import"])
        assert earlier.content_hash == hashlib.sha256(content).hexdigest()
        return
    if response.status_code == 400:
        assert response.json()["file"][0].strip()
    else:
        job = ImportJob.objects.get(pk=response.json()["id"])
        assert job.status != ImportJob.State.FAILED or job.error.strip()
    for model in (Customer, ImportRejection):
        texts = [f.name for f in model._meta.get_fields() if isinstance(f, CharField | TextField)]
        damaged = Q()
        for field in texts:
            damaged |= Q(**{f"{field}__contains": "\ufffd"})
        assert not model.objects.filter(damaged).exists(), model


@FUZZ
@given(content=st.binary(max_size=3000), name=st.sampled_from(NAMES))
def test_random_bytes(world, api, content, name):
    assert_refused_or_imported(api(world.integration), content, name)


@FUZZ
@given(
    bom=st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"]),
    garbage=st.binary(max_size=2000),
)
def test_a_byte_order_mark_before_garbage(world, api, bom, garbage):
    assert_refused_or_imported(api(world.integration), bom + garbage, "file.csv")


@FUZZ
@given(
    header_encoding=st.sampled_from(ENCODINGS),
    lines=st.lists(st.tuples(TEXT, st.sampled_from(ENCODINGS)), max_size=8),
)
def test_lines_in_mixed_encodings(world, api, header_encoding, lines):
    content = (",".join(CUSTOMER_HEADER) + "\r\n").encode(header_encoding, "replace")
    for text, encoding in lines:
        row = ",".join(customer_row(f"3690{len(content):06d}", station=world.station_a.code, name=text))
        content += (row + "\r\n").encode(encoding, "replace")
    assert_refused_or_imported(api(world.integration), content, "file.csv")


@FUZZ
@given(
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16"]),
    edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=4)), min_size=1, max_size=6),
)
def test_good_csv_with_bytes_changed(world, api, encoding, edits):
    content = bytearray(csv_bytes(CUSTOMER_HEADER, good_rows(world.station_a.code), encoding=encoding))
    for where, data in edits:
        at = int(where * (len(content) - 1))
        content[at : at + len(data)] = data
    assert_refused_or_imported(api(world.integration), bytes(content), "file.csv")


@FUZZ
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))
def test_truncated_or_damaged_workbooks(world, api, cut, flips):
    content = bytearray(xlsx_bytes(CUSTOMER_HEADER, good_rows(world.station_a.code)))
    for where, byte in flips:
        content[int(where * (len(content) - 1))] = byte
    content = content[: max(1, int(cut * len(content)))] if cut < 0.95 else content
    assert_refused_or_imported(api(world.integration), bytes(content), "file.xlsx")


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return out.getvalue()


@FUZZ
@given(
    shape=st.sampled_from(["wrong parts", "nested", "sheet is a zip", "random sheet", "random xml"]),
    member=st.sampled_from([SHEET_PATH, "xl/workbook.xml", "[Content_Types].xml", "a/b.xml", "../x"]),
    data=st.binary(max_size=1500),
    tokens=st.lists(
        st.sampled_from(
            [
                "<row>",
                "</row>",
                "<c>",
                "</c>",
                "<v>1</v>",
                "<row r='9'/>",
                "<sheetData>",
                "</sheetData>",
                "<dimension ref='A1:B9'/>",
                "&amp;",
                "<x:row>",
                "<!-- <row> -->",
                "]]>",
            ]
        ),
        max_size=30,
    ),
)
def test_zips_of_the_wrong_shape(world, api, shape, member, data, tokens):
    good = xlsx_bytes(CUSTOMER_HEADER, good_rows(world.station_a.code))
    if shape == "wrong parts":
        content = _zip({member: data, "mimetype": b"application/zip"})
    elif shape == "nested":
        content = _zip({"inner.xlsx": good, member: data})
    elif shape == "sheet is a zip":
        content = workbook(good)
    elif shape == "random sheet":
        content = workbook(data)
    else:
        sheet = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        content = workbook((sheet + "".join(tokens) + "</worksheet>").encode())
    assert_refused_or_imported(api(world.integration), content, "file.xlsx")
