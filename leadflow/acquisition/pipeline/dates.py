"""Dates as lists write them: ISO with or without a UTC offset, day-first and month-first,
12- and 24-hour clocks, month names, CRM and ad-platform exports.

Every kind of import reads its date columns here, as Polars expressions (a million values
take no Python call each). "03/04/2024" is the 3rd of April or the 4th of March depending
on the file, so the order of day and month is decided per column for the whole import
(`DateOrders`), never per value: one file never means two different days by one spelling.
"""

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from leadflow.acquisition.pipeline.values import blank_to_null

# ISO dates with a UTC offset ("2026-11-23T20:40:45+02:00", as our own export and most
# CRMs write them): read as that instant, stored in UTC.
OFFSET_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%z",
)

# Without an offset; tried in order, after OFFSET_FORMATS. "%I:%M %p" also reads "10:30AM"
# and "10:30 pm". Two-digit years come first: "%Y" would read "12/31/24" as the year 24.
DATE_FORMATS = (
    "%d.%m.%y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %I:%M %p",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %I:%M:%S %p",
    "%d/%m/%Y %I:%M %p",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%d-%b-%Y",
    "%Y%m%d",
)
EARLIEST_YEAR = 1900
# The slash forms are the ones whose order of day and month a file must tell; the others
# ("%d.%m.%Y", ISO) read one way only.
_SLASHED = {
    False: tuple(f for f in DATE_FORMATS if f.startswith("%d/")),
    True: tuple(f for f in DATE_FORMATS if f.startswith("%m/")),
}
NEVER_TOLD = (
    "dates read day-first that could be month-first (03/04/2024): no date of the file told "
    "the order; give --date-order mdy if they are US dates"
)
TOLD_LATE = (
    "dates read day-first before a later part of the file showed month-first; undo and "
    "import again with --date-order mdy"
)
DATE_ORDERS = {"dmy": False, "mdy": True}  # --date-order: month first?
_UNAMBIGUOUS = tuple(f for f in DATE_FORMATS if not f.startswith(("%d/", "%m/")))
_UTC = pl.Datetime("us", "UTC")
# A slash date with a 12-hour clock ("3/1/2024 10:30 PM"): how US software writes dates
# (Salesforce, HubSpot and Excel in the US locale), and no day-first country's habit.
_US_CLOCK = r"(?i)^\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*[ap]\.?m\.?$"


def first_reading(
    text: pl.Series, formats: tuple[str, ...], found: pl.Series | None = None
) -> pl.Series:
    """Each value as a UTC datetime by the first of `formats` that reads it with a year
    from EARLIEST_YEAR on (an earlier year is a misreading); null where none does.

    Each format tries only the values the ones before it left, so a column of ISO dates
    costs one parse, not one per format. Where `found` already has a value, it is kept.
    """
    if found is None:
        found = pl.repeat(None, len(text), dtype=_UTC, eager=True)
    left = pl.DataFrame({"at": pl.arange(0, len(text), eager=True), "text": text}).filter(
        pl.col("text").is_not_null() & found.is_null()
    )
    found = found.clone()
    for pattern in formats:
        if left.is_empty():
            break
        zoned = "%z" in pattern
        parsed = left["text"].str.strptime(
            _UTC if zoned else pl.Datetime("us"), pattern, strict=False
        )
        parsed = parsed if zoned else parsed.dt.replace_time_zone("UTC")
        hit = (parsed.dt.year() >= EARLIEST_YEAR).fill_null(False)
        found.scatter(left["at"].filter(hit), parsed.filter(hit))
        left = left.filter(~hit)
    return found.alias(text.name)


@dataclass
class DateOrders:
    """The order of day and month of each date column, kept for a whole import.

    Day-first, unless month-first reads more of a chunk's values (a US export has a
    "12/25/2024" somewhere), or both read as many and a slash date has a 12-hour clock
    ("3/1/2024 10:30 PM", _US_CLOCK), which only US software writes. The first chunk that
    tells decides for the rest of the file, and a column that cannot tell takes the order
    of the first column of the file that did (`parse_dates` reads the columns of a chunk
    that tell first); until one does, a chunk reads day-first, which
    for its values (none past the 12th, or both orders equally) is the same. A value only
    the other order reads is then not a date, and the caller says so.
    """

    month_first: dict[str, bool] = field(default_factory=dict)
    # What the first column to tell said, for the file's columns that cannot tell: a deal's
    # "Created Date" of "2/10/2024 10:30 AM" makes its "Close Date" of "3/4/2024" March 4th.
    file_month_first: bool | None = None
    # The order the person gave (`--date-order`): every column reads so, nothing guessed.
    given: bool | None = None
    # Per column, the values read day-first before the file told its order that month-first
    # would have read as another day ("03/04/2024"): `warnings` reports them.
    unsure: Counter = field(default_factory=Counter)

    def read(self, frame: pl.DataFrame, column: str) -> pl.Series:
        """`column` of `frame` as UTC datetimes (null where blank or not a date)."""
        text = frame.select(blank_to_null(pl.col(column)).str.replace(r"Z$", "")).to_series()
        found = first_reading(text, OFFSET_FORMATS + _UNAMBIGUOUS)
        if self.given is not None:
            return first_reading(text, _SLASHED[self.given], found)
        if column in self.month_first:
            return first_reading(text, _SLASHED[self.month_first[column]], found)
        day = first_reading(text, _SLASHED[False], found)
        month = first_reading(text, _SLASHED[True], found)
        if day.null_count() != month.null_count():
            self.month_first[column] = month.null_count() < day.null_count()
        elif text.str.contains(_US_CLOCK).any():
            self.month_first[column] = True
        if column in self.month_first and self.file_month_first is None:
            self.file_month_first = self.month_first[column]
        chosen = self.month_first.get(column, self.file_month_first)
        if chosen is None:
            self.unsure[column] += int((day != month).sum())  # null where either is
        return month if chosen else day

    def warnings(self) -> dict[str, int]:
        """How many dates of the file may be another day than the one read: read day-first
        while no value told the order, in a column (or file) that then told month-first or
        never told. A short US export ("3/1/2024" to "3/7/2024") is the usual case."""
        counts: Counter[str] = Counter()
        for column, unsure in self.unsure.items():
            told = self.month_first.get(column, self.file_month_first)
            if told is None:
                counts[NEVER_TOLD] += unsure
            elif told:
                counts[TOLD_LATE] += unsure
        return {warning: n for warning, n in counts.items() if n}

    def read_all(self, frame: pl.DataFrame, columns: list[str]) -> dict[str, pl.Series]:
        """`read` of each column; one read before another column told the file's order is
        read again with it."""
        told, unsure = self.file_month_first, self.unsure.copy()
        read = {column: self.read(frame, column) for column in columns}
        if told is None and self.file_month_first is not None:
            undecided = [c for c in columns if c not in self.month_first]
            for column in undecided:  # read again in the order told: no longer unsure
                self.unsure[column] = unsure[column]
            read |= {c: self.read(frame, c) for c in undecided}
        return read


def parse_dates(
    frame: pl.DataFrame, columns: list[str], orders: DateOrders | None = None
) -> pl.DataFrame:
    """Each column parsed to a UTC datetime; `<column>_raw` keeps the text, to tell a bad
    date (raw, no value) from no date. `orders` carries the columns' order of day and
    month from one chunk of a file to the next."""
    orders = orders if orders is not None else DateOrders()
    read = orders.read_all(frame, columns)
    out = []
    for column in columns:
        out += [blank_to_null(pl.col(column)).alias(f"{column}_raw"), read[column]]
    return frame.with_columns(out)
