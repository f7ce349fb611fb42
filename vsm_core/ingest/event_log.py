"""Event logs: one row per status change (or status event), in CSV or Parquet.

Each row names an issue, the status it went into and when; optionally the status it
left, the issue type, created date, summary and author. Columns are found by common
names (``key``/``case_id``, ``status``/``to_status``/``activity``, ``time``/``timestamp``
...) case-insensitively, or named explicitly through ``ReadOptions.columns``
(``{"key": ..., "status": ..., "time": ...}``).

The file may be in any order. It is read column-wise with pyarrow (``pyarrow.csv`` for
UTF-8 CSV, the tolerant ``csvfiles`` reader otherwise), times are converted vectorised
where the text allows, and rows are sorted by (key, time) with a stable sort so rows at
the same time keep the file's order. Only the per-event hand-over to the sink is a Python
loop. A million events import in a few seconds.

Because the whole log is sorted in memory, it may hold at most ``limits.MAX_EVENT_LOG_ROWS``
rows and ``limits.MAX_EVENT_LOG_TEXT_BYTES`` of text in the columns used; both are counted
while reading, so a larger file is refused before it fills the memory.

Initial status policy, per issue, events sorted by time:

* the first event has a from-status: that is the initial status and every event is a change;
* no created column (or no readable created value): created is the first event's time and
  the first event's status is the initial status, not a change;
* a created column without from-status: the first event's status is taken as the initial
  status from created, and no change is emitted for that event. When created is earlier
  than the first event, the status in between is not in the file; those issues are counted
  in one ``initial_status_assumed`` finding.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from vsm_core import limits
from vsm_core.ingest import csvfiles, tabular
from vsm_core.ingest.base import ReadOptions, file_size, open_binary
from vsm_core.ingest.sink import CanonicalSink
from vsm_core.problems import ImportProblem
from vsm_core.timeparse import UTC

FORMAT = "event-log"

# Preference order within each role: the first name found wins.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "key": (
        "key", "issue_key", "issuekey", "issue", "case_id", "case_concept_name", "case", "item", "item_id", "id",
        "ticket",
    ),
    "status": ("to_status", "to_state", "new_status", "to", "status", "state", "activity", "concept_name"),
    "time": ("time", "timestamp", "time_timestamp", "event_time", "changed_at", "changed", "date", "datetime"),
    "from": ("from_status", "from_state", "old_status", "previous_status", "from"),
    "type": ("issue_type", "issuetype", "type", "item_type"),
    "created": tabular.CREATED_NAMES,
    "summary": ("summary", "title"),
    "author": ("author", "changed_by", "user", "actor", "org_resource", "resource"),
}
REQUIRED = ("key", "status", "time")
TIME_ROLES = ("time", "created")


# -- sniffing --------------------------------------------------------------------------


def sniff(head: bytes) -> int:
    """How sure (0..100) the first bytes are an event log: key, status and time columns by name."""
    if head.startswith(tabular.PARQUET_MAGIC) and tabular.sample_head(head) is None:
        return 50  # a large Parquet file: its column names sit in the footer
    sample = tabular.sample_head(head)
    if sample is None:
        return 0
    header, rows = sample
    try:
        roles = resolve_columns(header, {}, "")
    except ImportProblem:
        return 0
    if rows and not tabular.is_date_column(rows, roles["time"]):
        return 10
    score = 70
    if rows and tabular.keys_repeat(rows, roles["key"]):
        score += 15
    if "from" in roles:
        score += 10
    return score


# -- columns ---------------------------------------------------------------------------


def resolve_columns(header: Sequence[str], explicit: dict[str, str], display_name: str) -> dict[str, int]:
    """Map roles (key, status, time, from, ...) to header indices.

    Explicit choices win (exact name, then case-insensitive); the rest are found by the
    common names in ``ROLE_NAMES``. Raises ImportProblem naming a missing required role.
    """
    names = [tabular.normalise_name(h) for h in header]
    unknown = set(explicit) - set(ROLE_NAMES)
    if unknown:
        raise ImportProblem(
            f"Column choices for {display_name} name unknown roles ({', '.join(sorted(unknown))}); "
            f"use {', '.join(ROLE_NAMES)}.",
            file=display_name,
        )
    roles: dict[str, int] = {}
    for role, wanted in explicit.items():
        index = _explicit_index(header, wanted)
        if index is None:
            raise ImportProblem(
                f"{display_name} has no column {wanted!r} for the {role} (found: {tabular.header_list(header)}); "
                "choose one of the columns found.",
                file=display_name,
            )
        roles[role] = index
    for role, candidates in ROLE_NAMES.items():
        if role not in roles:
            index = tabular.find_column(names, candidates, skip=roles.values())
            if index is not None:
                roles[role] = index
    missing = [role for role in REQUIRED if role not in roles]
    if missing:
        raise ImportProblem(
            f"{display_name} has no {' or '.join(missing)} column (found: {tabular.header_list(header)}); "
            "an event log needs one row per status change with the issue key, the status and the time: "
            "rename the columns to 'key', 'status' and 'time'.",
            file=display_name,
        )
    return roles


def _explicit_index(header: Sequence[str], wanted: str) -> int | None:
    for index, name in enumerate(header):
        if name == wanted:
            return index
    folded = wanted.strip().casefold()
    for index, name in enumerate(header):
        if name.strip().casefold() == folded:
            return index
    return None


# -- reading the columns ---------------------------------------------------------------


def read(path: Path, sink: CanonicalSink, options: ReadOptions) -> None:
    """Read an event log (CSV or Parquet) into ``sink``, one issue per key."""
    name = options.display_name
    total = file_size(path)
    report = options.progress or (lambda done, all_: None)
    columns = _read_columns(path, options)
    report(total // 2, total)
    try:
        events = _prepare_events(columns, options, sink)
    except (pa.ArrowException, TypeError) as exc:
        raise ImportProblem(
            f"{name} has columns this product cannot read as text or times ({exc}); save the key, status and "
            "time columns as plain text and import it again.",
            file=name,
        ) from exc
    if events.num_rows == 0:
        raise tabular.no_issues_problem(name)
    sink.meta["formats"].add(FORMAT)
    sink.note_history(True)
    _emit_issues(events, sink, lambda share: report(total // 2 + int(total * share) // 2, total))
    report(total, total)


def _read_columns(path: Path, options: ReadOptions) -> dict[str, pa.Array]:
    """The role columns of the file as Arrow arrays (text, or typed times from Parquet)."""
    name = options.display_name
    try:
        if tabular.is_parquet(path):
            return _read_parquet(path, options)
        return _read_csv(path, options)
    except pa.ArrowException as exc:
        raise ImportProblem(f"{name} cannot be read ({exc}); export it again.", file=name) from exc


class _Budget:
    """Counts the rows and text of an event log as it is read, against the limits."""

    def __init__(self, name: str):
        self.name = name
        self.rows = 0
        self.text = 0

    def add(self, rows: int, text: int) -> None:
        self.rows += rows
        self.text += text
        if self.rows > limits.MAX_EVENT_LOG_ROWS:
            self.too_many_rows(f"more than {limits.MAX_EVENT_LOG_ROWS:,}")
        if self.text > limits.MAX_EVENT_LOG_TEXT_BYTES:
            raise ImportProblem(
                f"{self.name} holds more than {limits.size_text(limits.MAX_EVENT_LOG_TEXT_BYTES)} of text in the columns "
                f"this product reads (by row {self.rows + 1:,}), more than an event log may have, as it is sorted in "
                "memory; check the key, status and time columns, or import fewer events per file.",
                file=self.name,
            )

    def too_many_rows(self, count: str) -> None:
        raise ImportProblem(
            f"{self.name} has {count} rows, more than the {limits.MAX_EVENT_LOG_ROWS:,} an event log may have "
            "(it is sorted in memory); import a shorter period or fewer projects per file.",
            file=self.name,
        )


def _read_parquet(path: Path, options: ReadOptions) -> dict[str, pa.Array]:
    name = options.display_name
    parquet = tabular.open_parquet(path, name)
    header = list(parquet.schema_arrow.names)
    budget = _Budget(name)
    if parquet.metadata.num_rows > limits.MAX_EVENT_LOG_ROWS:
        budget.too_many_rows(f"{parquet.metadata.num_rows:,}")
    roles = resolve_columns(header, options.columns, name)
    wanted = sorted(set(roles.values()))
    batches = []
    for batch, text in tabular.parquet_batches(path, name, [header[i] for i in wanted], batch_rows=256_000):
        budget.add(batch.num_rows, text)
        batches.append(batch)
    if not batches:
        return {role: pa.array([], pa.string()) for role in roles}
    table = pa.Table.from_batches(batches)
    by_index = {i: table.column(pos).combine_chunks() for pos, i in enumerate(wanted)}
    return {role: by_index[index] for role, index in roles.items()}


def _read_csv(path: Path, options: ReadOptions) -> dict[str, pa.Array]:
    name = options.display_name
    dialect = csvfiles.sniff_dialect(path, name)
    header = _csv_header(path, name, dialect)
    roles = resolve_columns(header, options.columns, name)
    if dialect.encoding in ("utf-8", "utf-8-sig"):
        try:
            return _read_csv_arrow(path, name, dialect, header, roles)
        except pa.ArrowInvalid:
            pass  # ragged rows or odd quoting: the tolerant reader below copes
    return _read_csv_python(path, name, dialect, roles)


def _csv_header(path: Path, name: str, dialect: csvfiles.CsvDialect) -> list[str]:
    with csvfiles.open_text(path, name, dialect.encoding) as text:
        try:
            header = csvfiles.read_header(text, name, dialect)
        except UnicodeDecodeError as exc:
            raise ImportProblem(
                f"{name} has an unreadable header row ({exc}); check that it is a CSV export.", file=name
            ) from exc
    if not header:
        raise ImportProblem(f"{name} is empty: no header row and no events; export the event log again.", file=name)
    return [h.strip().lstrip("\ufeff") for h in header]


def _read_csv_arrow(
    path: Path, name: str, dialect: csvfiles.CsvDialect, header: list[str], roles: dict[str, int]
) -> dict[str, pa.Array]:
    """Fast path: pyarrow's streaming CSV reader, every chosen column as text, counted against the limits."""
    column_names = [f"c{i}" for i in range(len(header))]
    wanted = [column_names[i] for i in sorted(set(roles.values()))]
    budget = _Budget(name)
    with open_binary(path, name) as handle:
        reader = pa_csv.open_csv(
            handle,
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=column_names, block_size=8 << 20),
            parse_options=pa_csv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                include_columns=wanted,
                column_types={c: pa.string() for c in wanted},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        batches = []
        for batch in reader:
            budget.add(batch.num_rows, sum(column.nbytes for column in batch.columns))
            batches.append(batch)
    table = pa.Table.from_batches(batches, schema=reader.schema)
    return {role: table.column(f"c{index}").combine_chunks() for role, index in roles.items()}


