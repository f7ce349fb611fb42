"""Page-speed benchmark: how long each dashboard page takes in a real browser on about a
million status changes, measured the way a user meets it.

A real ``streamlit run app.py`` server on 127.0.0.1 (``VSM_STORE`` pointing at a store with the
benchmark dataset) and Debian's Chromium through Playwright. For every page of
``vsm_app.navigation.PAGES``, with ``?dataset=<id>`` in the URL:

1. **first load, cold**: the dataset's derived cache (``<dataset>/derived``) deleted and a fresh
   server process (its caches empty); the time from the start of the navigation to the end of
   the run;
2. **first load, warm**: the same with the derived cache left from the cold load (median of
   ``--first-loads`` for both);
3. **rerun**: the "r" key (Streamlit's rerun shortcut) on the loaded page: a full rerun of the
   same view in the same session (median of ``--repeat``);
4. **widget rerun**: a real widget change that comes back to the same view: the sidebar's first
   checkbox ("Include epics and sub-tasks") ticked, then unticked; only the runs back to the page's
   own view are timed, after one untimed round trip (median of ``--repeat``; "no checkbox" on a
   page without one);
5. **reload**: ``page.reload()``, a new session on the warm server (median of ``--repeat``);
6. **new view**: a link to the page with a date filter (``from=``) the server has not computed
   yet, a different day each time, nearly every item still in (median of ``--views``).

The end of a run is the moment the app's script state becomes ``notRunning`` with no skeleton
left (Streamlit's own end-to-end rule, as ``tests/browser_support.wait_for_run``), taken in the
page by a MutationObserver so that it is exact to the frame; a run counts as finished when no
new run starts within ``SETTLE_S`` after it (a rerun the page asks for is part of the time).

Targets (the product issue): a first load (cold or warm) and a new view at most 4 s, a rerun,
a widget rerun and a reload at most 1.5 s.

Then **where the time goes**: each of the pages furthest over a target (``--profile N``,
default 3) is loaded once more on a fresh server whose every script run is profiled with
cProfile (the derived cache present), first load and "r" rerun, and the calls that take the
time are printed as a tree from the app script down (``benchmarks/out/bench_pages_profile.txt``;
the ``.prof`` files stay in ``benchmarks/out/bench_pages_profile/<page>/``). cProfile slows
Python code more than DuckDB's: read the shares, and the browser table for the times.

Prints a table, writes ``benchmarks/out/bench_pages.json``, and exits 1 when a figure misses its
target, 2 when a page fails (an error on the page, a timeout, the wrong dataset).

The dataset is the demo simulator's export of ``--issues`` issues (default 120,000: about
1,000,000 status changes, as in ``bench_metrics.py``), imported once with the real command line
into ``--store`` (default ``benchmarks/out/pages-store``, kept for the next run). About 8
minutes on 2 CPUs (25 s more the first time, to import).

Usage: ``python benchmarks/bench_pages.py [--issues N] [--seed S] [--store DIR] [--pages SLUG ...]
[--repeat R] [--views V] [--first-loads N] [--no-cold] [--profile N]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlparse

from playwright.sync_api import Error as PlaywrightError

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))

from bench_metrics import machine_busy_seconds  # noqa: E402 -- the machine's load, read as bench_metrics does
from browser_support import Server  # noqa: E402 -- the tests' server: the dashboard as `make run` starts it

FIRST_LOAD_TARGET_S = 4.0
RERUN_TARGET_S = 1.5
SETTLE_S = 0.7  # a run is over when no new run starts this long after it ends
RUN_TIMEOUT_S = 180.0
VIEWPORT = {"width": 1400, "height": 1000}
FIGURES = (  # key, column heading, target in seconds
    ("first_cold", "first load cold", FIRST_LOAD_TARGET_S),
    ("first_warm", "first load warm", FIRST_LOAD_TARGET_S),
    ("rerun", "rerun p50", RERUN_TARGET_S),
    ("widget_rerun", "widget rerun p50", RERUN_TARGET_S),
    ("reload", "reload p50", RERUN_TARGET_S),
    ("new_view", "new view p50", FIRST_LOAD_TARGET_S),
)

# Installed in every document before the app's own scripts: records when the script state
# changes and when the page is "done" (notRunning, no skeleton), on the page's own clock.
RUN_OBSERVER = """
(() => {
  if (window.__runs) return;
  const runs = window.__runs = {started: [], done: false, doneAt: null, state: null};
  const check = () => {
    const app = document.querySelector("[data-testid='stApp']");
    const state = app ? app.getAttribute("data-test-script-state") : null;
    const now = performance.now();
    if (state !== runs.state) {
      runs.state = state;
      if (state === "running" || state === "rerunRequested") runs.started.push(now);
    }
    const done = state === "notRunning" && !document.querySelector("[data-testid='stSkeleton']");
    if (done !== runs.done) { runs.done = done; runs.doneAt = now; }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true,
                                                 attributeFilter: ["data-test-script-state"]});
})();
"""
RUNS_NOW = "() => ({started: window.__runs ? window.__runs.started : [], done: !!(window.__runs && window.__runs.done), " \
           "doneAt: window.__runs ? window.__runs.doneAt : null, now: performance.now()})"


class PageFailed(RuntimeError):
    """The page did not finish, showed an error, or showed another dataset or page."""


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:400]}"


# --- the dataset and the server --------------------------------------------------------------

def ensure_dataset(store_dir: Path, issues: int, seed: int):
    """The benchmark dataset in ``store_dir``: the demo simulator's export (generated once, as
    the other benchmarks do), imported with the real command line the first time."""
    from bench_metrics import ensure_export, import_export

    from vsm_core.store import open_store

    name = f"jira-{issues}-seed{seed}"
    if store_dir.exists():
        for info in open_store(store_dir).datasets():
            if info.name == name:
                return info
    return import_export(ensure_export(issues, seed), store_dir)


def start_server(store_dir: Path, log_path: Path, profile_dir: Path | None = None) -> Server:
    """The dashboard as ``make run`` starts it (tests/browser_support.Server); with
    ``profile_dir``, every script run is profiled (see ``serve_profiled``)."""
    if profile_dir is None:
        return Server(store_dir, log_path)
    return Server(store_dir, log_path, command=lambda *options: [
        sys.executable, str(Path(__file__).resolve()), "--serve-profiled", str(profile_dir), *options])


def serve_profiled(profile_dir: Path, streamlit_args: list[str]) -> None:
    """Run the Streamlit server with every script run under cProfile: one ``run-NNNN.prof`` and
    a ``run-NNNN.json`` (wall seconds, page, query string) per run in ``profile_dir``."""
    from streamlit.runtime.scriptrunner import script_runner

    profile_dir.mkdir(parents=True, exist_ok=True)
    counter = itertools.count(1)
    run_script = script_runner.ScriptRunner._run_script

    def profiled_run(self, rerun_data):
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        try:
            return run_script(self, rerun_data)
        finally:
            profile.disable()
            n = next(counter)
            profile.dump_stats(profile_dir / f"run-{n:04d}.prof")
            (profile_dir / f"run-{n:04d}.json").write_text(json.dumps({
                "seconds": time.perf_counter() - started, "query": rerun_data.query_string,
                "page_name": getattr(rerun_data, "page_name", "")}))

    script_runner.ScriptRunner._run_script = profiled_run
    from vsm_app.serve import main as serve

    serve(streamlit_args)


# --- the machine's load ------------------------------------------------------------------------

def _proc_cpu_seconds(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and of its reaped children) from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), sum(int(v) for v in fields[11:15]) / ticks


def own_cpu_seconds() -> float:
    """CPU seconds of this process and everything it started (servers, the browser), the ended
    ones included."""
    import resource

    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    total = sum(u.ru_utime + u.ru_stime for u in usage)
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _proc_cpu_seconds(int(entry))) is not None:
            parents[int(entry)] = found
    tree, grew = {os.getpid()}, True
    while grew:
        grew = False
        for pid, (parent, _) in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return total + sum(cpu for pid, (_, cpu) in parents.items() if pid in tree and pid != os.getpid())


class OtherLoad:
    """The share of the CPUs that other processes used while a page was measured: they slow
    every figure, so a run on a busy machine says so."""

    def __init__(self):
        self.start = (time.perf_counter(), machine_busy_seconds(), own_cpu_seconds())

    def share(self) -> float | None:
        wall, busy, own = time.perf_counter(), machine_busy_seconds(), own_cpu_seconds()
        if busy is None or self.start[1] is None or wall <= self.start[0]:
            return None
        other = max(0.0, (busy - self.start[1]) - (own - self.start[2]))
        return other / ((wall - self.start[0]) * (os.cpu_count() or 1))


# --- one page in the browser ------------------------------------------------------------------

def wait_for_runs(page, mark_ms: float, timeout_s: float = RUN_TIMEOUT_S) -> float:
    """Milliseconds from ``mark_ms`` (the page's clock) to the end of the last run that started
    after it; raises ``PageFailed`` when no run starts or none ends in time."""
    deadline = time.monotonic() + timeout_s
    state = None
    while time.monotonic() < deadline:
        try:
            state = page.evaluate(RUNS_NOW)
        except PlaywrightError:  # a navigation in progress destroys the page's context: try again
            time.sleep(0.05)
            continue
        started = [t for t in state["started"] if t >= mark_ms]
        if started and state["done"] and state["doneAt"] >= started[-1] and state["now"] - state["doneAt"] >= SETTLE_S * 1000:
            return state["doneAt"] - mark_ms
        time.sleep(0.05)
    raise PageFailed(f"no finished run within {timeout_s:.0f} s (last state {state})")


def check_page(page, slug: str, default: bool, dataset: str) -> list[str]:
    """Raise ``PageFailed`` when the page shows an error or is not the page and dataset asked
    for; return the warnings it shows (kept as notes)."""
    errors = page.locator("[data-testid='stException'], [data-testid='stAlertContentError'], [data-testid='stDialog']")
    if errors.count():
        raise PageFailed("the page shows an error: " + " | ".join(t.strip()[:300] for t in errors.all_inner_texts()))
    url = urlparse(page.url)
    path = url.path.strip("/")
    if path != ("" if default else slug):
        raise PageFailed(f"the browser shows {page.url}, not the {slug} page")
    if f"dataset={dataset}" not in url.query:
        raise PageFailed(f"the page's URL does not name the benchmark dataset: {page.url}")
    warnings = page.locator("[data-testid='stAlertContentWarning']")
    return [t.strip()[:200] for t in warnings.all_inner_texts()] if warnings.count() else []


def timed_goto(page, url: str) -> float:
    page.goto(url, wait_until="commit", timeout=RUN_TIMEOUT_S * 1000)
    return wait_for_runs(page, 0.0)  # the page's clock starts with the navigation


def timed_reload(page) -> float:
    page.reload(wait_until="commit", timeout=RUN_TIMEOUT_S * 1000)
    return wait_for_runs(page, 0.0)


def timed_rerun_key(page) -> float:
    """The "r" shortcut reruns the script unless an input has the focus."""
    mark = page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); return performance.now(); }")
    page.keyboard.press("r")
    return wait_for_runs(page, mark)


def sidebar_checkbox(page):
    """The sidebar's first checkbox (its input, by role: a click on it is a user's tick)."""
    boxes = page.get_by_test_id("stSidebar").get_by_role("checkbox")
    return boxes.first if boxes.count() else None


def timed_click(locator) -> float:
    """Click in the page and return the page's clock just before the click."""
    return locator.evaluate("el => { const t = performance.now(); el.click(); return t; }")


