"""A prepared view of one dataset version under a stage map, filters and a clock.

``open_flow`` (for a stored dataset) and ``prepare_flow`` (for any connection holding the
canonical tables and ``visits``) build the tables described in ``metrics.sql`` once; every
measure then reads them, so the measures of a page share one preparation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from vsm_core.metrics import sql
from vsm_core.metrics.scope import Clock, Filters, issue_filter_sql, window_bounds
from vsm_core.stagemap import (
    StageMap,
    list_stage_maps,
    load_stage_map,
    refresh_stage_map,
)
from vsm_core.stagemap.persist import INFERRED_FILE, inferred_stage_map
from vsm_core.store import DatasetInfo

_PARAM = re.compile(r"\$([a-z_]+)")


@dataclass(frozen=True)
class Flow:
    """The prepared tables of one (dataset version, stage map, filters, clock)."""

    con: duckdb.DuckDBPyConnection
    stage_map: StageMap
    filters: Filters
    clock: Clock
    as_of: datetime
    params: dict

    def query(self, statement: str) -> pd.DataFrame:
        """Run one of ``metrics.sql``'s read statements with the bound parameters it names."""
        return self.con.execute(statement, _bind(statement, self.params)).df()

    def stage_id(self, name: str) -> int:
        """The number of the stage called ``name`` (case-insensitive) in this view's map."""
        for stage_id, stage in enumerate(self.stage_map.stages):
            if stage.name.lower() == name.strip().lower():
                return stage_id
        known = ", ".join(stage.name for stage in self.stage_map.stages)
        raise ValueError(f"The stage map has no stage called {name!r}; its stages are {known}.")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Flow:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _bind(statement: str, params: dict) -> dict:
    return {name: params[name] for name in set(_PARAM.findall(statement))}


def _execute(con: duckdb.DuckDBPyConnection, statement: str, params: dict) -> None:
    con.execute(statement, _bind(statement, params))


def _load_stage_map(con: duckdb.DuckDBPyConnection, stage_map: StageMap) -> None:
    for statement in sql.STAGE_MAP_TABLES:
        con.execute(statement)
    stage_rows, status_rows, seen = [], [], set()
    for stage_id, stage in enumerate(stage_map.stages):
        stage_rows.append({"stage_id": stage_id, "stage": stage.name, "stage_order": stage.order, "kind": stage.kind,
                           "side": stage.side, "cancelled": stage.cancelled, "wip_limit": stage.wip_limit,
                           "statuses": list(stage.statuses), "new": stage.new})
        for status in stage.statuses:
            if status.lower() not in seen:  # a status belongs to the first stage that lists it
                seen.add(status.lower())
                status_rows.append({"status_l": status.lower(), "stage_id": stage_id})
    con.executemany(sql.INSERT_STAGE, stage_rows)
    con.executemany(sql.INSERT_STATUS, status_rows)


def _clock_params(clock: Clock, as_of: datetime) -> dict:
    return {"as_of": as_of, "working": clock.kind == "working", "tz": clock.timezone,
            "holidays": sorted(set(clock.holidays))}


def build_base(con: duckdb.DuckDBPyConnection, stage_map: StageMap, as_of: datetime, clock: Clock) -> None:
    """Build ``base_runs`` and ``base_items`` for every issue on ``con``."""
    params = _clock_params(clock, as_of)
    for statement in sql.CLOCK_MACROS:
        con.execute(statement)
    _load_stage_map(con, stage_map)
    for statement in (sql.BASE_ISSUES, sql.BASE_FLAG_SPANS, sql.BASE_RUNS, sql.BASE_ITEMS):
        _execute(con, statement.replace("$holidays", "CAST($holidays AS DATE[])"), params)


def prepare_flow(con: duckdb.DuckDBPyConnection, stage_map: StageMap, as_of: datetime, *,
                 filters: Filters = Filters(), clock: Clock = Clock(), cache_dir: Path | None = None) -> Flow:
    """Build the view's tables on ``con`` (which has ``issues``, ``visits`` and
    ``field_changes``). ``stage_map`` is completed first with any status it does not know.

    With ``cache_dir``, the base tables of this (data version, map, clock) are read from there
    when an earlier view saved them, and saved there otherwise (see ``BaseCache``)."""
    stage_map = refresh_stage_map(stage_map, con)
    win_from, win_to = window_bounds(filters, clock)
    condition, filter_params = issue_filter_sql(filters)
    params = {**_clock_params(clock, as_of), "win_from": win_from, "win_to": win_to, **filter_params}
    cache = BaseCache(cache_dir, stage_map, clock) if cache_dir is not None else None
    if cache is not None and cache.load(con):
        for statement in sql.CLOCK_MACROS:
            con.execute(statement)
        _load_stage_map(con, stage_map)
        source, params["runs_file"] = "saved", str(cache.runs_file)
    else:
        build_base(con, stage_map, as_of, clock)
        source = "built"
        if cache is not None:
            cache.save(con)
    _execute(con, sql.SCOPE.replace("{condition}", condition), params)
    _execute(con, sql.ITEMS, params)
    _execute(con, sql.RUNS.replace("{base_runs}", sql.RUNS_SOURCES[source]), params)
    return Flow(con, stage_map, filters, clock, as_of, params)


