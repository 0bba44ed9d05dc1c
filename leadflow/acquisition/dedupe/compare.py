"""Agreement levels per candidate pair: one small integer per comparison, -1 when unknown.

Strings are compared in bulk with rapidfuzz's `cpdist` (element-wise, all cores); equality is a
Polars column expression. A `name` field is two comparisons, first and last name; when a
pair's names match better crossed over (first against last), the crossed scores are used, the
weaker of the two as the first names' (see `_name_levels`).
"""

from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA, DamerauLevenshtein, JaroWinkler

from leadflow.acquisition.dedupe.blocking import L, R
from leadflow.acquisition.dedupe.fields import PERSONAL_LIKE, Field
from leadflow.acquisition.dedupe.normalise import column_name

# Level labels, lowest (disagree) first; a level's index is what `score` counts.
LEVELS = {
    "email": ("different", "one edit", "exact"),
    "phone": ("different", "one edit", "exact"),
    "code": ("different", "two edits", "one edit", "exact"),
    "text": ("different", "similar", "close", "exact"),
    "exact": ("different", "exact"),
}
JW_CLOSE, JW_SIMILAR = 0.92, 0.80
SWAP_MARGIN = 0.15  # crossed names must beat straight ones by this much (sum of two scores)
UNKNOWN = -1
# Fields that are a person's name, whatever their kind: many people share one.
NAME_FIELDS = ("first_name", "last_name")


@dataclass(frozen=True)
class Comparison:
    name: str  # "email", "name:first", "attr.postcode"
    kind: str  # a key of LEVELS
    levels: tuple[str, ...]
    # Whether agreeing exactly on it backs an automatic merge (engine.backed): an email, a
    # phone, a code, a text field such as the company. Not a name, which many people share,
    # nor a small vocabulary (country, state), which a good share of everyone shares.
    identifies: bool = False
    # Whether it is one person's own, so that agreeing exactly backs a merge even when the first
    # names differ: an email address, a birth date, a national id. A household shares a
    # phone, a street and a postcode; colleagues share a company, its switchboard and its VAT
    # number.
    personal: bool = False
    # Whether it compares first names (of a `name` field, or the `first_name` field).
    first_name: bool = False


def comparisons(fields: list[Field]) -> list[Comparison]:
    out = []
    for field in fields:
        if field.kind == "name":
            text = LEVELS["text"]
            out.append(Comparison(f"{field.name}:first", "text", text, first_name=True))
            out.append(Comparison(f"{field.name}:last", "text", text))
        else:
            identifies = field.kind != "exact" and field.name not in NAME_FIELDS
            personal = field.kind == "email" or (
                field.kind == "code" and PERSONAL_LIKE.search(field.name) is not None
            )
            out.append(
                Comparison(
                    field.name,
                    field.kind,
                    LEVELS[field.kind],
                    identifies,
                    personal=identifies and personal,
                    first_name=field.name == "first_name",
                )
            )
    return out


class _Sides:
    """Both sides of every candidate pair, by column: Polars series for the null and equality
    checks, Python strings for rapidfuzz.

    A column's strings are made once, as a NumPy object array, and each side gathered from it
    at C speed; `Series.to_list()` per comparison made millions of new strings each time,
    which cost as much as the comparing.
    """

    def __init__(self, prepared: pl.DataFrame, pairs: pl.DataFrame) -> None:
        self.prepared, self.pairs = prepared, pairs
        self.left, self.right = pairs[L].to_numpy(), pairs[R].to_numpy()
        self._strings: dict[str, np.ndarray] = {}

    def series(self, column: str) -> tuple[pl.Series, pl.Series]:
        values = self.prepared[column]
        return values.gather(self.pairs[L]), values.gather(self.pairs[R])

    def _of(self, column: str) -> np.ndarray:
        if column not in self._strings:
            strings = self.prepared[column].fill_null("").to_list()
            self._strings[column] = np.array(strings, dtype=object)
        return self._strings[column]

    def scores(self, left: str, right: str, scorer, **cutoff) -> np.ndarray:
        """scorer(pair's left value in column `left`, its right value in `right`), nulls as ""."""
        if not self.left.size:
            return np.zeros(0, dtype=np.float64)
        return process.cpdist(
            self._of(left)[self.left].tolist(),
            self._of(right)[self.right].tolist(),
            scorer=scorer,
            workers=-1,
            **cutoff,
        ).astype(np.float64)