def timed_widget_reruns(page, repeat: int) -> list[float]:
    """Tick the sidebar's first checkbox and untick it; the untick (back to the page's view) is
    timed. One untimed round trip first computes the other view."""
    times = []
    for n in range(repeat + 1):
        box = sidebar_checkbox(page)
        if box is None:
            return []
        wait_for_runs(page, timed_click(box))
        box = sidebar_checkbox(page)
        if box is None:
            raise PageFailed("the sidebar checkbox went away after it was ticked")
        elapsed = wait_for_runs(page, timed_click(box))
        if n:
            times.append(elapsed)
    return times


# --- the measurement --------------------------------------------------------------------------

@dataclass
class PageResult:
    slug: str
    title: str
    first_cold: list[float] = field(default_factory=list)  # milliseconds
    first_warm: list[float] = field(default_factory=list)
    rerun: list[float] = field(default_factory=list)
    widget_rerun: list[float] = field(default_factory=list)
    reload: list[float] = field(default_factory=list)
    new_view: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    other_load: float | None = None  # share of the CPUs other processes used meanwhile

    def p50(self, key: str) -> float | None:
        values = getattr(self, key)
        return statistics.median(values) if values else None

    def missed(self) -> list[str]:
        return [heading for key, heading, target in FIGURES
                if self.p50(key) is not None and self.p50(key) > target * 1000]


