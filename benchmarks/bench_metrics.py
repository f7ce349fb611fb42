"""Metrics benchmark: how fast the flow measures answer on about a million status changes.

Measured in-process with ``time.perf_counter`` (the median of ``--repeat`` runs, after one
warm-up), on a dataset imported from the demo simulator's Jira export (120,000 issues by
default, about 1,000,000 status changes):

1. preparation of a flow (``metrics.open_flow``): cold (the version's base cache deleted) and
   warm (base cache present), on the calendar clock and on a working clock;
2. every measure of ``metrics.measures`` on a prepared flow (target: 300 ms each);
3. the pages: a warm preparation plus the measures each page shows (target: 1 s each);
4. the stage-time table against a vectorised pandas version of the same table, both from the
   raw Parquet files (``status_changes``, ``issues``): timelines, stage stays, per-stage
   figures. The two tables must agree; DuckDB must be at least 10 times faster.

Prints every figure against its target and exits 1 when one misses (2 when the setup fails).

Usage: ``python benchmarks/bench_metrics.py [--issues N] [--seed S] [--repeat R] [--keep-store]``
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
sys.path.insert(0, str(REPO))

from vsm_core.db import connect
from vsm_core.metrics import Clock, measures, open_flow, prepare_flow
from vsm_core.metrics.scope import DEFAULT_EXCLUDED_TYPES
from vsm_core.queries import as_of as version_as_of
from vsm_core.stagemap import StageMap
from vsm_core.stagemap.infer import refresh_stage_map
from vsm_core.stagemap.persist import inferred_stage_map
from vsm_core.store import DatasetInfo, open_store
from vsm_core.timelines import create_visits

METRIC_TARGET_S = 0.300
PAGE_TARGET_S = 1.0
SPEEDUP_TARGET = 10.0
WORKING_CLOCK = Clock("working", "Europe/Madrid")

# What each page shows, as the names of ``metrics.measures`` functions.
PAGES = {
    "stream map": ("stage_times", "complete_and_accurate", "rework_loops", "flow_efficiency", "distributions"),
    "flow": ("wip_daily", "throughput", "finished_items", "ageing", "distributions"),
    "bottlenecks": ("stage_times", "net_flow", "ageing", "rework_loops", "handoffs_by_stage"),
}
COMPARED_COUNTS = ("items", "visits")
COMPARED_HOURS = ("median_hours", "p85_hours", "p95_hours", "total_hours", "share_of_lead_time")
HOURS_RTOL = 1e-6
HOURS_ATOL = 1e-9  # a few microseconds: near-zero medians differ only by float rounding


@dataclass(frozen=True)
class Figure:
    """One measured figure and its target (``None``: reported, no target)."""

    name: str
    value: float
    unit: str  # "ms" or "x"
    target: float | None = None

    @property
    def missed(self) -> bool:
        if self.target is None:
            return False
        return self.value < self.target if self.unit == "x" else self.value > self.target


# --- the dataset ---------------------------------------------------------------------------

def ensure_export(n_issues: int, seed: int) -> Path:
    """The cached demo Jira JSON export (``benchmarks/out/``, as ``bench_import.py`` names it),
    generated when missing. Only the JSON is made: ``bench_import.ensure_exports`` also writes a
    CSV, which carries no history and so is no use here."""
    from vsm_core import demo

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / ".gitignore").write_text("*\n", encoding="utf-8")
    path = OUT / f"jira-{n_issues}-seed{seed}.json"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".json.partial")  # never a half file that looks cached
        demo.write_jira_json(partial, n_issues, seed=seed)
        partial.replace(path)
        print(f"generated {path.relative_to(REPO)} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def import_export(path: Path, store_dir: Path) -> DatasetInfo:
    """Import the export with the real command line and return the new dataset."""
    print(f"importing {path.relative_to(REPO)} ...", flush=True)
    started = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "vsm_core", "import", str(path), "--store", str(store_dir), "--json"],
                          check=False, cwd=REPO, env=env, text=True, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"the import failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  imported in {time.perf_counter() - started:.0f} s: {result['issues']:,} issues, "
          f"{result['status_changes']:,} status changes", flush=True)
    return open_store(store_dir).get(result["dataset"])


def describe_dataset(info: DatasetInfo) -> None:
    """Print the real sizes the figures were measured on."""
    con = connect(info.version_path())
    try:
        issues, changes, visits = con.execute(
            "SELECT (SELECT count(*) FROM issues), (SELECT count(*) FROM status_changes), (SELECT count(*) FROM visits)"
        ).fetchone()
    finally:
        con.close()
    with open_flow(info) as flow:
        items, runs = flow.con.execute("SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM runs)").fetchone()
    print(f"dataset: {issues:,} issues, {changes:,} status changes ({changes / issues:.1f} per issue), "
          f"{visits:,} status visits; default scope: {items:,} items, {runs:,} stage stays", flush=True)


# --- timing --------------------------------------------------------------------------------

def median_seconds(work: Callable[[], object], repeat: int, before: Callable[[], object] | None = None) -> float:
    """Median wall time of ``work`` over ``repeat`` runs after one warm-up; ``before`` runs
    untimed ahead of each run (e.g. to empty a cache)."""
    times = []
    for n in range(repeat + 1):
        if before is not None:
            before()
        started = time.perf_counter()
        work()
        if n:  # the first run is the warm-up
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_functions() -> dict[str, Callable]:
    """Every public measure of ``metrics.measures``: the functions that take a ``Flow``."""
    return {name: fn for name, fn in inspect.getmembers(measures, inspect.isfunction)
            if fn.__module__ == measures.__name__ and not name.startswith("_")}


def preparation_figures(info: DatasetInfo, clock: Clock, label: str, repeat: int) -> list[Figure]:
    """Cold preparation (base cache deleted first) and warm preparation (cache present)."""
    derived = info.path / "derived"

    def prepare() -> None:
        open_flow(info, clock=clock).close()

    cold = median_seconds(prepare, repeat, before=lambda: shutil.rmtree(derived, ignore_errors=True))
    warm = median_seconds(prepare, repeat)
    return [Figure(f"prepare, cold{label}", cold * 1000, "ms"), Figure(f"prepare, warm{label}", warm * 1000, "ms")]


def measure_figures(info: DatasetInfo, repeat: int) -> list[Figure]:
    """Each measure on one prepared flow (calendar clock), and stage_times on a working clock."""
    figures = []
    with open_flow(info) as flow:
        # A measure about one stage (stage_entries) is timed on the busiest queue of the map.
        queue = next((s.name for s in flow.stage_map.stages if s.kind == "wait" and not s.side), None)
        for name, fn in measure_functions().items():
            per_stage = "stage" in inspect.signature(fn).parameters
            if per_stage and queue is None:
                continue
            seconds = median_seconds(lambda fn=fn, per_stage=per_stage: fn(flow, queue) if per_stage else fn(flow), repeat)
            figures.append(Figure(f"{name} ({queue})" if per_stage else name, seconds * 1000, "ms", METRIC_TARGET_S * 1000))
    with open_flow(info, clock=WORKING_CLOCK) as flow:
        seconds = median_seconds(lambda: measures.stage_times(flow), repeat)
        figures.append(Figure("stage_times (working clock)", seconds * 1000, "ms", METRIC_TARGET_S * 1000))
    return figures


def page_figures(info: DatasetInfo, repeat: int) -> list[Figure]:
    """Each page as a person opens it: a warm preparation, then every measure it shows."""
    functions = measure_functions()
    figures = []
    for page, names, clock, label in [*((p, n, Clock(), "") for p, n in PAGES.items()),
                                      ("stream map", PAGES["stream map"], WORKING_CLOCK, " (working clock)")]:
        def open_page(names=names, clock=clock) -> None:
            with open_flow(info, clock=clock) as flow:
                for name in names:
                    functions[name](flow)

        seconds = median_seconds(open_page, repeat)
        figures.append(Figure(f"page: {page}{label}", seconds * 1000, "ms", PAGE_TARGET_S * 1000))
    return figures


# --- the same stage-time table, from the raw files: DuckDB and pandas ----------------------

def duckdb_stage_times(version_dir: Path, stage_map: StageMap, as_of: datetime) -> pd.DataFrame:
    """The stage-time table from the raw tables: timelines (the stored visits are dropped and
    rebuilt), base tables, view tables, then ``measures.stage_times``."""
    con = connect(version_dir)
    try:
        con.execute("DROP VIEW IF EXISTS visits")
        create_visits(con, as_of)
        return measures.stage_times(prepare_flow(con, stage_map, as_of))
    finally:
        con.close()


def pandas_stage_times(version_dir: Path, stage_map: StageMap, as_of: datetime) -> pd.DataFrame:
    """The same stage-time table in vectorised pandas, read from the same Parquet files. Issues
    outside the default scope (epics, sub-tasks) are dropped first, as an analyst would."""
    issues = pd.read_parquet(version_dir / "issues.parquet", columns=["key", "type", "status", "created"])
    changes = pd.read_parquet(version_dir / "status_changes.parquet",
                              columns=["key", "time", "from_status", "to_status", "history_id", "item_seq"])
    issues = issues[~issues["type"].fillna("").str.lower().isin(DEFAULT_EXCLUDED_TYPES)]
    visits = pandas_visits(issues, changes, pd.Timestamp(as_of))
    return pandas_stage_table(pandas_stays(visits, stage_map), stage_map)


def pandas_visits(issues: pd.DataFrame, changes: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Status visits under the guide's section 3 rules, as ``vsm_core/timelines.py`` builds
    them: changes ordered by time, history id (nulls last) and position; the first visit in
    the earliest change's from-status (else the current status) from ``created``; every
    boundary clamped into ``[created, max(created, as_of)]``; the last visit ends there."""
    changes = changes.merge(issues[["key", "created"]], on="key")  # changes of the issues kept
    changes = changes.sort_values(["key", "time", "history_id", "item_seq"], na_position="last", ignore_index=True)
    changes["visit_seq"] = changes.groupby("key").cumcount() + 1
    first_from = changes.drop_duplicates("key").set_index("key")["from_status"]
    starts = pd.DataFrame({"key": issues["key"], "created": issues["created"], "start_raw": issues["created"], "visit_seq": 0,
                           "status": issues["key"].map(first_from).fillna(issues["status"])})
    moves = changes.rename(columns={"to_status": "status", "time": "start_raw"})[list(starts.columns)]
    visits = pd.concat([starts, moves], ignore_index=True).sort_values(["key", "visit_seq"], ignore_index=True)
    created = visits["created"]
    horizon = created.where(created > as_of, as_of)
    visits["start"] = visits["start_raw"].where(visits["start_raw"] > created, created).where(lambda s: s < horizon, horizon)
    visits["end"] = visits.groupby("key")["start"].shift(-1).fillna(horizon)
    return visits[["key", "visit_seq", "status", "start", "end"]]