def _read_csv_python(path: Path, name: str, dialect: csvfiles.CsvDialect, roles: dict[str, int]) -> dict[str, pa.Array]:
    """Tolerant path: any encoding, short rows; slower but complete."""
    _, rows = csvfiles.read_rows(path, name, dialect)
    lists: dict[str, list] = {role: [] for role in roles}
    pairs = list(roles.items())
    budget = _Budget(name)
    for row in rows:
        width = len(row)
        text = 0
        for role, index in pairs:
            value = (row[index] or None) if index < width else None
            lists[role].append(value)
            text += len(value) if value else 0
        budget.add(1, text)
    return {role: pa.array(values, pa.string()) for role, values in lists.items()}


# -- times -----------------------------------------------------------------------------


def micros_array(values: pa.Array, timezone) -> pa.Array:
    """Times as int64 microseconds UTC (null when empty or unreadable), vectorised when possible.

    Typed timestamps are used as they are (naive ones read in ``timezone``); text is cast
    by Arrow's ISO 8601 parser, and only when that fails is each distinct text parsed by
    ``tabular.DateReader`` (slash dates, mixed offsets).
    """
    kind = values.type
    if pa.types.is_dictionary(kind):
        values = values.cast(kind.value_type)
        kind = values.type
    if pa.types.is_date(kind):
        values = values.cast(pa.timestamp("us"))
        kind = values.type
    if pa.types.is_timestamp(kind):
        return _timestamps_to_micros(values, timezone)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _text_to_micros(pc.utf8_trim_whitespace(values.cast(pa.string())), timezone)
    raise ValueError(f"a column of {kind} is not a time")


