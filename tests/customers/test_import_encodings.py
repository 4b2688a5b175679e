"""Which encoding a CSV file is read in (docs/security.md, "Medium 6"): decided on the whole file,
strictly; a file in another encoding (Latin-1, Shift-JIS) that only decodes as GB18030 by accident,
a file that mixes encodings and a file already holding replacement characters are refused with the
line and the reason in Chinese, never imported as mojibake."""

import io

import pytest

from customers.imports.errors import ImportFileError
from customers.imports.readers import detect_encoding
from customers.models import Customer, ImportJob
from tests.customers.import_files import CUSTOMER_HEADER, csv_bytes, customer_row, post_file, refusal

pytestmark = pytest.mark.usefixtures("media_root")

ENGLISH_HEADER = ["Account No", "Name", "Category", "Supply voltage", "Station"]


def lines(*encoded: bytes) -> bytes:
    return b"".join(line + b"\r\n" for line in encoded)


def test_latin1_text_is_refused_not_read_as_gbk(world, api):
    # Given a Latin-1 file: "Müller" would read as GB18030 "M黮ler"
    content = csv_bytes(
        ENGLISH_HEADER,
        [["3340000001", "Müller GmbH", "Commercial", "10kV", world.station_a.code]],
        encoding="latin-1",
    )
    # When it is uploaded
    message = refusal(post_file(api(world.integration), content))
    # Then the refusal says why, in Chinese, on line 2, and nothing is imported
    assert message.startswith("无法识别文件的字符编码")
    assert "第 2 行" in message
    assert not Customer.objects.filter(account_no="3340000001").exists()
    assert not ImportJob.objects.exists()


def test_shift_jis_text_is_refused_not_read_as_gbk(world, api):
    # Given a Shift-JIS file of Japanese names, which GB18030 decodes too
    rows = [["3340000002", "山田太郎", "Commercial", "10kV", world.station_a.code]]
    content = csv_bytes(ENGLISH_HEADER, rows, encoding="shift_jis")
    content.decode("gb18030")  # the accident the rule is for
    # When it is uploaded, then it is refused
    assert refusal(post_file(api(world.integration), content)).startswith("无法识别文件的字符编码")
    assert not Customer.objects.filter(account_no="3340000002").exists()


def test_one_gbk_row_in_a_utf8_file_is_refused_naming_both_lines(world, api):
    # Given a UTF-8 file whose fourth line was saved in GBK
    header = ",".join(CUSTOMER_HEADER).encode()
    row = [
        ",".join(customer_row(f"334000001{n}", station=world.station_a.code, name="城关镇张三"))
        for n in range(3)
    ]
    content = lines(header, row[0].encode(), row[1].encode(), row[2].encode("gbk"))
    # When it is uploaded
    message = refusal(post_file(api(world.integration), content))
    # Then the refusal names the UTF-8 line and the line that is not, and no row is written
    assert "第 1 行是 UTF-8 编码" in message
    assert "第 4 行" in message
    assert not Customer.objects.filter(account_no__startswith="334000001").exists()


def test_one_utf8_row_in_a_gbk_file_is_refused(world, api):
    # Given a GBK file whose last line was saved in UTF-8
    header = ",".join(CUSTOMER_HEADER).encode("gbk")
    first = ",".join(customer_row("3340000021", station=world.station_a.code, name="城关镇李四"))
    last = ",".join(customer_row("3340000022", station=world.station_a.code, name="城关镇王五"))
    content = lines(header, first.encode("gbk"), last.encode("utf-8"))
    # When it is uploaded, then it is refused as mixed, naming the UTF-8 line
    message = refusal(post_file(api(world.integration), content))
    assert "第 3 行是 UTF-8 编码" in message
    assert not Customer.objects.filter(account_no__startswith="334000002").exists()


def test_a_gbk_file_with_rare_characters_in_names_is_read(world, api):
    # Given a GBK file of names with characters beyond everyday Chinese (镕, 喆, 堃)
    rows = [
        customer_row("3340000031", station=world.station_a.code, name="朱镕基"),
        customer_row("3340000032", station=world.station_a.code, name="张喆"),
        customer_row("3340000033", station=world.station_a.code, name="王堃"),
    ]
    content = csv_bytes(CUSTOMER_HEADER, rows, encoding="gbk")
    # When it is uploaded, then the names arrive intact
    response = post_file(api(world.integration), content)
    assert response.status_code == 201, response.json()
    assert Customer.objects.get(account_no="3340000031").name == "朱镕基"
    assert Customer.objects.get(account_no="3340000032").name == "张喆"


def test_a_file_starting_with_the_utf8_mark_is_never_read_as_gbk(world, api):
    # Given a GBK file behind a UTF-8 byte order mark
    content = b"\xef\xbb\xbf" + csv_bytes(
        CUSTOMER_HEADER, [customer_row("3340000041", station=world.station_a.code)], encoding="gbk"
    )
    # When it is uploaded, then the mark is believed and the file refused
    message = refusal(post_file(api(world.integration), content))
    assert "BOM" in message
    assert "第 1 行" in message


def test_replacement_characters_are_refused_not_stored(world, api):
    # Given a UTF-8 file whose name was already damaged by an earlier conversion
    rows = [customer_row("3340000051", station=world.station_a.code, name="城关镇\ufffd\ufffd厂")]
    # When it is uploaded
    message = refusal(post_file(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows)))
    # Then it is refused on that row, and nothing holds the replacement character
    assert "第 2 行" in message
    assert "\ufffd" in message
    assert not Customer.objects.filter(name__contains="\ufffd").exists()


def test_a_latin1_line_at_the_end_of_a_long_utf8_file_is_found(world):
    # Given 20,000 UTF-8 lines of Chinese and, at the very end, one line in Latin-1
    body = "".join(f"33500{n:05d},城关镇张三,一般工商业\r\n" for n in range(20_000)).encode()
    content = "户号,户名,用电类别\r\n".encode() + body + "3359999999,Müller,x\r\n".encode("latin-1")
    # When its encoding is decided, then the last line is named
    with pytest.raises(ImportFileError, match="20002"):
        detect_encoding(io.BytesIO(content))


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ("户号,户名\r\n1,城关镇张三\r\n".encode(), "utf-8-sig"),
        (b"\xef\xbb\xbf" + "户号,户名\r\n".encode(), "utf-8-sig"),
        ("户号,户名\r\n1,城关镇张三\r\n".encode("utf-16"), "utf-16"),
        ("户号,户名\r\n1,城关镇张三\r\n".encode("gbk"), "gb18030"),
        (b"account,name\r\n1,x\r\n", "utf-8-sig"),
    ],
)
def test_each_accepted_encoding_is_decided_on_the_whole_file(content, encoding):
    assert detect_encoding(io.BytesIO(content))[0] == encoding
