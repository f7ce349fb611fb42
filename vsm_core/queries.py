"""Read-side queries the command line and the pages share: dataset lists, issue tables,
status times and findings, as DataFrames or streamed as JSON.

Large JSON outputs are written by DuckDB itself (``COPY ... (FORMAT json, ARRAY true)``)
so that a million rows print in well under a second.
"""

from __future__ import annotations

from datetime import datetime, timezone

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads lazily: `vsm status-times --json` never needs it
    import pandas as pd

from vsm_core.db import connect
from vsm_core.store import DatasetInfo, Store
from vsm_core.timelines import create_visits

_UTC_FMT = "'%Y-%m-%dT%H:%M:%SZ'"
# Issue keys in the order people read them: SP-2 before SP-11.
_KEY_ORDER = "regexp_extract(key, '^(.*?)[0-9]*$', 1), TRY_CAST(regexp_extract(key, '([0-9]+)$', 1) AS BIGINT), key"

SELECTS = {
    "issues": f"""
        SELECT key, type, status, strftime(created AT TIME ZONE 'UTC', {_UTC_FMT}) AS created,
               strftime(resolved AT TIME ZONE 'UTC', {_UTC_FMT}) AS resolved,
               issue_id AS id, summary, project, status_category, strftime(updated AT TIME ZONE 'UTC', {_UTC_FMT}) AS updated,
               resolution, assignee, priority, labels, components, parent, story_points
        FROM issues ORDER BY {_KEY_ORDER}""",
    "status_times": f"""
        SELECT key, status, count(*) AS visits, round(sum(hours), 6) AS hours,
               bool_or(history_truncated) AS history_truncated
        FROM visits GROUP BY key, status ORDER BY {_KEY_ORDER}, min(visit_seq)""",
    "findings": "SELECT code, severity, key, file, message FROM findings ORDER BY severity DESC, code, key",
}


def as_of(info: DatasetInfo, version: int) -> datetime:
    """The dataset version's as-of time (UTC)."""
    meta = info.meta(version)
    if meta.get("as_of_exact"):
        return datetime.fromisoformat(meta["as_of_exact"]).astimezone(timezone.utc)
    return datetime.strptime(meta["as_of"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def open_version(info: DatasetInfo, version: int):
    """A connection with a view per table of the data version, ``visits`` included."""
    path = info.version_path(version)
    con = connect(path)
    if not (path / "visits.parquet").exists():
        create_visits(con, as_of(info, version))  # a version imported before visits were stored
    return con


def _connection(info: DatasetInfo, version: int, kind: str):
    if kind == "status_times":
        return open_version(info, version)
    return connect(info.version_path(version))


def table(info: DatasetInfo, version: int, kind: str) -> pd.DataFrame:
    con = _connection(info, version, kind)
    try:
        return con.sql(SELECTS[kind]).df()
    finally:
        con.close()


def write_json(info: DatasetInfo, version: int, kind: str, fd: int) -> None:
    """Stream the table as one JSON array to an open file descriptor."""
    con = _connection(info, version, kind)
    try:
        con.execute(f"COPY ({SELECTS[kind]}) TO '/dev/fd/{fd}' (FORMAT json, ARRAY true)")
    finally:
        con.close()


def list_datasets(store: Store) -> list[dict]:
    """``[{"dataset", "name", "issues", "status_changes", "imported_at", ...}]``, newest first."""
    rows = []
    for info in store.datasets():
        meta = info.meta()
        counts = meta.get("counts", {})
        rows.append({
            "dataset": info.dataset,
            "name": info.name,
            "issues": counts.get("issues", 0),
            "status_changes": counts.get("status_changes", 0),
            "imported_at": meta.get("imported_at"),
            "version": info.latest,
            "versions": list(info.versions),
            "as_of": meta.get("as_of"),
            "has_history": bool(meta.get("has_history")),
            "formats": meta.get("formats", []),
            "size_bytes": sum(p.stat().st_size for p in info.path.rglob("*") if p.is_file()),
            "demo": info.demo,
        })
    return rows


STATUS_SUMMARY_SQL = """
WITH per_issue AS (
    SELECT key, status, sum(hours) AS hours, count(*) AS visits FROM visits GROUP BY key, status
)
SELECT status,
       count(*) AS items,
       sum(visits) AS visits,
       quantile_cont(hours, 0.5) / 24 AS median_days,
       quantile_cont(hours, 0.85) / 24 AS p85_days,
       sum(hours) / 24 AS total_days
FROM per_issue GROUP BY status ORDER BY total_days DESC
"""

def status_summary(info: DatasetInfo, version: int) -> pd.DataFrame:
    """Per status: issues that visited it, visits, median / p85 / total days (calendar clock),
    and whether the status is done (time there is not flow time).

    Percentiles use linear interpolation between closest ranks (DuckDB ``quantile_cont``).
    """
    from vsm_core.workflow import status_catalog

    con = _connection(info, version, "status_times")
    try:
        summary = con.sql(STATUS_SUMMARY_SQL).df()
        catalog = status_catalog(con).set_index("name")
    finally:
        con.close()
    summary["is_done"] = summary["status"].map(catalog["is_done"]).fillna(False).astype(bool)
    return summary


FILTER_CHOICES_SQL = {
    "types": "SELECT type AS value FROM issues WHERE type IS NOT NULL GROUP BY type ORDER BY count(*) DESC, type",
    "projects": "SELECT project AS value FROM issues WHERE project IS NOT NULL GROUP BY project ORDER BY count(*) DESC, project",
    "labels": "SELECT value FROM (SELECT unnest(labels) AS value FROM issues) WHERE value IS NOT NULL "
              "GROUP BY value ORDER BY count(*) DESC, value",
    "components": "SELECT value FROM (SELECT unnest(components) AS value FROM issues) WHERE value IS NOT NULL "
                  "GROUP BY value ORDER BY count(*) DESC, value",
    "parents": "SELECT parent AS value FROM issues WHERE parent IS NOT NULL GROUP BY parent ORDER BY count(*) DESC, parent",
}
MAX_CHOICES = 2000


def filter_choices(info: DatasetInfo, version: int) -> dict[str, list[str]]:
    """The values a view can be filtered on (issue types, projects, labels, components,
    parents), most frequent first, at most ``MAX_CHOICES`` each: the options of the filters."""
    con = connect(info.version_path(version))
    try:
        return {name: [row[0] for row in con.sql(f"{sql} LIMIT {MAX_CHOICES}").fetchall()]
                for name, sql in FILTER_CHOICES_SQL.items()}
    finally:
        con.close()
