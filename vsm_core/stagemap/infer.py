"""Inferring a dataset version's default stage map, with or without a board configuration, and
refreshing a map with statuses it does not know."""

from __future__ import annotations

from dataclasses import replace

import duckdb

from vsm_core.stagemap.model import Stage, StageMap
from vsm_core.stagemap.rules import (
    SIDE_WORDS,
    WAIT_WORDS,
    StatusFacts,
    ordered_without_board,
    renumber,
    single_status_stage,
    stage_group,
    status_facts,
    status_kind,
    table_exists,
)


def _board_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, list[str], int | None]]:
    """(column, column_order, status names, wip max) per board column holding a known status."""
    if not table_exists(con, "board_columns"):
        return []
    has_statuses = table_exists(con, "statuses")
    name_sql = "coalesce(b.status_name, s.name)" if has_statuses else "b.status_name"
    join = "LEFT JOIN (SELECT status_id, any_value(name) AS name FROM statuses GROUP BY 1) s ON s.status_id = b.status_id" if has_statuses else ""
    rows = con.execute(
        f"SELECT b.column_order, b.\"column\", {name_sql} AS status, b.wip_max FROM board_columns b {join} "
        "ORDER BY b.column_order"
    ).fetchall()
    columns: dict[int, tuple[str, list[str], list[int]]] = {}
    for order, column, status, wip_max in rows:
        entry = columns.setdefault(int(order), (str(column), [], []))
        if status and status.lower() not in {s.lower() for s in entry[1]}:
            entry[1].append(status)
        if wip_max is not None:
            entry[2].append(int(wip_max))
    return [(name, order, statuses, max(wips) if wips else None)
            for order, (name, statuses, wips) in sorted(columns.items()) if statuses]


def _column_stages(column: str, statuses: list[str], wip: int | None, facts: dict[str, StatusFacts]) -> list[Stage]:
    """The stage of one board column (two when a done column mixes delivered and cancelled)."""
    known = [facts.get(s.lower()) or StatusFacts(s, *unobserved_status_facts(s)) for s in statuses]
    names = tuple(f.name if f.name.lower() == s.lower() else s for f, s in zip(known, statuses))
    if all(f.kind == "done" for f in known):
        delivered = tuple(n for n, f in zip(names, known) if not f.cancelled)
        cancelled = tuple(n for n, f in zip(names, known) if f.cancelled)
        if delivered and cancelled:
            return [Stage(column, delivered, "done", 0, False, False, wip, "board column"),
                    Stage(cancelled[0] if len(cancelled) == 1 else f"{column} (cancelled)", cancelled, "done", 0,
                          False, True, None, "board column")]
        return [Stage(column, names, "done", 0, False, bool(cancelled), wip, "board column")]
    open_facts = [f for f in known if f.kind != "done"]
    side = all(f.side for f in open_facts) or bool(SIDE_WORDS.search(column))
    if side:
        kind = "wait"
    elif all(f.kind == "backlog" for f in open_facts):
        kind = "backlog"
    elif WAIT_WORDS.search(column) or all(f.kind == "wait" for f in open_facts):
        kind = "wait"
    else:
        kind = "active"
    return [Stage(column, names, kind, 0, side, False, wip, "board column")]


def unobserved_status_facts(name: str) -> tuple[str, bool, bool, str]:
    """Facts for a board status never seen in the data (by name only)."""
    kind, how = status_kind(name, None)
    return kind, False, bool(SIDE_WORDS.search(name)), how


def _predecessors(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Per status (lower-cased), the statuses items came from, most common first."""
    rows = con.execute(
        "SELECT lower(to_status), from_status, count(*) AS n FROM status_changes "
        "WHERE from_status IS NOT NULL AND to_status IS NOT NULL AND lower(from_status) <> lower(to_status) "
        "GROUP BY 1, 2 ORDER BY 1, n DESC, 2"
    ).fetchall()
    result: dict[str, list[str]] = {}
    for to_status, from_status, _ in rows:
        result.setdefault(to_status, []).append(from_status)
    return result


def _insert(stages: list[Stage], stage: Stage, predecessors: list[str]) -> None:
    """Put an extra single-status stage where the flow says it belongs (see module rules)."""
    if stage.kind == "done" or stage.side:
        position = next((i for i, s in enumerate(stages) if stage_group(s) > stage_group(stage)), len(stages))
        stages.insert(position, stage)
        return
    index = {status.lower(): i for i, s in enumerate(stages) for status in s.statuses}
    for previous in predecessors:
        i = index.get(previous.lower())
        if i is None or stage_group(stages[i]) > stage_group(stage):
            continue
        if i + 1 == len(stages) or stage_group(stages[i + 1]) >= stage_group(stage):
            stages.insert(i + 1, stage)
            return
    position = next((i for i, s in enumerate(stages) if stage_group(s) > stage_group(stage)), len(stages))
    stages.insert(position, stage)


def _with_board(con: duckdb.DuckDBPyConnection, columns, facts: dict[str, StatusFacts]) -> tuple[Stage, ...]:
    stages = [stage for column, _, statuses, wip in columns for stage in _column_stages(column, statuses, wip, facts)]
    stages.sort(key=stage_group)  # stable: column order within each group
    known = {s.lower() for stage in stages for s in stage.statuses}
    predecessors = _predecessors(con)
    for key, fact in facts.items():
        if key not in known:
            _insert(stages, single_status_stage(fact), predecessors.get(key, []))
    return renumber(stages)


def infer_stage_map(con: duckdb.DuckDBPyConnection) -> StageMap:
    """The default stage map of a dataset version (see the module docstring for the rules)."""
    facts = status_facts(con)
    columns = _board_columns(con)
    if columns:
        return StageMap(_with_board(con, columns, facts))
    return StageMap(ordered_without_board(facts, con))


def refresh_stage_map(stage_map: StageMap, con: duckdb.DuckDBPyConnection) -> StageMap:
    """``stage_map`` plus a single-status stage (``new=True``) for each status in the data it
    does not know, inferred by the default rules. Existing stages are kept exactly as they are
    (order included); the new stages come after them: open ones first, then done, then
    cancelled, for the user to confirm and move."""
    known = stage_map.statuses()
    observed = {row[0] for row in con.execute(
        "SELECT DISTINCT lower(status) FROM issues WHERE status IS NOT NULL "
        "UNION SELECT DISTINCT lower(to_status) FROM status_changes WHERE to_status IS NOT NULL "
        "UNION SELECT DISTINCT lower(from_status) FROM status_changes WHERE from_status IS NOT NULL"
    ).fetchall()}
    if observed <= known:  # the common case, without the cost of inferring facts
        return stage_map
    fresh = [single_status_stage(f, new=True) for key, f in status_facts(con).items() if key not in known]
    if not fresh:
        return stage_map
    fresh.sort(key=lambda s: (stage_group(s), s.name.lower()))
    start = max((s.order for s in stage_map.stages), default=-1) + 1
    added = tuple(replace(stage, order=start + n) for n, stage in enumerate(fresh))
    return StageMap(stage_map.stages + added)
