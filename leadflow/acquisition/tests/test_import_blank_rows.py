"""Rows of only delimiters (",,,,", what Excel saves for an empty row) or of spaces in the
body of a file are blank lines to a person: skipped, not rejected, for every kind."""

import pytest

from leadflow.acquisition.pipeline import read
from leadflow.acquisition.pipeline.read import LINE, open_table
from leadflow.acquisition.tests.test_import_xlsx import write_xlsx
from leadflow.contacts.models import Company, Contact


@pytest.fixture(params=[100_000, 2], ids=["one-chunk", "two-row-chunks"])
def chunk_rows(request, monkeypatch):
    monkeypatch.setattr(read, "CHUNK_ROWS", request.param)
    return request.param


# Header line 1; empty rows on lines 3, 4 (spaces), 6, 8 and 9; a bad email on line 7.
CONTACTS = (
    "Email,First Name,Last Name,Company,Note\n"
    "ann@example.com,Ann,Ek,Acme,\n"
    ",,,,\n"
    " , ,\t,  ,\n"
    "bob@example.com,Bob,Lund,,x\n"
    ",,,,\n"
    "bad@@example.com,Cy,,,\n"
    ",,,,\n"
    ",,,,\n"
)


@pytest.mark.django_db
@pytest.mark.parametrize("delimiter", [",", ";"])
def test_empty_rows_in_a_contacts_list_are_skipped_like_blank_lines(
    write_list, run_import, chunk_rows, delimiter
):
    report = run_import(write_list(CONTACTS.replace(",", delimiter)))

    assert report["delimiter"] == delimiter
    assert (report["rows_read"], report["created"], report["rejected"]) == (3, 2, 1)
    assert report["rejected_by_reason"] == {"invalid email": 1}
    assert report["reject_examples"] == [{"line": 7, "reason": "invalid email"}]
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "ann@example.com",
        "bob@example.com",
    }


def test_the_rows_after_empty_ones_keep_their_physical_lines(write_list):
    path = write_list(CONTACTS)
    with open_table(path, chunk_rows=2) as table:
        lines = [line for chunk in table.chunks for line in chunk[LINE]]
    assert lines == [2, 5, 7]


def test_a_header_followed_only_by_empty_rows_has_no_data_rows(write_list):
    path = write_list("Email,Name\n,\n , \n\n")
    with open_table(path) as table, pytest.raises(read.UnreadableFile, match="no data rows"):
        list(table.chunks)


@pytest.mark.django_db
def test_empty_rows_in_a_companies_list_are_skipped(write_list, run_kind, chunk_rows):
    text = "Company Name,Website,Industry\nAcme,acme.com,Software\n,,\n ,,\nGlobex,globex.io,\n,,\n"
    report = run_kind(write_list(text), "companies")

    assert (report["rows_read"], report["created"], report["rejected"]) == (2, 2, 0)
    assert set(Company.objects.values_list("name", flat=True)) == {"Acme", "Globex"}


@pytest.mark.django_db
def test_a_sheet_row_of_only_spaces_is_skipped(tmp_path, run_import):
    book = write_xlsx(
        tmp_path / "leads.xlsx",
        {
            "Leads": {
                1: ["Email", "Name"],
                2: ["ann@example.com", "Ann"],
                3: [" ", "  "],
                4: [None, " "],
                5: ["not-an-email", "Bob"],
            }
        },
    )
    report = run_import(book)

    assert (report["rows_read"], report["created"], report["rejected"]) == (2, 1, 1)
    assert report["reject_examples"] == [{"line": 5, "reason": "invalid email"}]


@pytest.mark.django_db
def test_a_stray_nul_in_the_first_rows_is_dropped_not_taken_for_a_binary_file(
    write_list, run_import
):
    path = write_list(b"Email,First Name\nnul1@x.example,Ann\x00e\nb@x.example,Bo\n")
    report = run_import(path)
    assert (report["created"], report["rejected"]) == (2, 0)
    assert Contact.objects.get(email="nul1@x.example").first_name == "Anne"


@pytest.mark.django_db
def test_a_blank_header_beside_a_column_named_like_its_stand_in_is_not_a_duplicate(
    write_list, run_import
):
    report = run_import(write_list("Email,,column_2\na@x.example,b,c\n"))
    assert report["created"] == 1
    assert Contact.objects.get().attributes == {"column_2": "c", "column_2_blank": "b"}
