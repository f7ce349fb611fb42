"""Item-dates files: one row per issue with the date it entered each stage.

Two shapes are read:

* **stage dates**: the cycle-time CSV of jira-agile-metrics (``ID, Link, Name, <stages>,
  Type, Status, Resolution, <attributes>, Blocked Days``) and the ActionableAgile input
  (``ID, Link, Name, <stages>, Type, Class of Service``). Each stage column holds the date
  the item entered that stage, in workflow order.
* **created/finished**: only a created and a finished date per item, like the public
  rueedlinger agile-project data set (``id, project, task, created_date, finished_date``).

Policies (decided, not guessed per file):

* Stage columns are the date-valued columns in header order. A column named like
  ``created`` is the item's creation date, not a stage; every other date column is a stage.
* Status changes are synthesised in column order: the first entered stage is the initial
  status (no change), each later entered stage is a change from the previous entered one
  at its date (``history_id`` None, ``item_seq`` = the column's index). Skipped stages
  (empty cells) are skipped.
* ``created`` is the created column when present, else the earliest entered stage date
  (a creation cannot come after a recorded event). Dates that go backwards along the
  columns keep the column order and are reported (``stage_dates_out_of_order``).
* Stage categories: the last stage column and done-like names are ``done``, the first
  column is ``new``, the rest ``indeterminate``.
* Created/finished rows become ``Open`` at created and one change ``Open -> Done`` at the
  finished date; a row that finishes before it starts is kept as recorded and reported
  (``finished_before_created``): the timeline layer clamps the negative duration.
* ``Class of Service`` is kept as the priority: it is the service level the team gave the
  item, the closest field of the canonical model.
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

FORMAT = "item-dates"

LINK_NAMES = ("link", "url", "issue_link")
CLASS_NAMES = ("class_of_service", "cos", "service_class")
PROJECT_NAMES = ("project", "project_key")
RESOLUTION_NAMES = ("resolution",)
# Date columns that describe the item rather than a stage it entered.
NOT_STAGE_NAMES = ("updated", "updated_at", "last_updated", "due", "due_date", "status_category_changed", "last_viewed")
EVENT_TIME_NAMES = ("time", "timestamp", "changed_at", "event_time", "date", "time_timestamp")
EVENT_STATUS_NAMES = ("status", "to_status", "to", "state", "activity")


@dataclass(frozen=True)
class Layout:
    """Where each role sits in the header (indices), decided from the header and first rows."""

    key: int
    summary: int | None
    type: int | None
    link: int | None
    class_of_service: int | None
    project: int | None
    resolution: int | None
    created: int | None
    finished: int | None
    stages: tuple[int, ...]  # empty for the created/finished shape
    stage_names: tuple[str, ...]

    @property
    def has_stages(self) -> bool:
        return bool(self.stages)


# -- sniffing --------------------------------------------------------------------------


def sniff(head: bytes) -> int:
    """How sure (0..100) the first bytes are an item-dates table.

    Needs an id/key column and at least two date-valued columns; a Jira issue-navigator
    header (``Issue key`` with ``Status``) or repeated keys (an event log) score low.
    """
    sample = tabular.sample_head(head)
    if sample is None:
        return 0
    header, rows = sample
    names = [tabular.normalise_name(h) for h in header]
    key = tabular.find_column(names, tabular.KEY_NAMES)
    if key is None or not rows:
        return 0
    if ("issue_key" in names and "status" in names) or "issue_id" in names:
        return 5  # a Jira issue-navigator CSV: the Jira CSV importer reads it
    dates = [i for i in range(len(header)) if i != key and tabular.is_date_column(rows, i)]
    if len(dates) < 2:
        return 0
    if tabular.keys_repeat(rows, key):
        return 10
    has_event_columns = tabular.find_column(names, EVENT_TIME_NAMES) is not None
    if has_event_columns and tabular.find_column(names, EVENT_STATUS_NAMES) is not None:
        return 20
    named = {names[i] for i in dates} & set(tabular.CREATED_NAMES + tabular.RESOLVED_NAMES)
    if len(dates) <= len(named) and _has_status_durations(header, rows):
        return 25  # created/resolved beside times per status: a time-in-status export
    return 90 if len(dates) >= 3 or named else 70


def _has_status_durations(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bool:
    from vsm_core.ingest import time_in_status

    try:
        return len(time_in_status.detect_layout(header, rows, "").statuses) >= 2
    except ImportProblem:
        return False


# -- reading ---------------------------------------------------------------------------


def read(path: Path, sink: CanonicalSink, options: ReadOptions) -> None:
    """Read an item-dates file (CSV or Parquet) into ``sink``."""
    name = options.display_name
    header, rows, sample = tabular.read_sampled(path, name, options.progress)
    layout = detect_layout(header, sample, name)
    date_columns = layout.stages or tuple(i for i in (layout.created, layout.finished) if i is not None)
    reader = tabular.date_reader_for((cell_at(r, i) for r in sample for i in date_columns), options.timezone)
    sink.meta["formats"].add(FORMAT)
    sink.note_history(layout.has_stages)
    _note_history(sink, layout)
    importer = _StageRows(sink, layout, reader) if layout.has_stages else _CreatedFinishedRows(sink, layout, reader)
    for key, row in tabular.rows_by_key(sample, rows, layout.key, sink, name):
        importer.add(key, row)
    if sink.meta.get("base_url") is None and importer.base_url:
        sink.meta["base_url"] = importer.base_url


def detect_layout(header: Sequence[str], sample: Sequence[Sequence[Cell]], display_name: str) -> Layout:
    """Find the key, attribute and date columns; decide the stage or created/finished shape."""
    names = [tabular.normalise_name(h) for h in header]
    key = tabular.key_column(header, names, display_name, "name the column with the issue key 'ID' or 'Key'.")
    dates = [
        i for i in range(len(header))
        if i != key and names[i] not in NOT_STAGE_NAMES and tabular.is_date_column(sample, i)
    ]
    created = tabular.find_column(names, tabular.CREATED_NAMES)
    finished = tabular.find_column(names, tabular.RESOLVED_NAMES)
    created = created if created in dates else None
    finished = finished if finished in dates else None
    only_created_finished = all(i in (created, finished) for i in dates)
    if not dates:
        raise ImportProblem(
            f"{display_name} has no column of dates (found: {tabular.header_list(header)}); an item-dates file "
            "needs one date column per stage, or created and finished dates.",
            file=display_name,
        )
    stages = () if only_created_finished else tuple(i for i in dates if i != created)
    return Layout(
        key=key,
        summary=tabular.find_column(names, tabular.SUMMARY_NAMES, skip=dates),
        type=tabular.find_column(names, tabular.TYPE_NAMES, skip=dates),
        link=tabular.find_column(names, LINK_NAMES),
        class_of_service=tabular.find_column(names, CLASS_NAMES),
        project=tabular.find_column(names, PROJECT_NAMES),
        resolution=tabular.find_column(names, RESOLUTION_NAMES, skip=dates),
        created=created,
        finished=None if stages else finished,
        stages=stages,
        stage_names=tuple(_stage_name(header[i]) for i in stages),
    )


def _stage_name(header: str) -> str:
    return header.strip() or "(unnamed stage)"


def _note_history(sink: CanonicalSink, layout: Layout) -> None:
    if layout.has_stages:
        note = (
            "This file gives the date each stage was first entered: rework and repeated visits to a stage are "
            "not visible, and each stage counts as one visit in column order."
        )
        sink.add_finding("stage_dates_only", note, severity="info")
    else:
        note = (
            "This file has only created and finished dates, no status history: lead time and throughput are "
            "available, time per stage is not."
        )
        sink.add_finding("no_status_history", note, severity="info")
    sink.meta["history_note"] = note


def stage_category(index: int, count: int, name: str) -> str:
    """``done`` for the last stage and done-like names, ``new`` for the first, else ``indeterminate``."""
    if index == count - 1 or tabular.is_done_name(name):
        return "done"
    return "new" if index == 0 else "indeterminate"


class _RowImporter:
    """What both shapes share: attribute cells and reading dates with a finding on failure."""

    def __init__(self, sink: CanonicalSink, layout: Layout, reader: DateReader):
        self.sink = sink
        self.layout = layout
        self.reader = reader
        self.base_url: str | None = None

    def date(self, key: str, row: Sequence[Cell], index: int | None, header_name: str) -> int | None:
        cell = cell_at(row, index)
        try:
            return self.reader.micros(cell)
        except (ValueError, OverflowError):
            self.sink.add_finding(
                "unreadable_date", f"{key}: the {header_name} date {cell!r} cannot be read; it is left empty.", key
            )
            return None

    def attributes(self, row: Sequence[Cell]) -> dict:
        layout = self.layout
        if self.base_url is None and layout.link is not None:
            self.base_url = _base_url(text_of(cell_at(row, layout.link)))
        return {
            "summary": text_of(cell_at(row, layout.summary)),
            "type": text_of(cell_at(row, layout.type)),
            "project": text_of(cell_at(row, layout.project)),
            "resolution": text_of(cell_at(row, layout.resolution)),
            "priority": text_of(cell_at(row, layout.class_of_service)),
        }


def _base_url(link: str | None) -> str | None:
    match = re.match(r"^(https?://.+?)/browse/", link or "")
    return match.group(1) if match else None


class _StageRows(_RowImporter):
    """Stage-date rows: one synthetic status change per entered stage, in column order."""

    def add(self, key: str, row: Sequence[Cell]) -> None:
        layout = self.layout
        entered: list[tuple[int, str, int, int]] = []  # (column, stage, time, stage position)
        for position, (column, stage) in enumerate(zip(layout.stages, layout.stage_names)):
            time = self.date(key, row, column, stage)
            if time is not None:
                entered.append((column, stage, time, position))
        created = self.date(key, row, layout.created, "created") if layout.created is not None else None
        if created is None and entered:
            created = min(t for _, _, t, _ in entered)
        if not entered:
            self.sink.add_finding("no_stage_dates", f"{key} has no stage date: it has not entered any stage.", key)
            self.sink.add_issue(key=key, created=created, **self.attributes(row))
            return
        _, status, status_time, position = entered[-1]
        category = stage_category(position, len(layout.stages), status)
        seq = self.sink.add_issue(
            key=key, created=created, status=status, status_category=category,
            resolved=status_time if category == "done" else None, **self.attributes(row),
        )
        for (_, before, _, _), (column, stage, time, _) in zip(entered, entered[1:]):
            self.sink.add_status_change(seq, key, time, before, stage, None, None, column)
        if any(later[2] < earlier[2] for earlier, later in zip(entered, entered[1:])):
            self.sink.add_finding(
                "stage_dates_out_of_order",
                f"{key} entered a later stage before an earlier one; the stages are kept in column order.",
                key,
            )


class _CreatedFinishedRows(_RowImporter):
    """Created/finished rows: ``Open`` from created, one change to ``Done`` when finished."""

    def add(self, key: str, row: Sequence[Cell]) -> None:
        layout = self.layout
        created = self.date(key, row, layout.created, "created") if layout.created is not None else None
        finished = self.date(key, row, layout.finished, "finished") if layout.finished is not None else None
        if created is None and finished is None:
            self.sink.add_finding("no_dates", f"{key} has neither a created nor a finished date.", key)
        seq = self.sink.add_issue(
            key=key, created=created, status="Done" if finished is not None else "Open",
            status_category="done" if finished is not None else "new", resolved=finished, **self.attributes(row),
        )
        if finished is None:
            return
        self.sink.add_status_change(seq, key, finished, "Open", "Done", None, None, 1)
        if created is not None and finished < created:
            self.sink.add_finding(
                "finished_before_created", f"{key} finishes before it was created; it is kept as recorded.", key
            )
