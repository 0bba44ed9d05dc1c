"""Candidate pairs: two rows become a pair when they share at least one blocking key.

The keys come from the fields (one rule each, the union of their pairs is kept):
- an email, or the last digits of a phone, alone;
- a code field (postcode, birth date, national id) of at least 4 characters, alone;
- a name: the sounds (Soundex) of both names as an unordered pair, so swapped first and last
  names and spelling variants meet; and the sound of one name with the other's initial, so a
  variant that changes one name's sound still meets.
A key shared by more than `max_block` rows (a common name at a million contacts, an office
switchboard number) makes too many pairs to compare and says little; such blocks are
skipped and counted, and the other rules still pair their rows.
"""

from dataclasses import dataclass

import jellyfish
import polars as pl

from leadflow.acquisition.dedupe.fields import Field
from leadflow.acquisition.dedupe.normalise import column_name

MAX_BLOCK = 200
MIN_CODE_KEY = 4  # characters a code needs to be a blocking key on its own
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


def blocking_keys(prepared: pl.DataFrame, fields: list[Field]) -> dict[str, pl.Series]:
    keys: dict[str, pl.Series] = {}
    for field in fields:
        first = column_name(field, 0)
        if field.kind in ("email", "phone"):
            keys[field.name] = prepared[first]
        elif field.kind == "code":
            # Short codes (street numbers, state codes) pair half the table with itself.
            keys[field.name] = prepared.select(
                pl.when(pl.col(first).str.len_chars() >= MIN_CODE_KEY).then(pl.col(first))
            ).to_series()
        elif field.kind == "name":
            last = column_name(field, 1)
            s_first, s_last = soundex(prepared, first), soundex(prepared, last)
            both = pl.DataFrame({"a": s_first, "b": s_last})
            keys[f"{field.name}:sounds"] = both.select(
                pl.when(pl.col("a") < pl.col("b"))
                .then(pl.concat_str("a", "b", separator="|"))
                .otherwise(pl.concat_str("b", "a", separator="|"))
            ).to_series()
            initial_first = prepared[first].str.head(1)
            initial_last = prepared[last].str.head(1)
            keys[f"{field.name}:last+initial"] = s_last + "|" + initial_first
            keys[f"{field.name}:first+initial"] = s_first + "|" + initial_last
    return keys


def candidate_pairs(
    prepared: pl.DataFrame, fields: list[Field], *, max_block: int = MAX_BLOCK
) -> tuple[pl.DataFrame, BlockingStats]:
    """Distinct (rid_l, rid_r) pairs, rid_l < rid_r, from every blocking rule."""
    rid = prepared["rid"]
    per_rule: dict[str, int] = {}
    skipped = 0
    found = []
    for rule, key in blocking_keys(prepared, fields).items():
        keyed = pl.DataFrame({"rid": rid, "key": key}).drop_nulls("key")
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
