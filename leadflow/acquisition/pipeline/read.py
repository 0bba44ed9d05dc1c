"""Stage 1, read: a delimited text file of any common encoding, or an XLSX sheet, into
frames of strings, a chunk of rows at a time.

Every value stays a string here (no type guessing: a phone "0049..." must keep its zeros);
later stages decide what a column means. Each row carries the line it starts on in the
file (the header is line 1, or later when blank lines come before it; in a workbook, the
sheet's row number), so a reject can point at the exact place a person would look.

A text file is decoded as it is read and parsed by Python's `csv` module, which gives every
record's starting line in the same pass (blank lines and quoted cells with embedded
newlines included); `open_table` hands the rows on in chunks of CHUNK_ROWS, so memory
stays bounded however big the file is. A workbook is read by calamine (`fastexcel`), one
sheet at a time; a sheet holds at most 1,048,576 rows, so it is read whole, then chunked.
"""

import codecs
import csv
import io
import itertools
import re
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple
from unicodedata import east_asian_width
from xml.etree.ElementTree import iterparse

import polars as pl
from charset_normalizer import from_bytes

from leadflow.errors import LeadflowError

LINE = "_line"  # where the row starts in the file, counting every line (blank ones too)
FIELD_COUNT = "_fields"  # how many fields the row had, to catch ragged rows

SAMPLE_BYTES = 64 * 1024
WESTERN = "cp1252"  # what a list that is not UTF-8 is taken to be, unless clearly not
# The report's warning for the lines of a UTF-8 list that were read as cp1252 (WesternFallback).
WESTERN_LINES = "text not in UTF-8, read as Windows-1252"
CANDIDATE_DELIMITERS = ",;\t|"
CHUNK_ROWS = 100_000  # rows per chunk: about 50 MB of a typical list in memory at once
# A cell larger than this is almost always a quote that was never closed, which would
# otherwise swallow the rest of the file into one cell.
MAX_CELL_BYTES = 1024 * 1024
COPY_BLOCK = 1024 * 1024
# The encodings that name no byte order: a file in one starts with a BOM telling it.
BYTE_ORDER_MARKS = {
    "utf-16": (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE),
    "utf-32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE),
}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls
XLSX = "xlsx"  # TableStream.encoding of a workbook
SPREADSHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# XML_SAFETY: the workbook's own XML parts are read with ElementTree, which resolves no
# external entities, on expat >= 2.4, which refuses entity-expansion bombs ("billion
# laughs"); only the sheet list and the first row of one sheet are read.


class UnreadableFile(LeadflowError):
    """The file cannot be read as a table: empty, binary, or its header is unusable."""

    status_code = 422


