"""Which statuses are done (and which of those are cancelled), as section 2a decides.

A status is done when the status list says its category is done; else when it is the
current status of issues whose category says done (majority of those issues); else by
name (done, closed, resolved, ...); else when the resolution is set on entry to it.
Cancelled statuses (won't do, rejected, duplicate, obsolete, ...) are done but not
delivered. The full stage map builds on this catalogue.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd

DONE_WORDS = re.compile(
    r"\b(done|closed|resolved|released|deployed|complete|completed|cancel+ed|won'?t (do|fix)|rejected|duplicate|obsolete|finished|abandoned|invalid|declined)\b",
    re.IGNORECASE,
)
CANCELLED_WORDS = re.compile(
    r"\b(cancel+ed|won'?t (do|fix)|rejected|duplicate|obsolete|abandoned|invalid|declined|not (a bug|needed))\b",
    re.IGNORECASE,
)

STATUS_CATALOG_SQL = """
WITH observed AS (
    SELECT status AS name FROM issues WHERE status IS NOT NULL
    UNION SELECT from_status FROM status_changes WHERE from_status IS NOT NULL
    UNION SELECT to_status FROM status_changes WHERE to_status IS NOT NULL
),
listed AS (
    SELECT lower(name) AS lname, any_value(category) AS category FROM statuses GROUP BY 1
),
current AS (
    SELECT lower(status) AS lname,
           count(*) FILTER (WHERE status_category = 'done') AS n_done,
           count(*) FILTER (WHERE status_category IS NOT NULL) AS n_known,
           mode(status_category) AS category
    FROM issues GROUP BY 1
),
resolved_on_entry AS (
    SELECT lower(sc.to_status) AS lname, count(*) AS n
    FROM status_changes sc JOIN field_changes fc
      ON fc.key = sc.key AND fc.field = 'resolution' AND fc.time = sc.time
     AND coalesce(fc.to_value, '') <> ''
    GROUP BY 1
)
SELECT o.name,
       coalesce(l.category, c.category) AS category,
       CASE WHEN l.category IS NOT NULL THEN 'status list'
            WHEN c.category IS NOT NULL THEN 'current issues'
            ELSE NULL END AS category_source,
       coalesce(r.n, 0) AS resolved_on_entry
FROM observed o
LEFT JOIN listed l ON l.lname = lower(o.name)
LEFT JOIN current c ON c.lname = lower(o.name) AND c.n_known > 0
LEFT JOIN resolved_on_entry r ON r.lname = lower(o.name)
ORDER BY o.name
"""


def _statuses_view_exists(con: duckdb.DuckDBPyConnection) -> bool:
    names = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    return "statuses" in names


def status_catalog(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per status seen: name, category, is_done, is_cancelled, how it was decided."""
    if not _statuses_view_exists(con):
        con.execute("CREATE TEMP TABLE statuses (status_id VARCHAR, name VARCHAR, category VARCHAR)")
    frame = con.sql(STATUS_CATALOG_SQL).df()
    done, cancelled, source = [], [], []
    for name, category, category_source, resolved in zip(
        frame["name"], frame["category"], frame["category_source"], frame["resolved_on_entry"]
    ):
        if isinstance(category, str):
            is_done = category == "done"
            how = category_source
        elif DONE_WORDS.search(name):
            is_done, how = True, "name"
        elif resolved > 0:
            is_done, how = True, "resolution set on entry"
        else:
            is_done, how = False, "name"
        done.append(is_done)
        cancelled.append(bool(is_done and CANCELLED_WORDS.search(name)))
        source.append(how)
    frame["is_done"] = done
    frame["is_cancelled"] = cancelled
    frame["decided_by"] = source
    return frame[["name", "category", "is_done", "is_cancelled", "decided_by"]]
