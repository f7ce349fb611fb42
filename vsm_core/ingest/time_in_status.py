"""Time-in-status exports (marketplace apps): one row per issue, one duration column per status.

A row holds the key, optionally Summary, Type, Created, Resolved, Updated and the current
Status, then for each status the total time the issue spent in it: a number (hours unless
the header names a unit, e.g. ``In Progress (days)``, ``Review (h)``, ``QA (minutes)``) or a
text duration (``2d 3h 15m``, ``1w 2d``, ``1.5d``, ``45m``, ``01:30:00``, ``36:15`` = h:mm).

Policies (decided):

* Durations are calendar time: 1d = 24 hours, 1w = 7 days.
* The file gives the total time per status, not the order or the number of visits. The
  timeline is synthesised: the issue starts at Created in the first status column with
  time, and visits each status column with time once, in column order, each for its total.
  Zero and empty durations are skipped. This is stated in one ``synthetic_order`` finding.
* Without a Created column the visits end at Resolved, else at the row's latest date,
  else at the latest date in the file, and are laid out backwards from there.
* When the Status column names a status other than the last one visited, the issue moves
  into it at the end of the last visit, so the current status always matches the timeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from vsm_core.ingest import tabular
from vsm_core.ingest.base import ReadOptions
from vsm_core.ingest.sink import CanonicalSink
from vsm_core.ingest.tabular import Cell, DateReader, cell_at, text_of
from vsm_core.problems import ImportProblem

FORMAT = "time-in-status"

HOUR_US = 3_600_000_000
MAX_HOURS = 100 * 8_766.0  # a century: no status holds real work longer
STATUS_NAMES = ("status", "current_status", "issue_status")
UPDATED_NAMES = ("updated", "updated_at", "last_updated")
DATE_NAMES = frozenset(tabular.CREATED_NAMES + tabular.RESOLVED_NAMES + UPDATED_NAMES)
# Columns that describe the issue, never a status it spent time in. Date names are not
# here: a "Resolved" column of durations is the time in the Resolved status.
META_NAMES = frozenset(
    tabular.KEY_NAMES + tabular.SUMMARY_NAMES + tabular.TYPE_NAMES + STATUS_NAMES
    + ("assignee", "reporter", "creator", "priority", "project", "resolution", "labels", "components", "sprint",
       "epic", "epic_link", "parent", "due_date", "fix_version", "fix_versions", "team", "link", "url",
       "status_category")
)
# Words that mark a number column that is not a time in one status (totals, counts, sizes).
NOT_STATUS_WORDS = frozenset(
    ("total", "sum", "count", "transitions", "average", "avg", "estimate", "points", "id", "number", "sprint",
     "version", "project", "task", "days", "spent", "remaining")
)
NOT_STATUS_PHRASES = ("lead_time", "cycle_time", "time_spent", "story_point")
UNIT_HOURS = {
    "w": 168.0, "wk": 168.0, "wks": 168.0, "week": 168.0, "weeks": 168.0,
    "d": 24.0, "day": 24.0, "days": 24.0,
    "h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0,
    "m": 1 / 60, "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60,
    "s": 1 / 3600, "sec": 1 / 3600, "secs": 1 / 3600, "second": 1 / 3600, "seconds": 1 / 3600,
}
_UNIT_WORDS = "|".join(sorted(UNIT_HOURS, key=len, reverse=True))
# No ``\s*`` before the bracket: with the lazy name before it, a run of blanks in a header
# would be scanned once per position (quadratic; minutes for a 64 KB header cell). The
# name is stripped afterwards instead.
_HEADER_UNIT = re.compile(rf"^(.*?)[(\[]\s*(?:in\s+)?({_UNIT_WORDS})\s*[)\]]\s*$", re.IGNORECASE)
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
_CLOCK = re.compile(r"^(\d+):(\d{2})(?::(\d{2}))?$")
_TOKEN = re.compile(rf"(\d+(?:[.,]\d+)?)\s*({_UNIT_WORDS})(?![a-z])", re.IGNORECASE)
_TOKENS = re.compile(rf"^(?:\s*\d+(?:[.,]\d+)?\s*(?:{_UNIT_WORDS})(?![a-z]),?)+\s*$", re.IGNORECASE)


# -- durations -------------------------------------------------------------------------


def duration_hours(cell: Cell, unit_hours: float = 1.0) -> float | None:
    """Hours in a duration cell; None when empty; ValueError when not a duration.

    Plain numbers are in ``unit_hours`` (hours per unit); ``2d 3h 15m``, ``1w 2d``,
    ``1.5d`` carry their units; ``01:30:00`` and ``36:15`` are hours:minutes[:seconds].
    A time of more than ``MAX_HOURS`` (a century) in one status is no duration of real work
    but a garbled cell, and would overflow the timeline arithmetic: it is refused too.
    """
    hours = _hours(cell, unit_hours)
    if hours is not None and not 0 <= hours <= MAX_HOURS:
        raise ValueError(f"{str(cell)[:40]!r} is not a duration")
    return hours


def _hours(cell: Cell, unit_hours: float) -> float | None:
    """Hours as the cell writes them, before the plausibility check of ``duration_hours``."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise ValueError(f"{cell!r} is not a duration")
    if isinstance(cell, (int, float)):
        if cell != cell or cell < 0:
            raise ValueError(f"{cell!r} is not a duration")
        return float(cell) * unit_hours
    text = str(cell).strip()
    if not text:
        return None
    if _NUMBER.match(text):
        return float(text.replace(",", ".")) * unit_hours
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours) + int(minutes) / 60 + int(seconds or 0) / 3600
    if _TOKENS.match(text):
        return sum(float(n.replace(",", ".")) * UNIT_HOURS[u.lower()] for n, u in _TOKEN.findall(text))
    raise ValueError(f"{text[:40]!r} is not a duration")