class WesternFallback:
    """The codecs error handler that reads the bytes of a UTF-8 list that are not UTF-8 as
    Windows-1252, and counts the lines it did so on, for the report.

    The encoding is detected from the first 64 KB (SAMPLE_BYTES). A list sorted by name can
    be plain ASCII that far and have "José Álvarez" saved in cp1252 on line 3,002; a UTF-8
    list can have rows pasted in from an old Excel export. Stopping the whole import there
    helps nobody: an accented letter in cp1252 is never valid UTF-8 ("é" is the lone byte
    0xE9), so reading just those bytes as cp1252 gives what the person typed, and the rest
    of the file stays UTF-8. Only a detected UTF-8 gets this; a named --encoding utf-8 is
    what the user said the file is, and stays strict.

    A byte cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) is refused instead of read
    as Latin-1: it is neither encoding, so the file is in another one (cp1250 has "Ť" and
    "Ź" there) or is not text, and the C1 control character Latin-1 would put into a name
    is invisible. `refused` keeps its line and byte for the error message.

    A handler is only shown the block being decoded. `position` (the binary file's tell,
    which is at the end of that block while it is decoded) places the block in the file,
    and the line breaks before it are counted from the file itself, each byte once at most,
    so a file that needs no fallback costs nothing extra.
    """

    def __init__(self, path: Path, position: Callable[[], int]) -> None:
        self.path, self.position = path, position
        self.lines = 0  # lines with bytes read as cp1252
        self.refused: tuple[int, int] | None = None  # (line, byte) neither encoding has
        self._line = 0  # the line the last bytes read as cp1252 were on
        self._counted = 0  # the line breaks before this byte of the file are in _breaks
        self._breaks = 0
        self._file: BinaryIO | None = None

    def __call__(self, error: UnicodeError) -> tuple[str, int]:
        if not isinstance(error, UnicodeDecodeError):
            raise error
        block, start, end = error.object, error.start, error.end
        offset = self.position() - len(block) + start
        line = self._line_at(block, start, offset)
        try:
            text = block[start:end].decode(WESTERN)
        except UnicodeDecodeError as undefined:
            self.refused = (line, offset + undefined.start)
            raise error from None
        if line != self._line:
            self.lines, self._line = self.lines + 1, line
        return text, end

    def refusal(self, encoding: str) -> "UnreadableFile":
        line, offset = self.refused or (0, 0)
        return UnreadableFile(
            f"The file is not valid {encoding}: line {line} (byte {offset}) has bytes that "
            f"neither {encoding} nor Windows-1252 allows; name the file's encoding with "
            "--encoding (e.g. --encoding cp1250), or check that it is a text file."
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def _line_at(self, block: bytes, start: int, offset: int) -> int:
        """The line of byte `offset` of the file, which is block[start]."""
        block_offset = offset - start
        if self._counted < block_offset:  # blocks decoded without a fallback came between
            if self._file is None:
                self._file = self.path.open("rb")
            self._file.seek(self._counted)
            left = block_offset - self._counted
            while left > 0 and (data := self._file.read(min(COPY_BLOCK, left))):
                self._breaks += data.count(b"\n")
                left -= len(data)
            self._counted = block_offset
        self._breaks += block.count(b"\n", self._counted - block_offset, start)
        self._counted = offset
        return self._breaks + 1


_free_handler_names: list[str] = []
_handler_names_lock = threading.Lock()
_handler_numbers = itertools.count()


@contextmanager
def _error_handler(handler: WesternFallback | None) -> Iterator[str]:
    """The name a text stream is given for `handler` ("strict" for none), while it reads.

    A decoder finds its error handler by name in codecs' registry, which keeps every name
    for good (there is no unregister): so each open file borrows a name from a pool and
    gives it back, and the registry grows only to the number of files read at once.
    """
    if handler is None:
        yield "strict"
        return
    with _handler_names_lock:
        name = (
            _free_handler_names.pop()
            if _free_handler_names
            else f"leadflow-cp1252-fallback-{next(_handler_numbers)}"
        )
    codecs.register_error(name, handler)
    try:
        yield name
    finally:
        codecs.register_error(name, codecs.strict_errors)  # let go of the file's handler
        with _handler_names_lock:
            _free_handler_names.append(name)


@dataclass
class TableStream:
    """An open file: its header, how it was read, and its rows as an iterator of frames.

    Each chunk has one String column per header (never null), LINE and FIELD_COUNT.
    Errors found further into the file (bytes that are not the encoding, an unclosed
    quote) are raised while iterating, so the caller's transaction rolls back.
    """

    headers: list[str]
    encoding: str
    delimiter: str
    chunks: Iterator[pl.DataFrame]
    size_bytes: int = 0
    sheet: str | None = None
    # How far into the file the reading is, in bytes, for estimates of the rows to come.
    bytes_read: Callable[[], int] | None = None
    total_rows: int | None = None  # known up front for a sheet
    fallback: WesternFallback | None = None  # a detected UTF-8: bytes that are not, as cp1252

    def warnings(self) -> dict[str, int]:
        """What reading the file did that the report must tell (label -> lines), once the
        chunks have been read: the lines of a UTF-8 list read as Windows-1252."""
        lines = self.fallback.lines if self.fallback else 0
        return {WESTERN_LINES: lines} if lines else {}


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
        if sample.count(0) > max(2, len(sample) // 100):
            raise UnreadableFile("This looks like a binary file, not a CSV or TSV text file.")
        # A stray NUL or two in a text list (a bad export) is dropped from the cells, as
        # one past the sample would be; the text around it decides the encoding.
        sample = sample.replace(b"\x00", b"")
    for cut in range(4):  # the sample may end in the middle of a multi-byte character
        try:
            sample[: len(sample) - cut].decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            continue
    code_page = guess_code_page(sample)
    if _utf8_with_western_rows(sample, code_page):
        return "utf-8"  # read with WesternFallback, so both kinds of rows come out right
    return code_page


def _utf8_with_western_rows(sample: bytes, code_page: str) -> bool:
    """A UTF-8 list with rows saved in cp1252 pasted in: some lines are UTF-8 with Western
    letters and punctuation ("Zoë", "Łukasz", "–", "“"), the others are cp1252.

    Read as cp1252 (or whichever single-byte code page looks least messy), the UTF-8 rows
    would come out as "ZoÃ«"; read as UTF-8 with the other rows' bytes read as cp1252
    (WesternFallback), both come out right. A cp1252 line is hardly ever valid UTF-8: an
    accented letter is one byte, which UTF-8 allows only as part of a sequence. Should a
    line of a true cp1252 list be valid UTF-8 ("Å’" is "Œ" in UTF-8), only that pair of
    bytes is misread: the list's other accented letters are not UTF-8, so they are read as
    cp1252 all the same. A line that is UTF-8 but not Western ("Ö–" is a Hebrew accent),
    or a list `code_page` reads as Chinese, Japanese or Korean, is not taken for one.
    """
    if _cjk_characters(sample.decode(code_page, errors="ignore"))[0]:
        return False
    lines = sample.splitlines()
    if len(sample) >= SAMPLE_BYTES:
        lines = lines[:-1]  # cut from a longer file, perhaps inside a character
    western = False
    for line in lines:
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            try:
                line.decode(WESTERN)
                continue  # a cp1252 line
            except UnicodeDecodeError:
                return False  # neither: some other code page
        if not all(_is_western(char) for char in text):
            return False
        western = True
    return western


def _is_western(char: str) -> bool:
    """ASCII, a Latin letter or sign of U+00A0 to U+024F ("é", "ß", "ł", "ő"), punctuation
    ("–", "’", "“", "…") or "€": what a European or American list is written in."""
    return (
        char.isascii() or "\xa0" <= char < "\u0250" or "\u2000" <= char <= "\u206f" or char == "€"
    )


def guess_code_page(sample: bytes) -> str:
    """The code page of a sample that is not UTF-8: charset-normalizer tells the script
    (_script_code_page); when that is Latin, the letters tell which of the Latin code
    pages a list is saved in (_latin_code_page)."""
    code_page = _script_code_page(sample)
    if not _reads_as_latin(sample.decode(code_page, errors="ignore")):
        return code_page  # Cyrillic, Greek, Chinese, Japanese, Korean...
    return _latin_code_page(sample)


def _script_code_page(sample: bytes) -> str:
    """How charset-normalizer reads a sample that is not UTF-8: Windows-1252 unless another
    reading is clearly better.

    Bought lists are European or American, saved by Excel on Windows, so cp1252 is what a
    non-UTF-8 list almost always is. charset-normalizer's first guess alone is not to be
    trusted on a short sample: it tries the East Asian multi-byte code pages first and,
    once one decodes, stops testing single-byte ones, so a list of three Nordic names can
    come out as Shift-JIS or Big5 ("Åsa" -> "ﾅsa", "O’Brien" -> "O蔃rien"); and a short
    sample does not tell the single-byte ones apart ("café" is the same in cp1250, and
    "O’Brien" is "OÆBrien" in cp775 at no cost in its scores).

    So cp1252 is taken when it decodes the sample (none of the five bytes it leaves
    undefined) and either one of charset-normalizer's readings is cp1252's, character for
    character (a reading lists every code page giving it), or no other reading is clearly
    better by charset-normalizer's chaos measure (odd symbols, case changes and scripts
    mixed inside words). Another reading wins only if cp1252's own is too messy for
    charset-normalizer to keep, or
    - it is in Chinese, Japanese or Korean characters, no messier, and those stand as
      words of their own. Garbled Latin text puts them inside Latin words ("Gr現li",
      "ﾅke"): one multi-byte character for each accented letter and its neighbour. A
      real CJK list writes names and companies wholly in CJK ("山田", "株式会社サンプル").
      The share of CJK characters cannot tell the two apart: a short list of either is
      mostly its ASCII header and emails.
    - it is another single-byte reading and less messy than cp1252's (Cyrillic or Greek
      letters that cp1252 makes a run of accented symbols of). Any other list is named
      with --encoding.
    """
    if len(sample) >= SAMPLE_BYTES:
        # Cut from a longer file: whole lines only, as a multi-byte code page fails on a
        # character cut in two at the end.
        sample = sample[: sample.rfind(b"\n") + 1] or sample
    matches = from_bytes(sample)
    guess = matches.best()
    try:
        sample.decode(WESTERN)
    except UnicodeDecodeError:
        return guess.encoding if guess else WESTERN  # else the reader names the line
    if guess is None or any(
        {WESTERN, "latin_1"} & set(match.could_be_from_charset) for match in matches
    ):
        return WESTERN  # one of the readings is cp1252's, character for character
    western = from_bytes(sample, cp_isolation=[WESTERN]).best()
    if western is None:
        return guess.encoding
    cjk, inside_latin_words = _cjk_characters(str(guess))
    if cjk:
        clearly_cjk = inside_latin_words * 4 <= cjk and guess.chaos <= western.chaos
        return guess.encoding if clearly_cjk else WESTERN
    return guess.encoding if guess.chaos < western.chaos else WESTERN


# The letters beyond ASCII (lower case) that the languages of each Latin code page write
# names and places with. Latin-1 is cp1252 less its 0x80-0x9F; ISO-8859-2 has cp1250's
# letters, 15 of them at other bytes (ISO "ą" is cp1250's "±", cp1250's "ą" is ISO's "š").
WESTERN_LANGUAGES = {
    "French": "àâæçéèêëîïôœùûüÿ",
    "German": "äöüß",
    "Spanish": "áéíñóúü",
    "Portuguese": "àáâãçéêíóôõú",
    "Italian": "àèéìíîòóùú",
    "Catalan": "àçèéíïòóúü",
    "Dutch": "áàéèëïóöü",
    "Danish": "åæøé",
    "Norwegian": "åæøéèêóòôü",
    "Swedish": "åäöé",
    "Finnish": "åäöšž",
    "Estonian": "äöõüšž",
    "Icelandic": "áæðéíóöúýþ",
    "Faroese": "áæðíóøúý",
}
CENTRAL_EUROPEAN_LANGUAGES = {
    "Polish": "ąćęłńóśźż",
    "Czech": "áčďéěíňóřšťúůýž",
    "Slovak": "áäčďéíĺľňóôŕšťúýž",
    "Hungarian": "áéíóöőúüű",
    "Slovene": "čšž",
    "Croatian": "čćđšž",
    "Romanian": "ăâîşţșț",
    "German": "äöüß",
}
CENTRAL = "cp1250"
LATIN_2 = "iso-8859-2"
# The candidates for Latin text (_latin_code_page), cp1250 before its ISO twin on a tie.
LATIN_CODE_PAGES = {
    WESTERN: WESTERN_LANGUAGES,
    CENTRAL: CENTRAL_EUROPEAN_LANGUAGES,
    LATIN_2: CENTRAL_EUROPEAN_LANGUAGES,
}
# Signs people type before a word ("¿Qué?", "«Nordic»") or after one ("Acme®", "Nº 5"):
# on the other side of a letter, they are a letter read in the wrong code page ("Kro¿ek"
# for "Krożek", "©vec" for "Švec").
OPENING_SIGNS = frozenset("¡¿«")
CLOSING_SIGNS = frozenset("»©®™°ªº")
NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def _reads_as_latin(text: str) -> bool:
    """Most of the text's letters beyond ASCII are Latin ones ("é", "ł", "ġ"), or East Asian
    characters inside Latin words, which is what accented letters read as Chinese, Japanese
    or Korean become ("Bia쓾gard"; see _cjk_characters)."""
    letters = [c for c in NOT_ASCII.findall(text) if c.isalpha() and c not in CLOSING_SIGNS]
    latin = sum(unicodedata.name(char, "").startswith("LATIN") for char in letters)
    return 2 * (latin + _cjk_characters(text)[1]) >= len(letters)


class Oddities(NamedTuple):
    """How a reading of a Latin text looks to the people of its code page's languages."""

    signs: int  # kinds of characters none of them writes, or signs inside a word ("£ukasz")
    mixed_lines: int  # lines whose letters no one language writes all of
    languages: int  # how many of the languages the whole text needs


def _latin_code_page(sample: bytes) -> str:
    """The Latin code page a sample of Latin text is in: cp1252 unless cp1250 or ISO-8859-2
    reads it clearly better.

    Each of them decodes almost any bytes, mostly into letters, and on a short list
    charset-normalizer's measures cannot tell them apart: it found "Łukasz" in ISO-8859-2
    as good in cp1252 ("£ukasz") or in ISO-8859-14, a code page for Welsh ("Michał" ->
    "Michaġ"). Other Latin code pages (ISO-8859-14, -13, -10, cp775...) are not what a list
    of contacts is saved in, so they are not candidates. What tells the three apart is
    that a letter read in the wrong one becomes a sign inside a word ("£ukasz", "Micha³")
    or a letter of another language: the Hungarian "Fűzfa, Győr" read as cp1252 is "Fûzfa,
    Gyõr", French "û" and Portuguese "õ" on one line, where a person's name and town are
    in one language; "Dvořák" is "Dvoøák" (Faroese, or Danish and Spanish); "Hélène" read
    as ISO-8859-2 is "Hélčne" (Czech).

    A Central European reading wins with fewer signs and mixed lines (in that order) than
    cp1252's, or as many and two languages fewer: cp1252 is what a list almost always is,
    and an international list in cp1252 can need one language more than a misreading of
    it (Spanish "ú" and Danish "ø" on their own lines are the Czech "ú" and "ř" in
    ISO-8859-2). Of the two Central European readings the one with fewer oddities wins, a
    tie going to cp1250 (what Windows saves; where the two read a file alike, either is
    right).
    """
    readings = {}
    for code_page, languages in LATIN_CODE_PAGES.items():
        try:
            readings[code_page] = _oddities(sample.decode(code_page), languages)
        except UnicodeDecodeError:
            continue  # cp1252 and cp1250 leave five bytes each undefined
    central = min((name for name in readings if name != WESTERN), key=readings.__getitem__)
    if WESTERN not in readings:
        return central
    western, other = readings[WESTERN], readings[central]
    odd, western_odd = (other.signs, other.mixed_lines), (western.signs, western.mixed_lines)
    if odd < western_odd or (odd == western_odd and other.languages <= western.languages - 2):
        return central
    return WESTERN


def _oddities(text: str, languages: dict[str, str]) -> Oddities:
    """The Oddities of `text` to the people of `languages` (name -> alphabet)."""
    alphabets = [set(alphabet) for alphabet in languages.values()]
    odd: set[str] = set()
    every: set[str] = set()
    mixed_lines = 0
    for line in text.splitlines():
        if line.isascii():
            continue
        letters = set()
        for found in NOT_ASCII.finditer(line):
            char, at = found.group(), found.start()
            if "\u2000" <= char <= "\u206f":  # dashes, quotes, "…"
                continue
            before, after = line[at - 1 : at].isalpha(), line[at + 1 : at + 2].isalpha()
            if char in OPENING_SIGNS or char in CLOSING_SIGNS:  # "ª" is a letter to Unicode
                if (before and char in OPENING_SIGNS) or (after and char in CLOSING_SIGNS):
                    odd.add(char)  # "Kro¿ek", "©vec", "Bucureºti"
            elif char.isalpha():
                known = any(char.lower() in alphabet for alphabet in alphabets)
                (letters if known else odd).add(char.lower())
            elif before or after:
                odd.add(char)  # "£ukasz", "Micha³", a C1 control in "\x9cwinoujście"
        mixed_lines += bool(letters) and not any(letters <= alphabet for alphabet in alphabets)
        every |= letters
    needed = 0
    while every:  # greedily: the language writing most of the letters left, and so on
        alphabet = max(alphabets, key=lambda alphabet: len(every & alphabet))
        every -= alphabet
        needed += 1
    return Oddities(len(odd), mixed_lines, needed)


def _cjk_characters(text: str) -> tuple[int, int]:
    """How many East Asian characters the text has, and how many of them touch a Latin
    letter, as the bytes of accented letters read in a CJK code page do.

    East Asian characters are the wide, full-width and half-width ones: ideographs, kana,
    hangul, and the half-width katakana Shift-JIS makes of "Å", "Ø" or "Ö". A real CJK
    list touches Latin letters only where a name mixes scripts ("NEC株式会社"), so
    guess_code_page allows a quarter of them to.
    """
    cjk = touching = 0
    for position, char in enumerate(text):
        if east_asian_width(char) not in {"W", "F", "H"}:
            continue
        cjk += 1
        neighbours = text[max(position - 1, 0) : position] + text[position + 1 : position + 2]
        touching += any(n.isascii() and n.isalpha() for n in neighbours)
    return cjk, touching


def sniff_delimiter(text: str) -> str:
    """The delimiter of the first lines: csv.Sniffer, else the most frequent candidate."""
    head = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(head, delimiters=CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        first = next((line for line in text.splitlines() if line.strip()), "")
        counts = {d: first.count(d) for d in CANDIDATE_DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _check_text(text: str) -> None:
    controls = sum(1 for ch in text if ch < " " and ch not in "\r\n\t")
    if controls > max(2, len(text) // 100):
        raise UnreadableFile("This looks like a binary file, not a CSV or TSV text file.")


def _header_names(raw: list[str]) -> list[str]:
    """The header's names; a blank one is "column_<position>" (or, should the file name
    another column so, "column_<position> (blank)"), and a name twice is an error."""
    given = [name.replace("\x00", "").strip() for name in raw]
    taken = {name.casefold() for name in given}
    names = []
    for position, name in enumerate(given, start=1):
        blank = f"column_{position}"
        names.append(name or (blank if blank not in taken else f"{blank} (blank)"))
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


def _frame(
    headers: list[str], rows: list[list[str]], lines: list[int], ragged: dict
) -> pl.DataFrame:
    """A chunk: one String column per header, LINE, and FIELD_COUNT (the header's width
    except for the rows in `ragged`, position -> fields)."""
    width = len(headers)
    columns = list(zip(*rows, strict=True)) if rows else [()] * width
    counts = pl.Series(FIELD_COUNT, [width] * len(rows), dtype=pl.Int32)
    if ragged:
        counts = counts.scatter(list(ragged), list(ragged.values()))
    frame = pl.DataFrame(
        [
            pl.Series(name, values, dtype=pl.String)
            for name, values in zip(headers, columns, strict=True)
        ]
    )
    # PostgreSQL refuses NUL in text; no person means one in a cell.
    frame = frame.with_columns(pl.col(headers).str.replace_all("\x00", "", literal=True))
    return frame.with_columns(pl.Series(LINE, lines, dtype=pl.Int64), counts)


def _is_empty_row(record: list[str]) -> bool:
    """A blank line, or one of only delimiters and spaces (",,,," or " ; ;"): how a
    spreadsheet saves an empty row. A person sees no row there, so none is read, before
    the header or after it; otherwise each would be rejected as missing its email."""
    return not "".join(record).strip()


def _csv_chunks(
    reader: Iterator[list[str]],
    headers: list[str],
    chunk_rows: int,
    not_encoded: Callable[[], "UnreadableFile"],
) -> Iterator[pl.DataFrame]:
    width = len(headers)
    pad = [""] * width
    rows: list[list[str]] = []
    lines: list[int] = []
    ragged: dict[int, int] = {}
    previous_end = start = reader.line_num
    emitted = 0
    record: list[str] = []
    try:
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if _is_empty_row(record):
                continue  # a person sees no row there; the next row keeps its line
            if len(record) != width:
                ragged[len(rows)] = len(record)
                record = (record + pad)[:width]
            rows.append(record)
            lines.append(start)
            if len(rows) >= chunk_rows:
                yield _frame(headers, rows, lines, ragged)
                emitted += len(rows)
                rows, lines, ragged = [], [], {}
    except UnicodeError as exc:  # a UnicodeDecodeError, or a codec's own complaint
        raise not_encoded() from exc
    except csv.Error as exc:
        if "field larger than field limit" not in str(exc):
            raise UnreadableFile(f"Line {previous_end + 1} cannot be read: {exc}") from exc
        raise UnreadableFile(
            f"A cell starting on line {previous_end + 1} is larger than "
            f"{MAX_CELL_BYTES // 1024} KB, more than a cell of a list can hold: most often "
            'a quote (") that is never closed, which runs the rest of the file into one cell.'
        ) from exc
    if _unclosed_quote(record):
        raise UnreadableFile(
            f"The file's quoting is inconsistent: the quote opened on line {start} is "
            "never closed, so the rest of the file ran into one cell."
        )
    if rows:
        yield _frame(headers, rows, lines, ragged)
        emitted += len(rows)
    if not emitted:
        raise UnreadableFile("The file has a header but no data rows.")


def _not_encoded(path: Path, text_encoding: str, encoding: str) -> UnreadableFile:
    """The error for bytes that are not `encoding`, naming the line they are on.

    The text layer decodes ahead of the csv reader, so the line is found again here, by
    decoding the file up to the first bad byte (only on this error path). The decoder's
    error holds the bytes it was decoding, which end where the file has been read to: a
    character begun in the block before, or a last byte that ends none (an odd byte at
    the end of a UTF-16 file), is placed by that.
    """
    decoder = codecs.getincrementaldecoder(text_encoding)(errors="strict")
    line = 1
    with path.open("rb") as handle:
        while True:
            block = handle.read(COPY_BLOCK)
            try:
                line += decoder.decode(block, final=not block).count("\n")
            except UnicodeDecodeError as exc:
                good = exc.object[: max(exc.start, 0)]
                line += codecs.decode(good, text_encoding, errors="ignore").count("\n")
                offset = handle.tell() - len(exc.object) + exc.start
                break
            except UnicodeError as exc:  # a codec's own complaint, with no byte to name
                return UnreadableFile(
                    f"The file cannot be read as {encoding} ({exc}); name the file's "
                    "encoding with --encoding, e.g. --encoding cp1252."
                )
            if not block:
                offset = handle.tell()  # the reader failed where this decoder does not
                break
    return UnreadableFile(
        f"The file is not valid {encoding}: line {line} (byte {offset}) has bytes that "
        f"{encoding} does not allow; name the file's encoding with --encoding, e.g. "
        "--encoding cp1252."
    )


def _no_byte_order_mark(encoding: str) -> UnreadableFile:
    """The error for a file named utf-16 or utf-32, but not starting with a BOM: Python reads
    those only with one (the stream decoder raises a bare UnicodeError without it)."""
    family = codecs.lookup(encoding).name
    return UnreadableFile(
        f"The file is not valid {encoding}: it does not start with the byte order mark "
        f"(BOM) {encoding} needs to tell the order of its bytes; name the order with "
        f"--encoding {family}-le or --encoding {family}-be, or the file's own encoding, "
        "e.g. --encoding cp1252."
    )


def _not_a_text_encoding(encoding: str) -> UnreadableFile:
    return UnreadableFile(
        f"{encoding} is not an encoding a text file is saved in; name the file's encoding "
        "with --encoding, e.g. --encoding utf-8 or --encoding cp1252."
    )


def _unclosed_quote(record: list[str]) -> bool:
    """The last record of a file ends in a cell that took the file's final line break:
    Python's csv module (not strict) closes a quote left open at the end of the file."""
    return any("\n" in cell and cell.endswith(("\n", "\r")) for cell in record)


@contextmanager
def open_table(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    chunk_rows: int | None = None,
) -> Iterator[TableStream]:
    """The file opened for reading in chunks: a text file (CSV, TSV...) or an XLSX sheet."""
    path = Path(path)
    chunk_rows = chunk_rows or CHUNK_ROWS
    if not path.is_file():
        raise UnreadableFile(f"No such file: {path}")
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise UnreadableFile("The file is empty.")
    if sample.startswith(ZIP_MAGIC):
        yield _open_xlsx(path, sheet=sheet, chunk_rows=chunk_rows)
        return
    if sample.startswith(OLE_MAGIC):
        raise UnreadableFile(
            "This is an old Excel .xls workbook; save it as .xlsx (or CSV) and import that."
        )
    if sheet:
        raise UnreadableFile("--sheet applies to XLSX workbooks; this is a text file.")
    detected = not encoding
    encoding = encoding or detect_encoding(sample)
    try:
        codec = codecs.lookup(encoding)
    except LookupError as exc:
        raise UnreadableFile(f"Unknown encoding: {encoding}") from exc
    try:
        text = sample.decode(encoding, errors="ignore")
    except (LookupError, UnicodeError) as exc:
        # One of Python's codecs for bytes (rot13, base64, zlib) or domain names (idna), or
        # "undefined": a name --encoding accepts, but no text file is saved in.
        raise _not_a_text_encoding(encoding) from exc
    if not sample.startswith(BYTE_ORDER_MARKS.get(codec.name, b"")):
        raise _no_byte_order_mark(encoding)
    _check_text(text)
    if delimiter == "":  # given, but empty (an unset shell variable): not "sniff it"
        raise UnreadableFile("The delimiter is empty: give one character, e.g. ';' or 'tab'.")
    delimiter = delimiter or sniff_delimiter(text.lstrip("\ufeff"))
    if delimiter in {"\\t", "tab"}:
        delimiter = "\t"
    if len(delimiter) != 1:
        raise UnreadableFile(f"A delimiter is one character, not {delimiter!r}.")
    # A UTF-8 BOM is dropped whether or not the encoding was named.
    text_encoding = "utf-8-sig" if codec.name == "utf-8" else encoding
    raw = path.open("rb")
    # A detected UTF-8 (no BOM) reads the bytes that are not UTF-8 as cp1252, and says so in
    # the report; a named encoding, or one a BOM names, is held to.
    fallback = WesternFallback(path, raw.tell) if detected and codec.name == "utf-8" else None

    def not_encoded() -> UnreadableFile:
        if fallback is not None and fallback.refused is not None:
            return fallback.refusal(encoding)
        return _not_encoded(path, text_encoding, encoding)

    with _error_handler(fallback) as errors:
        handle = io.TextIOWrapper(raw, encoding=text_encoding, errors=errors, newline="")
        previous_limit = csv.field_size_limit(MAX_CELL_BYTES)
        try:
            reader = csv.reader(handle, delimiter=delimiter)
            try:
                header = next(reader, None)
                # Blank lines before the header (or lines of only delimiters and spaces, as
                # a spreadsheet saves its empty top rows) are skipped. The reader still
                # counts them, so the rows keep the line numbers a person sees in the file.
                while header is not None and _is_empty_row(header):
                    header = next(reader, None)
            except UnicodeError as exc:  # see _csv_chunks
                raise not_encoded() from exc
            except csv.Error as exc:
                raise UnreadableFile(f"The header line cannot be read: {exc}") from exc
            if header is None:
                raise UnreadableFile("The file has no header line.")
            headers = _header_names(header)
            yield TableStream(
                headers=headers,
                encoding=encoding,
                delimiter=delimiter,
                chunks=_csv_chunks(reader, headers, chunk_rows, not_encoded),
                size_bytes=path.stat().st_size,
                bytes_read=raw.tell,
                fallback=fallback,
            )
        finally:
            csv.field_size_limit(previous_limit)
            handle.close()
            if fallback is not None:
                fallback.close()


# --- XLSX ---------------------------------------------------------------------------------


def _workbook_sheets(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the part holding its cells, from the workbook and its relationships."""
    rels_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    targets = {}
    with archive.open("xl/_rels/workbook.xml.rels") as rels:
        for _, element in iterparse(rels):  # noqa: S314 (see XML_SAFETY)
            if element.tag.endswith("Relationship"):
                target = element.get("Target", "")
                target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                targets[element.get("Id")] = target
    sheets = {}
    with archive.open("xl/workbook.xml") as workbook:
        for _, element in iterparse(workbook):  # noqa: S314 (see XML_SAFETY)
            if element.tag == f"{SPREADSHEET_NS}sheet":
                sheets[element.get("name")] = targets.get(element.get(f"{rels_ns}id"), "")
    return sheets


def _first_used_row(archive: zipfile.ZipFile, part: str) -> int:
    """The sheet's first row with a value: calamine's range, and so row 0 of its frame,
    starts there, and the rows of the frame are numbered from it."""
    row_number = 0
    with archive.open(part) as cells:
        for event, element in iterparse(cells, events=("start", "end")):  # noqa: S314
            if event == "start" and element.tag == f"{SPREADSHEET_NS}row":
                row_number = int(element.get("r") or row_number + 1)
            elif event == "end" and element.tag == f"{SPREADSHEET_NS}c":
                has_value = element.find(f"{SPREADSHEET_NS}v") is not None or (
                    element.find(f"{SPREADSHEET_NS}is") is not None
                )
                if has_value:
                    reference = element.get("r") or ""
                    digits = re.sub(r"^[A-Z]+", "", reference)
                    return int(digits) if digits.isdigit() else row_number
                element.clear()
    return 1


def _is_workbook(path: Path) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(path)
        names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableFile(
            "This looks like a ZIP file but is not a readable XLSX workbook (nor a CSV file)."
        ) from exc
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        archive.close()
        raise UnreadableFile(
            "This is a ZIP archive, not an XLSX workbook or a CSV file; unzip it first."
        )
    return archive


def _open_xlsx(path: Path, *, sheet: str | None, chunk_rows: int) -> TableStream:
    import fastexcel

    with _is_workbook(path) as archive:
        parts = _workbook_sheets(archive)
        names = list(parts)
        if not names:
            raise UnreadableFile("The workbook has no sheets.")
        name = sheet if sheet is not None else names[0]
        if name not in parts:
            by_fold = {n.casefold(): n for n in names}
            if name.casefold() not in by_fold:
                raise UnreadableFile(
                    f"The workbook has no sheet named {sheet!r}; its sheets are: "
                    f"{', '.join(repr(n) for n in names)}."
                )
            name = by_fold[name.casefold()]
        first_row = _first_used_row(archive, parts[name])
    try:
        loaded = fastexcel.read_excel(str(path)).load_sheet(name, header_row=None, dtypes="string")
        cells = loaded.to_polars()
    except Exception as exc:  # fastexcel raises its own error types for broken workbooks
        raise UnreadableFile(f"The workbook cannot be read: {exc}") from exc
    if cells.is_empty():
        raise UnreadableFile(f"The sheet {name!r} is empty.")
    raw_header = ["" if v is None else str(v) for v in cells.row(0)]
    if not any(cell.strip() for cell in raw_header):
        raise UnreadableFile(f"The sheet {name!r} has no header row.")
    headers = _header_names(raw_header)
    body = cells.slice(1)
    body.columns = headers
    values = pl.col(headers)
    body = body.with_columns(pl.int_range(first_row + 1, first_row + 1 + body.height).alias(LINE))
    # A row without any value, or with only spaces, is a blank line to a person: no row.
    body = body.filter(pl.any_horizontal(values.fill_null("").str.strip_chars() != ""))
    body = body.with_columns(
        # Excel keeps dates as numbers with a format; calamine gives "2024-03-01 00:00:00".
        values.fill_null("")
        .str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "$1")
        .str.replace_all("\x00", "", literal=True),
        pl.col(LINE).cast(pl.Int64),
        pl.lit(len(headers), dtype=pl.Int32).alias(FIELD_COUNT),
    )
    if body.is_empty():
        raise UnreadableFile(f"The sheet {name!r} has a header but no data rows.")

    def chunks() -> Iterator[pl.DataFrame]:
        yield from body.iter_slices(chunk_rows)

    return TableStream(
        headers=headers,
        encoding=XLSX,
        delimiter="",
        chunks=chunks(),
        size_bytes=path.stat().st_size,
        sheet=name,
        total_rows=body.height,
    )
