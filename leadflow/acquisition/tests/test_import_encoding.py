"""Detecting a text file's encoding (pipeline/read.py): a Windows-1252 list of Nordic names
and smart quotes stays Windows-1252 however short it is, and UTF-8, UTF-16 and real
Japanese or Chinese lists keep their own encoding."""

import codecs

import pytest

from leadflow.acquisition.pipeline.read import SAMPLE_BYTES, detect_encoding, open_table
from leadflow.contacts.models import Contact

HEADER = "Email,First Name,Last Name,Company\n"
NORDIC = [
    ("asa@example.com", "Åsa", "Ødegård", "Café “Nordic” – Ltd"),
    ("bjorn@example.com", "Björn", "Ærø", "O’Brien & Sons"),
    ("soren@example.com", "Søren", "Ånd", "Nordic – “Best” AB"),
]

# One- and two-row lists that charset-normalizer took for an East Asian code page
# ("Åke" -> "ﾅke", "O’Brien" -> "O蔃rien") or another single-byte one ("O’Brien" ->
# "OÆBrien" in cp775, "Löfgren" -> "L—fgren" in hp_roman8) before cp1252 was preferred.
MISREAD_AS_ANOTHER_CODE_PAGE = [
    [("pat@example.com", "Pat", "O’Brien", "Fjørd Øl ApS")],  # big5hkscs
    [("ake@example.com", "Åke", "Ström", "Kød & Ærter")],  # shift_jis_2004
    [("asa@example.com", "Åsa", "Ødegård", "Müller GmbH")],  # shift_jis_2004
    [("ake@example.com", "Åke", "Grønli", "Ålesund Fisk AS")],  # big5
    [("oyvind@example.com", "Øyvind", "Ström", "Acme")],  # big5
    [("aegir@example.com", "Ægir", "Brænde", "O’Brien & Sons")],  # big5hkscs
    [("kare@example.com", "Kåre", "Ødegård", "Brødrene Øye")],  # cp932
    [("pat@example.com", "Pat", "O’Brien", "Acme")],  # cp775
    [("lise@example.com", "Lise", "Löfgren", "Acme")],  # hp_roman8
    [
        ("sian@example.com", "Siân", "Sjöström", "Acme"),
        ("kare@example.com", "Kåre", "Löfgren", "Acme"),
    ],  # big5
]


def _list_of(people) -> str:
    return HEADER + "".join(",".join(person) + "\n" for person in people)


def _stored(people) -> list[tuple[str, str, str, str]]:
    emails = [person[0] for person in people]
    contacts = Contact.objects.filter(email__in=emails).select_related("company")
    by_email = {c.email: (c.email, c.first_name, c.last_name, c.company.name) for c in contacts}
    return [by_email.get(email) for email in emails]


def _codec(name: str) -> str:
    return codecs.lookup(name).name


@pytest.mark.django_db
@pytest.mark.parametrize("people", MISREAD_AS_ANOTHER_CODE_PAGE)
def test_a_short_cp1252_list_is_read_as_cp1252(write_list, run_import, people):
    report = run_import(write_list(_list_of(people).encode("cp1252")))

    assert report["encoding"] == "cp1252"
    assert _stored(people) == people


@pytest.mark.django_db
def test_nordic_names_and_smart_quotes_in_cp1252(write_list, run_import):
    report = run_import(write_list(_list_of(NORDIC).encode("cp1252")))

    assert (report["encoding"], report["created"]) == ("cp1252", 3)
    assert _stored(NORDIC) == NORDIC


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16")],
)
def test_the_same_names_in_unicode(write_list, run_import, encoding, detected):
    report = run_import(write_list(_list_of(NORDIC), encoding=encoding))

    assert report["encoding"] == detected
    assert _stored(NORDIC) == NORDIC


@pytest.mark.django_db
def test_a_latin1_list_is_read_as_cp1252(write_list, run_import):
    # Latin-1 has no smart quotes; its letters are the same bytes in cp1252.
    people = [
        ("asa@example.com", "Åsa", "Ødegård", "Café Nordic Ltd"),
        ("bjorn@example.com", "Björn", "Ærø", "Fjørd Øl ApS"),
    ]
    report = run_import(write_list(_list_of(people), encoding="latin-1"))

    assert report["encoding"] == "cp1252"
    assert _stored(people) == people


JAPANESE = [
    ("taro@example.jp", "太郎", "山田", "株式会社サンプル"),
    ("hanako@example.jp", "花子", "鈴木", "東京商事"),
    ("ken@example.jp", "健", "佐藤", "大阪テック株式会社"),
]
SIMPLIFIED_CHINESE = [
    ("wei@example.cn", "伟", "王", "北京科技有限公司"),
    ("na@example.cn", "娜", "李", "上海贸易公司"),
    ("jun@example.cn", "军", "张", "深圳电子"),
]
TRADITIONAL_CHINESE = [
    ("wei@example.tw", "偉", "王", "台北科技有限公司"),
    ("na@example.tw", "娜", "李", "高雄貿易公司"),
    ("jun@example.tw", "軍", "張", "新竹電子"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("people", "encoding", "family"),
    [
        (JAPANESE, "shift_jis", {"shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213"}),
        (SIMPLIFIED_CHINESE, "gbk", {"gbk", "gb18030"}),
        (TRADITIONAL_CHINESE, "big5", {"big5", "big5hkscs", "cp950"}),
    ],
)
def test_a_cjk_list_keeps_its_code_page(write_list, run_import, people, encoding, family):
    report = run_import(write_list(_list_of(people), encoding=encoding))

    assert _codec(report["encoding"]) in {_codec(name) for name in family}
    assert _stored(people) == people


@pytest.mark.parametrize(
    ("row", "encoding"),
    [
        ("{}@example.cn,伟,王,北京科技有限公司\n", "gbk"),
        ("{}@example.tw,偉,王,台北科技有限公司\n", "big5"),
    ],
)
@pytest.mark.parametrize("offset", [0, 1])
def test_a_long_cjk_list_is_detected_from_whole_lines(write_list, row, encoding, offset):
    # The first 64 KB end in the middle of a two-byte character for one of the offsets.
    text = "x" * offset + HEADER + "".join(row.format(n) for n in range(3000))
    data = text.encode(encoding)
    assert _codec(detect_encoding(data[:SAMPLE_BYTES])) in {_codec(encoding), "gb18030"}
    with open_table(write_list(data)) as table:
        assert next(table.chunks)["Company"][0] == row.split(",")[3].strip()


@pytest.mark.django_db
def test_a_named_encoding_overrides_detection(write_list, run_import):
    people = [("jan@example.pl", "Łukasz", "Wąsowski", "Żabka Łódź")]
    report = run_import(write_list(_list_of(people), encoding="cp1250"), "--encoding", "cp1250")

    assert report["encoding"] == "cp1250"
    assert _stored(people) == people