def similarity(left: pl.Series, right: pl.Series, scorer) -> np.ndarray:
    """scorer(left[i], right[i]) for every i, nulls as ""."""
    if left.len() == 0:
        return np.zeros(0, dtype=np.float64)
    return process.cpdist(
        left.fill_null("").to_list(), right.fill_null("").to_list(), scorer=scorer, workers=-1
    ).astype(np.float64)


def _known(left: pl.Series, right: pl.Series) -> np.ndarray:
    return (left.is_not_null() & right.is_not_null()).to_numpy()


def _text_levels(score: np.ndarray, equal: np.ndarray) -> np.ndarray:
    level = np.zeros(score.shape, dtype=np.int8)
    level[score >= JW_SIMILAR] = 1
    level[score >= JW_CLOSE] = 2
    level[equal] = 3
    return level


def _edit_levels(sides: _Sides, column: str, top: int) -> np.ndarray:
    """exact = top, one edit = top - 1, ... (down to 0 = different), by Damerau-Levenshtein
    distance (a swap of two neighbours is one edit).

    Only distances up to `top` matter, so rapidfuzz stops there (`score_cutoff`). With two
    levels of edits, the optimal string alignment distance gives the same levels four times
    faster (bit-parallel): it is 0 or 1 exactly when Damerau-Levenshtein is, and only above
    that may be larger.
    """
    scorer = OSA.distance if top <= 2 else DamerauLevenshtein.distance
    distance = sides.scores(column, column, scorer, score_cutoff=top).astype(np.int64)
    return np.clip(top - distance, 0, top).astype(np.int8)


def _name_levels(sides: _Sides, field: Field) -> tuple[np.ndarray, np.ndarray]:
    first, last = column_name(field, 0), column_name(field, 1)
    first_l, first_r = sides.series(first)
    last_l, last_r = sides.series(last)
    jaro = JaroWinkler.normalized_similarity
    straight_f, straight_l = sides.scores(first, first, jaro), sides.scores(last, last, jaro)
    crossed_f, crossed_l = sides.scores(first, last, jaro), sides.scores(last, first, jaro)
    known_straight_f, known_straight_l = _known(first_l, first_r), _known(last_l, last_r)
    known_crossed_f, known_crossed_l = _known(first_l, last_r), _known(last_l, first_r)
    swap = (
        known_crossed_f
        & known_crossed_l
        & (crossed_f + crossed_l > straight_f + straight_l + SWAP_MARGIN)
    )
    # Crossed, the two scores are the given names' and the surnames' agreement, in an order
    # that depends on which side of the pair has its names swapped: "Smith John" on the left
    # of "Jane Smith" gives Smith~Smith, John~Jane; on the right, John~Jane, Smith~Smith.
    # Nothing tells which, so the weaker score counts as the first names': given names tell
    # the members of a family apart, and different ones must not read "exact" (engine.backed
    # lets no phone or company merge a pair whose first names differ).
    score_f = np.where(swap, np.minimum(crossed_f, crossed_l), straight_f)
    score_l = np.where(swap, np.maximum(crossed_f, crossed_l), straight_l)
    known_f = np.where(swap, known_crossed_f, known_straight_f)
    known_l = np.where(swap, known_crossed_l, known_straight_l)
    out = []
    for score, known in ((score_f, known_f), (score_l, known_l)):
        level = _text_levels(score, score >= 1.0)
        level[~known] = UNKNOWN
        out.append(level)
    return out[0], out[1]


def compare_pairs(prepared: pl.DataFrame, pairs: pl.DataFrame, fields: list[Field]) -> np.ndarray:
    """An int8 matrix: one row per pair, one column per `comparisons(fields)` entry."""
    sides = _Sides(prepared, pairs)
    columns: list[np.ndarray] = []
    for field in fields:
        if field.kind == "name":
            columns.extend(_name_levels(sides, field))
            continue
        column = column_name(field, 0)
        left, right = sides.series(column)
        known = _known(left, right)
        equal = (left == right).fill_null(False).to_numpy()
        if field.kind in ("email", "phone"):
            level = _edit_levels(sides, column, top=2)
        elif field.kind == "code":
            level = _edit_levels(sides, column, top=3)
        elif field.kind == "text":
            score = sides.scores(column, column, JaroWinkler.normalized_similarity)
            level = _text_levels(score, equal)
        else:
            level = equal.astype(np.int8)
        level[~known] = UNKNOWN
        columns.append(level)
    if not columns:
        return np.zeros((pairs.height, 0), dtype=np.int8)
    return np.column_stack(columns).astype(np.int8)
