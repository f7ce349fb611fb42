"""Helpers for the page tests: run a page in AppTest, read what it shows, and work out the
figures a page should show straight from the export files, without vsm_core.

The calculation follows the field guide (sections 2, 2a and 3) and the README's "How times
are counted" and "Flow measures" choices: timelines from the status changes ordered by time,
then history id; visits clamped into [created, max(created, as-of)]; an item is finished when
its current status is done, at the start of its final run of done visits; delivered when that
status is not a cancelled one; lead time from creation, cycle time from the first entry into a
committed (wait or active) status; percentiles by linear interpolation (NumPy's default); the
default scope leaves out epics and sub-tasks; the date window picks finished items by their
finish day in the clock's time zone.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app.py"
TIMEOUT = 90

# -- running a page and reading it --------------------------------------------------------------


def run_page(page: str, params: dict[str, str | list[str]] | None = None,
             edit_keys: dict[str, str] | None = None) -> AppTest:
    """Open ``page`` (a file name in pages/, without .py) the way a link does: the query
    parameters preset, then one run; ``edit_keys`` (dataset id -> key) are the edit links this
    browser session opened before."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    if edit_keys:
        at.session_state["edit_keys"] = dict(edit_keys)
    at.switch_page(f"pages/{page}.py")
    at.run()
    return at


_ESCAPED = re.compile(r"\\(.)")


def unescaped(markdown: str) -> str:
    """What a reader sees of text escaped for Markdown (backslashes and word joiners removed)."""
    return _ESCAPED.sub(r"\1", markdown).replace("\u2060", "")


def titles(at: AppTest) -> list[str]:
    return [unescaped(t.value) for t in at.title]


def subheaders(at: AppTest) -> list[str]:
    return [unescaped(t.value) for t in at.subheader]


def captions(at: AppTest) -> list[str]:
    return [unescaped(t.value) for t in at.caption]


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def metrics(at: AppTest) -> dict[str, str]:
    """The first metric of each label: label -> value shown."""
    shown: dict[str, str] = {}
    for metric in at.metric:
        shown.setdefault(metric.label, metric.value)
    return shown


def notices(at: AppTest) -> list[str]:
    """Every warning and error sentence on the page."""
    return [w.value for w in at.warning] + [e.value for e in at.error]


def number(shown: str) -> float:
    """The number in a shown figure such as '21.1 d', '37%' or '2,385'."""
    match = re.search(r"-?[\d,]*\.?\d+", shown)
    assert match, f"no number in {shown!r}"
    return float(match.group(0).replace(",", ""))


def close_to(shown: str, expected: float, decimals: int = 1) -> bool:
    """Whether the figure shown with ``decimals`` decimals is ``expected`` rounded."""
    return abs(number(shown) - expected) <= 0.5 * 10 ** -decimals + 1e-9


def one_sentence(text: str) -> bool:
    body = text.strip().rstrip(".")
    return bool(body) and ". " not in body and "\n" not in body


# -- reading an export -----------------------------------------------------------------------------


@dataclass
class Issue:
    id: str
    key: str
    type: str
    status: str  # current status, from the last status change (else the issue's field)
    created: datetime
    updated: datetime | None
    changes: list[tuple[datetime, int, str, str]] = field(default_factory=list)  # (time, history id, from, to)
    flags: list[tuple[datetime, int, bool]] = field(default_factory=list)  # (time, history id, flagged on)
    history_times: list[datetime] = field(default_factory=list)


def jira_time(text: str) -> datetime:
    """A Jira timestamp ('2023-10-12T12:17:25.433+0200', '...Z', a bare date) in UTC."""
    text = text.strip().replace("Z", "+00:00")
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _raw_issues(document) -> list[dict]:
    if isinstance(document, dict):
        return list(document["issues"])
    return [entry.get("data", entry) for entry in document]


