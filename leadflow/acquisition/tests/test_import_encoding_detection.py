"""The encoding of a list (pipeline/read.py): Central European lists keep their letters, and
an --encoding the file is not in stops the import with a message, never a traceback.

A list of Polish, Czech or Hungarian names saved in ISO-8859-2 or Windows-1250 decodes
without an error in Windows-1252 too, or in a code page for Welsh, into "£ukasz" and
"Michaġ"; the letters tell the code pages apart, and Western European lists stay cp1252.
"""

import codecs

import pytest
from django.core.management import CommandError, execute_from_command_line

from leadflow.acquisition.models import ImportJob, ImportStatus
from leadflow.contacts.models import Contact

HEADER = "Email,First Name,Last Name,City\n"
POLISH = [
    ("lukasz@example.pl", "Łukasz", "Michał", "Łódź"),
    ("zofia@example.pl", "Zofia", "Wiśniewska", "Kraków"),
    ("pawel@example.pl", "Paweł", "Żółkiewski", "Gdańsk"),
    ("agnieszka@example.pl", "Agnieszka", "Dąbrowska", "Świnoujście"),
    ("grzegorz@example.pl", "Grzegorz", "Szczęsny", "Białystok"),
]
CZECH = [
    ("jiri@example.cz", "Jiří", "Dvořák", "Brno"),
    ("petra@example.cz", "Petra", "Černá", "Plzeň"),
    ("tomas@example.cz", "Tomáš", "Růžička", "Ústí nad Labem"),
    ("zdenek@example.cz", "Zdeněk", "Šťastný", "České Budějovice"),
]
# "ő" and "ű" are the same bytes in ISO-8859-2 and cp1250, and "õ" and "û" in cp1252.
HUNGARIAN = [
    ("gabor@example.hu", "Gábor", "Kovács", "Győr"),
    ("zsofia@example.hu", "Zsófia", "Szőke", "Pécs"),
    ("erno@example.hu", "Ernő", "Fűzfa", "Székesfehérvár"),
    ("odon@example.hu", "Ödön", "Szűcs", "Kőszeg"),
]
# One person a line from all over Western Europe: read as ISO-8859-2, Spanish "ú" and
# Danish "ø" would be Czech "ú" and "ř".
WESTERN_EUROPEAN = [
    ("jose@example.es", "José", "Núñez", "Belarús"),
    ("inger@example.dk", "Inger", "Møller", "Århus"),
    ("helene@example.fr", "Hélène", "Lefèvre", "Besançon"),
    ("jurgen@example.de", "Jürgen", "Weiß", "Köln"),
    ("joao@example.pt", "João", "Gonçalves", "Guimarães"),
    ("nicolo@example.it", "Niccolò", "Cantù", "Forlì"),
]
ISO_8859_2, CP1250, CP1252 = "iso8859-2", "cp1250", "cp1252"  # as codecs.lookup names them


def _list_of(people, header: str = HEADER) -> str:
    return header + "".join(",".join(person) + "\n" for person in people)


def _stored(people) -> list[tuple[str, str, str, str]]:
    by_email = {
        contact.email: (
            contact.email,
            contact.first_name,
            contact.last_name,
            contact.attributes.get("city"),
        )
        for contact in Contact.objects.filter(email__in=[person[0] for person in people])
    }
    return [by_email.get(person[0]) for person in people]


def _codec(name: str) -> str:
    return codecs.lookup(name).name


@pytest.mark.django_db
def test_the_polish_list_qa_found_read_as_welsh_keeps_its_letters(write_list, run_import):
    # ISO-8859-14 (Celtic) before: "Łukasz" -> "£Ukasz", "Michał" -> "Michaġ", "Łódź" -> "£ódỳ".
    people = [
        ("eryk@example.pl", "Eryk", "Drążyk", "Zambrów"),
        ("lukasz@example.pl", "Łukasz", "Michał", "Łódź"),
        ("emil@example.pl", "Emil", "Ratka", "Cieszyn"),
        ("justyna@example.pl", "Justyna", "Kuba", "Grudziądz"),
        ("krystyna@example.pl", "Krystyna", "Piotrowiak", "Włocławek"),
        ("dagmara@example.pl", "Dagmara", "Morgała", "Nowy Targ"),
    ]
    report = run_import(write_list(_list_of(people), encoding="iso-8859-2"))

    assert _codec(report["encoding"]) == ISO_8859_2
    assert report["warnings"] == {}
    assert _stored(people) == people


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("people", "encoding", "detected"),
    [
        (POLISH, "iso-8859-2", {ISO_8859_2}),
        (POLISH, "cp1250", {CP1250}),
        (POLISH[:1], "iso-8859-2", {ISO_8859_2}),
        (CZECH, "iso-8859-2", {ISO_8859_2}),
        (CZECH, "cp1250", {CP1250}),
        # The two read a Hungarian list alike: either is right.
        (HUNGARIAN, "iso-8859-2", {ISO_8859_2, CP1250}),
        (HUNGARIAN, "cp1250", {ISO_8859_2, CP1250}),
    ],
)
def test_a_central_european_list_keeps_its_letters(
    write_list, run_import, people, encoding, detected
):
    report = run_import(write_list(_list_of(people), encoding=encoding))

    assert _codec(report["encoding"]) in detected
    assert _stored(people) == people


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_a_western_european_list_stays_cp1252(write_list, run_import, encoding):
    report = run_import(write_list(_list_of(WESTERN_EUROPEAN), encoding=encoding))

    assert _codec(report["encoding"]) == CP1252
    assert _stored(WESTERN_EUROPEAN) == WESTERN_EUROPEAN


