"""Status timelines: every visit of every issue to a status, under the guide's section 3 rules.

1. Status changes are ordered by time, ties by numeric history id, then by position.
2. The first visit is in the initial status (the from-status of the earliest change, or
   the current status when there is none) and starts at ``created``.
3. Each change ends the current visit and starts a new one in its to-status, even when
   the to-status is the status the issue is already in.
4. The last visit ends at the dataset's as-of time.

Durations are never negative: every boundary is clamped into ``[created, max(created,
as_of)]``. So a change dated before ``created`` (a data-quality finding) ends a visit of
zero hours, and an issue created after the as-of time has zero-hour visits.
Issues whose inline changelog was truncated keep their visits, marked
``history_truncated`` (their first statuses and early times are unknown).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from vsm_core.db import sql_path

VISITS_SQL = """
CREATE OR REPLACE TEMP VIEW visits AS
WITH ordered AS (
    SELECT key, time, from_status, to_status, author,
           row_number() OVER (PARTITION BY key ORDER BY time, history_id NULLS LAST, item_seq) AS n
    FROM status_changes
),
starts AS (
    SELECT i.key, coalesce(f.from_status, i.status) AS status, i.created AS start_raw, 0 AS n
    FROM issues i LEFT JOIN ordered f ON f.key = i.key AND f.n = 1
    UNION ALL
    SELECT key, to_status, time, n FROM ordered
),
bounded AS (
    SELECT s.key, s.status, s.n AS visit_seq, s.start_raw,
           least(greatest(s.start_raw, i.created), greatest(CAST($as_of AS TIMESTAMPTZ), i.created)) AS start_t,
           greatest(CAST($as_of AS TIMESTAMPTZ), i.created) AS horizon,
           i.created,
           coalesce(i.changelog_total > i.changelog_present, false) AS history_truncated
    FROM starts s JOIN issues i ON i.key = s.key
)
SELECT key, status, visit_seq, start_t AS start,
       coalesce(lead(start_t) OVER (PARTITION BY key ORDER BY visit_seq), horizon) AS "end",
       epoch_ms(coalesce(lead(start_t) OVER (PARTITION BY key ORDER BY visit_seq), horizon) - start_t) / 3600000.0 AS hours,
       history_truncated
FROM bounded
"""


def create_visits(con: duckdb.DuckDBPyConnection, as_of: datetime) -> None:
    """Define the ``visits`` view on a connection that has ``issues`` and ``status_changes``."""
    con.execute(VISITS_SQL.replace("$as_of", _timestamp_literal(as_of)))


def write_visits(con: duckdb.DuckDBPyConnection, as_of: datetime, path: Path) -> None:
    """Materialise the visits of a dataset version to Parquet, ordered by issue and visit.

    A version's as-of time never changes, so its timelines are computed once at import;
    readers then aggregate a file instead of re-running the window functions.
    """
    create_visits(con, as_of)
    con.execute(f"COPY (SELECT * FROM visits ORDER BY key, visit_seq) TO {sql_path(path)} (FORMAT parquet, COMPRESSION zstd)")


def _timestamp_literal(value: datetime) -> str:
    # DuckDB does not accept parameters inside a view definition: inline a checked literal.
    return "TIMESTAMPTZ '" + value.strftime("%Y-%m-%d %H:%M:%S.%f") + "+00:00'"