class Bench:
    def __init__(self, args: argparse.Namespace, info, browser, work: Path):
        self.args, self.info, self.browser, self.work = args, info, browser, work
        self.first_day = date.fromisoformat(str(info.meta(info.latest).get("first_created"))[:10])
        self.new_view_day = itertools.count(1)

    def url(self, slug: str, default: bool, **params: str) -> str:
        """The page's link (the default page lives at the root: its url path is "not found")."""
        return f"/{'' if default else slug}?" + urlencode({"dataset": self.info.dataset, **params})

    def server(self, name: str, profile_dir: Path | None = None) -> Server:
        return start_server(Path(self.args.store), self.work / f"server-{name}.log", profile_dir)

    def new_page(self):
        context = self.browser.new_context(viewport=VIEWPORT)
        context.add_init_script(RUN_OBSERVER)
        return context, context.new_page()

    def first_load(self, server: Server, slug: str, default: bool, result: PageResult):
        """A first load in a fresh browser context; returns the open (context, page)."""
        context, page = self.new_page()
        try:
            elapsed = timed_goto(page, server.url + self.url(slug, default))
            result.notes += check_page(page, slug, default, self.info.dataset)
        except BaseException:
            context.close()
            raise
        return context, page, elapsed

    def lone_first_load(self, name: str, slug: str, default: bool, result: PageResult) -> float:
        """A first load on a server started for it alone."""
        server = self.server(name)
        try:
            context, _, elapsed = self.first_load(server, slug, default, result)
            context.close()
            return elapsed
        finally:
            server.stop()

    def measure(self, slug: str, title: str, default: bool) -> PageResult:
        result = PageResult(slug, title)
        repeat, views = self.args.repeat, self.args.views
        load = OtherLoad()
        try:
            for n in range(0 if self.args.no_cold else self.args.first_loads):
                shutil.rmtree(self.info.path / "derived", ignore_errors=True)
                result.first_cold.append(self.lone_first_load(f"{slug}-cold-{n + 1}", slug, default, result))
            for n in range(self.args.first_loads - 1):  # the last warm one goes on with the reruns below
                result.first_warm.append(self.lone_first_load(f"{slug}-warm-{n + 1}", slug, default, result))
            server = self.server(f"{slug}-warm")
            try:
                context, page, elapsed = self.first_load(server, slug, default, result)
                result.first_warm.append(elapsed)
                try:
                    for _ in range(repeat):
                        result.rerun.append(timed_rerun_key(page))
                        check_page(page, slug, default, self.info.dataset)
                    result.widget_rerun = timed_widget_reruns(page, repeat)
                    if not result.widget_rerun:
                        result.notes.append("no checkbox in the sidebar: no widget rerun")
                    check_page(page, slug, default, self.info.dataset)
                    for _ in range(repeat):
                        result.reload.append(timed_reload(page))
                        check_page(page, slug, default, self.info.dataset)
                    for _ in range(views):
                        day = self.first_day + timedelta(days=next(self.new_view_day))
                        result.new_view.append(timed_goto(page, server.url + self.url(slug, default, **{"from": day.isoformat()})))
                        check_page(page, slug, default, self.info.dataset)
                finally:
                    context.close()
            finally:
                server.stop()
        except (PageFailed, RuntimeError, PlaywrightError) as exc:  # report the page, go on with the next
            result.error = _first_line(exc)
        result.notes = list(dict.fromkeys(result.notes))
        result.other_load = load.share()
        return result


