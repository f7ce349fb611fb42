"""Opening CSV files as real exports come: any encoding Excel or Jira writes, any delimiter.

Encodings: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), and
Windows-1252 as the fallback when the bytes are not valid UTF-8. Delimiters: comma,
semicolon or tab, chosen from the header line. Quoted cells may hold CRLF or LF newlines.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TextIO

from vsm_core.ingest.base import MAX_CELL_BYTES, MAX_CSV_COLUMNS, open_binary
from vsm_core.problems import ImportProblem

csv.field_size_limit(MAX_CELL_BYTES)

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
    """The sentence for a CSV syntax error; a cell over ``MAX_CELL_BYTES`` gets its own."""
    if "field larger than field limit" in str(exc):
        what = (f"has a cell larger than {MAX_CELL_BYTES // 1024**2} MB near line {line}, which no export field holds "
                "(a missing closing quote or a damaged file); export it again")
    else:
        what = (f"cannot be read as CSV near line {line} ({exc}); the file may be cut off or not a CSV export: "
                "export it again")
    return ImportProblem(f"{display_name} {what}.", file=display_name, where=f"line {line}")


def read_rows(path: Path, display_name: str, dialect: CsvDialect | None = None) -> tuple[list[str], Iterator[list[str]]]:
    """The header (stripped names, repeats kept in position) and an iterator over the rows.

    Raises ImportProblem for an empty file, a file with too many columns, or a cell that
    is cut off by the end of the file.
    """
    dialect = dialect or sniff_dialect(path, display_name)
    text = open_text(path, display_name, dialect.encoding)
    reader = csv.reader(text, delimiter=dialect.delimiter, strict=False)
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
    if len(header) > MAX_CSV_COLUMNS:
        text.close()
        raise ImportProblem(
            f"{display_name} has {len(header):,} columns, more than the {MAX_CSV_COLUMNS:,} this product reads; "
            "export fewer fields (Jira: Export > CSV (current fields)).",
            file=display_name,
        )
    header = [h.strip().lstrip("\ufeff") for h in header]

    def rows() -> Iterator[list[str]]:
        line = 1
        try:
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield row
        except csv.Error as exc:
            raise _csv_problem(exc, display_name, line + 1) from exc
        except UnicodeDecodeError as exc:
            raise ImportProblem(
                f"{display_name} has bytes that are not valid {dialect.encoding} near line {line + 1}; save it again as UTF-8.",
                file=display_name,
            ) from exc
        finally:
            text.close()

    return header, rows()