@pytest.mark.django_db
def test_signs_typed_beside_words_leave_a_list_cp1252(write_list, run_import):
    # "®", "º" and "«" are letters in ISO-8859-2 ("Ž", "ş", "Ť"); beside a word they are signs.
    people = [
        ("helene@example.fr", "Hélène", "Lefèvre", "Acme® Besançon"),
        ("jose@example.es", "José", "Peña", "Calle Mayor Nº 5 Logroño"),
        ("remi@example.fr", "Rémi", "Dupré", "«Le Nord» Orléans"),
    ]
    report = run_import(write_list(_list_of(people), encoding="cp1252"))

    assert _codec(report["encoding"]) == CP1252
    assert _stored(people) == people


# --- an --encoding the file is not in ------------------------------------------------------

CP1252_LIST = _list_of(WESTERN_EUROPEAN).encode("cp1252")


@pytest.mark.django_db
@pytest.mark.parametrize("named", ["utf-16", "UTF16", "utf-32"])
def test_a_utf16_or_utf32_without_a_byte_order_mark_is_refused_with_a_message(
    write_list, run_import, named
):
    family = _codec(named)
    data = _list_of(WESTERN_EUROPEAN).encode(f"{family}-le")  # no BOM

    with pytest.raises(
        CommandError,
        match=rf"The file is not valid {named}: it does not start with the byte order mark "
        rf"\(BOM\) .*--encoding {family}-le or --encoding {family}-be",
    ):
        run_import(write_list(data), "--encoding", named)
    assert not Contact.objects.exists()
    assert ImportJob.objects.get().status == ImportStatus.FAILED


@pytest.mark.django_db
def test_a_cp1252_list_named_utf16_is_refused_with_a_message(write_list, run_import):
    with pytest.raises(CommandError, match=r"not valid utf-16: it does not start with"):
        run_import(write_list(CP1252_LIST), "--encoding", "utf-16")
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_an_odd_byte_at_the_end_of_a_utf16_le_list_is_named(write_list, run_import):
    data = _list_of(WESTERN_EUROPEAN).encode("utf-16-le") + b"x"

    with pytest.raises(
        CommandError, match=rf"not valid utf-16-le: line 8 \(byte {len(data) - 1}\)"
    ):
        run_import(write_list(data), "--encoding", "utf-16-le")
    assert not Contact.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("named", "message"),
    [
        ("nonsense", r"Unknown encoding: nonsense"),
        ("rot13", r"rot13 is not an encoding a text file is saved in"),
        ("base64", r"base64 is not an encoding a text file is saved in"),
        ("idna", r"idna is not an encoding a text file is saved in"),
        ("undefined", r"undefined is not an encoding a text file is saved in"),
    ],
)
def test_a_name_that_is_no_text_encoding_is_refused(write_list, run_import, named, message):
    with pytest.raises(CommandError, match=message):
        run_import(write_list(CP1252_LIST), "--encoding", named)
    assert not Contact.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "named"),
    [
        (CP1252_LIST, "utf-16"),
        (CP1252_LIST, "utf-32"),
        (CP1252_LIST, "utf-8"),
        ("Email\nann@example.com\n".encode("utf-16-le") + b"x", "utf-16-le"),
        (CP1252_LIST, "nonsense"),
        (CP1252_LIST, "rot13"),
    ],
)
def test_the_command_line_exits_1_with_the_message_and_no_traceback(
    write_list, capsys, data, named
):
    path = write_list(data)
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(
            ["leadflow", "import", str(path), "--kind", "contacts", "--format", "json"]
            + ["--encoding", named]
        )

    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("CommandError: ")
    assert "Traceback" not in err
