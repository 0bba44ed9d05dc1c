"""Stage 7, rejects: the rows that did not go in, as a CSV a person can fix and re-import.

The file has the row's line, the reason, and the original cells. Any cell that a
spreadsheet would run as a formula (starting with = + - @, or a tab or carriage return)
gets a leading apostrophe (OWASP "CSV injection"), so opening the file runs nothing.
"""

from pathlib import Path

import polars as pl

from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE

FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    strings = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in strings
    )


def write_rejects(raw: pl.DataFrame, reasons: pl.DataFrame, path: Path) -> Path:
    """`raw` is the file as read; `reasons` has LINE and `reason` for each rejected row."""
    clashes = {c: f"{c} (file)" for c in raw.columns if c in ("line", "reason")}
    cells = raw.select(pl.exclude(FIELD_COUNT)).rename(clashes)
    rows = reasons.join(cells, on=LINE, how="left").rename({LINE: "line"})
    path.parent.mkdir(parents=True, exist_ok=True)
    # With a BOM, Excel opens UTF-8 as UTF-8 rather than as the machine's code page.
    neutralise_formulas(rows).write_csv(path, include_bom=True)
    return path