def pandas_stays(visits: pd.DataFrame, stage_map: StageMap) -> pd.DataFrame:
    """Stage stays: visits mapped to stages (a status belongs to the first stage listing it),
    consecutive visits in one stage merged; hours on the calendar clock."""
    stage_of = {}
    for stage in stage_map.stages:
        for status in stage.statuses:
            stage_of.setdefault(status.lower(), stage.name)
    visits = visits.assign(stage=visits["status"].str.lower().map(stage_of)).dropna(subset=["stage"])
    new_stay = visits["stage"].ne(visits.groupby("key")["stage"].shift())
    stay_id = new_stay.cumsum()  # rows are ordered by key and visit: a new key starts a new stay
    stays = visits.groupby(stay_id, sort=False).agg(key=("key", "first"), stage=("stage", "first"),
                                                   start=("start", "min"), end=("end", "max"))
    stays["hours"] = _clock_hours(stays["end"]) - _clock_hours(stays["start"])
    return stays.reset_index(drop=True)


def _clock_hours(times: pd.Series) -> pd.Series:
    """Hours since the epoch, as the calendar clock reads an instant (``epoch(t) / 3600``)."""
    return times.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]").astype("int64") / 3.6e9


def pandas_stage_table(stays: pd.DataFrame, stage_map: StageMap) -> pd.DataFrame:
    """Per stage: items, visits (stays), median / p85 / p95 / total hours per item, and the
    share of the flow time of delivered items (finished in a delivered done stage)."""
    kind = {s.name: s.kind for s in stage_map.stages}
    cancelled = {s.name for s in stage_map.stages if s.cancelled}
    per_item = stays.groupby(["key", "stage"], sort=False)["hours"].agg(["size", "sum"])
    grouped = per_item.groupby(level="stage")
    table = pd.DataFrame({"items": grouped.size(), "visits": grouped["size"].sum(), "total_hours": grouped["sum"].sum()})
    quantiles = grouped["sum"].quantile([0.5, 0.85, 0.95]).unstack()
    table[["median_hours", "p85_hours", "p95_hours"]] = quantiles[[0.5, 0.85, 0.95]].to_numpy()
    stage_kind = stays["stage"].map(kind)
    final_stage = stays.groupby("key", sort=False)["stage"].transform("last")
    delivered = (final_stage.map(kind) == "done") & ~final_stage.isin(cancelled)
    flow_stays = stays[delivered & (stage_kind != "done")]
    flow_hours = flow_stays.groupby("stage")["hours"].sum()
    names = [s.name for s in stage_map.stages]
    table = table.reindex(names)
    table[["items", "visits", "total_hours"]] = table[["items", "visits", "total_hours"]].fillna(0)
    table["share_of_lead_time"] = flow_hours.reindex(names).fillna(0) / flow_hours.sum()
    table.loc[[n for n in names if kind[n] == "done"], "share_of_lead_time"] = np.nan
    return table.rename_axis("stage").reset_index()


