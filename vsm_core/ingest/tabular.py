"""What the tabular importers share: column names, rows from CSV or Parquet, plain dates.

The item-dates, event-log and time-in-status importers all read a table whose columns are
found by name, whose cells hold plain dates (``2015-02-05``, ``05/02/2015``, ISO with an
offset) and which may come as CSV or as Parquet. This module keeps those habits in one
place so the three formats read dates and headers the same way.

Slash dates (``05/02/2015``) are ambiguous. A file is read day-first unless some value
in it can only be month-first (``02/13/2015``); a value that contradicts the file's order
is still read the only way it can be, rather than rejected.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from vsm_core import limits
from vsm_core.ingest import csvfiles
from vsm_core.ingest.base import HEAD_BYTES, file_size, one_line
from vsm_core.problems import ImportProblem
from vsm_core.timeparse import UTC, to_micros

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from vsm_core.ingest.sink import CanonicalSink

PARQUET_MAGIC = b"PAR1"
SAMPLE_ROWS = 200

Cell = object  # str | None from CSV; typed values (datetime, float, ...) from Parquet
Progress = Callable[[int, int], None] | None

# -- column names ----------------------------------------------------------------------

KEY_NAMES = (
    "key", "issue_key", "issuekey", "id", "issue", "issue_id", "item", "item_id", "item_key", "ticket", "case_id",
)
SUMMARY_NAMES = ("summary", "name", "title")
TYPE_NAMES = ("type", "issue_type", "issuetype", "item_type", "work_item_type")
CREATED_NAMES = ("created", "created_date", "created_at", "creation_date", "date_created", "createddate", "created_on")
RESOLVED_NAMES = (
    "resolved", "resolved_date", "resolution_date", "resolutiondate", "resolved_at", "finished", "finished_date",
    "finished_at", "completed", "completed_date", "completed_at", "done_date", "closed_date", "closed_at", "end_date",
)
DONE_WORDS = (
    "done", "closed", "finished", "resolved", "released", "deployed", "complete", "completed", "cancelled",
    "canceled", "won't do", "wont do", "rejected", "duplicate", "delivered",
)


def normalise_name(name: object) -> str:
    """A header in a comparable form: lower case, runs of non-alphanumerics as one ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", str(name or "").strip().lower()).strip("_")


def find_column(names: Sequence[str], candidates: Sequence[str], skip: Iterable[int] = ()) -> int | None:
    """The index of the first normalised header equal to a candidate (candidates in preference order)."""
    taken = set(skip)
    for candidate in candidates:
        for index, name in enumerate(names):
            if name == candidate and index not in taken:
                return index
    return None


def key_column(header: Sequence[str], names: Sequence[str], display_name: str, how_to_name_it: str) -> int:
    """The position of the issue key (or id) column, or one sentence saying it is missing."""
    key = find_column(names, KEY_NAMES)
    if key is None:
        raise ImportProblem(
            f"{display_name} has no issue key column (found: {header_list(header)}); {how_to_name_it}",
            file=display_name,
        )
    return key


def header_list(header: Sequence[str], limit: int = 15) -> str:
    """The headers found, for a problem sentence: the first ``limit`` and how many more."""
    shown = [str(h)[:60] for h in header[:limit]]
    more = len(header) - limit
    text = ", ".join(shown) or "no columns"
    return f"{text} and {more:,} more" if more > 0 else text


def is_done_name(name: str | None) -> bool:
    """True for status names that mean finished work (done, closed, won't do...)."""
    text = (name or "").strip().lower()
    return any(text == word or text.startswith(word + " ") for word in DONE_WORDS)


def first_slice(items: Iterable, n: int) -> list:
    """The first ``n`` items of an iterable, as a list."""
    out = []
    for item in items:
        out.append(item)
        if len(out) >= n:
            break
    return out


# -- reading rows ----------------------------------------------------------------------


