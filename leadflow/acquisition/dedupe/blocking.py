"""Candidate pairs: two rows become a pair when they share at least one blocking key.

The keys come from the fields (one rule each, the union of their pairs is kept):
- an email, or the last digits of a phone, alone;
- a code field (postcode, birth date, national id) of at least 4 characters: alone when the
  code is specific (its blocks make at most two pairs per row on average), else with the
  initial of either name (a postcode shared by a whole district);
- a name: the sound (Soundex) of one name with the first two letters of the other, both ways
  round in one key space, so swapped first and last names meet, and a typo that changes one
  name's sound still meets through the other name's sound.
A key shared by more than `max_block` rows (a common name at a million contacts, an office
switchboard number) makes too many pairs to compare and says little; such blocks are
skipped and counted, and the other rules still pair their rows.
"""

from dataclasses import dataclass

import jellyfish
import polars as pl

from leadflow.acquisition.dedupe.fields import Field
from leadflow.acquisition.dedupe.normalise import column_name

MAX_BLOCK = 50
MIN_CODE_KEY = 4  # characters a code needs to be a blocking key
NAME_PREFIX = 2  # letters of the other name beside a name's sound
CODE_PAIRS_PER_ROW = 2.0  # above this a code key alone is too common: add a name initial
L, R = "rid_l", "rid_r"


@dataclass(frozen=True)
class BlockingStats:
    rules: dict[str, int]  # rule -> candidate pairs it made (before the union)
    skipped_blocks: int  # keys shared by more than max_block rows
    pairs: int  # distinct candidate pairs


def soundex(expr_frame: pl.DataFrame, column: str) -> pl.Series:
    """Soundex of a column, computed once per distinct value (names repeat a lot)."""
    values = expr_frame.get_column(column)
    distinct = values.drop_nulls().unique()
    codes = pl.Series([jellyfish.soundex(v.split(" ")[0]) for v in distinct], dtype=pl.String)
    lookup = pl.DataFrame({"v": distinct, "s": codes})
    return values.to_frame("v").join(lookup, on="v", how="left", maintain_order="left")["s"]


def _code(prepared: pl.DataFrame, column: str) -> pl.Series:
    # Short codes (street numbers, state codes) pair half the table with itself.
    return prepared.select(
        pl.when(pl.col(column).str.len_chars() >= MIN_CODE_KEY).then(pl.col(column))
    ).to_series()


def _pairs_per_row(key: pl.Series) -> float:
    """Pairs the key's blocks make (counting blocks over the cap too), per row."""
    sizes = key.drop_nulls().value_counts(name="len")["len"].cast(pl.Float64)
    return float((sizes * (sizes - 1) / 2).sum()) / max(key.len(), 1)


def blocking_keys(prepared: pl.DataFrame, fields: list[Field]) -> dict[str, list[pl.Series]]:
    """Rule -> its keys; a row may have several keys under one rule (one per Series)."""
    keys: dict[str, list[pl.Series]] = {}
    names = [f for f in fields if f.kind == "name"]
    initials = [
        prepared[column_name(f, i)].str.head(1).rename(f"i{i}") for f in names[:1] for i in (0, 1)
    ]
    for field in fields:
        first = column_name(field, 0)
        if field.kind in ("email", "phone"):
            keys[field.name] = [prepared[first]]
        elif field.kind == "code":
            code = _code(prepared, first)
            if initials and _pairs_per_row(code) > CODE_PAIRS_PER_ROW:
                keys[f"{field.name}+initial"] = [code + "|" + i for i in initials]
            else:
                keys[field.name] = [code]
        elif field.kind == "name":
            last = column_name(field, 1)
            s_first, s_last = soundex(prepared, first), soundex(prepared, last)
            head_first = prepared[first].str.head(NAME_PREFIX)
            head_last = prepared[last].str.head(NAME_PREFIX)
            keys[f"{field.name}:sound+prefix"] = [
                s_last + "|" + head_first,
                s_first + "|" + head_last,
            ]
    return keys


def candidate_pairs(
    prepared: pl.DataFrame, fields: list[Field], *, max_block: int = MAX_BLOCK
) -> tuple[pl.DataFrame, BlockingStats]:
    """Distinct (rid_l, rid_r) pairs, rid_l < rid_r, from every blocking rule."""
    rid = prepared["rid"]
    per_rule: dict[str, int] = {}
    skipped = 0
    found = []
    for rule, rule_keys in blocking_keys(prepared, fields).items():
        keyed = (
            pl.concat([pl.DataFrame({"rid": rid, "key": key}) for key in rule_keys])
            .drop_nulls("key")
            .unique()
        )
        sizes = keyed.group_by("key").len()
        skipped += sizes.filter(pl.col("len") > max_block).height
        keep = sizes.filter((pl.col("len") >= 2) & (pl.col("len") <= max_block)).select("key")
        keyed = keyed.join(keep, on="key", how="semi")
        pairs = (
            keyed.join(keyed, on="key", suffix="_r")
            .filter(pl.col("rid") < pl.col("rid_r"))
            .select(pl.col("rid").alias(L), pl.col("rid_r").alias(R))
        )
        per_rule[rule] = pairs.height
        found.append(pairs)
    if found:
        pairs = pl.concat(found).unique().sort(L, R)
    else:
        pairs = pl.DataFrame(schema={L: pl.Int64, R: pl.Int64})
    return pairs, BlockingStats(rules=per_rule, skipped_blocks=skipped, pairs=pairs.height)
