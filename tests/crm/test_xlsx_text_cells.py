"""Every text of an XLSX export is written as text (crm.common.exports.table_workbook): a name a user
typed that begins with `=` (or `+`, `-`, `@`) is shown as typed and never becomes a live formula in
the director's workbook (the appraisal review export, the training compliance export)."""

import zipfile
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from appraisal import services
from crm.accounts import roles
from crm.common.exports import table_workbook
from managers.models import Role
from tests.appraisal.core_helpers import open_cycle
from tests.factories import CourseFactory, ManagerFactory, StationFactory, UserFactory

FORMULA_LIKE = ["=1+1", '=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)"]


def _sheet_xml(content: bytes) -> str:
    with zipfile.ZipFile(BytesIO(content)) as archive:
        [name] = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        return archive.read(name).decode()


def _text_cells(content: bytes) -> dict[str, str]:
    """value -> openpyxl's data type of every cell holding text, read back from the saved file."""
    sheet = load_workbook(BytesIO(content)).active
    return {cell.value: cell.data_type for row in sheet.iter_rows() for cell in row if cell.value is not None}


def _assert_text_as_typed(content: bytes, texts) -> None:
    cells = _text_cells(content)
    for text in texts:
        assert cells.get(text) == "s", f"{text!r} is not a text cell: {cells.get(text)!r}"
    xml = _sheet_xml(content)
    assert "<f>" not in xml
    assert "<f " not in xml


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_table_workbook_writes_a_formula_like_text_as_text(text):
    # given a row whose text begins with a formula character
    # when the workbook is written
    content = table_workbook(title="T", headers=["name", "n"], rows=[[text, 3]])
    # then the text reads back as the same string in a text cell, the sheet has no formula,
    # and numbers stay numbers
    _assert_text_as_typed(content, [text])
    sheet = load_workbook(BytesIO(content)).active
    assert sheet["B2"].value == 3
    assert sheet["B2"].data_type == "n"


def test_table_workbook_keeps_an_error_code_lookalike_as_text():
    # given a name that openpyxl would take for an error value
    content = table_workbook(title="T", headers=["name"], rows=[["#N/A"]])
    # then it is text too
    assert _text_cells(content)["#N/A"] == "s"


@pytest.fixture
def hostile_team(world):
    """Managers of the supervisor's team named like formulas, in a station named like one."""
    station = StationFactory(name='=HYPERLINK("http://x","station")')
    return [
        ManagerFactory(
            user=UserFactory(full_name=name, supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER),
            station=station,
            role=Role.KEY_ACCOUNT_MANAGER,
        )
        for name in FORMULA_LIKE
    ]


def test_the_appraisal_review_export_writes_formula_like_names_as_text(client, world, hostile_team):
    # given the team's appraisals, one with a customer representative named like a formula
    cycle = open_cycle(world)
    appraisal = cycle.appraisals.get(manager=hostile_team[0])
    services.panel_add(appraisal=appraisal, kind="customer_representative", name="=2+2", by=world.supervisor)
    # when the supervisor exports the review
    client.force_login(world.supervisor)
    response = client.get(reverse("appraisal:export", args=[cycle.year]))
    # then every name (the raters not scored: representative first, by kind) is a text cell, as
    # typed, and the sheet holds no formula
    assert response.status_code == 200
    _assert_text_as_typed(
        response.content,
        [*FORMULA_LIKE, '=HYPERLINK("http://x","station")', f"=2+2, {world.supervisor.display_name}"],
    )


def test_the_training_compliance_export_writes_formula_like_names_as_text(client, world, hostile_team):
    # given a required course titled like a formula that nobody has passed yet
    CourseFactory(code="F01", title="=SUM(1,2)", required_for=[Role.KEY_ACCOUNT_MANAGER])
    # when the administrator exports the compliance table
    client.force_login(world.admin)
    response = client.get(reverse("training:compliance-xlsx"), {"year": 2026})
    # then the managers', the station's and the course's names are text cells, as typed
    assert response.status_code == 200
    _assert_text_as_typed(response.content, [*FORMULA_LIKE, '=HYPERLINK("http://x","station")', "=SUM(1,2)"])