# --- where the time goes ----------------------------------------------------------------------

def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    path = Path(filename)
    try:
        shown = str(path.resolve().relative_to(REPO))
    except ValueError:
        parts = path.parts
        shown = "/".join(parts[parts.index("site-packages") + 1:]) if "site-packages" in parts else path.name
    return f"{shown}:{line} {name}"


IMPORT_MACHINERY = ("<frozen importlib", "<built-in method builtins.__import__>", "<built-in method _imp.")


def _shown_in_tree(func: tuple[str, int, str]) -> bool:
    """Module bodies other than the app's scripts, and the import machinery, are summed on the
    "importing modules" line instead (``exec`` merges a page's body with every module it imports)."""
    label = _label(func)
    if label.startswith(IMPORT_MACHINERY):
        return False
    return func[2] != "<module>" or Path(func[0]).name == "app.py" or f"{os.sep}pages{os.sep}" in func[0]


def call_tree(stats: pstats.Stats, total_s: float, min_share: float = 0.04, depth: int = 12) -> list[str]:
    """The calls from the page script down that take at least ``min_share`` of the run, as an
    indented list (cumulative seconds, share of the run, calls)."""
    callees: dict = {}
    for func, (_, _, _, _, callers) in stats.stats.items():
        for caller, timing in callers.items():
            callees.setdefault(caller, []).append((func, timing))
    roots = [f for f in stats.stats if f[2] == "<module>" and Path(f[0]).name == "app.py" and str(REPO) in f[0]]
    if not roots:  # a deep link into a fresh server runs the page file first
        roots = [f for f in stats.stats if f[2] == "<module>" and f"{os.sep}pages{os.sep}" in f[0] and str(REPO) in f[0]]
    lines: list[str] = []
    threshold = max(total_s * min_share, 0.02)
    expanded: set = set()  # a function called from several places is expanded once

    def walk(func, level: int, path: frozenset) -> None:
        children = sorted(callees.get(func, []), key=lambda item: -item[1][3])
        for child, (_, calls, _, cumulative) in children:
            if cumulative < threshold or child in path or not _shown_in_tree(child):
                continue
            again = child in expanded
            lines.append(f"{'  ' * level}{cumulative:7.3f} s {cumulative / total_s:4.0%}  x{calls:<5} {_label(child)}"
                         + ("  (expanded above)" if again and callees.get(child) else ""))
            if level < depth and not again:
                expanded.add(child)
                walk(child, level + 1, path | {child})

    imports = [row[3] for func, row in stats.stats.items() if func[2] == "_find_and_load"]
    if imports and max(imports) >= threshold:
        lines.append(f"{max(imports):7.3f} s {max(imports) / total_s:4.0%}  importing modules (first run of the server)")
    for root in sorted(roots, key=lambda f: -stats.stats[f][3]):
        cumulative = stats.stats[root][3]
        lines.append(f"{cumulative:7.3f} s {cumulative / total_s:4.0%}  {_label(root)}")
        walk(root, 1, frozenset({root}))
    return lines


