"""`leadflow import BOOK.xlsx [--sheet NAME]`: workbooks, end to end on the real database.

The workbooks are written by `write_xlsx` below, a few lines of zipfile and XML, so each
test says exactly which cells are text, numbers or dates, and where the rows are.
"""

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from django.core.management import CommandError

from leadflow.acquisition.models import ImportJob, ImportStatus
from leadflow.contacts.models import Activity, ActivityKind, Contact

pytestmark = pytest.mark.django_db

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


class Date(float):
    """A cell that Excel shows as a date: a serial day number with a date format."""


def _column(n: int) -> str:
    name = ""
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(65 + rest) + name
    return name


def _cell(reference: str, value) -> str:
    if isinstance(value, Date):
        return f'<c r="{reference}" s="1"><v>{float(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{reference}"><v>{value}</v></c>'
    text = escape(value)
    return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def write_xlsx(path: Path, sheets: dict[str, dict[int, list]]) -> Path:
    """A workbook: sheet name -> {row number: cells}; None leaves a cell empty."""
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{OFFICE}.worksheet+xml"/>'
        for i in range(1, len(names) + 1)
    )
    with zipfile.ZipFile(path, "w") as book:
        book.writestr(
            "[Content_Types].xml",
            f'<Types xmlns="{TYPES}">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{OFFICE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{OFFICE}.styles+xml"/>'
            f"{overrides}</Types>",
        )
        book.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        listed = "".join(
            f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(names, 1)
        )
        book.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>{listed}</sheets></workbook>',
        )
        relations = "".join(
            f'<Relationship Id="rId{i}" Type="{DOC_RELS}/worksheet" '
            f'Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(names) + 1)
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{RELS}">{relations}<Relationship Id="rId{len(names) + 1}" '
            f'Type="{DOC_RELS}/styles" Target="styles.xml"/></Relationships>',
        )
        book.writestr(
            "xl/styles.xml",
            f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font/></fonts><fills count="1">'
            '<fill/></fills><borders count="1"><border/></borders><cellStyleXfs count="1">'
            '<xf/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/>'
            '<xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>',
        )
        for i, name in enumerate(names, 1):
            rows = "".join(
                f'<row r="{number}">'
                + "".join(
                    _cell(f"{_column(c)}{number}", value)
                    for c, value in enumerate(cells, 1)
                    if value is not None
                )
                + "</row>"
                for number, cells in sorted(sheets[name].items())
            )
            book.writestr(
                f"xl/worksheets/sheet{i}.xml",
                f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>',
            )
    return path


HEADER = ["Email", "First Name", "Phone", "Created", "Customer No", "Score"]


@pytest.fixture
def book(tmp_path):
    """Two sheets; "Leads" starts on row 3 and has a blank row (5) between its rows."""
    return write_xlsx(
        tmp_path / "leads.xlsx",
        {
            "Leads": {
                3: HEADER,
                4: [
                    "ann@example.com",
                    "Ann",
                    "+49 30 1234567",
                    Date(45352),
                    "000123",
                    1234567890.0,
                ],
                6: ["bad-email", "Bob", None, None, 42, None],
                7: ["cid@example.com", "Cid", 4155550100, Date(45352.5), None, 12.5],
            },
            "Partners": {1: ["Email", "Name"], 2: ["pat@example.com", "Pat"]},
        },
    )


def test_a_workbook_becomes_contacts_with_cells_as_text(book, run_import):
    report = run_import(book, "--map", "Customer No=external_id")

    assert (report["created"], report["rejected"], report["encoding"]) == (2, 1, "xlsx")
    ann = Contact.objects.get(email="ann@example.com")
    # Text keeps its leading zeros; a whole number is not "1234567890.0".
    assert (ann.phone, ann.external_id) == ("+49301234567", "000123")
    assert ann.attributes == {"score": "1234567890"}
    assert ann.created_at.date().isoformat() == "2024-03-01"
    cid = Contact.objects.get(email="cid@example.com")
    assert (cid.phone, cid.created_at.hour, cid.attributes) == (
        "+14155550100",
        12,
        {"score": "12.5"},
    )


def test_lines_are_the_sheets_row_numbers(book, run_import):
    report = run_import(book, "--map", "Customer No=external_id")

    assert report["reject_examples"] == [{"line": 6, "reason": "invalid email"}]
    lines = {
        a.contact.email: a.data["line"]
        for a in Activity.objects.filter(kind=ActivityKind.IMPORTED).select_related("contact")
    }
    assert lines == {"ann@example.com": 4, "cid@example.com": 7}


def test_sheet_picks_the_sheet_by_name(book, run_import):
    report = run_import(book, "--sheet", "partners")
    assert (report["created"], report["details"]["sheet"]) == (1, "Partners")
    assert Contact.objects.get().email == "pat@example.com"


def test_an_unknown_sheet_is_refused_with_the_sheets_listed(book, run_import):
    with pytest.raises(CommandError, match="no sheet named 'Prospects'.*'Leads', 'Partners'"):
        run_import(book, "--sheet", "Prospects")
    assert not Contact.objects.exists()
    assert ImportJob.objects.get().status == ImportStatus.FAILED


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path, run_import):
    path = tmp_path / "list.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("list.csv", "Email\na@example.com\n")
    with pytest.raises(CommandError, match="ZIP archive, not an XLSX workbook"):
        run_import(path)
    assert not Contact.objects.exists()


def test_sheet_is_refused_for_a_text_file(write_list, run_import):
    with pytest.raises(CommandError, match="--sheet applies to XLSX"):
        run_import(write_list("Email\na@example.com\n"), "--sheet", "Leads")


def test_an_empty_sheet_gets_a_clear_message(tmp_path, run_import):
    path = write_xlsx(tmp_path / "empty.xlsx", {"Leads": {1: HEADER}})
    with pytest.raises(CommandError, match="header but no data rows"):
        run_import(path)