def _timestamps_to_micros(values: pa.Array, timezone) -> pa.Array:
    if values.type.tz is None:
        zone = _arrow_zone(timezone)
        if zone is None:
            return _python_micros(values.cast(pa.timestamp("us")).to_pylist(), timezone)
        if zone != "UTC":
            values = pc.assume_timezone(values, timezone=zone, ambiguous="earliest", nonexistent="earliest")
    return values.cast(pa.timestamp("us", tz=values.type.tz), safe=False).cast(pa.int64())


def _text_to_micros(values: pa.Array, timezone) -> pa.Array:
    present = values.drop_null()
    first = present[0].as_py() if len(present) else ""
    if re.match(r"^\d{4}-\d{2}-\d{2}", first):
        for target in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
            try:
                return _timestamps_to_micros(values.cast(target), timezone)
            except pa.ArrowInvalid:
                continue
    sample = present.slice(0, 5000).to_pylist()
    reader = tabular.date_reader_for(sample, timezone)
    shaped = _strptime_all(values, first, reader.day_first)
    if shaped is not None:
        return _timestamps_to_micros(shaped, timezone)
    encoded = values.dictionary_encode()
    parsed = pa.array([_try_micros(reader, text) for text in encoded.dictionary.to_pylist()], pa.int64())
    return parsed.take(encoded.indices)