def top_own_time(stats: pstats.Stats, total_s: float, n: int = 12) -> list[str]:
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:n]
    return [f"{tt:7.3f} s {tt / total_s:4.0%}  x{nc:<7} {_label(func)}" for func, (_, nc, tt, _, _) in rows]


def profile_pages(bench: Bench, slugs: list[tuple[str, str, bool]], out_dir: Path) -> dict:
    """First load (a fresh profiled server, the derived cache present) and an "r" rerun of each
    page; returns the report per page and action. The ``.prof`` files stay in ``out_dir/<page>``."""
    shutil.rmtree(out_dir, ignore_errors=True)
    report: dict = {}
    warm_up = bench.server("profile-warm-up")  # the derived cache present, as for "first load warm"
    try:
        for slug, _, default in slugs:
            context, page = bench.new_page()
            try:
                timed_goto(page, warm_up.url + bench.url(slug, default))
            finally:
                context.close()
    finally:
        warm_up.stop()
    for slug, _, default in slugs:
        report[slug] = {}
        page_dir = out_dir / slug
        try:
            server = bench.server(f"profiled-{slug}", page_dir)
        except RuntimeError as exc:
            report[slug]["error"] = str(exc)
            continue
        context, page = bench.new_page()
        try:
            for action in ("first load", "rerun"):
                before = set(page_dir.glob("run-*.prof"))
                if action == "first load":
                    browser_ms = timed_goto(page, server.url + bench.url(slug, default))
                else:
                    browser_ms = timed_rerun_key(page)
                check_page(page, slug, default, bench.info.dataset)
                time.sleep(0.3)  # the profile of a run is written as the run ends
                runs = sorted(set(page_dir.glob("run-*.prof")) - before)
                if not runs:
                    raise PageFailed("the profiled server wrote no profile")
                stats = pstats.Stats(*map(str, runs), stream=io.StringIO())
                seconds = sum(json.loads(p.with_suffix(".json").read_text())["seconds"] for p in runs)
                report[slug][action] = {
                    "browser_ms": round(browser_ms), "script_runs": len(runs), "script_s": round(seconds, 3),
                    "tree": call_tree(stats, seconds), "own_time": top_own_time(stats, seconds),
                    "files": [str(p.relative_to(out_dir)) for p in runs]}
        except (PageFailed, RuntimeError, OSError, PlaywrightError) as exc:
            report[slug]["error"] = _first_line(exc)
        finally:
            context.close()
            server.stop()
    return report


