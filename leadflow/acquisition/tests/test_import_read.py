"""Reading a text file (pipeline/read.py): blank lines before the header, and line numbers."""

import csv

import pytest
from django.core.management import CommandError

from leadflow.acquisition.pipeline.read import LINE, UnreadableFile, open_table
from leadflow.contacts.models import Activity, ActivityKind, Contact

# Two blank lines, a line of delimiters (an empty top row saved by a spreadsheet) and one of
# spaces before the header, which is line 5.
LEADING = "\n\n,,\n  \nEmail,Name,Note\n"


def _lines_of(path) -> list[int]:
    with open_table(path) as table:
        return [line for chunk in table.chunks for line in chunk[LINE]]


def test_blank_lines_before_the_header_are_skipped(write_list):
    path = write_list(LEADING + "ann@example.com,Ann,\n\nbob@example.com,Bob,x\n")
    with open_table(path) as table:
        assert table.headers == ["Email", "Name", "Note"]
        assert table.delimiter == ","
        chunk = next(table.chunks)
    # Physical lines: the header is line 5, Ann line 6, a blank line 7, Bob line 8.
    assert chunk[LINE].to_list() == [6, 8]
    assert chunk["Name"].to_list() == ["Ann", "Bob"]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_sniffed_past_the_blank_lines(write_list, delimiter):
    text = (LEADING + "ann@example.com,Ann,x\n").replace(",", delimiter)
    with open_table(write_list(text)) as table:
        assert (table.delimiter, table.headers) == (delimiter, ["Email", "Name", "Note"])


@pytest.mark.django_db
def test_rejects_after_skipped_blank_lines_name_their_line_in_the_file(write_list, run_import):
    text = LEADING + "ann@example.com,Ann,ok\nbad@@example.com,Bob,\n\n,Nobody,\n"
    report = run_import(write_list(text))

    assert report["created"] == 1
    assert report["reject_examples"][0] == {"line": 7, "reason": "invalid email"}
    with open(report["rejects_path"], encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["reason"]) for r in rows] == [
        ("7", "invalid email"),
        ("9", "missing email"),  # after the blank line 8
    ]
    ann = Contact.objects.get(email="ann@example.com")
    assert Activity.objects.get(contact=ann, kind=ActivityKind.IMPORTED).data["line"] == 6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty."),
        ("\n\n  \n\r\n", "The file is empty."),
        (",,\n , \n,\n", "The file has no header line."),
    ],
)
def test_a_file_without_a_header_still_says_so(write_list, text, message):
    with pytest.raises(UnreadableFile, match=message), open_table(write_list(text)):
        pass


@pytest.mark.django_db
def test_the_import_command_reports_a_file_of_blank_lines(write_list, run_import):
    with pytest.raises(CommandError, match="The file has no header line."):
        run_import(write_list("\n,,,\n\n"))


def test_a_header_after_blank_lines_with_no_rows_is_reported(write_list):
    path = write_list("\n\nEmail,Name\n\n")
    with open_table(path) as table, pytest.raises(UnreadableFile, match="no data rows"):
        list(table.chunks)
    assert _lines_of(write_list("Email\na@example.com\n")) == [2]  # no blank lines: as before