def is_text_duration(cell: Cell) -> bool:
    """True for durations written with units or as a clock (strong evidence of this format)."""
    text = cell.strip() if isinstance(cell, str) else ""
    return bool(text) and not _NUMBER.match(text) and (_CLOCK.match(text) or _TOKENS.match(text)) is not None


def header_unit(header: str) -> tuple[str, float | None]:
    """The status name and hours per unit of a header like ``In Progress (days)``."""
    match = _HEADER_UNIT.match(header.strip())
    if match is None:
        return header.strip(), None
    return match.group(1).strip() or header.strip(), UNIT_HOURS[match.group(2).lower()]


# -- layout ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where each role sits in the header, and the status columns with their units."""

    key: int
    summary: int | None
    type: int | None
    created: int | None
    resolved: int | None
    updated: int | None
    status: int | None
    dates: tuple[int, ...]  # every date column, to end a timeline when Created is missing
    statuses: tuple[int, ...]
    status_names: tuple[str, ...]
    units: tuple[float, ...]  # hours per number, per status column


def _maybe_status_column(name: str) -> bool:
    if name in META_NAMES or set(name.split("_")) & NOT_STATUS_WORDS:
        return False
    return not any(phrase in name for phrase in NOT_STATUS_PHRASES)


def _duration_column(sample: Sequence[Sequence[Cell]], index: int, unit: float, name: str) -> bool:
    """Most (80%) sample values read as durations; a date-named column also needs one value.

    A few unreadable cells do not hide a status column: they become findings per issue.
    """
    cells = tabular.column_cells(sample, index)
    if not cells:
        return name not in DATE_NAMES  # an empty Resolved column is more likely a date than a status
    readable = 0
    for cell in cells:
        try:
            duration_hours(cell, unit)
            readable += 1
        except ValueError:
            pass
    return readable >= 0.8 * len(cells)


