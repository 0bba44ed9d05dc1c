"""Stage 1, read: a delimited text file of any common encoding into a frame of strings.

Every value stays a string here (no type guessing: a phone "0049..." must keep its zeros);
later stages decide what a column means. Each row carries the line it starts on in the
file (header = line 1), so a reject can point at the exact place a person would look.
"""

import codecs
import csv
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from charset_normalizer import from_bytes

from leadflow.errors import LeadflowError

LINE = "_line"  # where the row starts in the file; the header is line 1
FIELD_COUNT = "_fields"  # how many fields the row had, to catch ragged rows
EXTRA = "_extra"  # a field past the header's width (only its presence matters)

SAMPLE_BYTES = 64 * 1024
CANDIDATE_DELIMITERS = ",;\t|"
COPY_CHUNK = 1024 * 1024


class UnreadableFile(LeadflowError):
    """The file cannot be read as a table: empty, binary, or its header is unusable."""

    status_code = 422


@dataclass(frozen=True)
class Table:
    frame: pl.DataFrame  # one String column per header, plus LINE and FIELD_COUNT
    headers: list[str]
    encoding: str
    delimiter: str


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file from its first bytes: BOM first, then UTF-8, then a guess."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        # UTF-16 without a BOM: every other byte of ASCII text is a zero.
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > len(odd) * 0.4 and even.count(0) < len(even) * 0.05:
            return "utf-16-le"
        if even.count(0) > len(even) * 0.4 and odd.count(0) < len(odd) * 0.05:
            return "utf-16-be"
        raise UnreadableFile("This looks like a binary file, not a CSV or TSV text file.")
    for cut in range(4):  # the sample may end in the middle of a multi-byte character
        try:
            sample[: len(sample) - cut].decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            continue
    # A short sample cannot tell the single-byte code pages apart (charset_normalizer reads
    # "café" in cp1252 as cp1257 as readily). Lists from Excel on Windows in the West are
    # cp1252 far more often than anything else, so it wins whenever it is a plausible
    # reading; other code pages (cp1250, cp1251...) are taken as guessed or via --encoding.
    candidates = [match.encoding for match in from_bytes(sample)]
    if not candidates or "cp1252" in candidates or "latin_1" in candidates:
        return "cp1252"
    return candidates[0]


def sniff_delimiter(text: str) -> str:
    """The delimiter of the first lines: csv.Sniffer, else the most frequent candidate."""
    head = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(head, delimiters=CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        counts = {d: first.count(d) for d in CANDIDATE_DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _transcode(path: Path, encoding: str, workdir: Path) -> Path:
    """A UTF-8 copy of the file, written in chunks so memory stays bounded."""
    target = Path(tempfile.mkstemp(suffix=".csv", dir=workdir)[1])
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(COPY_CHUNK):
                dst.write(decoder.decode(chunk))
            dst.write(decoder.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"The file is not valid {encoding} (byte {exc.start} of a chunk); "
            "name its encoding with --encoding, e.g. --encoding cp1252."
        ) from exc
    return target


def _check_text(text: str) -> None:
    controls = sum(1 for ch in text if ch < " " and ch not in "\r\n\t")
    if controls > max(2, len(text) // 100):
        raise UnreadableFile("This looks like a binary file, not a CSV or TSV text file.")


def _header_names(raw: list[str]) -> list[str]:
    names = []
    for position, name in enumerate(raw, start=1):
        names.append(name.strip() or f"column_{position}")
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        key = name.casefold()
        if key in seen:
            raise UnreadableFile(
                f"The header names {name!r} twice (columns {seen[key]} and {position}); "
                "rename one of them."
            )
        seen[key] = position
    return names


def _record_lines(path: Path, delimiter: str) -> tuple[list[int], list[int]]:
    """The starting line and field count of every record (0 for a blank line).

    Polars parses the values; this pass only counts, so that a reject can name the line a
    person sees in an editor even after blank lines or cells with embedded newlines.
    """
    starts: list[int] = []
    widths: list[int] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        previous_end = 0
        for record in reader:
            starts.append(previous_end + 1)
            widths.append(len(record))
            previous_end = reader.line_num
    return starts, widths


def read_table(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    workdir: Path | None = None,
) -> Table:
    """The file as a frame of strings, one column per header, with line numbers."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(f"No such file: {path}")
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise UnreadableFile("The file is empty.")
    if sample.startswith(b"PK\x03\x04"):
        raise UnreadableFile(
            "This is a ZIP or XLSX file; spreadsheets are not supported yet, save it as CSV."
        )
    encoding = encoding or detect_encoding(sample)
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise UnreadableFile(f"Unknown encoding: {encoding}") from exc
    text = sample.decode(encoding, errors="ignore")
    _check_text(text)
    delimiter = delimiter or sniff_delimiter(text.lstrip("\ufeff"))
    if delimiter in {"\\t", "tab"}:
        delimiter = "\t"
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        utf8 = path
        # Polars reads plain UTF-8 only: anything else (a BOM included) is copied over first.
        if codecs.lookup(encoding).name != "utf-8":
            utf8 = _transcode(path, encoding, Path(scratch))
        with utf8.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle, delimiter=delimiter), None)
        if not header or not any(cell.strip() for cell in header):
            raise UnreadableFile("The file has no header line.")
        headers = _header_names(header)
        starts, widths = _record_lines(utf8, delimiter)
        frame = pl.read_csv(
            utf8,
            has_header=False,
            skip_rows=1,
            separator=delimiter,
            infer_schema=False,
            schema=dict.fromkeys([*headers, EXTRA], pl.String),
            missing_columns="insert",
            truncate_ragged_lines=True,
            empty_string_is_null=False,
            encoding="utf8",
        )
    if frame.height != len(starts) - 1:
        raise UnreadableFile(
            "The file's quoting is inconsistent (an unclosed quote?); "
            f"found {frame.height} rows where {len(starts) - 1} were expected."
        )
    frame = frame.drop(EXTRA).with_columns(
        pl.Series(LINE, starts[1:], dtype=pl.Int64),
        pl.Series(FIELD_COUNT, widths[1:], dtype=pl.Int32),
        pl.col(headers).fill_null(""),
    )
    # Polars keeps a blank line as a row of empty cells; a person sees no row there at all.
    frame = frame.filter(pl.col(FIELD_COUNT) > 0)
    if frame.is_empty():
        raise UnreadableFile("The file has a header but no data rows.")
    return Table(frame=frame, headers=headers, encoding=encoding, delimiter=delimiter)
