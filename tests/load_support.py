"""Measuring a dashboard under load: when each page run ends, what each page shows, the
server's memory, sessions and CPU, and the limits of the app's caches.

A run is over when the server has sent the end of every script run it started for the session
(``new_session`` and ``script_finished`` messages on the session's websocket, read as
Streamlit's own protobuf) and the page shows it finished, as ``browser_support.wait_for_run``
says (script state ``notRunning``, no skeleton, no stale element). The script state alone is
not enough under load: the browser can take a whole run's messages in one batch, and the
state is then never seen "running". A rerun that starts within ``SETTLE_S`` after a run is part
of the same action.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

RUN_TIMEOUT_S = 150.0
SETTLE_S = 0.5
SAMPLE_EVERY_S = 0.5

# The page shows a finished run: the app's script state, no skeleton, no stale element left.
PAGE_DONE = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  return !!app && app.getAttribute("data-test-script-state") === "notRunning"
    && !document.querySelector("[data-testid='stSkeleton'], [data-stale='true']");
}"""
FILES_READY = """n => document.querySelectorAll("[data-testid='stFileChip']").length === n
  && !document.querySelector("[data-testid='stFileChipIconSpinner'], [data-testid='stFileChipIconError']")"""

# What a page shows after a run, read in one call: errors, dialogs, the caption, the metrics, the text.
PAGE_FACTS = """
() => {
  const all = (sel, root) => [...(root || document).querySelectorAll(sel)].map(e => e.innerText.trim());
  const main = document.querySelector("[data-testid='stMain']");
  const caption = main && main.querySelector("[data-testid='stCaptionContainer']");
  const metrics = {};
  for (const box of main ? main.querySelectorAll("[data-testid='stMetric']") : []) {
    const label = box.querySelector("[data-testid='stMetricLabel']");
    const value = box.querySelector("[data-testid='stMetricValue']");
    if (label && value && !(label.innerText.trim() in metrics)) metrics[label.innerText.trim()] = value.innerText.trim();
  }
  return {exceptions: all("[data-testid='stException']"), errors: all("[data-testid='stAlertContentError']"),
          warnings: all("[data-testid='stAlertContentWarning']"),
          dialogs: all("[role='dialog'], [data-testid='stDialog']"), caption: caption ? caption.innerText.trim() : null,
          metrics, text: main ? main.innerText : "", url: location.href};
}
"""


@dataclass(frozen=True)
class PageRun:
    """One timed action of one session: what was done, on which page, how long until its run
    was over (seconds), and when (monotonic seconds, for overlap checks)."""

    session: str
    action: str
    seconds: float
    started: float
    ended: float


@dataclass
class RunLog:
    """Every timed page run of the test, and how many sessions finished their first load."""

    runs: list[PageRun] = field(default_factory=list)
    loaded: int = 0

    def seconds(self, prefix: str | tuple[str, ...] = "") -> list[float]:
        """The times of the runs whose action starts with ``prefix``, shortest first."""
        return sorted(run.seconds for run in self.runs if run.action.startswith(prefix))


def percentile(values: list[float], q: int) -> float:
    """The ``q``-th percentile (inclusive method) of ``values``."""
    ordered = sorted(values)
    return statistics.quantiles(ordered, n=100, method="inclusive")[q - 1] if len(ordered) > 1 else ordered[0]


class ScriptRuns:
    """The script runs the server started and finished for one page's session, counted from
    the messages on its websocket."""

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._message = ForwardMsg
        self.started = 0
        self.finished = 0
        self.server_seconds: list[float] = []  # from the start of each run to its end, as received
        self._started_at = 0.0
        page.on("websocket", self._attach)

    def _attach(self, socket) -> None:
        if socket.url.endswith("/_stcore/stream"):
            socket.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        if isinstance(payload, str) or len(payload) > 256 * 1024:  # the two messages read here are small
            return
        message = self._message()
        message.ParseFromString(payload)
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.started += 1
            self._started_at = time.monotonic()
        elif kind == "script_finished":
            self.finished += 1
            self.server_seconds.append(time.monotonic() - self._started_at)

    @property
    def idle(self) -> bool:
        return self.finished >= self.started


async def _until(condition, deadline: float, what: str) -> None:
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: no end of the run within {RUN_TIMEOUT_S:.0f} s")
        await asyncio.sleep(0.05)