def table_differences(duck: pd.DataFrame, panda: pd.DataFrame) -> list[str]:
    """Where the two stage-time tables disagree: counts exactly, hours within ``HOURS_RTOL``."""
    problems = []
    if list(duck["stage"]) != list(panda["stage"]):
        return [f"stages differ: {list(duck['stage'])} vs {list(panda['stage'])}"]
    for column in COMPARED_COUNTS:
        a, b = duck[column].astype("int64").to_numpy(), panda[column].astype("int64").to_numpy()
        problems += [f"{stage}: {column} {x} (DuckDB) vs {y} (pandas)" for stage, x, y in zip(duck["stage"], a, b) if x != y]
    for column in COMPARED_HOURS:
        a, b = duck[column].astype("float64").to_numpy(), panda[column].astype("float64").to_numpy()
        close = np.isclose(a, b, rtol=HOURS_RTOL, atol=HOURS_ATOL, equal_nan=True)
        problems += [f"{stage}: {column} {float(x)!r} (DuckDB) vs {float(y)!r} (pandas)"
                     for stage, x, y, ok in zip(duck["stage"], a, b, close) if not ok]
    return problems


def speedup_figures(info: DatasetInfo, repeat: int) -> list[Figure]:
    """DuckDB against pandas for the stage-time table, both from the raw files (the cold path),
    and DuckDB's stage_times on a prepared flow against the same pandas run (the warm path).
    Raises when the two tables disagree."""
    version_dir = info.version_path()
    as_of = version_as_of(info, info.latest)
    con = connect(version_dir)
    try:
        stage_map = inferred_stage_map(version_dir, con)
        pandas_map = refresh_stage_map(stage_map, con)  # DuckDB completes the map inside its timing
    finally:
        con.close()
    duck, panda = duckdb_stage_times(version_dir, stage_map, as_of), pandas_stage_times(version_dir, pandas_map, as_of)
    problems = table_differences(duck, panda)
    if problems:
        raise AssertionError("the DuckDB and pandas stage-time tables disagree:\n  " + "\n  ".join(problems[:20]))
    print(f"stage-time tables agree on {len(duck)} stages ({int(duck['items'].sum()):,} item-stage rows)", flush=True)
    duck_s = median_seconds(lambda: duckdb_stage_times(version_dir, stage_map, as_of), repeat)
    pandas_s = median_seconds(lambda: pandas_stage_times(version_dir, pandas_map, as_of), repeat)
    with open_flow(info) as flow:
        warm_s = median_seconds(lambda: measures.stage_times(flow), repeat)
    return [
        Figure("pandas stage-time table, from raw files", pandas_s * 1000, "ms"),
        Figure("DuckDB stage-time table, from raw files", duck_s * 1000, "ms"),
        Figure("DuckDB stage_times on a prepared flow", warm_s * 1000, "ms"),
        Figure("speed-up from raw files (pandas / DuckDB)", pandas_s / duck_s, "x", SPEEDUP_TARGET),
        Figure("speed-up, warm (pandas / stage_times on a prepared flow)", pandas_s / warm_s, "x", SPEEDUP_TARGET),
    ]


