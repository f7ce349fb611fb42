"""Helpers the importer tests share: run one importer into a sink and read back its tables."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import pyarrow.parquet as pq

from vsm_core.ingest.base import ReadOptions
from vsm_core.ingest.sink import CanonicalSink

# The first lines of a Jira issue-navigator CSV: no tabular importer may claim it.
NAVIGATOR = (
    "Summary,Issue key,Issue id,Issue Type,Status,Created,Updated\n"
    "Fix login,ABC-12,10012,Bug,Done,22/Dec/25 2:38 PM,23/Dec/25 9:01 AM\n"
    "Add export,ABC-13,10013,Story,In Progress,2025-07-07 20:38:47.182,2025-07-08 10:00:00.000\n"
).encode()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def read_tables(importer: ModuleType, path: Path, tmp_path: Path, **options) -> tuple[CanonicalSink, dict[str, list[dict]]]:
    """Run ``importer.read`` on ``path``; return the sink and its issues and status changes as rows."""
    sink = CanonicalSink(tmp_path / "out")
    sink.current_file = path.name
    importer.read(path, sink, ReadOptions(display_name=path.name, **options))
    sink.close()
    tables = {n: pq.read_table(tmp_path / "out" / f"{n}.parquet").to_pylist() for n in ("issues", "status_changes")}
    return sink, tables


def moves(changes: list[dict], key: str) -> list[tuple]:
    return [(c["from_status"], c["to_status"], c["time"]) for c in changes if c["key"] == key]
