"""Opening CSV files as real exports come: any encoding Excel or Jira writes, any delimiter.

Encodings: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), and
Windows-1252 as the fallback when the bytes are not valid UTF-8. Delimiters: comma,
semicolon or tab, chosen from the header line. Quoted cells may hold CRLF or LF newlines.

Limits (``vsm_core.limits``): no line, and no row whose quoted cells span lines, is read past
``MAX_LINE_CHARS``; a cell may hold ``MAX_CELL_CHARS``; a header or a row may have
``MAX_COLUMNS`` cells. Each is refused with the line it is on.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TextIO

from vsm_core import limits
from vsm_core.ingest.base import open_binary
from vsm_core.problems import ImportProblem

csv.field_size_limit(limits.MAX_CELL_CHARS)

_CHUNK = 16 * 1024 * 1024


@dataclass(frozen=True)
class CsvDialect:
    encoding: str
    delimiter: str


def detect_encoding(path: Path, display_name: str) -> str:
    """The encoding to read ``path`` with; scans the bytes once (fast, streaming)."""
    with open_binary(path, display_name) as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
            return "utf-16-le"
        if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] != 0:
            return "utf-16-be"
        decoder = codecs.getincrementaldecoder("utf-8")()
        data = head
        try:
            while data:
                decoder.decode(data)
                data = handle.read(_CHUNK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _choose_delimiter(header_line: str) -> str:
    counts = {}
    for delimiter in (",", ";", "\t"):
        in_quotes = False
        n = 0
        for ch in header_line:
            if ch == '"':
                in_quotes = not in_quotes
            elif ch == delimiter and not in_quotes:
                n += 1
        counts[delimiter] = n
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def open_text(path: Path, display_name: str, encoding: str) -> TextIO:
    errors = "replace" if encoding == "cp1252" else "strict"
    return io.TextIOWrapper(open_binary(path, display_name), encoding=encoding, errors=errors, newline="")


def sniff_dialect(path: Path, display_name: str) -> CsvDialect:
    encoding = detect_encoding(path, display_name)
    try:
        with open_text(path, display_name, encoding) as text:
            first = text.readline(1024 * 1024)
    except UnicodeDecodeError:  # UTF-16 is told by its first bytes only; the rest may not be
        raise ImportProblem(
            f"{display_name} starts like {encoding.upper()} text but its first line cannot be read as such; "
            "save it again as UTF-8 CSV.",
            file=display_name,
            where="line 1",
        ) from None
    return CsvDialect(encoding=encoding, delimiter=_choose_delimiter(first))


def _csv_problem(exc: csv.Error, display_name: str, line: int) -> ImportProblem:
    """The sentence for a CSV syntax error; a cell over ``MAX_CELL_CHARS`` gets its own."""
    if "field larger than field limit" in str(exc):
        what = (f"has a cell larger than {limits.size_text(limits.MAX_CELL_CHARS)} near line {line:,}, which no export field holds "
                "(a missing closing quote or a damaged file); export it again")
    else:
        what = (f"cannot be read as CSV near line {line} ({exc}); the file may be cut off or not a CSV export: "
                "export it again")
    return ImportProblem(f"{display_name} {what}.", file=display_name, where=f"line {line}")


class BoundedLines:
    """The lines of a CSV text for ``csv.reader``, refusing any line, or any row whose quoted
    cells span several lines, longer than ``limits.MAX_LINE_CHARS``.

    ``csv.reader`` pulls the lines of exactly one row per row it returns; the reader of the
    rows calls ``row_done`` after each, so ``row_chars`` counts the row being read. A line
    is read at most one character past the limit, so a file with no line break at all
    costs no more memory than the limit.
    """

    def __init__(self, text: TextIO, display_name: str):
        self._readline = text.readline
        self._display_name = display_name
        self._limit = limits.MAX_LINE_CHARS
        self.line = 0  # the number of the last line read (1-based)
        self.row_start = 1  # the line the row being read starts on
        self.row_chars = 0
        self._row_lines: list[str] = []
        self.last_row: list[str] = []  # the lines of the last whole row (to check how the file ends)
        self.last_row_start = 1

    def __iter__(self) -> BoundedLines:
        return self

    def __next__(self) -> str:
        line = self._readline(self._limit + 1)
        if not line:
            raise StopIteration
        self.line += 1
        self.row_chars += len(line)
        if self.row_chars > self._limit:
            self._too_long()
        self._row_lines.append(line)
        return line

    def row_done(self) -> None:
        self.last_row, self.last_row_start = self._row_lines, self.row_start
        self._row_lines = []
        self.row_start = self.line + 1
        self.row_chars = 0

    def check_last_row(self, delimiter: str) -> None:
        """At the end of the file: refuse it when its last row is a quote never closed.

        A lenient reader takes everything after an unclosed quote as one cell, up to the end
        of the file; that is a cut-off download or a damaged file, and the rows it swallowed
        would be lost without a word. A well-formed row spanning lines is left alone.
        """
        if len(self.last_row) < 2:
            return
        try:
            for _ in csv.reader(self.last_row, delimiter=delimiter, strict=True):
                pass
        except csv.Error as exc:
            if "unexpected end of data" not in str(exc):
                return
            rest = self.line - self.last_row_start
            raise ImportProblem(
                f"{self._display_name} has a quote opened in the row on line {self.last_row_start:,} that is never "
                f"closed, so the rest of the file ({rest:,} more line{'s' if rest != 1 else ''}) would be read as one "
                "cell; the file may be cut off or damaged: export it again.",
                file=self._display_name,
                where=f"line {self.last_row_start}",
            ) from None

    def _too_long(self) -> None:
        size = limits.size_text(self._limit)
        if self.line == self.row_start:
            what = f"has a line longer than {size} (line {self.line:,})"
        else:
            what = f"has a row longer than {size} (lines {self.row_start:,} to {self.line:,}, perhaps a quote never closed)"
        raise ImportProblem(
            f"{self._display_name} {what}, which no export holds; check that the file is a complete, unedited CSV "
            "export and export it again.",
            file=self._display_name,
            where=f"line {self.row_start}",
        )


def too_many_columns(display_name: str, count: int, where: str = "its header row") -> ImportProblem:
    """The sentence for a header (or a row) with more than ``limits.MAX_COLUMNS`` cells."""
    return ImportProblem(
        f"{display_name} has {count:,} columns in {where}, more than the {limits.MAX_COLUMNS:,} this product reads; "
        "export fewer fields (Jira: Export > CSV (current fields)).",
        file=display_name,
        where=where,
    )


def read_header(text: TextIO, display_name: str, dialect: CsvDialect) -> list[str]:
    """The first row of a CSV text as it stands (not stripped), within the limits; [] when empty."""
    lines = BoundedLines(text, display_name)
    try:
        header = next(csv.reader(lines, delimiter=dialect.delimiter, strict=False), [])
    except csv.Error as exc:
        raise _csv_problem(exc, display_name, 1) from exc
    if len(header) > limits.MAX_COLUMNS:
        raise too_many_columns(display_name, len(header))
    return header


def read_rows(path: Path, display_name: str, dialect: CsvDialect | None = None) -> tuple[list[str], Iterator[list[str]]]:
    """The header (stripped names, repeats kept in position) and an iterator over the rows.

    Raises ImportProblem for an empty file, a file with too many columns, a line or row past
    the limits, or a cell that is cut off by the end of the file.
    """
    dialect = dialect or sniff_dialect(path, display_name)
    text = open_text(path, display_name, dialect.encoding)
    lines = BoundedLines(text, display_name)
    reader = csv.reader(lines, delimiter=dialect.delimiter, strict=False)
    try:
        header = next(reader)
    except StopIteration:
        text.close()
        raise ImportProblem(f"{display_name} is empty: no header row and no issues; export the issues again.", file=display_name)
    except csv.Error as exc:
        text.close()
        raise _csv_problem(exc, display_name, 1) from exc
    except UnicodeDecodeError as exc:
        text.close()
        raise ImportProblem(
            f"{display_name} has a header row that is not valid {dialect.encoding.upper()} text; save it again as UTF-8 CSV.",
            file=display_name,
            where="header row",
        ) from exc
    except BaseException:
        text.close()
        raise
    if len(header) > limits.MAX_COLUMNS:
        text.close()
        raise too_many_columns(display_name, len(header))
    header = [h.strip().lstrip("\ufeff") for h in header]
    lines.row_done()

    def rows() -> Iterator[list[str]]:
        max_cells = limits.MAX_COLUMNS
        try:
            for row in reader:
                if len(row) > max_cells:
                    raise too_many_columns(display_name, len(row), f"the row on line {lines.row_start:,}")
                lines.row_done()
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield row
            lines.check_last_row(dialect.delimiter)
        except csv.Error as exc:
            raise _csv_problem(exc, display_name, lines.row_start) from exc
        except UnicodeDecodeError as exc:
            raise ImportProblem(
                f"{display_name} has bytes that are not valid {dialect.encoding} near line {lines.line + 1:,}; save it again as UTF-8.",
                file=display_name,
            ) from exc
        finally:
            text.close()

    return header, rows()
