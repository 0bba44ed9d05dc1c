"""A list detected as UTF-8 with rows in Windows-1252 (pipeline/read.py, WesternFallback).

The encoding is detected from the first 64 KB. An alphabetically sorted list can be ASCII
that far and have "José Álvarez" saved in cp1252 on line 3,002; a UTF-8 list can have rows
from an old Excel export pasted in. Those bytes are read as cp1252 and the report counts
the lines; a named --encoding utf-8, or a BOM, is still held to.
"""

import pytest
from django.core.management import CommandError

from leadflow.acquisition.models import ImportJob, ImportStatus
from leadflow.acquisition.pipeline.read import SAMPLE_BYTES, WESTERN_LINES, open_table
from leadflow.contacts.models import Company, Contact

HEADER = b"Email,First Name,Last Name\n"
ASCII_ROWS = b"".join(f"person{n}@example.com,Person,Number{n}\n".encode() for n in range(3000))


def _stored(email: str) -> tuple[str, str]:
    contact = Contact.objects.get(email=email)
    return contact.first_name, contact.last_name


def test_the_ascii_rows_fill_the_sample():
    assert len(HEADER + ASCII_ROWS) > SAMPLE_BYTES
    assert (HEADER + ASCII_ROWS).isascii()


@pytest.mark.django_db
def test_a_late_cp1252_row_is_read_as_cp1252_and_counted(write_list, run_import):
    late = "jose@example.com,José,Álvarez\n".encode("cp1252")
    report = run_import(write_list(HEADER + ASCII_ROWS + late))

    assert (report["rows_read"], report["created"], report["rejected"]) == (3001, 3001, 0)
    assert _stored("jose@example.com") == ("José", "Álvarez")
    assert report["encoding"] == "utf-8"  # what the file is, but for the line counted here
    assert report["warnings"] == {WESTERN_LINES: 1}


@pytest.mark.django_db
def test_a_named_utf8_stays_strict(write_list, run_import):
    late = "jose@example.com,José,Álvarez\n".encode("cp1252")
    path = write_list(HEADER + ASCII_ROWS + late)
    byte = len(HEADER + ASCII_ROWS) + len(b"jose@example.com,Jos")

    with pytest.raises(
        CommandError,
        match=rf"not valid utf-8: line 3002 \(byte {byte}\) has bytes that utf-8 does not "
        r"allow; name the file's encoding with --encoding, e.g. --encoding cp1252\.",
    ):
        run_import(path, "--encoding", "utf-8")
    assert not Contact.objects.exists()
    assert ImportJob.objects.get().status == ImportStatus.FAILED


@pytest.mark.django_db
def test_a_bom_names_utf8_and_stays_strict(write_list, run_import):
    late = "jose@example.com,José,Álvarez\n".encode("cp1252")
    path = write_list(b"\xef\xbb\xbf" + HEADER + ASCII_ROWS + late)

    with pytest.raises(CommandError, match=r"not valid utf-8-sig: line 3002 "):
        run_import(path)
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_cp1252_rows_pasted_into_a_utf8_list(write_list, run_import):
    utf8 = "".join(f"zoe{n}@example.com,Zoë,Brontë\n" for n in range(3000)).encode()
    pasted = "pasted@example.com,Zoë,Brontë\n".encode("cp1252")
    report = run_import(write_list(HEADER + utf8 + pasted + "last@example.com,Zoë,Ø\n".encode()))

    assert report["created"] == 3002
    assert _stored("zoe0@example.com") == ("Zoë", "Brontë")
    assert _stored("pasted@example.com") == ("Zoë", "Brontë")
    assert _stored("last@example.com") == ("Zoë", "Ø")
    assert (report["encoding"], report["warnings"]) == ("utf-8", {WESTERN_LINES: 1})


@pytest.mark.django_db
def test_a_short_list_mixing_both_is_read_as_utf8(write_list, run_import):
    # All in the sample, the cp1252 row first: read as cp1252, the UTF-8 rows would come
    # out as "ZoÃ«".
    pasted = "pasted@example.com,Zoë,O’Brien\n".encode("cp1252")
    utf8 = "zoe@example.com,Zoë,Brontë\nann@example.com,Ann,Łukasiewicz – “Ltd”\n".encode()
    report = run_import(write_list(HEADER + pasted + utf8))

    assert _stored("pasted@example.com") == ("Zoë", "O’Brien")
    assert _stored("zoe@example.com") == ("Zoë", "Brontë")
    assert _stored("ann@example.com") == ("Ann", "Łukasiewicz – “Ltd”")
    assert (report["encoding"], report["warnings"]) == ("utf-8", {WESTERN_LINES: 1})


