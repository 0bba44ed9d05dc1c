"""Stage 7, rejects: the rows that did not go in, as a CSV a person can fix and re-import.

The file has the row's line, the reason, and the original cells. Any cell that a
spreadsheet would run as a formula (starting with = + - @, or a tab or carriage return)
gets a leading apostrophe (OWASP "CSV injection"), so opening the file runs nothing.
"""

from pathlib import Path

import polars as pl

from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE

# The same rule as the contacts export: one definition of what a spreadsheet runs.
from leadflow.contacts.csv_export import FORMULA_START, neutralise


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    strings = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in strings
    )


def restore_neutralised(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The cells `neutralise_formulas` (or our contacts export, or a person typing "'+44 20"
    in Excel to keep it text) gave a leading apostrophe, without it: a list that comes back
    holds the values that went out, and the export neutralises them again."""
    strings = [c for c in columns if frame.schema[c] == pl.String]
    return frame.with_columns(pl.col(c).str.replace(r"^'([=+\-@\t\r])", "$1") for c in strings)


def reject_rows(raw: pl.DataFrame, reasons: pl.DataFrame) -> pl.DataFrame:
    """`line`, `reason` and the original cells of each rejected row, formulas neutralised."""
    clashes = {c: f"{c} (file)" for c in raw.columns if c in ("line", "reason")}
    cells = raw.select(pl.exclude(FIELD_COUNT)).rename(clashes)
    rows = reasons.join(cells, on=LINE, how="left", maintain_order="left")
    rows = neutralise_formulas(rows.rename({LINE: "line"}))
    # The file's header cells are written too: a header can be a formula as well.
    return rows.rename({c: neutralise(c) for c in rows.columns if neutralise(c) != c})


class RejectsFile:
    """The rejects CSV written a chunk at a time: the header and a BOM once, then rows.

    Nothing is created until the first reject, so a clean import leaves no empty file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._handle = None

    def append(self, raw: pl.DataFrame, reasons: pl.DataFrame) -> None:
        """`raw` is a chunk as read; `reasons` has LINE and `reason` for its rejected rows."""
        if reasons.is_empty():
            return
        rows = reject_rows(raw, reasons)
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("wb")
            # With a BOM, Excel opens UTF-8 as UTF-8 rather than as the machine's code page.
            self._handle.write(b"\xef\xbb\xbf")
            rows.write_csv(self._handle)
        else:
            rows.write_csv(self._handle, include_header=False)
        self.count += rows.height

    def close(self) -> Path | None:
        """The file's path if any row was rejected."""
        if self._handle is None:
            return None
        self._handle.close()
        return self.path
