"""The inference rules of the default stage map: the kind of each status, side states, and the
order of statuses along the most common path (see the package docstring)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import duckdb

from vsm_core.stagemap.model import Stage
from vsm_core.workflow import status_catalog

WAIT_WORDS = re.compile(
    r"\b(ready|awaiting|waiting|queued?|blocked|on hold|pending|to review|to test|for release|merged|selected for development"
    # Spanish, Portuguese, French, German: the queue words of localised workflows
    r"|pendiente|en espera|esperando|listo para|lista para|bloquead[oa]|aguardando|pronto para|pendente|em espera"
    r"|en attente|prêt à|prêt pour|bloqué|wartet|wartend|bereit für|blockiert)\b",
    re.IGNORECASE,
)
BACKLOG_WORDS = re.compile(r"\b(backlog|open|new|to ?do|reopened|triage|icebox|funnel)\b", re.IGNORECASE)
SIDE_WORDS = re.compile(r"\b(blocked|on hold|impeded|waiting (for|on) (the )?customer)\b", re.IGNORECASE)
SIDE_RETURN_SHARE = 0.6
SIDE_MIN_RETURNS = 3
_CATEGORY_SOURCES = {"status list": "status category", "current issues": "status category"}


@dataclass(frozen=True)
class StatusFacts:
    name: str
    kind: str
    cancelled: bool
    side: bool
    decided_by: str


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    rows = con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
    return bool(rows)


def status_kind(name: str, category: str | None) -> tuple[str, str]:
    """Kind of a non-done status and the rule that decided it."""
    if category == "new":
        return "backlog", "status category"
    if category == "indeterminate":
        return ("wait", "name") if WAIT_WORDS.search(name) else ("active", "status category")
    if BACKLOG_WORDS.search(name):
        return "backlog", "name"
    return ("wait" if WAIT_WORDS.search(name) else "active"), "name"


PATH_SQL = """
WITH first_entries AS (
    SELECT key, lower(status) AS s, min(visit_seq) AS first
    FROM visits WHERE status IS NOT NULL AND list_contains($linear, lower(status))
    GROUP BY key, lower(status)
),
sequences AS (
    SELECT key, s, row_number() OVER (PARTITION BY key ORDER BY first) - 1 AS pos, count(*) OVER (PARTITION BY key) AS n
    FROM first_entries
)
SELECT 'pair' AS what, a.s AS a, b.s AS b, count(*) AS value
FROM sequences a JOIN sequences b ON a.key = b.key AND a.pos < b.pos GROUP BY a.s, b.s
UNION ALL
SELECT 'position', s, NULL, median(CASE WHEN n > 1 THEN pos / (n - 1) ELSE 0.0 END) FROM sequences GROUP BY s
"""


def returning_statuses(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Statuses (lower-cased) that items mostly leave back to where they came from: of all the
    visits that end (have a next visit), at least 60 % return to the previous status."""
    if not table_exists(con, "visits"):
        return set()
    rows = con.execute(
        """
        WITH v AS (
            SELECT lower(status) AS s,
                   lower(lag(status) OVER (PARTITION BY key ORDER BY visit_seq)) AS prev,
                   lower(lead(status) OVER (PARTITION BY key ORDER BY visit_seq)) AS next
            FROM visits
        )
        SELECT s, count(*) AS exits, count(*) FILTER (WHERE next = prev AND prev <> s) AS returns
        FROM v WHERE next IS NOT NULL
        GROUP BY s
        """
    ).fetchall()
    return {s for s, exits, returns in rows if returns >= SIDE_MIN_RETURNS and returns / exits >= SIDE_RETURN_SHARE}


def status_facts(con: duckdb.DuckDBPyConnection) -> dict[str, StatusFacts]:
    """Kind, side and cancelled for every observed status, keyed by lower-cased name."""
    returning = returning_statuses(con)
    facts: dict[str, StatusFacts] = {}
    for row in status_catalog(con).itertuples(index=False):
        name = row.name
        category = row.category if isinstance(row.category, str) else None
        if row.is_done:
            how = _CATEGORY_SOURCES.get(row.decided_by, row.decided_by)
            facts[name.lower()] = StatusFacts(name, "done", bool(row.is_cancelled), False, how)
        elif SIDE_WORDS.search(name):
            facts[name.lower()] = StatusFacts(name, "wait", False, True, "name")
        elif name.lower() in returning:
            facts[name.lower()] = StatusFacts(name, "wait", False, True, "observed flow")
        else:
            kind, how = status_kind(name, category)
            facts[name.lower()] = StatusFacts(name, kind, False, False, how)
    return facts


# ---------------------------------------------------------------- ordering


def stage_group(stage: Stage) -> int:
    """Backlog, then wait/active, then side states, then delivered done, then cancelled."""
    if stage.kind == "done":
        return 4 if stage.cancelled else 3
    if stage.side:
        return 2
    return 0 if stage.kind == "backlog" else 1


def path_rank(con: duckdb.DuckDBPyConnection, statuses: list[str]) -> dict[str, tuple[int, float]]:
    """Sort key per status (lower-cased): (-pairwise score, median normalised position), from
    each issue's sequence of first entries into ``statuses`` (initial status included)."""
    before: dict[tuple[str, str], int] = {}
    positions: dict[str, float] = {}
    if table_exists(con, "visits") and statuses:
        for what, a, b, value in con.execute(PATH_SQL, {"linear": list(statuses)}).fetchall():
            if what == "pair":
                before[(a, b)] = int(value)
            else:
                positions[a] = float(value)
    rank = {}
    for s in statuses:
        score = sum((before.get((s, t), 0) > before.get((t, s), 0)) - (before.get((s, t), 0) < before.get((t, s), 0))
                    for t in statuses if t != s)
        rank[s] = (-score, positions.get(s, 1.0))
    return rank


def renumber(stages: list[Stage]) -> tuple[Stage, ...]:
    return tuple(replace(stage, order=n) for n, stage in enumerate(stages))


def single_status_stage(facts: StatusFacts, order: int = 0, *, new: bool = False) -> Stage:
    return Stage(facts.name, (facts.name,), facts.kind, order, facts.side, facts.cancelled, None, facts.decided_by, new)


def ordered_without_board(facts: dict[str, StatusFacts], con: duckdb.DuckDBPyConnection) -> tuple[Stage, ...]:
    stages = [single_status_stage(f) for f in facts.values()]
    linear = sorted({s.name.lower() for s in stages if not s.side})
    rank = path_rank(con, linear)
    stages.sort(key=lambda s: (stage_group(s), rank.get(s.name.lower(), (0, 1.0)), s.name.lower()))
    return renumber(stages)