def is_parquet(path: Path) -> bool:
    """Parquet files start with ``PAR1``; anything else is read as (maybe gzipped) CSV."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def read_rows(path: Path, display_name: str, progress: Progress = None) -> tuple[list[str], Iterator[list[Cell]]]:
    """The header and an iterator of rows, from a CSV (any encoding) or a Parquet file.

    CSV cells are text (empty text for an empty cell); Parquet cells keep their types
    (``datetime`` for timestamp columns, numbers, ``None``). Progress is reported as
    (bytes read, total bytes), estimated from the text read for CSV.
    """
    if is_parquet(path):
        return _parquet_rows(path, display_name, progress)
    header, rows = csvfiles.read_rows(path, display_name)
    if progress is None:
        return header, rows
    return header, _with_progress(rows, file_size(path), progress)


def _with_progress(rows: Iterator[list[str]], total: int, progress: Callable[[int, int], None]) -> Iterator[list[str]]:
    done = 0
    for count, row in enumerate(rows, 1):
        done += sum(map(len, row)) + len(row)
        if count % 5000 == 0:
            progress(min(done, total), total)
        yield row
    progress(total, total)


def rows_by_key(sample: list[list[Cell]], rows: Iterable[list[Cell]], key_column: int,
                sink: "CanonicalSink", display_name: str) -> Iterator[tuple[str, list[Cell]]]:
    """Every row (the sample first) with its issue key; rows without a key are counted and
    reported in one finding, never silently dropped."""
    without_key = 0
    for row in itertools.chain(sample, rows):
        key = text_of(cell_at(row, key_column))
        if key is None:
            without_key += 1
            continue
        yield key, row
    if without_key:
        sink.add_finding("row_without_key", f"{without_key:,} rows of {display_name} have no issue key and were left out.")


def open_parquet(path, display_name: str, read_dictionary: Sequence[str] | None = None):
    """A ``pyarrow.parquet.ParquetFile`` (of a path or a file object), or one sentence when
    the file is not readable Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if hasattr(path, "seek"):
        path.seek(0)
    try:
        return pq.ParquetFile(path, read_dictionary=read_dictionary)
    except (pa.ArrowException, OSError) as exc:
        raise ImportProblem(
            f"{display_name} cannot be read as Parquet ({exc}); export it again or save it as CSV.", file=display_name
        ) from exc


def parquet_batches(source, display_name: str, columns: Sequence[str] | None = None, *, batch_rows: int = 10_000,
                    max_rows: int | None = None) -> Iterator[tuple[pa.RecordBatch, int]]:
    """The rows of a Parquet file (a path or a file object) as record batches, each with the
    bytes of text it holds, within ``vsm_core.limits``.

    A few kilobytes of Parquet can expand to gigabytes: compression, and dictionaries whose
    one long value every row repeats. So before anything is expanded: the columns are
    counted, the uncompressed size the file declares is checked, and text columns are read
    as dictionaries; each batch's text is measured from them (every cell, every row and the
    running total against the limits), then decoded in slices of at most
    ``limits.TEXT_BATCH_BYTES``. Stops after ``max_rows`` rows when given.
    """
    import pyarrow as pa

    parquet = open_parquet(source, display_name)
    schema = parquet.schema_arrow
    if len(schema.names) > limits.MAX_COLUMNS:
        raise csvfiles.too_many_columns(display_name, len(schema.names), "its schema")
    meta = parquet.metadata
    declared = sum(meta.row_group(g).column(c).total_uncompressed_size
                   for g in range(meta.num_row_groups) for c in range(meta.num_columns))
    if declared > limits.MAX_EXPANDED_BYTES:
        raise expanded_problem(display_name, "by the sizes its metadata declares")
    wanted = set(columns) if columns is not None else set(schema.names)
    texts = sorted({f.name for f in schema if f.name in wanted and _is_text(f.type)})
    parquet = open_parquet(source, display_name, read_dictionary=texts)
    total = 0
    first_row = 0
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=None if columns is None else list(columns)):
            if max_rows is not None and first_row + batch.num_rows > max_rows:
                batch = batch.slice(0, max(0, max_rows - first_row))
            sizes = _text_sizes(batch, display_name, first_row)
            total += int(sizes.sum()) if len(sizes) else 0
            if total > limits.MAX_EXPANDED_BYTES:
                raise expanded_problem(display_name, f"its text, by row {first_row + batch.num_rows + 1:,}")
            yield from _decoded_slices(batch, sizes)
            first_row += batch.num_rows
            if max_rows is not None and first_row >= max_rows:
                return
    except (pa.ArrowException, OSError) as exc:
        raise ImportProblem(
            f"{display_name} has a damaged part after row {first_row:,} ({exc}); export it again.", file=display_name
        ) from exc


