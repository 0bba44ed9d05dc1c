"""Big files are read a chunk of rows at a time: what must hold across chunks.

The chunk size is made tiny (two rows) so that a five-row list crosses three chunks.
"""

import csv

import pytest
from django.core.management import CommandError

from leadflow.acquisition.models import ImportJob, ImportStatus
from leadflow.acquisition.pipeline import read
from leadflow.contacts.models import Activity, ActivityKind, Contact, StageChange

pytestmark = pytest.mark.django_db

LIST = (
    "Email,Name,Notes\n"
    "ann@example.com,Ann,\n"
    "\n"
    'bob@example.com,Bob,"two\nlines"\n'
    "ANN@example.com ,Annie,again\n"
    "bad-email,Cid,\n"
    "bob@example.com,Robert,\n"
    "dee@example.com,Dee,last\n"
)


@pytest.fixture
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(read, "CHUNK_ROWS", 2)


def _lines() -> dict[str, int]:
    imported = Activity.objects.filter(kind=ActivityKind.IMPORTED).select_related("contact")
    return {a.contact.email: a.data["line"] for a in imported}


def test_duplicates_and_lines_hold_across_chunks(tiny_chunks, write_list, run_import):
    report = run_import(write_list(LIST))

    assert (report["rows_read"], report["created"], report["skipped_in_file"]) == (6, 3, 2)
    assert report["reject_examples"] == [{"line": 7, "reason": "invalid email"}]
    # The first row of an email wins, wherever the later one is.
    assert Contact.objects.get(email="ann@example.com").first_name == "Ann"
    assert Contact.objects.get(email="bob@example.com").first_name == "Bob"
    assert _lines() == {"ann@example.com": 2, "bob@example.com": 4, "dee@example.com": 9}
    assert StageChange.objects.filter(source="import").count() == 3


def test_chunks_give_the_same_report_as_one_read(tiny_chunks, write_list, run_import, monkeypatch):
    chunked = run_import(write_list(LIST), "--dry-run")
    monkeypatch.setattr(read, "CHUNK_ROWS", 100_000)
    whole = run_import(write_list(LIST), "--dry-run")
    for report in (chunked, whole):
        report.pop("rejects_path")
        report.pop("elapsed_seconds")
        report.pop("details")
    assert chunked == whole


def test_rejects_of_every_chunk_land_in_one_file(tiny_chunks, write_list, run_import):
    text = "Email,Name\nx,A\ngood@example.com,B\ny,C\nz,D\n@w,E\n"
    report = run_import(write_list(text))

    with open(report["rejects_path"], encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["Email"]) for r in rows] == [
        ("2", "x"),
        ("4", "y"),
        ("5", "z"),
        ("6", "'@w"),
    ]
    assert report["rejected"] == 4


def test_a_bad_byte_in_a_later_chunk_rolls_back_the_earlier_ones(
    write_list, run_import, monkeypatch
):
    monkeypatch.setattr(read, "CHUNK_ROWS", 1000)
    # Past the first 64 KB, which the encoding is detected from: four chunks load first.
    good = "".join(f"person{n}@example.com,P{n}\n" for n in range(4000))
    path = write_list(("Email,Name\n" + good).encode() + b"late@example.com,Caf\x81\n")

    with pytest.raises(CommandError, match=r"not valid utf-8: line 4002 "):
        run_import(path)
    assert not Contact.objects.exists()
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED


def test_an_unclosed_quote_is_a_clear_error(write_list, run_import):
    path = write_list('Email,Notes\na@example.com,"never closed\nb@example.com,x\n')
    with pytest.raises(CommandError, match="quote opened on line 2 is never closed"):
        run_import(path)
    assert not Contact.objects.exists()


def test_a_huge_cell_is_taken_for_an_unclosed_quote(write_list, run_import, monkeypatch):
    monkeypatch.setattr(read, "MAX_CELL_BYTES", 1000)
    rows = "".join(f"p{n}@example.com,x\n" for n in range(200))
    path = write_list(f'Email,Notes\na@example.com,"open\n{rows}')
    with pytest.raises(CommandError, match="starting on line 2 is larger than"):
        run_import(path)
    assert not Contact.objects.exists()


def test_nul_bytes_in_cells_are_dropped(write_list, run_import):
    # Past the first 64 KB: there, a NUL is taken for a binary file.
    good = "".join(f"person{n}@example.com,P{n}\n" for n in range(4000))
    run_import(write_list(f"Email,Name\n{good}a@example.com,A\x00nn\n"))
    assert Contact.objects.get(email="a@example.com").first_name == "Ann"