def _strptime_all(values: pa.Array, first: str, day_first: bool) -> pa.Array | None:
    """Vectorised parse when every text has the shape of the first (``05/02/2015 10:30``).

    Returns None when some text has another shape: the per-value reader then decides.
    """
    match = re.match(r"^\d{1,2}([/.\-])\d{1,2}\1\d{4}( \d{1,2}:\d{2}(:\d{2})?)?$", first)
    if match is None:
        return None
    separator, clock, seconds = match.groups()
    date_part = separator.join(("%d", "%m", "%Y") if day_first else ("%m", "%d", "%Y"))
    shape = date_part + (" %H:%M" if clock else "") + (":%S" if seconds else "")
    parsed = pc.strptime(values, format=shape, unit="us", error_is_null=True)
    return parsed if parsed.null_count == values.null_count else None


def _try_micros(reader: tabular.DateReader, text: str) -> int | None:
    try:
        return reader.micros(text)
    except (ValueError, OverflowError):
        return None


def _python_micros(values: list, timezone) -> pa.Array:
    reader = tabular.DateReader(timezone)
    return pa.array([None if v is None else reader.micros(v) for v in values], pa.int64())


def _arrow_zone(timezone) -> str | None:
    """The Arrow name of a tzinfo (IANA key or ``+HH:MM``); None when it has none."""
    if timezone is UTC:
        return "UTC"
    key = getattr(timezone, "key", None)
    if key:
        return key
    offset = timezone.utcoffset(None) if hasattr(timezone, "utcoffset") else None
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# -- events ----------------------------------------------------------------------------


def _prepare_events(columns: dict[str, pa.Array], options: ReadOptions, sink: CanonicalSink) -> pa.Table:
    """One table of usable events sorted by (key, time), with unreadable rows reported.

    For the time roles, ``<role>_bad`` keeps the text of cells that could not be read
    (null elsewhere), so that findings can quote them; it is left out when all are read.
    """
    name = options.display_name
    data: dict[str, pa.Array] = {}
    for role, values in columns.items():
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            values = _text_column(values)
        if role not in TIME_ROLES:
            data[role] = _text_column(values)
            continue
        try:
            data[role] = micros_array(values, options.timezone)
        except ValueError as exc:
            raise ImportProblem(
                f"{name} has a {role} column that holds no dates ({exc}); choose the column with the dates.", file=name
            ) from exc
        unreadable = pc.and_(pc.is_valid(values), pc.is_null(data[role]))
        if pc.any(unreadable).as_py():
            data[role + "_bad"] = pc.if_else(unreadable, values.cast(pa.string()), pa.scalar(None, pa.string()))
    table = pa.table(data)
    table = _drop_incomplete(table, sink, name)
    order = pc.sort_indices(table, sort_keys=[("key", "ascending", "at_end"), ("time", "ascending", "at_end")])
    return table.take(order)


