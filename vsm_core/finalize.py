"""Turn an import's raw rows into a dataset version: de-duplicate, fix the as-of time,
and record the data-quality findings of the guide's section 3.

De-duplication (section 3.8): by Jira issue id when present, else by key; the copy with
the latest ``updated`` wins (ties: the one read last), and only its changelog is kept. If
two different ids still share a key, the same rule keeps one.

As-of (section 2a): unless the user gives one, the latest status-change, field-change or
``updated`` time that is not in the future of the import; for a file with none of those,
the latest ``created``; for an empty history, the time of the import.

Times outside the years 1900 to 2199 (``TIME_WINDOW``) are not dates of software work but
placeholders (``0001-01-01``, ``9999-12-31``) or garbled values, and some cannot even be
shown as a calendar date. Every importer's rows pass through here, so this is where they
are caught: a ``created``, ``updated`` or ``resolved`` outside the window is left empty and a
change outside it is dropped; each case is a ``time_out_of_range`` finding.

An issue without a usable ``created`` that has status changes starts at its first change
(a ``started_at_first_change`` finding), so that no visit runs backwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vsm_core import model
from vsm_core.db import connect, sql_path
from vsm_core.findings import summarise
from vsm_core.timelines import write_visits
from vsm_core.stagemap.persist import write_inferred_stage_map
from vsm_core.timeparse import format_utc, to_micros
from vsm_core.workflow import status_catalog

_DEDUP_SQL = """
CREATE TABLE issues AS
WITH by_identity AS (
    SELECT coalesce(issue_id, key) AS identity,
           count(*) AS copies,
           list(DISTINCT key) AS all_keys,
           first(ingest_seq ORDER BY updated DESC NULLS LAST, ingest_seq DESC) AS keep_seq
    FROM raw_issues GROUP BY 1
), kept AS (
    SELECT r.*, b.copies, b.all_keys
    FROM raw_issues r JOIN by_identity b ON r.ingest_seq = b.keep_seq
), by_key AS (
    SELECT key, first(ingest_seq ORDER BY updated DESC NULLS LAST, ingest_seq DESC) AS keep_seq
    FROM kept GROUP BY key
)
SELECT k.* FROM kept k JOIN by_key USING (key) WHERE k.ingest_seq = by_key.keep_seq
"""

# Timelines start at ``created``: an issue without one but with status changes (its Created
# cell unreadable, or out of the window) starts at its first change, so that no visit runs
# backwards. Issues without changes may keep an empty ``created``.
_START_AT_FIRST_CHANGE_SQL = """
CREATE TABLE started_at_first_change AS
    SELECT i.key, min(s.time) AS first_change FROM issues i JOIN status_changes s USING (key)
    WHERE i.created IS NULL GROUP BY i.key;