def read_jira_json(path: Path) -> list[Issue]:
    """The issues of a Jira JSON export (search response, list or Perceval dump), one per id,
    the copy with the latest ``updated`` kept."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        document = json.load(handle)
    kept: dict[str, Issue] = {}
    for raw in _raw_issues(document):
        issue = _issue(raw)
        previous = kept.get(issue.id)
        if previous is None or (issue.updated or issue.created) >= (previous.updated or previous.created):
            kept[issue.id] = issue
    return list(kept.values())


def _issue(raw: dict) -> Issue:
    fields = raw["fields"]
    issue = Issue(id=str(raw.get("id") or raw["key"]), key=raw["key"], type=fields["issuetype"]["name"],
                  status=fields["status"]["name"], created=jira_time(fields["created"]),
                  updated=jira_time(fields["updated"]) if fields.get("updated") else None)
    for history in (raw.get("changelog") or {}).get("histories", []):
        when, hid = jira_time(history["created"]), int(history["id"])
        issue.history_times.append(when)
        for item in history["items"]:
            if item["field"] == "status":
                issue.changes.append((when, hid, item["fromString"], item["toString"]))
            elif item["field"].lower() == "flagged":
                issue.flags.append((when, hid, bool(item.get("toString"))))
    issue.changes.sort(key=lambda c: (c[0], c[1]))
    issue.flags.sort(key=lambda c: (c[0], c[1]))
    if issue.changes:
        issue.status = issue.changes[-1][3]
    return issue


def read_item_dates_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def as_of_of(issues: Iterable[Issue]) -> datetime:
    """The documented default as-of: the latest change or ``updated`` time in the file."""
    times = [t for issue in issues for t in [*issue.history_times, issue.updated or issue.created]]
    return max(times)


# -- the rules -------------------------------------------------------------------------------------

DEFAULT_LEFT_OUT = {"epic", "sub-task", "subtask"}
WAIT_WORDS = ("ready", "awaiting", "waiting", "queue", "blocked", "on hold", "pending", "to review", "to test",
              "for release", "merged", "selected for development")


def wait_by_name(status: str) -> bool:
    """The README's rule for an in-progress status: a queue when its name says so."""
    name = status.lower()
    return any(word in name for word in WAIT_WORDS)


@dataclass(frozen=True)
class Workflow:
    """Which statuses are backlog, done and cancelled; every other status is committed work,
    a queue (``wait``) or not (active)."""

    backlog: frozenset[str]
    done: frozenset[str]
    cancelled: frozenset[str] = frozenset()
    wait: frozenset[str] = frozenset()


@dataclass
class Item:
    """One issue's timeline and the facts the pages show about it."""

    issue: Issue
    visits: list[tuple[str, datetime, datetime]]
    finished_at: datetime | None
    delivered: bool
    committed_at: datetime | None
    flagged: list[tuple[datetime, datetime]]

    @property
    def key(self) -> str:
        return self.issue.key

    @property
    def type(self) -> str:
        return self.issue.type


def timeline(issue: Issue, as_of: datetime) -> list[tuple[str, datetime, datetime]]:
    """Visits (status, start, end): the initial status from creation, one visit per change,
    the last to the as-of time; every boundary clamped into [created, max(created, as-of)]."""
    low, high = issue.created, max(issue.created, as_of)

    def clamp(t: datetime) -> datetime:
        return min(max(t, low), high)

    status = issue.changes[0][2] if issue.changes else issue.status
    start = low
    visits = []
    for when, _, _, to_status in issue.changes:
        visits.append((status, start, clamp(when)))
        status, start = to_status, clamp(when)
    visits.append((status, start, high))
    return visits


def item_of(issue: Issue, as_of: datetime, flow: Workflow) -> Item:
    visits = timeline(issue, as_of)
    finished_at = None
    if visits[-1][0] in flow.done:
        n = len(visits) - 1
        while n > 0 and visits[n - 1][0] in flow.done:
            n -= 1
        finished_at = visits[n][1]
    committed_at = next((start for status, start, _ in visits
                         if status not in flow.backlog and status not in flow.done), None)
    if committed_at is not None and finished_at is not None and committed_at > finished_at:
        committed_at = None
    return Item(issue, visits, finished_at, finished_at is not None and visits[-1][0] not in flow.cancelled,
                committed_at, _flagged(issue, as_of))


def _flagged(issue: Issue, as_of: datetime) -> list[tuple[datetime, datetime]]:
    """Flagged stretches: from a change to a value until the change that clears it (else the
    as-of time), cut to the issue's life."""
    low, high = issue.created, max(issue.created, as_of)
    spans, since = [], None
    for when, _, on in issue.flags:
        if on and since is None:
            since = when
        elif not on and since is not None:
            spans.append((since, when))
            since = None
    if since is not None:
        spans.append((since, high))
    return [(max(a, low), min(b, high)) for a, b in spans if min(b, high) > max(a, low)]


def items_of(issues: Iterable[Issue], as_of: datetime, flow: Workflow) -> list[Item]:
    return [item_of(issue, as_of, flow) for issue in issues]


def in_scope(item: Item, types: Iterable[str] | None = None, all_types: bool = False) -> bool:
    if types:
        return item.type.lower() in {t.lower() for t in types}
    return all_types or item.type.lower() not in DEFAULT_LEFT_OUT