async def run_over(page, runs: ScriptRuns, before: int, what: str) -> float:
    """Wait until the runs started after ``before`` finished runs are over and the page shows
    it; the test's clock at that moment."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    await _until(lambda: runs.finished > before and runs.idle, deadline, what)
    while True:
        await page.wait_for_function(PAGE_DONE, timeout=max(1.0, deadline - time.monotonic()) * 1000, polling=100)
        end, seen = time.monotonic(), runs.finished
        await asyncio.sleep(SETTLE_S)
        if runs.finished == seen and runs.idle and await page.evaluate(PAGE_DONE):
            return end
        await _until(lambda: runs.idle, deadline, what)  # a rerun the page asked for


async def timed(log: RunLog, session: str, action: str, page, runs: ScriptRuns, act) -> PageRun:
    """Do ``act()`` (a click, a navigation...) and wait for the run it starts; logged."""
    before, t0 = runs.finished, time.monotonic()
    await act()
    end = await run_over(page, runs, before, f"{session}: {action}")
    run = PageRun(session, action, end - t0, t0, end)
    log.runs.append(run)
    return run


async def page_facts(page) -> dict:
    return await page.evaluate(PAGE_FACTS)


async def goto(page, url: str) -> None:
    await page.goto(url, wait_until="commit", timeout=RUN_TIMEOUT_S * 1000)  # run_over waits for the rest


async def click(locator, force: bool = False) -> None:
    await locator.click(force=force, timeout=RUN_TIMEOUT_S * 1000)


async def screenshot(page, path: Path) -> None:
    """A screenshot of a failed session, when the page can still take one."""
    with contextlib.suppress(Exception):  # the failure itself is reported
        path.parent.mkdir(exist_ok=True)
        await page.screenshot(path=str(path), full_page=True)


def in_thread(target, *args) -> None:
    """Run ``target`` in a thread of its own and re-raise what it raised: Playwright's async API
    needs an event loop that no other test's sync Playwright shares."""
    errors = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _descendants(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:
                pass
    return pids


def rss_bytes(pid: int) -> int:
    """Resident memory of the process and its children (VmRSS), in bytes."""
    total = 0
    for each in _descendants(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def server_metrics(url: str, families: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Streamlit's own metrics (``/_stcore/metrics``, OpenMetrics text): (name, labels) -> value.
    ``active_sessions`` counts the sessions the server holds; ``cache_lookups_total`` counts hits
    and misses per cached function; ``cache_memory_bytes`` the memory of each cache."""
    query = f"?families={families}" if families else ""
    with urllib.request.urlopen(f"{url}/_stcore/metrics{query}", timeout=10) as response:
        text = response.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        name, _, labels = name_labels.partition("{")
        pairs = tuple(tuple(item.split("=", 1)) for item in labels.rstrip("}").split(",") if item) if labels else ()
        out[(name, tuple((k, v.strip('"')) for k, v in pairs))] = float(value)
    return out


def active_sessions(url: str) -> int:
    try:
        return int(sum(server_metrics(url, "active_sessions").values()))
    except OSError:
        return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every process of the machine has used since boot (all CPUs), in seconds."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class ServerSampler:
    """Samples, every ``SAMPLE_EVERY_S`` seconds in a thread from ``start()`` to ``stop()``: the
    server's RSS and the sessions it holds, and the CPU time used by the server, by the test's
    other child processes (the browser) and by the whole machine."""

    def __init__(self, pid: int, url: str):
        self.pid, self.url = pid, url
        self.rss: list[int] = []
        self.sessions: list[int] = []
        self._cpu: dict[int, float] = {}  # the test's other child processes: pid -> CPU seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.rss.append(rss_bytes(self.pid))
            self.sessions.append(active_sessions(self.url))
            server = set(_descendants(self.pid))
            for each in _descendants(os.getpid()):
                if each != os.getpid() and each not in server:
                    self._cpu[each] = max(self._cpu.get(each, 0.0), cpu_seconds(each))
            self._stop.wait(SAMPLE_EVERY_S)

    def start(self) -> ServerSampler:
        self._started = (cpu_seconds(self.pid), machine_busy_seconds(), time.monotonic(), cpu_seconds(os.getpid()))
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        """Stop sampling; CPU seconds used meanwhile by the server, the browser (with the
        Playwright driver), this test process and the machine, and the seconds elapsed."""
        ended = (cpu_seconds(self.pid), machine_busy_seconds(), time.monotonic(), cpu_seconds(os.getpid()))
        self._stop.set()
        self._thread.join(timeout=5)
        return {"server": ended[0] - self._started[0], "browser": sum(self._cpu.values()), "test": ended[3] - self._started[3],
                "machine": ended[1] - self._started[1], "elapsed": ended[2] - self._started[2]}


def cache_limits(module) -> dict[str, tuple[int | None, object]]:
    """Every ``st.cache_data`` / ``st.cache_resource`` function defined in ``module``: its name ->
    (its ``max_entries``, None when unbounded; the undecorated function)."""
    from streamlit.runtime.caching.cache_utils import CachedFunc

    return {name: (value._info.max_entries, value._info.func) for name, value in vars(module).items()
            if isinstance(value, CachedFunc) and value._info.func.__module__ == module.__name__}