@pytest.mark.django_db
def test_each_line_read_as_cp1252_is_counted_once(write_list, run_import):
    # Rows far apart (so in different blocks of the decoder, with blocks between them
    # decoded as UTF-8), two accented letters in one row, one over two lines in a quoted
    # cell, and the last line without a line break.
    rows = [f"p{n}@example.com,P,N{n}\n".encode() for n in range(9000)]
    for n in range(3500, 9000, 700):
        rows[n] = f"p{n}@example.com,Renée,Müller-Lüdenscheid\n".encode("cp1252")
    rows[5001] = '"p5001@example.com","Zoë\nSecond","Brontë"\n'.encode("cp1252")
    rows[-1] = "p8999@example.com,Ève,Noël".encode("cp1252")
    report = run_import(write_list(HEADER + b"".join(rows)))

    assert report["created"] == 9000
    assert report["warnings"] == {WESTERN_LINES: len(range(3500, 9000, 700)) + 2 + 1}
    assert _stored("p4200@example.com") == ("Renée", "Müller-Lüdenscheid")
    assert _stored("p5001@example.com") == ("Zoë Second", "Brontë")  # spaces collapsed
    assert _stored("p8999@example.com") == ("Ève", "Noël")


@pytest.mark.django_db
def test_a_byte_neither_utf8_nor_cp1252_is_refused_where_it_is(write_list, run_import):
    # 0x81 is undefined in cp1252. The line and byte are found past the cp1252 row before,
    # which a strict UTF-8 reading would stop at.
    late = "jose@example.com,José,Álvarez\n".encode("cp1252")
    bad = b"bad@example.com,X\x81,Y\n"
    start = HEADER + ASCII_ROWS + late + ASCII_ROWS
    path = write_list(start + bad)
    byte = len(start) + len(b"bad@example.com,X")

    with pytest.raises(
        CommandError,
        match=rf"not valid utf-8: line 6003 \(byte {byte}\) has bytes that neither utf-8 nor "
        r"Windows-1252 allows; name the file's encoding with --encoding",
    ):
        run_import(path)
    assert not Contact.objects.exists()
    assert ImportJob.objects.get().status == ImportStatus.FAILED


@pytest.mark.django_db
def test_binary_bytes_after_a_text_sample_are_refused(write_list, run_import):
    junk = bytes(range(256)) * 8
    with pytest.raises(
        CommandError, match=r"not valid utf-8: line 300\d .*check that it is a text"
    ):
        run_import(write_list(HEADER + ASCII_ROWS + junk))
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_a_companies_list_with_a_late_cp1252_name(write_list, run_kind):
    rows = "".join(f"Company {n},company{n}.com\n" for n in range(4000)).encode()
    late = "Café Müller GmbH,cafe-mueller.de\n".encode("cp1252")
    report = run_kind(write_list(b"name,domain\n" + rows + late), "companies")

    assert report["created"] == 4001
    assert Company.objects.get(domain="cafe-mueller.de").name == "Café Müller GmbH"
    assert report["encoding"] == "utf-8"
    assert report["warnings"][WESTERN_LINES] == 1


def test_two_files_read_at_once_count_their_own_lines(write_list):
    one = write_list(HEADER + ASCII_ROWS + "a@example.com,Zoë,X\n".encode("cp1252"), name="1.csv")
    two = write_list(
        HEADER + ASCII_ROWS + "b@example.com,Åsa,Ø\nc@example.com,Ève,Y\n".encode("cp1252"),
        name="2.csv",
    )
    with open_table(one, chunk_rows=1000) as first, open_table(two, chunk_rows=1000) as second:
        names = []
        for a, b in zip(first.chunks, second.chunks, strict=True):
            names += a["First Name"].to_list()[-1:] + b["First Name"].to_list()[-2:]
        assert (first.warnings(), second.warnings()) == ({WESTERN_LINES: 1}, {WESTERN_LINES: 2})
    assert names[-3:] == ["Zoë", "Åsa", "Ève"]


def test_a_clean_utf8_file_has_no_warning(write_list):
    with open_table(write_list(HEADER + ASCII_ROWS + "z@example.com,Zoë,Y\n".encode())) as table:
        assert list(table.chunks)[-1]["First Name"][-1] == "Zoë"
        assert table.warnings() == {}