def delivered(items: Iterable[Item], *, types=None, all_types=False, start: date | None = None,
              end: date | None = None, tz: str = "UTC") -> list[Item]:
    """Delivered items in scope whose finish day (local to ``tz``) is in [start, end]."""
    zone = ZoneInfo(tz)
    chosen = []
    for item in items:
        if not item.delivered or not in_scope(item, types, all_types):
            continue
        day = item.finished_at.astimezone(zone).date()
        if (start is None or day >= start) and (end is None or day <= end):
            chosen.append(item)
    return chosen


def hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


_MONDAY = datetime(1970, 1, 5)


def _weekday_hours_to(moment: datetime, zone: ZoneInfo) -> float:
    """Weekday wall-clock hours from a Monday in 1970 to ``moment`` (local to ``zone``)."""
    local = moment.astimezone(zone).replace(tzinfo=None)
    weeks, rest = divmod(hours(_MONDAY, local), 168.0)
    return weeks * 120.0 + min(rest, 120.0)


def working_hours(start: datetime, end: datetime, tz: str = "UTC") -> float:
    """Hours between two instants on the working clock: Saturdays and Sundays (local days in
    ``tz``) removed whole, every other local day counting its 24 wall-clock hours."""
    zone = ZoneInfo(tz)
    return _weekday_hours_to(end, zone) - _weekday_hours_to(start, zone)


def clock_hours(start: datetime, end: datetime, clock: str = "calendar", tz: str = "UTC") -> float:
    return hours(start, end) if clock == "calendar" else working_hours(start, end, tz)


def lead_hours(item: Item, clock: str = "calendar", tz: str = "UTC") -> float:
    return clock_hours(item.issue.created, item.finished_at, clock, tz)


def cycle_hours(item: Item, clock: str = "calendar", tz: str = "UTC") -> float | None:
    if item.committed_at is None:
        return None
    return clock_hours(item.committed_at, item.finished_at, clock, tz)


def status_hours(item: Item, status: str, *, until_finish: bool = True) -> float:
    """Hours the item spent in ``status`` (before its finish when finished)."""
    end_limit = item.finished_at if (until_finish and item.finished_at) else None
    total = 0.0
    for name, start, end in item.visits:
        if name == status and (end_limit is None or start < end_limit):
            total += hours(start, min(end, end_limit) if end_limit else end)
    return total


def flow_hours(item: Item, flow: Workflow) -> float:
    """Time in every non-done status before the finish."""
    return sum(hours(start, end) for status, start, end in item.visits
               if status not in flow.done and start < item.finished_at)


def _overlap(start: datetime, end: datetime, spans) -> float:
    return sum(max(0.0, hours(max(start, a), min(end, b))) for a, b in spans)


def process_and_wait(item: Item, flow: Workflow) -> tuple[float, float]:
    """Process and wait hours of a delivered item over its cycle: active time minus the flagged
    time in it; queue time (backlog after commitment included) plus flagged time in active work."""
    process = wait = 0.0
    if item.committed_at is None:
        return process, wait
    for status, start, end in item.visits:
        if status in flow.done or end <= item.committed_at or start >= item.finished_at:
            continue
        start, end = max(start, item.committed_at), min(end, item.finished_at)
        if status in flow.wait or status in flow.backlog:
            wait += hours(start, end)
        else:
            flagged = _overlap(start, end, item.flagged)
            process += hours(start, end) - flagged
            wait += flagged
    return process, wait


def percentile(values: Iterable[float], q: float) -> float:
    return float(np.percentile(np.asarray(list(values), dtype=float), q))


def median(values: Iterable[float]) -> float:
    return percentile(values, 50)


def linear_path(item: Item, side: Iterable[str] = ()) -> list[str]:
    """The item's statuses in order, side states taken out and repeats in a row merged."""
    path: list[str] = []
    for status, _, _ in item.visits:
        if status not in side and (not path or path[-1] != status):
            path.append(status)
    return path


def complete_and_accurate(items: Iterable[Item], stage: str, order: dict[str, int], side: Iterable[str] = ()) -> float:
    """%C&A of ``stage``: of the forward departures from it, the share whose item never again
    enters it or an earlier stage."""
    departures = returned = 0
    for item in items:
        path = linear_path(item, side)
        for n in range(len(path) - 1):
            if path[n] == stage and order[path[n + 1]] > order[stage]:
                departures += 1
                returned += any(order[later] <= order[stage] for later in path[n + 2:])
    return (departures - returned) / departures