UPDATE issues SET created = f.first_change FROM started_at_first_change f WHERE issues.key = f.key;
"""

_FINDINGS_SQL = {
    "started_at_first_change": """
        SELECT key, format('{} has no usable creation date; it is taken to start at its first status change ({}).',
                           key, strftime(first_change AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')) AS message
        FROM started_at_first_change""",
    "duplicate_issue": """
        SELECT key, format('{} appears {} times in the import; {} was kept.', key, copies,
                           coalesce(format('the copy updated last ({})', strftime(updated AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')),
                                    'the copy read last (no copy has an Updated date)')) AS message
        FROM issues WHERE copies > 1 AND len(all_keys) = 1""",
    "moved_issue": """
        SELECT key, format('{} was also exported as {} (same issue id {}): it moved between projects and is counted once, as {}.',
                           key, array_to_string(list_filter(all_keys, lambda k: k <> key), ', '), issue_id, key) AS message
        FROM issues WHERE len(all_keys) > 1""",
    "change_before_created": """
        SELECT i.key, format('{}: {} status change(s) dated before the issue was created ({}); those visits count as zero hours.',
                             i.key, count(*), strftime(i.created AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')) AS message
        FROM status_changes s JOIN issues i USING (key)
        WHERE s.time < i.created
          AND i.key NOT IN (SELECT key FROM raw_findings WHERE code = 'finished_before_created' AND key IS NOT NULL)
        GROUP BY i.key, i.created""",
    "created_after_as_of": """
        SELECT key, format('{} was created at {}, after the as-of time; it is kept with zero-length visits.',
                           key, strftime(created AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')) AS message
        FROM issues WHERE created > $as_of""",
    "change_after_as_of": """
        SELECT key, format('{}: {} status change(s) after the as-of time; time after it is not counted.', key, count(*)) AS message
        FROM status_changes WHERE time > $as_of GROUP BY key""",
    "from_status_mismatch": """
        SELECT key, format('{}: the change at {} leaves ''{}'' but the issue was in ''{}''; its history may be truncated or edited.',
                           key, strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), from_status, previous) AS message
        FROM (SELECT key, time, from_status,
                     lag(to_status) OVER (PARTITION BY key ORDER BY time, history_id NULLS LAST, item_seq) AS previous
              FROM status_changes)
        WHERE previous IS NOT NULL AND from_status IS NOT NULL AND lower(previous) <> lower(from_status)""",
    "moved_out_of_done": """
        SELECT s.key, format('{} moved from ''{}'' back to ''{}'' at {} (reopened).', s.key, s.from_status, s.to_status,
                             strftime(s.time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')) AS message
        FROM status_changes s
        JOIN catalog f ON lower(f.name) = lower(s.from_status) AND f.is_done
        JOIN catalog t ON lower(t.name) = lower(s.to_status) AND NOT t.is_done""",
    "done_without_start": """
        WITH visited AS (
            SELECT i.key, i.status, coalesce(first(s.from_status ORDER BY s.time), i.status) AS initial,
                   list(s.to_status) FILTER (WHERE s.to_status IS NOT NULL) AS tos
            FROM issues i JOIN status_changes s USING (key) GROUP BY i.key, i.status
        )
        SELECT v.key, format('{} reached ''{}'' without passing through any in-progress status.', v.key, v.status) AS message
        FROM visited v JOIN catalog c ON lower(c.name) = lower(v.status) AND c.is_done AND NOT c.is_cancelled
        WHERE (SELECT count(*) FROM catalog k WHERE k.category = 'indeterminate') > 0
          AND NOT EXISTS (
            SELECT 1 FROM catalog k
            WHERE k.category = 'indeterminate'
              AND (lower(k.name) = lower(v.initial) OR list_contains(list_transform(coalesce(v.tos, []), lambda x: lower(x)), lower(k.name))))""",
}

TIME_WINDOW = ("1900-01-01 00:00:00+00", "2200-01-01 00:00:00+00")  # [earliest, latest) in UTC
_MESSAGE_LIMIT = 1_000  # characters of one finding (a message may quote a hostile cell)

_WINDOW_MACRO = f"""
CREATE MACRO in_window(t) AS t >= TIMESTAMPTZ '{TIME_WINDOW[0]}' AND t < TIMESTAMPTZ '{TIME_WINDOW[1]}'
"""

# The importers' rows as read (``source_*``) and as finalize uses them (``raw_*``): times
# outside the window are dropped or emptied, as the module docstring says.
_RAW_VIEWS_SQL = """
CREATE VIEW raw_issues AS
    SELECT * REPLACE (CASE WHEN in_window(created) THEN created END AS created,
                      CASE WHEN in_window(updated) THEN updated END AS updated,
                      CASE WHEN in_window(resolved) THEN resolved END AS resolved)
    FROM source_issues;
CREATE VIEW raw_status_changes AS SELECT * FROM source_status_changes WHERE in_window(time);
CREATE VIEW raw_field_changes AS SELECT * FROM source_field_changes WHERE in_window(time);
CREATE VIEW raw_findings AS SELECT * FROM source_findings;
"""

_OUT_OF_WINDOW_SQL = """
WITH issue_times AS (
    SELECT ingest_seq, key, unnest([
        {'what': 'creation date', 't_at': created}, {'what': 'Updated date', 't_at': updated},
        {'what': 'Resolved date', 't_at': resolved}]) AS t
    FROM source_issues
), bad_dates AS (
    SELECT key, t.what, t.t_at FROM issue_times
    WHERE t.t_at IS NOT NULL AND NOT in_window(t.t_at) AND ingest_seq IN (SELECT ingest_seq FROM issues)
), bad_changes AS (
    SELECT key, count(*) AS n, min(time) AS t_at FROM (
        SELECT ingest_seq, key, time FROM source_status_changes UNION ALL
        SELECT ingest_seq, key, time FROM source_field_changes)
    WHERE NOT coalesce(in_window(time), false) AND ingest_seq IN (SELECT ingest_seq FROM issues)
    GROUP BY key
)
SELECT key, format('{}: its {} {} is outside the years 1900 to 2199 (a placeholder or garbled date); it was left empty.',
                   key, what, coalesce(strftime(t_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), 'value')) AS message
FROM bad_dates
UNION ALL
SELECT key, format('{}: {} change record(s) have no time or one outside the years 1900 to 2199 (e.g. {}); they were left out.',
                   key, n, coalesce(strftime(t_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), 'none')) AS message
FROM bad_changes
"""

_FINDING_SEVERITY = {"moved_out_of_done": "info", "duplicate_issue": "info", "moved_issue": "info", "done_without_start": "info"}
_PER_CODE_LIMIT = 10_000  # findings kept per kind (the summary counts them all)


@dataclass(frozen=True)
class FinalizedVersion:
    issues: int
    status_changes: int
    field_changes: int
    as_of: datetime
    warnings: list[str]


def _default_as_of(con: duckdb.DuckDBPyConnection, import_time: datetime) -> datetime:
    now = import_time
    row = con.execute(
        """
        SELECT max(t) FROM (
            SELECT time AS t FROM status_changes UNION ALL
            SELECT time FROM field_changes UNION ALL
            SELECT updated FROM issues
        ) WHERE t <= $now""",
        {"now": now},
    ).fetchall()[0][0]
    if row is None:
        row = con.execute("SELECT max(created) FROM issues WHERE created <= $now", {"now": now}).fetchall()[0][0]
    return (row or now).astimezone(timezone.utc)


def finalize(
    raw_dir: Path,
    out_dir: Path,
    *,
    sink_meta: dict,
    statuses: list[dict],
    board_columns: list[dict],
    as_of: datetime | None,
    import_time: datetime,
    temp_dir: Path,
) -> FinalizedVersion:
    """Write the dataset version's tables and ``meta.json`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    con = connect(memory_limit="1500MB", temp_dir=temp_dir)
    try:
        for name in ("issues", "status_changes", "field_changes", "findings"):
            con.execute(f"CREATE VIEW source_{name} AS SELECT * FROM read_parquet({sql_path(raw_dir / (name + '.parquet'))})")
        con.execute(_WINDOW_MACRO)
        con.execute(_RAW_VIEWS_SQL)
        _write_companions(con, out_dir, statuses, board_columns)
        con.execute(_DEDUP_SQL)
        for name in ("status_changes", "field_changes"):
            con.execute(
                f"""CREATE TABLE {name} AS SELECT r.* EXCLUDE (ingest_seq) FROM raw_{name} r
                    SEMI JOIN issues i ON i.ingest_seq = r.ingest_seq
                    ORDER BY r.key, r.time, r.history_id NULLS LAST, r.item_seq"""
            )
        con.execute(_START_AT_FIRST_CHANGE_SQL)
        as_of_utc = as_of.astimezone(timezone.utc) if as_of else _default_as_of(con, import_time)
        catalog = status_catalog(con)
        con.register("catalog_df", catalog)
        con.execute("CREATE TABLE catalog AS SELECT * FROM catalog_df")
        findings = _collect_findings(con, as_of_utc)
        issue_columns = [n for n in model.ISSUES.names if n != "ingest_seq"]
        con.execute(
            f"COPY (SELECT {', '.join(issue_columns)} FROM issues ORDER BY key) TO {sql_path(out_dir / 'issues.parquet')} (FORMAT parquet, COMPRESSION zstd)"
        )
        for name in ("status_changes", "field_changes"):
            con.execute(f"COPY {name} TO {sql_path(out_dir / (name + '.parquet'))} (FORMAT parquet, COMPRESSION zstd)")
        pq.write_table(pa.Table.from_pandas(findings, schema=model.FINDINGS, preserve_index=False), out_dir / "findings.parquet")
        write_visits(con, as_of_utc, out_dir / "visits.parquet")
        counts = {
            name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
            for name in ("issues", "status_changes", "field_changes")
        }
        date_range = con.execute("SELECT min(created), max(coalesce(updated, created)) FROM issues").fetchall()[0]
    finally:
        con.close()
    warnings = summarise(findings[findings["severity"] == "warning"]) + summarise(findings[findings["severity"] != "warning"])
    meta = {
        "format": 2,
        "imported_at": format_utc(to_micros(import_time)),
        "as_of": format_utc(to_micros(as_of_utc)),
        "as_of_exact": as_of_utc.isoformat(),  # with microseconds: timelines end here
        "as_of_source": "given" if as_of else "latest change or update in the data",
        "has_history": bool(sink_meta.get("has_history")),
        "formats": sorted(sink_meta.get("formats", [])),
        "base_url": sink_meta.get("base_url"),
        "source_files": sink_meta.get("source_files", []),
        "timezone": sink_meta.get("timezone", "UTC"),
        "board_name": sink_meta.get("board_name"),
        "counts": counts,
        "first_created": format_utc(to_micros(date_range[0])) if date_range[0] else None,
        "last_updated": format_utc(to_micros(date_range[1])) if date_range[1] else None,
        "warnings": warnings,
    }
    write_inferred_stage_map(out_dir)
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    return FinalizedVersion(counts["issues"], counts["status_changes"], counts["field_changes"], as_of_utc, warnings)


def _collect_findings(con: duckdb.DuckDBPyConnection, as_of: datetime) -> pd.DataFrame:
    frames = [con.sql("SELECT code, severity, key, file, message FROM raw_findings").df()]
    for code, sql in {"time_out_of_range": _OUT_OF_WINDOW_SQL, **_FINDINGS_SQL}.items():
        params = {"as_of": as_of} if "$as_of" in sql else None
        frame = con.execute(sql + f" LIMIT {_PER_CODE_LIMIT}", params).df() if params else con.sql(sql + f" LIMIT {_PER_CODE_LIMIT}").df()
        if frame.empty:
            continue
        frame.insert(0, "code", code)
        frame.insert(1, "severity", _FINDING_SEVERITY.get(code, "warning"))
        frame["file"] = None
        frames.append(frame[["code", "severity", "key", "file", "message"]])
    findings = pd.concat(frames, ignore_index=True).astype(object).where(lambda f: f.notna(), None)
    findings["message"] = findings["message"].map(_bounded_message)
    return findings


def _bounded_message(message: object) -> object:
    """A finding message cut to ``_MESSAGE_LIMIT`` characters: it may quote a hostile cell."""
    if isinstance(message, str) and len(message) > _MESSAGE_LIMIT:
        return message[: _MESSAGE_LIMIT - 1] + "…"
    return message


def _write_companions(con: duckdb.DuckDBPyConnection, out_dir: Path, statuses: list[dict], board_columns: list[dict]) -> None:
    status_table = pa.Table.from_pylist(statuses, schema=model.STATUSES)
    names = {row["status_id"]: row["name"] for row in statuses}
    board = [dict(row, status_name=row.get("status_name") or names.get(row["status_id"])) for row in board_columns]
    board_table = pa.Table.from_pylist(board, schema=model.BOARD_COLUMNS)
    pq.write_table(status_table, out_dir / "statuses.parquet")
    pq.write_table(board_table, out_dir / "board_columns.parquet")
    con.register("statuses_arrow", status_table)
    con.execute("CREATE TABLE statuses AS SELECT * FROM statuses_arrow")
