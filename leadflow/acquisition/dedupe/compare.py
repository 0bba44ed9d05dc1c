"""Agreement levels per candidate pair: one small integer per comparison, -1 when unknown.

Strings are compared in bulk with rapidfuzz's `cpdist` (element-wise, all cores); equality is a
Polars column expression. A `name` field is two comparisons, first and last name; when a
pair's names match better crossed over (first against last), the crossed scores are used.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from leadflow.acquisition.dedupe.blocking import L, R
from leadflow.acquisition.dedupe.fields import Field
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


@dataclass(frozen=True)
class Comparison:
    name: str  # "email", "name:first", "attr.postcode"
    kind: str  # a key of LEVELS
    levels: tuple[str, ...]


def comparisons(fields: list[Field]) -> list[Comparison]:
    out = []
    for field in fields:
        if field.kind == "name":
            out.append(Comparison(f"{field.name}:first", "text", LEVELS["text"]))
            out.append(Comparison(f"{field.name}:last", "text", LEVELS["text"]))
        else:
            out.append(Comparison(field.name, field.kind, LEVELS[field.kind]))
    return out


def _sides(prepared: pl.DataFrame, pairs: pl.DataFrame, column: str) -> tuple[pl.Series, ...]:
    values = prepared[column]
    return values.gather(pairs[L]), values.gather(pairs[R])


def similarity(left: pl.Series, right: pl.Series, scorer) -> np.ndarray:
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


def _edit_levels(left: pl.Series, right: pl.Series, top: int) -> np.ndarray:
    """exact = top, one edit = top - 1, ... (down to 0 = different)."""
    distance = similarity(left, right, DamerauLevenshtein.distance).astype(np.int64)
    return np.clip(top - distance, 0, top).astype(np.int8)


def _name_levels(
    prepared: pl.DataFrame, pairs: pl.DataFrame, field: Field
) -> tuple[np.ndarray, np.ndarray]:
    first_l, first_r = _sides(prepared, pairs, column_name(field, 0))
    last_l, last_r = _sides(prepared, pairs, column_name(field, 1))
    straight_f = similarity(first_l, first_r, JaroWinkler.normalized_similarity)
    straight_l = similarity(last_l, last_r, JaroWinkler.normalized_similarity)
    crossed_f = similarity(first_l, last_r, JaroWinkler.normalized_similarity)
    crossed_l = similarity(last_l, first_r, JaroWinkler.normalized_similarity)
    known_straight_f, known_straight_l = _known(first_l, first_r), _known(last_l, last_r)
    known_crossed_f, known_crossed_l = _known(first_l, last_r), _known(last_l, first_r)
    swap = (
        known_crossed_f
        & known_crossed_l
        & (crossed_f + crossed_l > straight_f + straight_l + SWAP_MARGIN)
    )
    score_f = np.where(swap, crossed_f, straight_f)
    score_l = np.where(swap, crossed_l, straight_l)
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
    columns: list[np.ndarray] = []
    for field in fields:
        if field.kind == "name":
            columns.extend(_name_levels(prepared, pairs, field))
            continue
        left, right = _sides(prepared, pairs, column_name(field, 0))
        known = _known(left, right)
        equal = (left == right).fill_null(False).to_numpy()
        if field.kind in ("email", "phone"):
            level = _edit_levels(left, right, top=2)
        elif field.kind == "code":
            level = _edit_levels(left, right, top=3)
        elif field.kind == "text":
            score = similarity(left, right, JaroWinkler.normalized_similarity)
            level = _text_levels(score, equal)
        else:
            level = equal.astype(np.int8)
        level[~known] = UNKNOWN
        columns.append(level)
    if not columns:
        return np.zeros((pairs.height, 0), dtype=np.int8)
    return np.column_stack(columns).astype(np.int8)