# --- report --------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds the whole machine and this process (with its children) have used so far."""

    wall: float
    machine: float | None  # None where /proc/stat is missing
    own: float

    @classmethod
    def now(cls) -> CpuSample:
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return cls(time.perf_counter(), machine_busy_seconds(), sum(u.ru_utime + u.ru_stime for u in usage))


def machine_busy_seconds() -> float | None:
    """Busy CPU seconds of all CPUs since boot (user, nice, system, irq, softirq, steal)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def other_load_note(start: CpuSample, end: CpuSample) -> str:
    """How much of the CPUs other processes used between two samples: they slow every figure
    (DuckDB's two threads more than pandas's one), so a run on a busy machine says so."""
    if start.machine is None or end.machine is None:
        return "CPU use of other processes: unknown (no /proc/stat)"
    other = max(0.0, (end.machine - start.machine) - (end.own - start.own))
    share = other / ((end.wall - start.wall) * (os.cpu_count() or 1))
    note = f"other processes used {share:.0%} of the CPUs during the run"
    return note + (" -- a busy machine: the figures are slower than on an idle one" if share > 0.05 else "")


def print_figures(title: str, figures: list[Figure]) -> None:
    print(f"\n{title}")
    print(f"{'figure':<58} {'value':>10} {'target':>10}  result")
    for f in figures:
        value = f"{f.value:,.0f} ms" if f.unit == "ms" else f"{f.value:.1f}x"
        target = "-" if f.target is None else (f"<= {f.target:,.0f} ms" if f.unit == "ms" else f">= {f.target:g}x")
        result = "-" if f.target is None else ("MISSED" if f.missed else "ok")
        print(f"{f.name:<58} {value:>10} {target:>10}  {result}")


def run(args: argparse.Namespace) -> int:
    export = ensure_export(args.issues, args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="vsm-bench-metrics-"))
    try:
        info = import_export(export, scratch / "store")
        describe_dataset(info)
        started = CpuSample.now()
        prepared = preparation_figures(info, Clock(), "", args.repeat) + preparation_figures(
            info, WORKING_CLOCK, " (working clock)", args.repeat)
        metrics = measure_figures(info, args.repeat)
        pages = page_figures(info, args.repeat)
        duckdb_peak = peak_rss_mb()
        compared = speedup_figures(info, args.repeat)
        finished = CpuSample.now()
    finally:
        if args.keep_store:
            print(f"store kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"\nMetrics benchmark, {args.issues:,} issues, median of {args.repeat} runs, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print_figures("Preparation (no target of its own; part of every page)", prepared)
    print_figures("Measures on a prepared flow", metrics)
    print_figures("Pages (warm preparation + the page's measures)", pages)
    print_figures("Against pandas (same stage-time table)", compared)
    print(f"\n{other_load_note(started, finished)}")
    print(f"peak RSS: {duckdb_peak:,.0f} MB before the pandas comparison, {peak_rss_mb():,.0f} MB at the end")
    missed = [f for f in metrics + pages + compared if f.missed]
    for f in missed:
        print(f"MISSED: {f.name}")
    return 1 if missed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=120_000, help="issues in the export (default %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure; the median is reported")
    parser.add_argument("--keep-store", action="store_true", help="keep the temporary dataset store for a look")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (RuntimeError, AssertionError) as problem:
        print(f"\n{problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