class BaseCache:
    """The base tables of one (data version, stage map, clock) kept as Parquet files.

    Building them reads every status visit (about half a second on 100,000 issues); every
    later view of the same data, map and clock (any filters) reads them back instead. A
    version's data never changes, so an entry never goes stale; the folder name holds the map
    version id and a digest of the clock. Saving is best effort (a read-only store still
    works) and atomic (a folder renamed into place); at most ``KEEP`` entries stay per version.
    """

    KEEP = 6
    FILES = ("base_runs", "base_items")

    def __init__(self, root: Path, stage_map: StageMap, clock: Clock):
        # The statements are part of the key: a release that changes them never reads old files.
        key = (clock.kind, clock.timezone, sorted(set(clock.holidays)), sql.CLOCK_MACROS, sql.STAGE_MAP_TABLES,
               sql.BASE_ISSUES, sql.BASE_FLAG_SPANS, sql.BASE_RUNS, sql.BASE_ITEMS)
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:12]
        self.root = Path(root)
        self.folder = self.root / f"{stage_map.version_id}-{digest}"

    @property
    def runs_file(self) -> Path:
        return self.folder / "base_runs.parquet"

    def load(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Load ``base_items`` and check that ``base_runs`` can be read (it is read in place)."""
        if not all((self.folder / f"{name}.parquet").exists() for name in self.FILES):
            return False
        try:
            con.execute(sql.LOAD_BASE.replace("{table}", "base_items"), {"file": str(self.folder / "base_items.parquet")})
            con.execute(sql.CHECK_SAVED_RUNS, {"file": str(self.runs_file)}).fetchall()
        except duckdb.Error:
            return False
        os.utime(self.folder)  # recently used entries are kept
        return True

    def save(self, con: duckdb.DuckDBPyConnection) -> None:
        staging = self.root / f".{self.folder.name}.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            staging.mkdir(parents=True)
            for name in self.FILES:
                con.execute(sql.SAVE_BASE.replace("{table}", name), {"file": str(staging / f"{name}.parquet")})
            os.rename(staging, self.folder)
            self._evict()
        except (OSError, duckdb.Error):
            shutil.rmtree(staging, ignore_errors=True)  # another process saved it first, or no room

    def _evict(self) -> None:
        entries = sorted((p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[self.KEEP:]:
            shutil.rmtree(old, ignore_errors=True)


def resolve_stage_map(info: DatasetInfo, con: duckdb.DuckDBPyConnection, map_id: str | None = None,
                      version: int | None = None, *, stage_map: StageMap | None = None) -> StageMap:
    """The stage map a view uses: ``stage_map`` when given (an unsaved draft), else ``map_id``,
    else the dataset's most recently saved map, else the data version's inferred default."""
    if stage_map is not None:
        return stage_map
    if map_id:
        inferred = inferred_stage_map(info.version_path(version), con)
        # A link pins the map it was made with: the inferred map of a version is named by its
        # id too, without being saved.
        return inferred if inferred.version_id == map_id else load_stage_map(info.path, map_id)
    saved = list_stage_maps(info.path)
    if saved:
        return load_stage_map(info.path, saved[0][0])
    return inferred_stage_map(info.version_path(version), con)


def current_map_id(info: DatasetInfo, version: int | None = None) -> str:
    """The id of the stage map a view of ``version`` uses when its link names none (see
    ``resolve_stage_map``), so that a link can pin it. Reads only small files unless the
    version predates its stored inferred map."""
    from vsm_core.queries import open_version

    saved = list_stage_maps(info.path)
    if saved:
        return saved[0][0]
    version_dir = info.version_path(version or info.latest)
    try:
        with open(version_dir / INFERRED_FILE, encoding="utf-8") as handle:
            return StageMap.from_dict(json.load(handle)).version_id
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not stored with this version, or unreadable: infer it
    con = open_version(info, version or info.latest)
    try:
        return inferred_stage_map(version_dir, con).version_id
    finally:
        con.close()


def open_flow(info: DatasetInfo, version: int | None = None, *, map_id: str | None = None,
              filters: Filters = Filters(), clock: Clock = Clock(), stage_map: StageMap | None = None) -> Flow:
    """Prepare the flow of a stored dataset version (the latest by default); ``stage_map`` measures
    an unsaved map (the editor's preview) in place of a saved one. The base tables are cached by
    the map's content hash either way."""
    from vsm_core.queries import as_of as version_as_of
    from vsm_core.queries import open_version

    version = version or info.latest
    con = open_version(info, version)
    try:
        stage_map = resolve_stage_map(info, con, map_id, version, stage_map=stage_map)
        return prepare_flow(con, stage_map, version_as_of(info, version), filters=filters, clock=clock,
                            cache_dir=info.path / "derived" / f"v{version}")
    except BaseException:
        con.close()
        raise