def expanded_problem(display_name: str, what: str) -> ImportProblem:
    return ImportProblem(
        f"{display_name} expands to more than {limits.size_text(limits.MAX_EXPANDED_BYTES)} when uncompressed ({what}); "
        "export a smaller part of the data, or check that the file is an export and not a damaged or hostile one.",
        file=display_name,
    )


def _is_text(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind) \
        or pa.types.is_large_binary(kind)


def _text_sizes(batch, display_name: str, first_row: int):
    """Characters (bytes) of text per row of a batch, computed without expanding a
    dictionary column; a cell or a row past the limits is refused with its row number."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    sizes = np.zeros(batch.num_rows, dtype=np.int64)
    for name, column in zip(batch.schema.names, batch.columns):
        kind = column.type
        if pa.types.is_dictionary(kind) and _is_text(kind.value_type):
            lengths = pc.take(pc.binary_length(column.dictionary), column.indices)
        elif _is_text(kind):
            lengths = pc.binary_length(column)
        else:
            continue
        lengths = lengths.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        if len(lengths) and lengths.max() > limits.MAX_CELL_CHARS:
            row = first_row + int(lengths.argmax()) + 2  # numbered like a CSV: the header is row 1
            raise ImportProblem(
                f"{display_name} has a text value of {int(lengths.max()):,} characters in column "
                f"{one_line(name, 60)!r}, row {row:,}, more than the {limits.size_text(limits.MAX_CELL_CHARS)} "
                "one value may hold; check that the file is an export and not a damaged or hostile one.",
                file=display_name, where=f"row {row}",
            )
        sizes += lengths
    if len(sizes) and sizes.max() > limits.MAX_LINE_CHARS:
        row = first_row + int(sizes.argmax()) + 2
        raise ImportProblem(
            f"{display_name} has {int(sizes.max()):,} characters of text in row {row:,}, more than the "
            f"{limits.size_text(limits.MAX_LINE_CHARS)} one row may hold; check that the file is an export and not a "
            "damaged or hostile one.",
            file=display_name, where=f"row {row}",
        )
    return sizes


def _decoded_slices(batch, sizes):
    """The batch with its dictionary columns decoded, in slices of bounded text."""
    import numpy as np
    import pyarrow as pa

    budget = limits.TEXT_BATCH_BYTES
    start = 0
    ends = np.cumsum(sizes)
    while start < batch.num_rows:
        base = int(ends[start - 1]) if start else 0
        stop = int(np.searchsorted(ends, base + budget, side="right"))
        stop = max(stop, start + 1)
        piece = batch.slice(start, stop - start)
        columns = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in piece.columns]
        yield pa.RecordBatch.from_arrays(columns, names=piece.schema.names), int(ends[stop - 1] - base)
        start = stop
    if batch.num_rows == 0:
        yield batch, 0


def read_sampled(path: Path, display_name: str, progress: Progress) -> tuple[list[str], Iterator[list[Cell]], list[list[Cell]]]:
    """The header, the rest of the rows, and the first rows as a sample (taken from the row
    iterator: a reader handles the sample first, then the rest); no data rows is refused."""
    header, rows = read_rows(path, display_name, progress)
    sample = first_slice(rows, SAMPLE_ROWS)
    if not sample:
        raise no_issues_problem(display_name)
    return header, rows, sample


def _parquet_rows(path: Path, display_name: str, progress: Progress) -> tuple[list[str], Iterator[list[Cell]]]:
    parquet = open_parquet(path, display_name)
    header = [str(name).strip() for name in parquet.schema_arrow.names]
    total = file_size(path)
    row_total = max(parquet.metadata.num_rows, 1)
    batches = parquet_batches(path, display_name)

    def rows() -> Iterator[list[Cell]]:
        seen = 0
        for batch, _ in batches:
            columns = [python_values(column) for column in batch.columns]
            yield from (list(row) for row in zip(*columns))
            seen += batch.num_rows
            if progress is not None:
                progress(min(total, total * seen // row_total), total)

    return header, rows()


def python_values(column) -> list[Cell]:
    """A Parquet column's cells as Python values.

    Parquet can hold times and dates Python cannot (a year past 9999, or before year 1 once
    shifted into the column's zone); such a cell becomes text saying so, which the date
    readers then report as an unreadable date, instead of the whole file failing.
    """
    import pyarrow as pa

    try:
        return column.to_pylist()
    except (OverflowError, ValueError, pa.ArrowException):  # pandas' OutOfBoundsDatetime is a ValueError
        return [_python_value(scalar) for scalar in column]


def _python_value(scalar) -> Cell:
    import pyarrow as pa

    try:
        return scalar.as_py()
    except (OverflowError, ValueError, pa.ArrowException):
        return f"a {scalar.type} value out of range"


def text_of(cell: Cell) -> str | None:
    """A cell as stripped text, or None when empty."""
    if cell is None:
        return None
    text = cell.strip() if isinstance(cell, str) else str(cell)
    return text or None


def cell_at(row: Sequence[Cell], index: int | None) -> Cell:
    """The cell at ``index``, or None when the column is absent or the row is short."""
    if index is None or index >= len(row):
        return None
    return row[index]


# -- plain dates -----------------------------------------------------------------------

_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
_NUMERIC_DATE = re.compile(
    r"^(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?\s*([AaPp][Mm])?)?$"
)


def looks_like_date(cell: Cell) -> bool:
    """True when a cell reads as a plain date or datetime (used to classify columns)."""
    if isinstance(cell, (datetime, date)):
        return True
    if not isinstance(cell, str):
        return False
    text = cell.strip()
    return bool(text) and (_ISO_START.match(text) is not None or _NUMERIC_DATE.match(text) is not None)


def slash_order(cells: Iterable[Cell]) -> bool | None:
    """Day-first (True), month-first (False) or undecided (None) from sample date texts."""
    for cell in cells:
        match = _NUMERIC_DATE.match(cell.strip()) if isinstance(cell, str) else None
        if match is None or len(match.group(1)) == 4:
            continue
        first, second = int(match.group(1)), int(match.group(3))
        if first > 12 >= second:
            return True
        if second > 12 >= first:
            return False
    return None


class DateReader:
    """Turns date cells into microseconds UTC; naive values are read in ``timezone``.

    ``day_first`` settles ``05/02/2015`` (5 February when True). Results are memoised:
    tabular exports repeat the same dates many times.
    """

    def __init__(self, timezone: tzinfo = UTC, day_first: bool = True):
        self.timezone = timezone
        self.day_first = day_first
        self._memo: dict[str, int] = {}

    def micros(self, cell: Cell) -> int | None:
        """Microseconds UTC for a cell; None when empty; ValueError when not a date."""
        if cell is None:
            return None
        if isinstance(cell, datetime):
            return to_micros(cell, self.timezone)
        if isinstance(cell, date):
            return to_micros(datetime(cell.year, cell.month, cell.day), self.timezone)
        if not isinstance(cell, str):
            raise ValueError(f"{cell!r} is not a date")
        text = cell.strip()
        if not text:
            return None
        cached = self._memo.get(text)
        if cached is None:
            cached = to_micros(self._parse(text), self.timezone)
            if len(self._memo) > 200_000:
                self._memo.clear()
            self._memo[text] = cached
        return cached

    def _parse(self, text: str) -> datetime:
        if _ISO_START.match(text):
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                pass
        match = _NUMERIC_DATE.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a date")
        return _numeric_datetime(match, self.day_first)


def _numeric_datetime(match: re.Match, day_first: bool) -> datetime:
    a, _, b, c, hour, minute, second, fraction, meridiem = match.groups()
    if len(a) == 4:
        year, month, day = int(a), int(b), int(c)
        orders = [(month, day)]
    else:
        year = int(c) + (2000 if len(c) <= 2 and int(c) < 70 else 1900 if len(c) <= 2 else 0)
        first, second_part = int(a), int(b)
        orders = [(second_part, first), (first, second_part)]
        if not day_first:
            orders.reverse()
    h = int(hour or 0)
    if meridiem:
        h = h % 12 + (12 if meridiem.lower() == "pm" else 0)
    micro = int((fraction or "0").ljust(6, "0"))
    for month, day in orders:
        try:
            return datetime(year, month, day, h, int(minute or 0), int(second or 0), micro)
        except ValueError:
            continue
    raise ValueError(f"{match.group(0)!r} is not a date")


def date_reader_for(cells: Iterable[Cell], timezone: tzinfo) -> DateReader:
    """A DateReader whose slash order suits the sample (day-first when undecided)."""
    order = slash_order(cells)
    return DateReader(timezone, day_first=order is not False)


# -- sniffing from the first bytes ------------------------------------------------------


def sample_head(head: bytes, max_rows: int = 50) -> tuple[list[str], list[list[Cell]]] | None:
    """Header and first rows of a table from its first bytes (CSV or a small Parquet file).

    Returns None when the bytes are not a table this module can read. A last line cut off
    by the end of ``head`` is left out.
    """
    if head.startswith(PARQUET_MAGIC):
        return _sample_parquet(head, max_rows)
    text = _decode_head(head)
    if text is None:
        return None
    if len(head) >= HEAD_BYTES and "\n" in text:
        text = text[: text.rfind("\n")]
    lines = text.splitlines()
    if not lines:
        return None
    delimiter = _delimiter(lines[0])
    try:
        rows = first_slice(csv.reader(io.StringIO(text), delimiter=delimiter, strict=False), max_rows + 1)
    except csv.Error:
        return None
    if not rows:
        return None
    header = [h.strip().lstrip("\ufeff") for h in rows[0]]
    return header, [r for r in rows[1:] if any(c.strip() for c in r)]


def _decode_head(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return head[3:].decode("utf-8", errors="replace")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head[: len(head) - len(head) % 2].decode("utf-16", errors="replace")
    if b"\x00" in head[:200]:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # a character cut by the end of the head
            return head[: exc.start].decode("utf-8")
        return head.decode("cp1252", errors="replace")


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _sample_parquet(head: bytes, max_rows: int) -> tuple[list[str], list[list[Cell]]] | None:
    try:
        parquet = open_parquet(io.BytesIO(head), "the sample")
        names = [str(n) for n in parquet.schema_arrow.names]
        rows: list[list[Cell]] = []
        for batch, _ in parquet_batches(io.BytesIO(head), "the sample", batch_rows=max_rows, max_rows=max_rows):
            columns = [python_values(column) for column in batch.columns]
            rows.extend(list(r) for r in zip(*columns))
    except (ImportProblem, ValueError, KeyError, OSError, ArithmeticError):
        return None  # only the start of a large file (the schema sits in its footer), or beyond the limits
    return names, rows


def column_cells(rows: Sequence[Sequence[Cell]], index: int) -> list[Cell]:
    """The non-empty cells of one column in sample rows."""
    cells = (cell_at(row, index) for row in rows)
    return [c for c in cells if c is not None and not (isinstance(c, str) and not c.strip())]


def is_date_column(rows: Sequence[Sequence[Cell]], index: int, share: float = 0.8) -> bool:
    """True when a column has values and at least ``share`` of them look like dates."""
    cells = column_cells(rows, index)
    return bool(cells) and sum(looks_like_date(c) for c in cells) >= share * len(cells)


def keys_repeat(rows: Sequence[Sequence[Cell]], index: int) -> bool:
    """True when a key appears on more than one sample row (an event log, not one row per issue)."""
    keys = [text_of(c) for c in column_cells(rows, index)]
    return len(set(keys)) < len(keys)


def no_issues_problem(display_name: str) -> ImportProblem:
    """The problem raised for a file with a header but no data rows."""
    return ImportProblem(
        f"No issues found in {display_name}: it has a header but no data rows; "
        "export it again with the issues included.",
        file=display_name,
    )
