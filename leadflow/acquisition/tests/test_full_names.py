"""Splitting a full name around the titles, suffixes and credentials that lead lists add."""

import polars as pl
import pytest

from leadflow.acquisition.pipeline.mapping import split_full_names


def split_one(full: str) -> tuple[str, str]:
    frame = pl.DataFrame(
        {"full_name": [full], "first_name": [""], "last_name": [""]},
        schema=dict.fromkeys(("full_name", "first_name", "last_name"), pl.String),
    )
    row = split_full_names(frame).row(0, named=True)
    return row["first_name"], row["last_name"]


@pytest.mark.parametrize(
    "full",
    [
        "Ann Lee, M.D.",
        "Ann Lee, Ph.D.",
        "Ann Lee, RN",
        "Ann Lee, MSc",
        "Ann Lee, MBA",
        "Ann Lee, CPA",
        "Ann Lee, PMP",
        "Ann Lee, Esq.",
        "Ann Lee, P.Eng.",
        "Ann Lee, PA-C",
        "Ann Lee, SHRM-CP",
        "Ann Lee,MD",
        "Ann Lee M.D.",
    ],
)
def test_a_credential_after_the_name_is_dropped_not_read_as_a_first_name(full):
    assert split_one(full) == ("Ann", "Lee")


@pytest.mark.parametrize(
    "full", ["John Smith, Jr.", "John Smith, III", "John Smith Jr.", "John Smith, Jr"]
)
def test_a_generational_suffix_is_dropped_with_or_without_a_comma(full):
    assert split_one(full) == ("John", "Smith")


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ann Lee, MD, PhD", "Ann", "Lee"),
        ("Ann Lee, MD PhD", "Ann", "Lee"),
        ("Ann Lee, MBA, CISSP", "Ann", "Lee"),
        ("Lee, Ann, MD", "Ann", "Lee"),
        ("Lee, Ann, MD, PhD", "Ann", "Lee"),
        ("John Smith Jr., CPA, PMP", "John", "Smith"),
        ("ann lee, md", "ann", "lee"),
        ("ann lee, m.d., ph.d.", "ann", "lee"),
    ],
)
def test_several_suffixes_in_any_case_are_all_dropped(full, first, last):
    assert split_one(full) == (first, last)


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Lee, Dr. Ann", "Ann", "Lee"),
        ("Smith, Mr. John", "John", "Smith"),
        ("Smith, Dr John, Jr", "John", "Smith"),
        ("Lee, Mrs. Ann, PhD", "Ann", "Lee"),
        ("Pérez, Sr. Juan", "Juan", "Pérez"),
        ("Lee, Dr.", "", "Lee"),
        ("Lee, Dr", "", "Lee"),
    ],
)
def test_a_title_after_the_comma_is_dropped_from_the_first_name(full, first, last):
    assert split_one(full) == (first, last)


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Lee, Ann", "Ann", "Lee"),
        ("van der Berg, Anna", "Anna", "van der Berg"),
        ("O'Brien, Pat", "Pat", "O'Brien"),
        ("Lee, Ann Marie", "Ann Marie", "Lee"),
        ("Cher", "Cher", ""),
    ],
)
def test_last_name_first_and_single_names_still_split_as_before(full, first, last):
    assert split_one(full) == (first, last)


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Nguyen, Do", "Do", "Nguyen"),
        ("Ann Do", "Ann", "Do"),
        ("Jenny Ma", "Jenny", "Ma"),
        ("Ann Ma, MA", "Ann", "Ma"),
    ],
)
def test_a_name_spelled_like_a_credential_is_kept(full, first, last):
    assert split_one(full) == (first, last)


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Dr. Lee", "", "Lee"),
        ("Mr Smith", "", "Smith"),
        ("Mrs. van der Berg", "", "van der Berg"),
        ("Dr. Ann Lee", "Ann", "Lee"),
        ("Miss", "", ""),
    ],
)
def test_a_title_before_one_word_makes_it_a_surname(full, first, last):
    assert split_one(full) == (first, last)