def detect_layout(header: Sequence[str], sample: Sequence[Sequence[Cell]], display_name: str) -> Layout:
    """Find key, attribute, date and status-duration columns from the header and first rows."""
    names = [tabular.normalise_name(h) for h in header]
    key = tabular.key_column(header, names, display_name, "name it 'Key' or 'Issue Key'.")
    dates = tuple(i for i in range(len(header)) if i != key and tabular.is_date_column(sample, i))
    named = [header_unit(h) for h in header]
    units_found = {unit for _, unit in named if unit is not None}
    default_unit = units_found.pop() if len(units_found) == 1 else 1.0
    statuses = []
    for index, (status_name, unit) in enumerate(named):
        bare = tabular.normalise_name(status_name)
        if index == key or index in dates or not _maybe_status_column(bare):
            continue
        if _duration_column(sample, index, unit or default_unit, bare):
            statuses.append((index, status_name, unit or default_unit))
    if not statuses:
        raise ImportProblem(
            f"{display_name} has no column of times per status (found: {tabular.header_list(header)}); "
            "a time-in-status export needs one column per status holding hours or durations like '2d 3h'.",
            file=display_name,
        )

    def date_column(candidates: Sequence[str]) -> int | None:
        index = tabular.find_column(names, candidates)
        return index if index in dates else None

    return Layout(
        key=key,
        summary=tabular.find_column(names, tabular.SUMMARY_NAMES),
        type=tabular.find_column(names, tabular.TYPE_NAMES),
        created=date_column(tabular.CREATED_NAMES),
        resolved=date_column(tabular.RESOLVED_NAMES),
        updated=date_column(UPDATED_NAMES),
        status=tabular.find_column(names, STATUS_NAMES),
        dates=dates,
        statuses=tuple(s[0] for s in statuses),
        status_names=tuple(s[1] for s in statuses),
        units=tuple(s[2] for s in statuses),
    )


# -- sniffing --------------------------------------------------------------------------


def sniff(head: bytes) -> int:
    """How sure (0..100) the first bytes are a time-in-status export.

    Needs a key column and at least two status columns of durations. Text durations
    (``2d 3h``) or unit markers in the headers are strong evidence; plain numbers alone
    are weaker, since many exports have number columns.
    """
    sample = tabular.sample_head(head)
    if sample is None:
        return 0
    header, rows = sample
    names = [tabular.normalise_name(h) for h in header]
    if not rows or "issue_id" in names:
        return 0  # issue_id: a Jira issue-navigator CSV
    try:
        layout = detect_layout(header, rows, "")
    except ImportProblem:
        return 0
    if len(layout.statuses) < 2 or tabular.keys_repeat(rows, layout.key):
        return 0
    texts = any(is_text_duration(c) for i in layout.statuses for c in tabular.column_cells(rows, i))
    marked = any(header_unit(header[i])[1] is not None for i in layout.statuses)
    if texts or marked:
        return 98  # above a Jira CSV's 95: these exports also carry Issue Key, Status and Created
    return 60 if len(layout.statuses) >= 3 else 40


# -- reading ---------------------------------------------------------------------------


def read(path: Path, sink: CanonicalSink, options: ReadOptions) -> None:
    """Read a time-in-status export (CSV or Parquet) into ``sink`` as synthetic timelines."""
    name = options.display_name
    header, rows, sample = tabular.read_sampled(path, name, options.progress)
    layout = detect_layout(header, sample, name)
    reader = tabular.date_reader_for((cell_at(r, i) for r in sample for i in layout.dates), options.timezone)
    fallback_end = None
    if layout.created is None:
        fallback_end = _latest_date(path, name, layout, reader)
    sink.meta["formats"].add(FORMAT)
    sink.note_history(True)
    note = (
        "This export gives the total time per status, not the order or number of visits: each status counts as "
        "one visit, in column order, and rework loops are not visible."
    )
    sink.meta["history_note"] = note
    sink.add_finding("synthetic_order", note, severity="info")
    timelines = _Timelines(sink, layout, reader, fallback_end)
    for key, row in tabular.rows_by_key(sample, rows, layout.key, sink, name):
        timelines.add(key, row)


