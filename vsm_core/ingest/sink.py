"""Where importers put what they read: canonical rows, written to Parquet in batches.

Importers call ``add_issue``, ``add_status_change`` and ``add_field_change`` with plain
Python values (times as integer microseconds UTC, see ``vsm_core.timeparse``). Rows are
buffered and flushed to Parquet files in a staging directory every ``batch_rows`` rows, or
sooner once their text reaches ``limits.TEXT_BATCH_BYTES``, so memory stays bounded whatever
the size of the file.

The sink is also where the row limits of one import hold, whatever the importer: at most
``limits.MAX_ISSUES`` issues and ``limits.MAX_CHANGES`` status and field changes, and no
summary longer than ``limits.MAX_CELL_CHARS`` nor key or name longer than
``limits.MAX_NAME_CHARS``. Each is one sentence naming the file and, for a value, the issue
and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from vsm_core import limits, model
from vsm_core.ingest.base import one_line
from vsm_core.problems import Finding, ImportProblem, store_not_written

_ISSUE_NAME_FIELDS = ("key", "issue id", "type", "project", "status", "status category", "resolution", "assignee",
                      "priority", "parent")


class _TableBuffer:
    def __init__(self, path: Path, schema: pa.Schema, batch_rows: int):
        self.path = path
        self.schema = schema
        self.batch_rows = batch_rows
        self.columns: list[list] = [[] for _ in schema.names]
        self.rows = 0
        self.text = 0  # characters of text in the buffered rows
        self.total = 0
        self.writer: pq.ParquetWriter | None = None

    def append(self, row: Sequence, text: int = 0) -> None:
        for column, value in zip(self.columns, row):
            column.append(value)
        self.rows += 1
        self.text += text
        if self.rows >= self.batch_rows or self.text >= limits.TEXT_BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        try:
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
            if self.rows:
                arrays = [pa.array(col, type=field.type) for col, field in zip(self.columns, self.schema)]
                self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        except OSError as exc:
            raise store_not_written(exc) from exc
        self.total += self.rows
        self.columns = [[] for _ in self.schema.names]
        self.rows = 0
        self.text = 0

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()


class CanonicalSink:
    """Collects canonical rows from one import (one or several files) into ``directory``.

    After ``close()`` the directory holds ``issues.parquet``, ``status_changes.parquet``,
    ``field_changes.parquet`` and ``findings.parquet`` (raw: before de-duplication), and
    ``self.statuses`` / ``self.board_columns`` / ``self.meta`` hold companion data.
    """

    def __init__(self, directory: Path, *, batch_rows: int = 50_000, progress: Callable[[int], None] | None = None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._issues = _TableBuffer(self.directory / "issues.parquet", model.ISSUES, batch_rows)
        self._status = _TableBuffer(self.directory / "status_changes.parquet", model.STATUS_CHANGES, batch_rows)
        self._fields = _TableBuffer(self.directory / "field_changes.parquet", model.FIELD_CHANGES, batch_rows)
        self.findings: list[Finding] = []
        self.statuses: list[dict] = []  # rows of model.STATUSES
        self.board_columns: list[dict] = []  # rows of model.BOARD_COLUMNS
        self.board_name: str | None = None
        # Facts about the source: has_history (bool), formats (set of names),
        # base_url (Jira site, for links), history_note (what the format cannot show).
        self.meta: dict = {"has_history": None, "formats": set(), "base_url": None}
        self._next_seq = 0
        self._progress = progress
        self._file = None
        self._file_first_seq = 0  # the ingest_seq of the current file's first issue
        self._changes = 0
        # The limits, as they stand when the import starts.
        self._max_issues = limits.MAX_ISSUES
        self._max_changes = limits.MAX_CHANGES
        self._max_name = limits.MAX_NAME_CHARS
        self._max_text = limits.MAX_CELL_CHARS

    @property
    def current_file(self) -> str | None:
        """The display name of the file being read (set by the import, named in findings)."""
        return self._file

    @current_file.setter
    def current_file(self, name: str | None) -> None:
        self._file = name
        self._file_first_seq = self._next_seq

    # -- rows ---------------------------------------------------------------------------
    def add_issue(
        self,
        *,
        key: str,
        created: int | None,
        issue_id: str | None = None,
        type: str | None = None,
        summary: str | None = None,
        project: str | None = None,
        status: str | None = None,
        status_category: str | None = None,
        updated: int | None = None,
        resolved: int | None = None,
        resolution: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        labels: list[str] | None = None,
        components: list[str] | None = None,
        parent: str | None = None,
        story_points: float | None = None,
        changelog_total: int | None = None,
        changelog_present: int | None = None,
    ) -> int:
        """Add one issue; returns its ``ingest_seq`` to pass to the change rows."""
        seq = self._next_seq
        if seq >= self._max_issues:
            self._too_many(f"more than {self._max_issues:,} issues", "issues")
        names = (key, issue_id, type, project, status, status_category, resolution, assignee, priority, parent)
        longest = max(map(len, filter(None, names)), default=0)
        if labels or components:
            longest = max(longest, *map(len, labels or ()), *map(len, components or ()))
        if longest > self._max_name:
            self._long_name(seq, key, dict(zip(_ISSUE_NAME_FIELDS, names), labels=labels, components=components))
        text = len(summary) if summary else 0
        if text > self._max_text:
            self._long_value(seq, key, "summary", text, limits.size_text(self._max_text), "one text value")
        self._next_seq += 1
        self._issues.append(
            (
                seq, issue_id, key, type, summary, project, status, status_category,
                created, updated, resolved, resolution, assignee, priority,
                labels or [], components or [], parent, story_points,
                changelog_total, changelog_present, self.current_file,
            ),
            text + longest,
        )
        if self._progress is not None and seq % 1000 == 0:
            self._progress(seq)
        return seq

    def add_status_change(
        self, ingest_seq: int, key: str, time: int, from_status: str | None, to_status: str | None,
        author: str | None = None, history_id: int | None = None, item_seq: int = 0,
    ) -> None:
        self._changes += 1
        if self._changes > self._max_changes:
            self._too_many(f"more than {self._max_changes:,} status and field changes", "status and field changes")
        if len(from_status or "") + len(to_status or "") + len(author or "") > self._max_name:
            self._long_change(ingest_seq, key, "status", from_status, to_status, author)
        self._status.append((ingest_seq, key, time, from_status, to_status, author, history_id, item_seq))

    def add_field_change(
        self, ingest_seq: int, key: str, time: int, field: str, from_value: str | None, to_value: str | None,
        author: str | None = None, history_id: int | None = None, item_seq: int = 0,
    ) -> None:
        self._changes += 1
        if self._changes > self._max_changes:
            self._too_many(f"more than {self._max_changes:,} status and field changes", "status and field changes")
        if len(from_value or "") + len(to_value or "") + len(author or "") > self._max_name:
            self._long_change(ingest_seq, key, field, from_value, to_value, author)
        self._fields.append((ingest_seq, key, time, field, from_value, to_value, author, history_id, item_seq))

    # -- the limits ---------------------------------------------------------------------
    def _too_many(self, what: str, rows: str) -> None:
        raise ImportProblem(
            f"{self.current_file} brings the import to {what}, the most this product imports at once; "
            f"import a shorter period or fewer projects (the {rows} of one import are counted over all its files).",
            file=self.current_file,
        )

    def _issue_label(self, seq: int, key: str | None) -> str:
        if key and len(key) <= self._max_name:
            return f"issue {one_line(key, 60)}"
        return f"issue number {seq - self._file_first_seq + 1:,} of the file"

    def _long_value(self, seq: int, key: str | None, field: str, length: int, limit: str, what: str) -> None:
        raise ImportProblem(
            f"{self.current_file}: {self._issue_label(seq, key)} has a {field} of {length:,} characters, more than "
            f"the {limit} {what} may hold; check that the file is a complete, unedited export.",
            file=self.current_file,
            where=self._issue_label(seq, key),
        )

    def _long_name(self, seq: int, key: str | None, values: dict) -> None:
        for field, value in values.items():
            for text in value if isinstance(value, list) else [value]:
                if text.__class__ is str and len(text) > self._max_name:
                    self._long_value(seq, key, field.replace("_", " "), len(text), f"{self._max_name:,}",
                                     "a key or name (Jira's hold at most 255)")

    def _long_change(self, seq: int, key: str, field: str, old: str | None, new: str | None, author: str | None) -> None:
        """Refuse a change with a value past ``MAX_NAME_CHARS`` (their sum past it is checked first, quickly)."""
        for what, text in ((f"{field} value in its history", old), (f"{field} value in its history", new),
                           ("change author's name", author)):
            if text is not None and len(text) > self._max_name:
                self._long_value(seq, key, what, len(text), f"{self._max_name:,}", "a key or name (Jira's hold at most 255)")

    def add_finding(self, code: str, message: str, key: str | None = None, severity: str = "warning") -> None:
        self.findings.append(Finding(code=code, message=message, key=key, file=self.current_file, severity=severity))

    def note_history(self, has_history: bool) -> None:
        """Say whether the file just read carries status history. In an import of several
        files the dataset has history when any of them has it."""
        self.meta["has_history"] = bool(self.meta.get("has_history")) or has_history

    # -- bookkeeping --------------------------------------------------------------------
    @property
    def issue_count(self) -> int:
        return self._next_seq

    def close(self) -> None:
        for buffer in (self._issues, self._status, self._fields):
            buffer.close()
        rows = [(f.code, f.severity, f.key, f.file, f.message) for f in self.findings]
        columns = list(zip(*rows)) if rows else [[] for _ in model.FINDINGS.names]
        table = pa.Table.from_arrays(
            [pa.array(list(c), type=fld.type) for c, fld in zip(columns, model.FINDINGS)], schema=model.FINDINGS
        )
        pq.write_table(table, self.directory / "findings.parquet")