def profile_text(report: dict) -> str:
    lines = []
    for slug, actions in report.items():
        if "error" in actions:
            lines.append(f"\n== {slug}: the profile failed: {actions['error']}")
        for action, found in actions.items():
            if action == "error":
                continue
            lines.append(f"\n== {slug}, {action}: {found['script_runs']} script run(s), {found['script_s']:.2f} s in the "
                         f"script under the profiler ({found['browser_ms']:,} ms in the browser)")
            lines.append("-- calls from the app script down (cumulative s, share of the run, calls; cProfile sums a "
                         "function's callees over all its callers):")
            lines += found["tree"]
            lines.append("-- most own time:")
            lines += found["own_time"]
    return "\n".join(lines) + "\n"


# --- output ----------------------------------------------------------------------------------

def _seconds(value: float | None, target: float) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f}" + (" !" if value > target * 1000 else "")


def _share(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def print_table(results: list[PageResult]) -> None:
    headings = ["page", *(heading for _, heading, _ in FIGURES), "other CPU"]
    rows = [headings, ["target (s)", *(f"<= {target:g}" for _, _, target in FIGURES), ""]]
    failed = []
    for result in results:
        if result.error:
            failed.append(result)
            continue
        rows.append([result.slug, *(_seconds(result.p50(key), target) for key, _, target in FIGURES), _share(result.other_load)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(headings))]
    print()
    for row in rows:
        print("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
    for result in failed:
        print(f"{result.slug:<{widths[0]}}  FAILED: {result.error}")
    print("seconds; ' !' marks a figure over its target; p50: the median of the runs listed in the JSON; "
          "other CPU: the share of the CPUs other processes used while the page was measured")
    busy = [r.slug for r in results if r.other_load is not None and r.other_load > 0.05]
    if busy:
        print(f"A busy machine while measuring {', '.join(busy)}: those figures are slower than on an idle machine.")


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                               text=True, check=False).stdout.strip()
        return head + ("+uncommitted changes" if dirty else "")
    except OSError:
        return "unknown"


def write_json(path: Path, args, info, results: list[PageResult], profile: dict | None, started: float) -> None:
    meta = info.meta(info.latest)
    path.write_text(json.dumps({
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "dataset": {"id": info.dataset, "name": info.name, "store": str(args.store), **meta.get("counts", {})},
        "targets_s": {key: target for key, _, target in FIGURES},
        "settings": {"repeat": args.repeat, "views": args.views, "first_loads": args.first_loads, "settle_s": SETTLE_S,
                     "cold": not args.no_cold},
        "pages": [{**asdict(r), **{f"{key}_p50_ms": r.p50(key) for key, _, _ in FIGURES}} for r in results],
        "profile": profile, "duration_s": round(time.perf_counter() - started, 1),
    }, indent=2, default=str), encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    from browser_support import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    from vsm_app.navigation import PAGES

    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    args.store = Path(args.store)
    info = ensure_dataset(args.store, args.issues, args.seed)
    counts = info.meta(info.latest).get("counts", {})
    print(f"dataset {info.name} ({info.dataset}): {counts.get('issues', 0):,} issues, "
          f"{counts.get('status_changes', 0):,} status changes; store {args.store}", flush=True)
    pages = [(url_path, title, n == 0) for n, (_, title, _, url_path) in enumerate(PAGES)]
    unknown = sorted(set(args.pages or ()) - {slug for slug, _, _ in pages})
    if unknown:
        print(f"no such page: {', '.join(unknown)} (pages: {', '.join(s for s, _, _ in pages)})")
        return 2
    if args.pages:
        pages = [p for p in pages if p[0] in args.pages]
    work = OUT / "bench_pages_logs"
    work.mkdir(exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            bench = Bench(args, info, browser, work)
            # The app imports the demo dataset into the store on its first run, and the first
            # server start compiles the code: neither is a page's first load.
            warm_up = bench.server("warm-up")
            try:
                context, page = bench.new_page()
                timed_goto(page, warm_up.url + bench.url(*pages[0][::2]))
                context.close()
            finally:
                warm_up.stop()
            results = []
            for slug, title, default in pages:
                print(f"measuring {slug} ...", flush=True)
                result = bench.measure(slug, title, default)
                results.append(result)
                if result.error:
                    print(f"  FAILED: {result.error}", flush=True)
                else:
                    print("  " + ", ".join(f"{heading} {_seconds(result.p50(key), target)}"
                                           for key, heading, target in FIGURES)
                          + f"; other processes {_share(result.other_load)} of the CPUs", flush=True)
            profile = None
            measured = [r for r in results if not r.error]
            if args.profile and measured:
                slowest = sorted(measured, key=lambda r: -max((r.p50(k) or 0) / t for k, _, t in FIGURES))
                chosen = [p for p in pages if p[0] in {r.slug for r in slowest[:args.profile]}]
                print(f"profiling {', '.join(p[0] for p in chosen)} ...", flush=True)
                profile = profile_pages(bench, chosen, OUT / "bench_pages_profile")
        finally:
            browser.close()

    print(f"\nPage-speed benchmark, {counts.get('issues', 0):,} issues, {counts.get('status_changes', 0):,} status "
          f"changes, {os.cpu_count()} CPUs, commit {git_commit()}")
    print_table(results)
    for result in results:
        for note in result.notes:
            print(f"note ({result.slug}): {note}")
    if profile:
        text = profile_text(profile)
        (OUT / "bench_pages_profile.txt").write_text(text, encoding="utf-8")
        print("\nWhere the time goes (profiled server; cProfile slows Python code, so read shares, not seconds):")
        print(text)
    write_json(OUT / "bench_pages.json", args, info, results, profile, started)
    print(f"written: {(OUT / 'bench_pages.json').relative_to(REPO)}; took {time.perf_counter() - started:.0f} s")
    failed = [r.slug for r in results if r.error]
    missed = [(r.slug, m) for r in results for m in r.missed()]
    for slug, heading in missed:
        print(f"MISSED: {slug} {heading}")
    for slug in failed:
        print(f"FAILED: {slug}")
    return 2 if failed else 1 if missed else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve-profiled"]:
        serve_profiled(Path(argv[1]), argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=120_000,
                        help="issues in the export (default %(default)s: about 1,000,000 status changes)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--store", default=str(OUT / "pages-store"),
                        help="the dataset store the server reads (default %(default)s; the dataset is imported once)")
    parser.add_argument("--pages", nargs="+", metavar="SLUG", help="measure only these pages (url paths)")
    parser.add_argument("--repeat", type=int, default=5, help="reruns and reloads per page; the median is reported")
    parser.add_argument("--views", type=int, default=3, help="new views per page; the median is reported")
    parser.add_argument("--first-loads", type=int, default=1, metavar="N",
                        help="first loads per page, cold and warm, each on a fresh server (default %(default)s; "
                             "the median is reported; each adds about 20 s per page)")
    parser.add_argument("--no-cold", action="store_true", help="skip the first loads with the derived cache deleted")
    parser.add_argument("--profile", type=int, default=3, metavar="N",
                        help="profile the N pages furthest over a target after the measurement (default %(default)s; 0: none)")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