def _latest_date(path: Path, name: str, layout: Layout, reader: DateReader) -> int:
    """The latest readable date in the file: where timelines end when nothing else says.

    Raises ImportProblem when the file has no date at all (no way to place the times).
    """
    latest = None
    _, rows = tabular.read_rows(path, name)
    for row in rows:
        for index in layout.dates:
            try:
                value = reader.micros(cell_at(row, index))
            except (ValueError, OverflowError):
                continue
            if value is not None and (latest is None or value > latest):
                latest = value
    if latest is None:
        raise ImportProblem(
            f"{name} has no Created column and no other dates, so the times per status cannot be placed on a "
            "calendar; export it again with the Created field (and Resolved if available).",
            file=name,
        )
    return latest


class _Timelines:
    """Turns one row's durations into an issue and synthetic status changes (policy in the module doc)."""

    def __init__(self, sink: CanonicalSink, layout: Layout, reader: DateReader, fallback_end: int | None):
        self.sink = sink
        self.layout = layout
        self.reader = reader
        self.fallback_end = fallback_end

    def add(self, key: str, row: Sequence[Cell]) -> None:
        layout = self.layout
        visits = self._visits(key, row)
        created = self._date(key, row, layout.created, "Created")
        resolved = self._date(key, row, layout.resolved, "Resolved")
        start = created if created is not None else self._start_from_end(key, row, resolved, visits)
        current = text_of(cell_at(row, layout.status)) or (visits[-1][1] if visits else None)
        seq = self.sink.add_issue(
            key=key, created=start, status=current, resolved=resolved,
            updated=self._date(key, row, layout.updated, "Updated"),
            summary=text_of(cell_at(row, layout.summary)), type=text_of(cell_at(row, layout.type)),
        )
        if start is None or not visits:
            return
        time = start
        for (_, before, spent), (column, status, _) in zip(visits, visits[1:]):
            time += spent
            self.sink.add_status_change(seq, key, time, before, status, None, None, column)
        if current is not None and current != visits[-1][1]:
            end = time + visits[-1][2]
            self.sink.add_status_change(seq, key, end, visits[-1][1], current, None, None, len(row) + 1)

    def _visits(self, key: str, row: Sequence[Cell]) -> list[tuple[int, str, int]]:
        """(column, status, microseconds) for each status column with time, in column order."""
        visits = []
        layout = self.layout
        for column, status, unit in zip(layout.statuses, layout.status_names, layout.units):
            cell = cell_at(row, column)
            try:
                hours = duration_hours(cell, unit)
            except ValueError:
                self.sink.add_finding(
                    "unreadable_duration", f"{key}: the time in {status} {cell!r} cannot be read; it is left out.", key
                )
                continue
            if hours:
                visits.append((column, status, round(hours * HOUR_US)))
        return visits

    def _start_from_end(self, key: str, row: Sequence[Cell], resolved: int | None, visits: list) -> int | None:
        end = resolved
        if end is None:
            row_dates = [self._date(key, row, i, "date", report=False) for i in self.layout.dates]
            end = max((d for d in row_dates if d is not None), default=self.fallback_end)
        if end is None:
            self.sink.add_finding("no_dates", f"{key} has no created date, so its times cannot be placed.", key)
            return None
        return end - sum(spent for _, _, spent in visits)

    def _date(self, key: str, row: Sequence[Cell], index: int | None, label: str, report: bool = True) -> int | None:
        if index is None:
            return None
        cell = cell_at(row, index)
        try:
            return self.reader.micros(cell)
        except (ValueError, OverflowError):
            if report:
                self.sink.add_finding("unreadable_date", f"{key}: the {label} date {cell!r} cannot be read.", key)
            return None