def _text_column(values: pa.Array) -> pa.Array:
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _drop_incomplete(table: pa.Table, sink: CanonicalSink, name: str) -> pa.Table:
    """Rows without a key, a status or a time cannot be placed: drop them, saying how many.

    Rows whose time is present but unreadable stay: each issue reports its own.
    """
    no_key = pc.is_null(table["key"])
    no_status = pc.and_(pc.invert(no_key), pc.is_null(table["status"]))
    no_time = pc.is_null(table["time"])
    if "time_bad" in table.column_names:
        no_time = pc.and_(no_time, pc.is_null(table["time_bad"]))
    no_time = pc.and_(pc.invert(pc.or_(no_key, no_status)), no_time)
    checks = (
        (no_key, "row_without_key", "an issue key"),
        (no_status, "event_without_status", "a status"),
        (no_time, "event_without_time", "a time"),
    )
    for mask, code, what in checks:
        count = pc.sum(mask.cast(pa.int64())).as_py() or 0
        if count:
            sink.add_finding(code, f"{count:,} rows of {name} have no {what} and were left out.")
    return table.filter(pc.invert(pc.or_(pc.or_(no_key, no_status), no_time)))


def _emit_issues(events: pa.Table, sink: CanonicalSink, progress) -> None:
    """Hand each key's events to the sink as one issue and its status changes."""
    cols = {name: events.column(name).to_pylist() for name in events.column_names}
    keys = cols["key"]
    n = len(keys)
    issue = _IssueEvents(sink, cols)
    start = 0
    next_report = 200_000
    for index in range(1, n + 1):
        if index == n or keys[index] != keys[start]:
            issue.emit(start, index)
            start = index
            if index >= next_report:
                progress(index / n)
                next_report += 200_000
    issue.finish()


class _IssueEvents:
    """Turns one key's sorted events into an issue row and status changes (policy in the module doc)."""

    def __init__(self, sink: CanonicalSink, cols: dict[str, list]):
        self.sink = sink
        self.cols = cols
        none = [None] * len(cols["key"])
        self.keys, self.times, self.statuses = cols["key"], cols["time"], cols["status"]
        self.froms, self.authors = cols.get("from", none), cols.get("author", none)
        self.summaries, self.types = cols.get("summary", none), cols.get("type", none)
        self.assumed = 0

    def emit(self, start: int, end: int) -> None:
        key = self.keys[start]
        times, statuses, froms, authors = self.times, self.statuses, self.froms, self.authors
        readable = start
        while readable < end and times[readable] is not None:
            readable += 1
        if readable < end:
            self._report_unreadable(key, "time", start, end)
        created = self._created(key, start, end)
        summary = _first(self.summaries, start, end)
        kind = _first(self.types, start, end)
        if readable == start:
            self.sink.add_issue(key=key, created=created, summary=summary, type=kind)
            return
        first = start
        if froms[first] is None:
            if created is not None and created < times[first]:
                self.assumed += 1
            first += 1  # the first event's status is the initial status, not a change
        created = times[start] if created is None else created
        seq = self.sink.add_issue(key=key, created=created, status=statuses[readable - 1], summary=summary, type=kind)
        previous = froms[start] if froms[start] is not None else statuses[start]
        for position in range(first, readable):
            to_status = statuses[position]
            from_status = froms[position] if froms[position] is not None else previous
            self.sink.add_status_change(
                seq, key, times[position], from_status, to_status, authors[position], None, position - start
            )
            previous = to_status

    def _created(self, key: str, start: int, end: int) -> int | None:
        if "created" not in self.cols:
            return None
        self._report_unreadable(key, "created", start, end)
        readable = [v for v in self.cols["created"][start:end] if v is not None]
        return min(readable) if readable else None

    def _report_unreadable(self, key: str, role: str, start: int, end: int) -> None:
        texts = self.cols.get(role + "_bad")
        if texts is None:
            return
        bad = [texts[i] for i in range(start, end) if texts[i] is not None]
        if not bad:
            return
        what = "event time" if role == "time" else "created date"
        plural = "s" if len(bad) > 1 else ""
        outcome = "those events are left out" if role == "time" else "the readable ones are used"
        self.sink.add_finding(
            "unreadable_date", f"{key}: {len(bad)} {what}{plural} cannot be read (e.g. {bad[0]!r}); {outcome}.", key
        )

    def finish(self) -> None:
        if self.assumed:
            self.sink.add_finding(
                "initial_status_assumed",
                f"{self.assumed:,} issues were created before their first event and the file has no from-status: "
                "their first recorded status is counted from creation.",
                severity="info",
            )


def _first(values: list, start: int, end: int):
    for i in range(start, end):
        if values[i] is not None:
            return values[i]
    return None
