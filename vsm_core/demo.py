"""Demo data: a seeded simulation of software teams' Jira flow, written the way Jira exports it.

Why a simulation and not random rows: the dashboard's findings (a review queue that costs
days, weekly release batching, rework loops, blocked time, ageing work in flight) only show
up when the data has real queueing behind it. So the generator runs a small discrete-event
model of a team and writes what Jira would have recorded.

The model (one team, one project, per ``ISSUES_PER_TEAM`` issues, so the time span stays
about three years whatever the size):

- Arrivals: a Poisson stream in working time (3.4 items a working day), Stories,
  Bugs and Tasks, a few Epics (stories attach to the open epic) and Sub-tasks created right
  after their parent story. Times in Europe/Berlin, so offsets cross daylight saving.
- People: 8 developers, 2 reviewers, 2 testers, a product owner, and the
  "Automation for Jira" app that ships releases.
- Workflow: Backlog -> Ready for Dev -> In Progress -> Ready for Review -> In Review ->
  Ready for QA -> In QA -> Ready for Release -> Done, with Blocked as a side state and
  Won't Do for cancelled work. Half the Tasks skip QA (In Review -> Ready for Release).
- Refinement twice a week tops Ready for Dev up and cancels some stale backlog items; a
  free developer with nothing ready sometimes takes a backlog item straight to In Progress.
- Limited reviewers (who also do their own work between reviews) and testers make
  queues form in Ready for Review and Ready for QA; review sends work back ~20% of the
  time, QA ~15%. Blocked spells use the Blocked status, the Flagged field, or both.
- Releases are batched on Thursday afternoons; a few released items are reopened.
- Policy change: on the Monday after 70% of the span (2025-12-01 in the demo data set)
  reviewers start reviewing first and pairing on reviews (shorter reviews, fewer breaks):
  the median review wait falls from about three days to hours and the queue moves on to
  QA, so the experiment page has a real effect (and a shifted bottleneck) to find.
- The simulation stops at ``end`` (the as-of): whatever is unfinished stays in flight.

Issues are yielded as soon as they are final (done with no reopen ahead, or cancelled)
and the rest at the end, so memory holds only the work in flight, never the whole export.
Everything is drawn from one ``random.Random(seed)`` in event order: same arguments, same
bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import heapq
import io
import json
import math
import random
import sys
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence
from zoneinfo import ZoneInfo

TEAM_ZONE = ZoneInfo("Europe/Berlin")
DEMO_END = datetime(2026, 11, 2, 17, 0, tzinfo=timezone(timedelta(hours=1)))
SITE = "https://demo-team.atlassian.net"
API = SITE + "/rest/api/2"
ISSUES_PER_TEAM = 3000
DEMO_ISSUES = 3000
DEMO_FILES = ("demo-jira-export.json.gz", "demo-statuses.json", "demo-board-configuration.json")

_HOUR = 3600.0
_WORK_DAY = 9 * _HOUR  # 09:00-18:00 local
_MINUTE = 60.0
_HOLIDAYS = {(1, 1), (5, 1), (10, 3), (12, 24), (12, 25), (12, 26), (12, 31)}

# -- workflow ---------------------------------------------------------------------------------

BACKLOG, READY, IN_PROGRESS, READY_REVIEW, IN_REVIEW = (
    "Backlog", "Ready for Dev", "In Progress", "Ready for Review", "In Review")
READY_QA, IN_QA, READY_RELEASE, DONE, BLOCKED, WONT_DO = (
    "Ready for QA", "In QA", "Ready for Release", "Done", "Blocked", "Won't Do")

# (name, id, category key, description) in board order; Blocked and Won't Do are off the line.
WORKFLOW: tuple[tuple[str, str, str, str], ...] = (
    (BACKLOG, "10000", "new", "Ideas and requests not yet refined."),
    (READY, "10001", "new", "Refined and ready to be picked up."),
    (IN_PROGRESS, "3", "indeterminate", "This issue is being actively worked on at the moment by the assignee."),
    (BLOCKED, "10015", "indeterminate", "Work cannot go on until something outside the team happens."),
    (READY_REVIEW, "10010", "indeterminate", "Code is pushed and waits for a reviewer."),
    (IN_REVIEW, "10011", "indeterminate", "A reviewer is looking at the change."),
    (READY_QA, "10012", "indeterminate", "Reviewed and waiting for a tester."),
    (IN_QA, "10013", "indeterminate", "A tester is verifying the change."),
    (READY_RELEASE, "10014", "indeterminate", "Verified and waiting for the next release."),
    (DONE, "10002", "done", ""),
    (WONT_DO, "10016", "done", "This issue won't be actioned."),
)
_CATEGORIES = {
    "new": {"self": API + "/statuscategory/2", "id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"self": API + "/statuscategory/4", "id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"self": API + "/statuscategory/3", "id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
STATUS_ID = {name: sid for name, sid, _, _ in WORKFLOW}
STATUS_CATEGORY = {name: cat for name, _, cat, _ in WORKFLOW}
_STATUS_JSON = {
    name: {
        "self": f"{API}/status/{sid}", "description": desc,
        "iconUrl": f"{SITE}/", "name": name, "id": sid,
        "statusCategory": _CATEGORIES[cat],
    }
    for name, sid, cat, desc in WORKFLOW
}

# Board columns: (column name, statuses, min, max). WIP limits feed the what-if page.
BOARD_COLUMNS: tuple[tuple[str, tuple[str, ...], int | None, int | None], ...] = (
    ("Backlog", (BACKLOG,), None, None),
    ("Ready for Dev", (READY,), 2, 14),
    ("In Progress", (IN_PROGRESS,), None, 8),
    ("Blocked", (BLOCKED,), None, None),
    ("Ready for Review", (READY_REVIEW,), None, None),
    ("In Review", (IN_REVIEW,), None, 3),
    ("Ready for QA", (READY_QA,), None, None),
    ("In QA", (IN_QA,), None, 3),
    ("Ready for Release", (READY_RELEASE,), None, None),
    ("Done", (DONE, WONT_DO), None, None),
)

_RESOLUTIONS = {
    "Done": ("10000", "Work has been completed on this issue."),
    "Won't Do": ("10001", "This issue won't be actioned."),
    "Duplicate": ("10002", "The problem is a duplicate of an existing issue."),
    "Cannot Reproduce": ("10003", "All attempts at reproducing this issue failed."),
}
_RESOLUTION_JSON = {
    name: {"self": f"{API}/resolution/{rid}", "id": rid, "description": desc, "name": name}
    for name, (rid, desc) in _RESOLUTIONS.items()
}
_PRIORITIES = ("Highest", "High", "Medium", "Low")
_PRIORITY_JSON = {
    name: {"self": f"{API}/priority/{i + 1}", "iconUrl": f"{SITE}/images/icons/priorities/{name.lower()}.svg", "name": name, "id": str(i + 1)}
    for i, name in enumerate(_PRIORITIES)
}
_ISSUE_TYPES = {  # name: (id, subtask, hierarchy level, description)
    "Epic": ("10000", False, 1, "A big user story that needs to be broken down."),
    "Story": ("10001", False, 0, "Functionality or a feature expressed as a user goal."),
    "Task": ("10002", False, 0, "A small, distinct piece of work."),
    "Sub-task": ("10003", True, -1, "A small piece of work that's part of a larger task."),
    "Bug": ("10004", False, 0, "A problem or error."),
}
_ISSUE_TYPE_JSON = {
    name: {"self": f"{API}/issuetype/{tid}", "id": tid, "description": desc,
           "iconUrl": f"{SITE}/images/icons/issuetypes/{name.lower().replace('-', '')}.svg",
           "name": name, "subtask": sub, "hierarchyLevel": level}
    for name, (tid, sub, level, desc) in _ISSUE_TYPES.items()
}

STORY_POINTS_FIELD = "customfield_10016"
RANK_FIELD = "customfield_10019"
SPRINT_FIELD = "customfield_10020"
FLAGGED_FIELD = "customfield_10021"
_FLAG_VALUE = [{"self": f"{API}/customFieldOption/10019", "value": "Impediment", "id": "10019"}]

# -- simulation parameters (documented decisions) ----------------------------------------------

ARRIVALS_PER_DAY = 3.4  # primary items (not sub-tasks) per working day per team
P_EPIC, P_STORY, P_BUG = 0.02, 0.55, 0.28  # Task takes the rest
P_STORY_WITH_SUBTASKS = 0.12
POINT_HOURS = {1: 3.0, 2: 6.0, 3: 10.0, 5: 18.0, 8: 30.0, 13: 48.0}
P_BLOCK_FIRST_PASS, P_BLOCK_REWORK = 0.13, 0.04
P_REVIEW_REWORK, P_QA_REWORK = 0.20, 0.15
P_TASK_SKIPS_QA = 0.5
P_REOPEN = 0.04
P_DUPLICATE_BUG = 0.05
P_STALE_CANCEL = 0.08  # per refinement, for backlog items older than STALE_DAYS
STALE_DAYS = 25
READY_TARGET = 14
P_SKIP_REFINEMENT = 0.25
FOCUS_FACTOR = 1.85  # elapsed hours per hour of ticket work (meetings, support, context switches)
POLICY_CHANGE_AT = 0.7  # share of the span when the review policy changes
TEAM_SIZE = {"dev": 8, "reviewer": 2, "tester": 2}


# -- working calendar -------------------------------------------------------------------------

class WorkCalendar:
    """Maps calendar time (epoch seconds) to working time (seconds of 09:00-18:00 on working
    days, in the team's zone) and back, so durations of work skip nights and weekends.

    Decision: the working window never contains a daylight-saving jump (those happen at
    night), so each working day is one contiguous block of 9 real hours.
    """

    def __init__(self, first_day: date):
        self._starts: list[float] = []
        self._next_day = first_day
        self._extend()

    def _extend(self, days: int = 400) -> None:
        added = 0
        while added < days:
            day = self._next_day
            self._next_day = day + timedelta(days=1)
            if day.weekday() < 5 and (day.month, day.day) not in _HOLIDAYS:
                self._starts.append(datetime(day.year, day.month, day.day, 9, tzinfo=TEAM_ZONE).timestamp())
                added += 1

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and (day.month, day.day) not in _HOLIDAYS

    def to_work(self, t: float) -> float:
        while t > self._starts[-1]:
            self._extend()
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            return 0.0
        return i * _WORK_DAY + min(t - self._starts[i], _WORK_DAY)

    def to_cal(self, w: float) -> float:
        i = int(w // _WORK_DAY)
        while i >= len(self._starts):
            self._extend()
        return self._starts[i] + (w - i * _WORK_DAY)

    def add(self, t: float, seconds: float) -> float:
        """The calendar time after ``seconds`` of working time from ``t``."""
        return self.to_cal(self.to_work(t) + seconds)


def local_at(day: date, hour: int, minute: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TEAM_ZONE).timestamp()


_OFFSETS: dict[int, str] = {}


def jira_time(t: float) -> str:
    """``2025-03-04T10:15:32.123+0100``: local team time with its offset, as Jira writes."""
    ms = int(round(t * 1000))
    sec, msec = divmod(ms, 1000)
    local = datetime.fromtimestamp(sec, TEAM_ZONE)
    offset = int(local.utcoffset().total_seconds())
    text = _OFFSETS.get(offset)
    if text is None:
        sign = "+" if offset >= 0 else "-"
        hours, rest = divmod(abs(offset), 3600)
        text = _OFFSETS[offset] = f"{sign}{hours:02d}{rest // 60:02d}"
    return f"{local:%Y-%m-%dT%H:%M:%S}.{msec:03d}{text}"


# -- people and teams -------------------------------------------------------------------------

_FIRST = ("Anna", "Lukas", "Sofia", "Mateo", "Emma", "Jonas", "Léa", "Marco", "Zoë", "Piotr", "Inês",
          "Henrik", "Chiara", "Tomás", "Freya", "Ahmed", "Julia", "Niklas", "Elif", "Daan", "Maja",
          "Oskar", "Clara", "Rui", "Agnieszka", "Sven", "Lucía", "Emil", "Noor", "Hugo", "Ingrid",
          "Matteo", "Aleksander", "Eva", "Björn", "Sara", "Jan", "Laura", "Miguel", "Katarina")
_LAST = ("Schmidt", "García", "Rossi", "Nowak", "Jansen", "Dubois", "Müller", "Kowalski", "Andersson",
         "Costa", "Horvat", "Novák", "Fischer", "Martín", "Bianchi", "de Vries", "Lindqvist", "O'Brien",
         "Nielsen", "Weber", "Ferreira", "Papadopoulos", "Kaya", "Virtanen", "Moreau", "Szabó",
         "Hansen", "Ruiz", "Ricci", "Popescu")
_PROJECTS = (("SHOP", "Webshop"), ("PAY", "Payments"), ("MOB", "Mobile App"), ("SRCH", "Search"),
             ("ACC", "Accounts"), ("CAT", "Catalogue"), ("ORD", "Orders"), ("INV", "Inventory"),
             ("NOTIF", "Notifications"), ("DATA", "Data Platform"), ("CHK", "Checkout"),
             ("LOY", "Loyalty"), ("SUP", "Support Tools"), ("REC", "Recommendations"),
             ("SHIP", "Shipping"), ("PRC", "Pricing"), ("ID", "Identity"), ("RPT", "Reporting"))
_COMPONENTS = ("API", "Web", "Mobile", "Backend", "Database", "Infrastructure", "Design System", "Integrations")
_LABELS = ("frontend", "backend", "tech-debt", "customer", "security", "performance", "accessibility", "ux")


@dataclass(eq=False)
class Person:
    name: str
    account_id: str
    json: dict


def _person(name: str, account_id: str, *, app: bool = False) -> Person:
    initials = "".join(part[0] for part in name.split()[:2]).upper()
    digest = hashlib.md5(account_id.encode()).hexdigest()
    avatar = ("https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/"
              f"initials/{initials}-{int(digest[:2], 16) % 6}.png")
    return Person(name, account_id, {
        "self": f"{API}/user?accountId={account_id.replace(':', '%3A')}",
        "accountId": account_id,
        "avatarUrls": {f"{s}x{s}": avatar for s in (48, 24, 16, 32)},
        "displayName": name,
        "active": True,
        "timeZone": "Europe/Berlin" if not app else "Etc/GMT",
        "accountType": "atlassian" if not app else "app",
    })


AUTOMATION = _person("Automation for Jira", "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", app=True)


def _account_id(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "%024x" % rng.getrandbits(96)
    raw = "%032x" % rng.getrandbits(128)
    return f"712020:{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


# -- the simulated issue ----------------------------------------------------------------------

class Item:
    """One issue while it is simulated: its fields and its changelog so far."""

    __slots__ = (
        "issue_id", "key", "team", "type", "summary", "priority", "labels", "components", "points",
        "created", "reporter", "assignee", "status", "category_t", "histories", "last_t",
        "parent", "epic", "subtasks", "children_open", "accepting", "resolution", "resolved",
        "dev", "remaining", "work_hours", "skip_qa", "flagged", "sprints", "fix_version", "final",
        "reopen_pending",
    )

    def __init__(self, issue_id: int, key: str, team: "Team", type_: str, created: float):
        self.issue_id, self.key, self.team, self.type, self.created = issue_id, key, team, type_, created
        self.summary, self.priority = "", "Medium"
        self.labels: list[str] = []
        self.components: list[str] = []
        self.points: float | None = None
        self.reporter: Person = team.po
        self.assignee: Person | None = None
        self.status, self.category_t = BACKLOG, created
        self.histories: list[tuple[int, float, Person, list[dict]]] = []
        self.last_t = created
        self.parent: Item | None = None
        self.epic: Item | None = None
        self.subtasks: list[Item] = []
        self.children_open, self.accepting = 0, False
        self.resolution: str | None = None
        self.resolved: float | None = None
        self.dev: Person | None = None
        self.remaining = 0.0
        self.work_hours = 0.0
        self.skip_qa = False
        self.flagged = False
        self.sprints: list[tuple[int, str]] = []
        self.fix_version: tuple[str, str, float] | None = None
        self.final = False
        self.reopen_pending = False


class Team:
    """A project with its people and its queues."""

    def __init__(self, index: int, project_id: int, rng: random.Random, names: Iterator[str]):
        key, name = _PROJECTS[index % len(_PROJECTS)]
        if index >= len(_PROJECTS):
            key, name = f"{key}{index // len(_PROJECTS) + 1}", f"{name} {index // len(_PROJECTS) + 1}"
        self.index, self.key, self.name, self.project_id = index, key, name, project_id
        self.devs = [_person(next(names), _account_id(rng)) for _ in range(TEAM_SIZE["dev"])]
        self.reviewers = [_person(next(names), _account_id(rng)) for _ in range(TEAM_SIZE["reviewer"])]
        self.testers = [_person(next(names), _account_id(rng)) for _ in range(TEAM_SIZE["tester"])]
        self.po = _person(next(names), _account_id(rng))
        self.project_json = {
            "self": f"{API}/project/{project_id}", "id": str(project_id), "key": key, "name": name,
            "projectTypeKey": "software", "simplified": False,
        }
        self.next_number = 1
        self.backlog: list[Item] = []
        self.ready: list[tuple[int, float, int, Item]] = []  # heap: priority, ready time, seq
        self.review_queue: deque[Item] = deque()
        self.qa_queue: deque[Item] = deque()
        self.release_queue: list[Item] = []
        self.free_devs: list[Person] = list(self.devs)
        self.free_reviewers: list[Person] = list(self.reviewers)
        self.free_testers: list[Person] = list(self.testers)
        self.resume: dict[int, deque[Item]] = {id(p): deque() for p in self.devs}
        self.committed: set[Item] = set()
        self.current_epic: Item | None = None
        self.sprint: tuple[int, str] | None = None
        self.sprint_number = 0
        self.policy_changed = False
        self.plan: deque[tuple[float, str]] = deque()


# -- the simulation ---------------------------------------------------------------------------

class Simulation:
    """A discrete-event model of the teams; ``run()`` yields finished issues as they settle."""

    def __init__(self, n_issues: int, seed: int, end: datetime):
        if end.tzinfo is None:
            end = end.replace(tzinfo=TEAM_ZONE)
        self.rng = random.Random(seed)
        self.end_t = end.timestamp()
        self.heap: list[tuple[float, int, Callable, tuple]] = []
        self.seq = 0
        self.outbox: deque[Item] = deque()
        self.open: dict[int, Item] = {}
        self.next_issue_id = 10001
        self.next_history_id = 10100
        self.next_sprint_id = 1
        self.next_version_id = 10100
        n_teams = max(1, round(n_issues / ISSUES_PER_TEAM))
        sizes = [n_issues // n_teams + (1 if i < n_issues % n_teams else 0) for i in range(n_teams)]
        span_days = max(60.0, max(sizes) / (ARRIVALS_PER_DAY * (1 + P_STORY * P_STORY_WITH_SUBTASKS * 2)))
        end_day = datetime.fromtimestamp(self.end_t, TEAM_ZONE).date()
        self.cal = WorkCalendar(end_day - timedelta(days=int(span_days * 7 / 5) + 60))
        end_w = self.cal.to_work(self.end_t)
        self.start_w = max(0.0, end_w - span_days * _WORK_DAY - _WORK_DAY)
        self.start_t = self.cal.to_cal(self.start_w)
        self.policy_t = self._monday_morning(self.cal.to_cal(self.start_w + POLICY_CHANGE_AT * (end_w - self.start_w)))
        names = self._name_stream()
        self.teams = [Team(i, 10000 + i, self.rng, names) for i in range(n_teams)]
        for team, size in zip(self.teams, sizes):
            self._plan_arrivals(team, size, end_w - _WORK_DAY)
            self._start_team(team)

    @staticmethod
    def _monday_morning(t: float) -> float:
        """09:00 on the Monday on or after ``t``'s day: when a team would start a new policy."""
        day = datetime.fromtimestamp(t, TEAM_ZONE).date()
        return local_at(day + timedelta(days=(7 - day.weekday()) % 7), 9)

    # -- scheduling helpers ---------------------------------------------------------------
    def at(self, t: float, action: Callable, *args) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, action, args))

    def work_later(self, t: float, hours: float) -> float:
        return self.cal.add(t, hours * _HOUR)

    def reaction(self, t: float, mean_minutes: float = 25.0) -> float:
        """When a person gets to something noticed at ``t``: in working time, a short delay."""
        return self.cal.add(t, self.rng.expovariate(1.0 / (mean_minutes * _MINUTE)) + 30.0)

    def lognormal_hours(self, median: float, sigma: float) -> float:
        return median * math.exp(self.rng.gauss(0.0, sigma))

    def _name_stream(self) -> Iterator[str]:
        pairs = [f"{f} {l}" for f in _FIRST for l in _LAST]
        self.rng.shuffle(pairs)
        round_ = 0
        while True:
            for pair in pairs:
                yield pair if round_ == 0 else f"{pair} {round_ + 1}"
            round_ += 1

    # -- the run --------------------------------------------------------------------------
    def run(self) -> Iterator[Item]:
        stop = self.end_t - 600.0  # an action writes at most a few minutes after it starts
        heap, outbox = self.heap, self.outbox
        while heap and heap[0][0] <= stop:
            t, _, action, args = heapq.heappop(heap)
            action(t, *args)
            while outbox:
                yield outbox.popleft()
        for issue_id in sorted(self.open):
            yield self.open[issue_id]
        self.open.clear()

    def finalize(self, item: Item) -> None:
        if item.final:
            return
        item.final = True
        self.open.pop(item.issue_id, None)
        item.team.committed.discard(item)
        self.outbox.append(item)
        epic = item.epic
        if epic is not None and not epic.final:
            epic.children_open -= 1
            self._maybe_close_epic(epic, item.last_t)

    # -- recording what Jira would write --------------------------------------------------
    def record(self, item: Item, t: float, author: Person, changes: list[dict]) -> float:
        if t <= item.last_t:
            t = item.last_t + 1.0 + self.rng.random() * 4.0
        self.next_history_id += 1
        item.histories.append((self.next_history_id, t, author, changes))
        item.last_t = t
        return t

    def move(self, item: Item, t: float, to: str, author: Person, extra: Sequence[dict] = ()) -> float:
        change = {"field": "status", "fieldtype": "jira", "fieldId": "status",
                  "from": STATUS_ID[item.status], "fromString": item.status,
                  "to": STATUS_ID[to], "toString": to}
        t = self.record(item, t, author, [change, *extra])
        if STATUS_CATEGORY[to] != STATUS_CATEGORY[item.status]:
            item.category_t = t
        item.status = to
        return t

    @staticmethod
    def assign(item: Item, person: Person | None) -> list[dict]:
        """The changelog item for a change of assignee (empty when it does not change)."""
        old = item.assignee
        if old is person:
            return []
        item.assignee = person
        return [{"field": "assignee", "fieldtype": "jira", "fieldId": "assignee",
                 "from": old.account_id if old else None, "fromString": old.name if old else None,
                 "to": person.account_id if person else None, "toString": person.name if person else None}]

    @staticmethod
    def resolution_change(item: Item, name: str | None) -> list[dict]:
        old = item.resolution
        item.resolution = name
        return [{"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                 "from": _RESOLUTIONS[old][0] if old else None, "fromString": old,
                 "to": _RESOLUTIONS[name][0] if name else None, "toString": name}]

    @staticmethod
    def flag_change(item: Item, on: bool) -> list[dict]:
        item.flagged = on
        if on:
            return [{"field": "Flagged", "fieldtype": "custom", "fieldId": FLAGGED_FIELD,
                     "from": "", "fromString": "", "to": "[10019]", "toString": "Impediment"}]
        return [{"field": "Flagged", "fieldtype": "custom", "fieldId": FLAGGED_FIELD,
                 "from": "[10019]", "fromString": "Impediment", "to": "", "toString": ""}]

    def noise_rank(self, item: Item, t: float, author: Person) -> None:
        word = "higher" if self.rng.random() < 0.7 else "lower"
        self.record(item, t, author, [{"field": "Rank", "fieldtype": "custom", "fieldId": RANK_FIELD,
                                       "from": "", "fromString": "", "to": "", "toString": f"Ranked {word}"}])

    def set_sprint(self, item: Item, t: float, author: Person, sprint: tuple[int, str]) -> None:
        old = item.sprints
        new = old + [sprint]
        item.sprints = new
        self.record(item, t, author, [{
            "field": "Sprint", "fieldtype": "custom", "fieldId": SPRINT_FIELD,
            "from": ", ".join(str(s[0]) for s in old), "fromString": ", ".join(s[1] for s in old),
            "to": ", ".join(str(s[0]) for s in new), "toString": ", ".join(s[1] for s in new)}])

    # -- arrivals ---------------------------------------------------------------------------
    def _plan_arrivals(self, team: Team, size: int, last_w: float) -> None:
        """Kinds and working-time gaps of the team's issues, scaled to end a day before as-of.

        Planning only kinds and gaps up front (a few bytes per issue) gives exactly the
        requested number of issues while the issues themselves are built when they arrive.
        """
        kinds: list[tuple[float, str]] = []
        while len(kinds) < size:
            gap = self.rng.expovariate(ARRIVALS_PER_DAY / _WORK_DAY)
            roll = self.rng.random()
            if roll < P_EPIC:
                kinds.append((gap, "Epic"))
                continue
            kind = "Story" if roll < P_EPIC + P_STORY else "Bug" if roll < P_EPIC + P_STORY + P_BUG else "Task"
            kinds.append((gap, kind))
            if kind == "Story" and self.rng.random() < P_STORY_WITH_SUBTASKS:
                for _ in range(min(self.rng.randint(1, 3), size - len(kinds))):
                    kinds.append((-self.rng.uniform(2, 12) * _MINUTE, "Sub-task"))
        total = sum(g for g, _ in kinds if g > 0) or 1.0
        subtask_minutes = -sum(g for g, _ in kinds if g < 0)
        scale = max(0.0, last_w - self.start_w - subtask_minutes) / total
        team.plan = deque((g * scale if g > 0 else -g, k) for g, k in kinds)

    def _start_team(self, team: Team) -> None:
        first_day = datetime.fromtimestamp(self.start_t, TEAM_ZONE).date()
        self.at(self.start_t + 60.0, self._arrive, team, None)
        self.at(self._next_weekday(first_day, (1, 3), 10, team.index % 40), self._refinement, team)
        self.at(self._next_weekday(first_day, (3,), 15, team.index % 50), self._release, team)
        self.at(self._next_weekday(first_day, (0,), 9, 30), self._sprint_rollover, team)
        self.at(self.policy_t, self._policy_change, team)

    def _next_weekday(self, after: date, weekdays: tuple[int, ...], hour: int, minute: int) -> float:
        day = after + timedelta(days=1)
        while day.weekday() not in weekdays or not self.cal.is_working_day(day):
            day += timedelta(days=1)
        return local_at(day, hour, minute) + self.rng.uniform(0, 600)

    def _arrive(self, t: float, team: Team, parent: Item | None) -> None:
        if not team.plan:
            return
        _, kind = team.plan.popleft()
        if kind == "Sub-task" and parent is None:
            kind = "Task"
        item = self._create(t, team, kind, parent)
        if team.plan:
            gap, next_kind = team.plan[0]
            nxt = self.cal.to_cal(self.cal.to_work(t) + gap)
            self.at(nxt, self._arrive, team, item if next_kind == "Sub-task" and kind in ("Story", "Sub-task") else None)

    def _create(self, t: float, team: Team, kind: str, parent: Item | None) -> Item:
        if kind == "Sub-task" and parent is not None and parent.type == "Sub-task":
            parent = parent.parent
        self.next_issue_id += 1 + (self.rng.random() < 0.05)
        item = Item(self.next_issue_id, f"{team.key}-{team.next_number}", team, kind, t)
        team.next_number += 1
        self.open[item.issue_id] = item
        _describe(item, self.rng)
        if kind == "Bug" and self.rng.random() < 0.5:
            item.reporter = self.rng.choice(team.testers)
        if kind == "Epic":
            self._open_epic(team, item)
        elif kind == "Sub-task":
            self._attach_subtask(item, parent, t)
        else:
            self._new_work_item(team, item, t)
        return item

    def _open_epic(self, team: Team, epic: Item) -> None:
        old = team.current_epic
        team.current_epic = epic
        epic.accepting = True
        if old is not None:
            old.accepting = False
            self._maybe_close_epic(old, epic.created)

    def _attach_subtask(self, sub: Item, parent: Item, t: float) -> None:
        sub.parent = parent
        sub.reporter = parent.reporter
        sub.components = list(parent.components)
        parent.subtasks.append(sub)
        if parent.status in (DONE, WONT_DO):
            self.at(t + 120.0, self._cancel, sub, "Won't Do")
        elif parent.status != BACKLOG and parent.status != READY:
            self.at(t + 120.0, self._start_subtask, sub, parent.dev or self.rng.choice(sub.team.devs))

    def _new_work_item(self, team: Team, item: Item, t: float) -> None:
        epic = team.current_epic
        if epic is not None and not epic.final and item.type != "Bug" and self.rng.random() < 0.6:
            item.epic = epic
            epic.children_open += 1
        item.skip_qa = item.type == "Task" and self.rng.random() < P_TASK_SKIPS_QA
        if item.type == "Bug" and self.rng.random() < P_DUPLICATE_BUG:
            when = self.work_later(t, self.rng.uniform(1, 20))
            self.at(when, self._cancel, item, "Duplicate")
        if item.priority == "Highest":
            self.at(self.reaction(t, 90.0), self._expedite, item)
        else:
            team.backlog.append(item)

    # -- refinement, sprints, releases ---------------------------------------------------------
    def _refinement(self, t: float, team: Team) -> None:
        """Twice a week: cancel some stale backlog, then top up Ready for Dev by priority."""
        stale_before = self.cal.to_cal(max(0.0, self.cal.to_work(t) - STALE_DAYS * _WORK_DAY))
        keep: list[Item] = []
        for item in team.backlog:
            if item.final or item.status != BACKLOG:
                continue
            if item.created < stale_before and self.rng.random() < P_STALE_CANCEL:
                t += self.rng.uniform(20, 90)
                self.at(t, self._cancel, item, "Won't Do")
            else:
                keep.append(item)
        keep.sort(key=lambda i: (_PRIORITIES.index(i.priority) - (i.type == "Bug"), i.created + self.rng.random() * 20 * _WORK_DAY))
        planned = len(team.ready)
        while keep and planned < READY_TARGET:
            planned += 1
            t += self.rng.uniform(40, 240)
            self.at(t, self._refine_event, keep.pop(0))
        team.backlog = keep
        self._demote_one(team, t + self.rng.uniform(30, 300))
        day = datetime.fromtimestamp(t, TEAM_ZONE).date()
        self.at(self._next_weekday(day, (1, 3), 10, team.index % 40), self._refinement, team)

    def _demote_one(self, team: Team, t: float) -> None:
        """Now and then a ready item goes back to the backlog (priorities changed) or is
        dropped, so cancelling happens mostly, not only, from the backlog."""
        roll = self.rng.random()
        if not team.ready or roll > 0.3:
            return
        item = team.ready[-1][3]
        if roll < 0.1:
            self.at(t, self._cancel, item, "Won't Do")
        else:
            self.at(t, self._demote, item)

    def _demote(self, t: float, item: Item) -> None:
        if item.status != READY or item.final:
            return
        team = item.team
        team.ready = [e for e in team.ready if e[3] is not item]
        heapq.heapify(team.ready)
        team.committed.discard(item)
        self.move(item, t, BACKLOG, team.po)
        team.backlog.append(item)

    def _refine_event(self, t: float, item: Item) -> None:
        if not item.final and item.status == BACKLOG:
            self._refine(t, item, item.team.po)

    def _refine(self, t: float, item: Item, author: Person) -> float:
        team = item.team
        if item.type == "Story" and self.rng.random() < 0.2:
            old = item.points
            item.points = float(self.rng.choice((2, 3, 5, 8)))
            t = self.record(item, t, author, [{
                "field": "Story point estimate", "fieldtype": "custom", "fieldId": STORY_POINTS_FIELD,
                "from": None, "fromString": None if old is None else _points_text(old),
                "to": None, "toString": _points_text(item.points)}])
        if self.rng.random() < 0.1:
            self.noise_rank(item, t, author)
        t = self.move(item, t, READY, author)
        if team.sprint is not None and self.rng.random() < 0.5:
            self.set_sprint(item, t + self.rng.uniform(5, 60), author, team.sprint)
        self._make_ready(item, t)
        return item.last_t

    def _expedite(self, t: float, item: Item) -> None:
        if item.final or item.status != BACKLOG:
            return
        self._refine(t, item, item.team.po)

    def _make_ready(self, item: Item, t: float) -> None:
        team = item.team
        team.committed.add(item)
        self.seq += 1
        heapq.heappush(team.ready, (_PRIORITIES.index(item.priority), t, self.seq, item))
        if team.free_devs:
            dev = team.free_devs.pop(0)
            self.at(self.reaction(t), self._dev_free, dev, team)

    def _sprint_rollover(self, t: float, team: Team) -> None:
        """Every two weeks a new sprint; unfinished sprint items are carried over."""
        self.next_sprint_id += 1
        team.sprint_number += 1
        new = (self.next_sprint_id, f"{team.key} Sprint {team.sprint_number}")
        old = team.sprint
        team.sprint = new
        if old is not None:
            for item in sorted(team.committed, key=lambda i: i.issue_id):
                if item.sprints and item.sprints[-1] == old and item.status != READY and self.rng.random() < 0.3:
                    self.set_sprint(item, t + self.rng.uniform(1, 30), team.po, new)
        day = datetime.fromtimestamp(t, TEAM_ZONE).date() + timedelta(days=11)
        self.at(self._next_weekday(day, (0,), 9, 30), self._sprint_rollover, team)

    def _release(self, t: float, team: Team) -> None:
        """Thursday afternoon: everything in Ready for Release goes to Done in one batch."""
        if team.release_queue:
            self.next_version_id += 1
            day = datetime.fromtimestamp(t, TEAM_ZONE).date()
            version = (str(self.next_version_id), f"{team.key} {day:%G}.{day:%V}", t)
            batch, team.release_queue = team.release_queue, []
            for item in batch:
                t += self.rng.uniform(1.0, 4.0)
                self.at(t, self._finish, item, version)
        day = datetime.fromtimestamp(t, TEAM_ZONE).date()
        self.at(self._next_weekday(day + timedelta(days=2), (3,), 15, team.index % 50), self._release, team)

    def _finish(self, t: float, item: Item, version: tuple[str, str, float]) -> None:
        if item.final or item.status != READY_RELEASE:
            return
        item.fix_version = version
        extra = self.resolution_change(item, "Done") + [{
            "field": "Fix Version", "fieldtype": "jira", "fieldId": "fixVersions",
            "from": None, "fromString": None, "to": version[0], "toString": version[1]}]
        t = self.move(item, t, DONE, AUTOMATION, extra)
        item.resolved = t
        item.team.committed.discard(item)
        if item.type in ("Story", "Bug") and self.rng.random() < P_REOPEN:
            item.reopen_pending = True
            self.at(self.work_later(t, self.rng.uniform(4, 80)), self._reopen, item)
        else:
            self.finalize(item)

    def _reopen(self, t: float, item: Item) -> None:
        """A released item comes back (a regression): resolution cleared, priority raised."""
        item.reopen_pending = False
        author = self.rng.choice(item.team.testers + [item.team.po])
        extra = self.resolution_change(item, None)
        if item.priority not in ("Highest", "High"):
            extra.append({"field": "priority", "fieldtype": "jira", "fieldId": "priority",
                          "from": _PRIORITY_JSON[item.priority]["id"], "fromString": item.priority,
                          "to": _PRIORITY_JSON["High"]["id"], "toString": "High"})
            item.priority = "High"
        t = self.move(item, t, READY, author, extra)
        item.resolved = None
        if "regression" not in item.labels:
            item.labels = item.labels[:2] + ["regression"]
            self.record(item, t + self.rng.uniform(10, 120), author, [{
                "field": "labels", "fieldtype": "jira", "fieldId": "labels", "from": None,
                "fromString": " ".join(item.labels[:-1]), "to": None, "toString": " ".join(item.labels)}])
        self._make_ready(item, item.last_t)

    def _cancel(self, t: float, item: Item, resolution: str) -> float:
        if item.final or item.status not in (BACKLOG, READY):
            return t
        if item.status == READY:
            item.team.ready = [e for e in item.team.ready if e[3] is not item]
            heapq.heapify(item.team.ready)
        author = item.team.po
        t = self.move(item, t, WONT_DO, author, self.resolution_change(item, resolution))
        item.resolved = t
        for sub in item.subtasks:
            if not sub.final and sub.status == BACKLOG:
                self._cancel(t + self.rng.uniform(2, 20), sub, "Won't Do")
        self.finalize(item)
        return item.last_t

    def _policy_change(self, t: float, team: Team) -> None:
        team.policy_changed = True

    # -- development ----------------------------------------------------------------------
    def _dev_free(self, t: float, dev: Person, team: Team) -> None:
        """A developer looks for work: own rework first, then Ready for Dev, then Backlog."""
        if dev in team.free_devs:
            team.free_devs.remove(dev)
        queue = team.resume[id(dev)]
        while queue:
            item = queue.popleft()
            if not item.final:
                return self._work(t, item, dev)
        while team.ready:
            item = heapq.heappop(team.ready)[3]
            if not item.final and item.status == READY:
                return self._start(t, item, dev)
        # With nothing ready, a developer sometimes takes an unrefined item straight from
        # the backlog (a path the stage map must cope with), else waits for refinement.
        while team.backlog and self.rng.random() < P_SKIP_REFINEMENT:
            item = team.backlog.pop(0)
            if not item.final and item.status == BACKLOG:
                return self._start(t, item, dev)
        team.free_devs.append(dev)

    def _start(self, t: float, item: Item, dev: Person) -> None:
        item.team.committed.add(item)
        item.dev = dev
        t = self.move(item, t, IN_PROGRESS, dev, self.assign(item, dev))
        epic = item.epic
        if epic is not None and epic.status == BACKLOG and not epic.final:
            self.move(epic, t + self.rng.uniform(5, 60), IN_PROGRESS, dev)
        if item.work_hours:  # reopened: a fix, shorter than the first build
            return self._work(t, item, dev, max(2.0, item.work_hours * self.rng.uniform(0.2, 0.5)))
        item.work_hours = self._work_hours(item)
        for n, sub in enumerate(item.subtasks):
            share = (n + self.rng.random() * 0.5) / max(1, len(item.subtasks))
            self.at(self.work_later(t, item.work_hours * share * 0.8), self._start_subtask, sub, dev)
        self._work(t, item, dev, item.work_hours, first=True)

    def _work_hours(self, item: Item) -> float:
        if item.type == "Story":
            median = POINT_HOURS.get(int(item.points or 3), 10.0) * 0.85
            return FOCUS_FACTOR * self.lognormal_hours(median, 0.5)
        if item.type == "Bug":
            return FOCUS_FACTOR * self.lognormal_hours(4.5, 0.8)
        return FOCUS_FACTOR * self.lognormal_hours(5.5, 0.7)

    def _work(self, t: float, item: Item, dev: Person, hours: float | None = None, first: bool = False) -> None:
        """The developer works ``hours`` (or what remains); the work may be blocked midway."""
        hours = item.remaining if hours is None else hours
        p_block = P_BLOCK_FIRST_PASS if first else P_BLOCK_REWORK
        if self.rng.random() < p_block:
            before = hours * self.rng.uniform(0.1, 0.7)
            item.remaining = hours - before
            self.at(self.work_later(t, before), self._block, item, dev)
        else:
            item.remaining = 0.0
            self.at(self._finish_time(t, hours), self._dev_done, item, dev)

    def _finish_time(self, t: float, hours: float) -> float:
        """End of a stretch of work; sometimes a developer stays late rather than finish
        first thing next morning (so a few changes happen in the evening)."""
        w = self.cal.to_work(t) + hours * _HOUR
        day, into = divmod(w, _WORK_DAY)
        if into < 1.5 * _HOUR and day > 0 and self.rng.random() < 0.3:
            return self.cal.to_cal((day - 1) * _WORK_DAY) + _WORK_DAY + into
        return self.cal.to_cal(w)

    def _block(self, t: float, item: Item, dev: Person) -> None:
        if item.final or item.status != IN_PROGRESS:
            return self._release_dev(t, dev, item.team)
        roll = self.rng.random()
        if roll < 0.5:
            self.move(item, t, BLOCKED, dev)
        elif roll < 0.85:
            self.record(item, t, dev, self.flag_change(item, True))
        else:
            self.move(item, t, BLOCKED, dev, self.flag_change(item, True))
        days = self.rng.lognormvariate(math.log(1.5), 0.9)
        self.at(self.work_later(item.last_t, days * 9), self._unblock, item, dev)
        self._release_dev(item.last_t, dev, item.team)

    def _unblock(self, t: float, item: Item, dev: Person) -> None:
        if item.final:
            return
        extra = self.flag_change(item, False) if item.flagged else []
        if item.status == BLOCKED:
            self.move(item, t, IN_PROGRESS, dev, extra)
        elif extra:
            self.record(item, t, dev, extra)
        self._queue_for(item, dev, item.last_t)

    def _queue_for(self, item: Item, dev: Person, t: float) -> None:
        """Rework or unblocked work goes back to its developer, who takes it when free."""
        team = item.team
        team.resume[id(dev)].append(item)
        if dev in team.free_devs:
            team.free_devs.remove(dev)
            self.at(self.reaction(t), self._dev_free, dev, team)

    def _release_dev(self, t: float, dev: Person, team: Team) -> None:
        self.at(self.reaction(t, 10.0), self._dev_free, dev, team)

    def _dev_done(self, t: float, item: Item, dev: Person) -> None:
        if item.final or item.status != IN_PROGRESS:
            return self._release_dev(t, dev, item.team)
        self.move(item, t, READY_REVIEW, dev)
        item.team.review_queue.append(item)
        self._wake(item.team.free_reviewers, self._reviewer_free, item.team, item.last_t)
        self._release_dev(item.last_t, dev, item.team)

    def _wake(self, free: list[Person], action: Callable, team: Team, t: float) -> None:
        if free:
            person = free.pop(0)
            self.at(self.reaction(t, 20.0), action, person, team)

    def _start_subtask(self, t: float, sub: Item, dev: Person) -> None:
        if sub.final or sub.status != BACKLOG:
            return
        t = self.move(sub, t, IN_PROGRESS, dev, self.assign(sub, dev))
        hours = sub.parent.work_hours * self.rng.uniform(0.1, 0.2) if sub.parent else 2.0
        self.at(self.work_later(t, hours), self._finish_subtask, sub, dev)

    def _finish_subtask(self, t: float, sub: Item, dev: Person) -> None:
        if sub.final:
            return
        t = self.move(sub, t, DONE, dev, self.resolution_change(sub, "Done"))
        sub.resolved = t
        self.finalize(sub)

    # -- review and QA ----------------------------------------------------------------------
    def _reviewer_free(self, t: float, reviewer: Person, team: Team) -> None:
        if reviewer in team.free_reviewers:
            team.free_reviewers.remove(reviewer)
        while team.review_queue:
            item = team.review_queue.popleft()
            if not item.final and item.status == READY_REVIEW:
                return self._review(t, item, reviewer)
        team.free_reviewers.append(reviewer)

    def _review(self, t: float, item: Item, reviewer: Person) -> None:
        t = self.move(item, t, IN_REVIEW, reviewer, self.assign(item, reviewer))
        size = math.sqrt(max(item.work_hours / FOCUS_FACTOR, 1.0) / 10.0)
        hours = self.lognormal_hours(1.6 * size, 0.6)
        if item.team.policy_changed:
            hours *= 0.75
        self.at(self.work_later(t, hours), self._review_done, item, reviewer)

    def _review_done(self, t: float, item: Item, reviewer: Person) -> None:
        team = item.team
        if self.rng.random() < P_REVIEW_REWORK:
            dev = item.dev or self.rng.choice(team.devs)
            t = self.move(item, t, IN_PROGRESS, reviewer, self.assign(item, dev))
            item.remaining = max(1.0, item.work_hours * self.rng.uniform(0.15, 0.45))
            self._queue_for(item, dev, t)
        elif item.skip_qa:
            t = self.move(item, t, READY_RELEASE, reviewer)
            team.release_queue.append(item)
        else:
            t = self.move(item, t, READY_QA, reviewer)
            team.qa_queue.append(item)
            self._wake(team.free_testers, self._tester_free, team, t)
        # Reviewers do their own work between reviews, less so once "review first" is policy.
        p_break, median = (0.15, 1.0) if team.policy_changed else (0.56, 2.6)
        pause = self.lognormal_hours(median, 0.7) if self.rng.random() < p_break else 0.0
        self.at(self.work_later(item.last_t, pause + 0.1), self._reviewer_free, reviewer, team)

    def _tester_free(self, t: float, tester: Person, team: Team) -> None:
        if tester in team.free_testers:
            team.free_testers.remove(tester)
        while team.qa_queue:
            item = team.qa_queue.popleft()
            if not item.final and item.status == READY_QA:
                return self._test(t, item, tester)
        team.free_testers.append(tester)

    def _test(self, t: float, item: Item, tester: Person) -> None:
        t = self.move(item, t, IN_QA, tester, self.assign(item, tester))
        size = math.sqrt(max(item.work_hours / FOCUS_FACTOR, 1.0) / 10.0)
        self.at(self.work_later(t, self.lognormal_hours(2.6 * size, 0.6)), self._test_done, item, tester)

    def _test_done(self, t: float, item: Item, tester: Person) -> None:
        team = item.team
        if self.rng.random() < P_QA_REWORK:
            dev = item.dev or self.rng.choice(team.devs)
            t = self.move(item, t, IN_PROGRESS, tester, self.assign(item, dev))
            item.remaining = max(1.0, item.work_hours * self.rng.uniform(0.15, 0.4))
            self._queue_for(item, dev, t)
        else:
            t = self.move(item, t, READY_RELEASE, tester)
            team.release_queue.append(item)
        # Testers also run regression suites and explore between tickets.
        pause = self.lognormal_hours(2.0, 0.7) if self.rng.random() < 0.42 else 0.0
        self.at(self.work_later(t, pause + 0.1), self._tester_free, tester, team)

    # -- epics ------------------------------------------------------------------------------
    def _maybe_close_epic(self, epic: Item, t: float) -> None:
        if epic.accepting or epic.children_open > 0 or epic.final or epic.reopen_pending:
            return
        epic.reopen_pending = True  # guards against closing twice
        self.at(max(t, epic.last_t) + self.rng.uniform(0.5, 5) * 86400.0, self._close_epic, epic)

    def _close_epic(self, t: float, epic: Item) -> None:
        if epic.final:
            return
        t = self.cal.to_cal(self.cal.to_work(t))
        po = epic.team.po
        if epic.status == BACKLOG:
            self.move(epic, t, WONT_DO, po, self.resolution_change(epic, "Won't Do"))
        else:
            # Decision: one epic in five is closed without a resolution, as real sites do.
            extra = self.resolution_change(epic, "Done") if self.rng.random() < 0.8 else []
            self.move(epic, t, DONE, po, extra)
        epic.resolved = epic.last_t if epic.resolution else None
        epic.reopen_pending = False
        self.finalize(epic)


def _points_text(points: float) -> str:
    return str(int(points)) if points == int(points) else str(points)


# -- summaries --------------------------------------------------------------------------------

_ROLES = ("shopper", "guest", "admin", "support agent", "merchant", "returning customer", "finance user")
_ACTIONS = ("filter", "export", "save", "share", "compare", "bulk edit", "schedule", "undo changes to")
_THINGS = ("orders", "invoices", "search results", "the wishlist", "payment methods", "delivery slots",
           "product reviews", "saved carts", "notifications", "refund requests", "gift cards", "addresses")
_SYMPTOMS = ("shows a blank page", "times out", "loses the selected currency", "returns HTTP 500",
             "shows wrong totals", "is not translated", "crashes on iOS 18", "duplicates entries",
             "ignores the time zone", "sends two emails")
_CONDITIONS = ("after login", "with a discount code", "on slow networks", "for EU customers",
               "when the cart is empty", "in dark mode", "after a password reset", "at month end")
_TASKS = ("Upgrade {c} dependencies", "Add monitoring for {t}", "Clean up feature flag for {t}",
          "Migrate {t} to the new queue", "Document the {c} runbook", "Rotate {c} credentials",
          "Speed up the {c} build", "Add load test for {t}")
_EPICS = ("Self-service {t}", "{c} reliability", "New checkout for {t}", "Accessibility for {t}",
          "Faster {t}", "{c} platform migration")


def _describe(item: Item, rng: random.Random) -> None:
    """Summary, priority, labels, components and points: the fields a person would type."""
    thing, component = rng.choice(_THINGS), rng.choice(_COMPONENTS)
    kind = item.type
    if kind == "Story":
        item.summary = f"As a {rng.choice(_ROLES)} I can {rng.choice(_ACTIONS)} {thing}"
        item.points = float(rng.choices((1, 2, 3, 5, 8, 13), (10, 20, 30, 25, 12, 3))[0])
    elif kind == "Bug":
        item.summary = f"{thing[0].upper()}{thing[1:]} {rng.choice(_SYMPTOMS)} {rng.choice(_CONDITIONS)}"
        if rng.random() < 0.3:
            item.points = float(rng.choice((1, 2, 3)))
    elif kind == "Task":
        item.summary = rng.choice(_TASKS).format(c=component, t=thing)
        if rng.random() < 0.5:
            item.points = float(rng.choice((1, 2, 3, 5)))
    elif kind == "Epic":
        item.summary = rng.choice(_EPICS).format(c=component, t=thing)
    else:
        item.summary = rng.choice(("Backend", "Frontend", "Tests", "Translations", "Tracking")) + f" for {thing}"
    weights = (8, 30, 50, 12) if kind == "Bug" else (1, 15, 66, 18)
    item.priority = "Medium" if kind in ("Epic", "Sub-task") else rng.choices(_PRIORITIES, weights)[0]
    item.labels = rng.sample(_LABELS, rng.choices((0, 1, 2, 3), (45, 35, 15, 5))[0])
    item.components = [component] + ([rng.choice(_COMPONENTS)] if rng.random() < 0.15 else [])
    if len(item.components) == 2 and item.components[0] == item.components[1]:
        item.components.pop()


# -- to Jira's JSON ---------------------------------------------------------------------------

def issue_json(item: Item) -> dict:
    """The issue as Jira's search API returns it with ``expand=changelog`` (histories newest first)."""
    histories = [
        {"id": str(hid), "author": author.json, "created": jira_time(t), "items": changes}
        for hid, t, author, changes in reversed(item.histories)
    ]
    total = len(histories)
    # Jira inlines at most 100 histories; the oldest are the ones left out.
    shown = histories[:100]
    team = item.team
    fields: dict = {
        "statuscategorychangedate": jira_time(item.category_t),
        "issuetype": _ISSUE_TYPE_JSON[item.type],
        "project": team.project_json,
        "fixVersions": [] if item.fix_version is None or item.status != DONE else [{
            "self": f"{API}/version/{item.fix_version[0]}", "id": item.fix_version[0], "description": "",
            "name": item.fix_version[1], "archived": False, "released": True,
            "releaseDate": datetime.fromtimestamp(item.fix_version[2], TEAM_ZONE).strftime("%Y-%m-%d")}],
        "resolution": _RESOLUTION_JSON[item.resolution] if item.resolution else None,
        "resolutiondate": jira_time(item.resolved) if item.resolved is not None and item.resolution else None,
        "created": jira_time(item.created),
        "priority": _PRIORITY_JSON[item.priority],
        "labels": list(item.labels),
        STORY_POINTS_FIELD: item.points,
        RANK_FIELD: f"0|i{item.issue_id:05x}:",
        SPRINT_FIELD: [_sprint_json(s, item) for s in item.sprints] or None,
        FLAGGED_FIELD: _FLAG_VALUE if item.flagged else None,
        "assignee": item.assignee.json if item.assignee else None,
        "updated": jira_time(max(item.last_t, item.created)),
        "status": _STATUS_JSON[item.status],
        "components": [{"self": f"{API}/component/{10000 + _COMPONENTS.index(c)}", "id": str(10000 + _COMPONENTS.index(c)), "name": c}
                       for c in item.components],
        "summary": item.summary,
        "subtasks": [{"id": str(s.issue_id), "key": s.key, "self": f"{API}/issue/{s.issue_id}"} for s in item.subtasks],
        "reporter": item.reporter.json,
    }
    parent = item.parent or item.epic
    if parent is not None:
        fields["parent"] = {"id": str(parent.issue_id), "key": parent.key, "self": f"{API}/issue/{parent.issue_id}",
                            "fields": {"summary": parent.summary}}
    return {
        "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
        "id": str(item.issue_id),
        "self": f"{API}/issue/{item.issue_id}",
        "key": item.key,
        "changelog": {"startAt": 0, "maxResults": len(shown), "total": total, "histories": shown},
        "fields": fields,
    }


def _sprint_json(sprint: tuple[int, str], item: Item) -> dict:
    return {"id": sprint[0], "name": sprint[1], "state": "closed" if sprint != item.team.sprint else "active",
            "boardId": 1 + item.team.index, "goal": ""}


NAMES = {
    "summary": "Summary", "issuetype": "Issue Type", "project": "Project", "status": "Status",
    "created": "Created", "updated": "Updated", "resolution": "Resolution", "resolutiondate": "Resolved",
    "statuscategorychangedate": "Status Category Changed", "assignee": "Assignee", "reporter": "Reporter",
    "creator": "Creator", "priority": "Priority", "labels": "Labels", "components": "Components",
    "fixVersions": "Fix versions", "parent": "Parent", "subtasks": "Sub-tasks", "timespent": "Time Spent",
    "workratio": "Work Ratio", "watches": "Watchers", "description": "Description",
    STORY_POINTS_FIELD: "Story point estimate", RANK_FIELD: "Rank", SPRINT_FIELD: "Sprint", FLAGGED_FIELD: "Flagged",
}
SCHEMA = {
    STORY_POINTS_FIELD: {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points", "customId": 10016},
    RANK_FIELD: {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-lexo-rank", "customId": 10019},
    SPRINT_FIELD: {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint", "customId": 10020},
    FLAGGED_FIELD: {"type": "array", "items": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multicheckboxes", "customId": 10021},
}


# -- public API -------------------------------------------------------------------------------

def generate_issues(n_issues: int, seed: int = 7, end: datetime | None = None) -> Iterator[dict]:
    """Yield ``n_issues`` simulated issues as Jira search-API dicts, streaming.

    ``end`` is the as-of time (default ``DEMO_END``, so output is reproducible); a naive
    ``end`` is read in the team's zone (Europe/Berlin).
    """
    if n_issues < 0:
        raise ValueError("n_issues must be zero or more")
    if n_issues == 0:
        return
    for item in Simulation(n_issues, seed, end or DEMO_END).run():
        yield issue_json(item)


def _open_text_out(path: Path, gzip_output: bool):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gzip_output:
        raw = open(path, "wb")
        # mtime=0 and no file name in the header: same input, same bytes.
        zipped = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9)
        return _Closing(io.TextIOWrapper(zipped, encoding="utf-8", newline="\n"), raw)
    return _Closing(open(path, "w", encoding="utf-8", newline="\n"), None)


class _Closing:
    """A text stream that also closes the raw file under a gzip layer."""

    def __init__(self, text, raw):
        self.text, self.raw = text, raw

    def __enter__(self):
        return self.text

    def __exit__(self, *exc) -> None:
        self.text.close()
        if self.raw is not None:
            self.raw.close()


def write_jira_json(path: Path | str, n_issues: int, seed: int = 7, end: datetime | None = None,
                    gzip_output: bool = False) -> None:
    """Write a ``/rest/api/2/search?expand=changelog`` response to ``path``, one issue per
    line inside ``"issues"``, with ``names`` and ``schema`` after the issues as Jira does."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with _open_text_out(Path(path), gzip_output) as out:
        out.write(f'{{"expand":"names,schema","startAt":0,"maxResults":{n_issues},"total":{n_issues},"issues":[')
        for n, issue in enumerate(generate_issues(n_issues, seed, end)):
            out.write("\n" if n == 0 else ",\n")
            out.write(dumps(issue))
        out.write('\n],"names":' + dumps(NAMES) + ',"schema":' + dumps(SCHEMA) + "}\n")


def statuses_json() -> list[dict]:
    """The workflow's statuses as ``/rest/api/2/status`` lists them."""
    return [dict(_STATUS_JSON[name], untranslatedName=name) for name, _, _, _ in WORKFLOW]


def board_configuration_json() -> dict:
    """An agile board configuration: columns in order with their statuses and WIP limits."""
    columns = []
    for name, statuses, low, high in BOARD_COLUMNS:
        column: dict = {"name": name, "statuses": [{"id": STATUS_ID[s], "self": f"{API}/status/{STATUS_ID[s]}"} for s in statuses]}
        if low is not None:
            column["min"] = low
        if high is not None:
            column["max"] = high
        columns.append(column)
    key, project = _PROJECTS[0]
    return {
        "id": 1, "name": f"{key} board", "type": "kanban", "self": f"{SITE}/rest/agile/1.0/board/1/configuration",
        "location": {"type": "project", "key": key, "id": "10000", "self": f"{API}/project/10000", "name": project},
        "filter": {"id": "10000", "self": f"{API}/filter/10000"},
        "subQuery": {"query": "fixVersion in unreleasedVersions() OR fixVersion is EMPTY"},
        "columnConfig": {"columns": columns, "constraintType": "issueCount"},
        "estimation": {"type": "field", "field": {"fieldId": STORY_POINTS_FIELD, "displayName": "Story point estimate"}},
        "ranking": {"rankCustomFieldId": 10019},
    }


def write_statuses(path: Path | str) -> None:
    """Write the status list companion file (``/rest/api/2/status`` shape)."""
    _write_pretty(Path(path), statuses_json())


def write_board_configuration(path: Path | str) -> None:
    """Write the board configuration companion file (``/rest/agile/1.0/board/1/configuration``)."""
    _write_pretty(Path(path), board_configuration_json())


def _write_pretty(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# -- the issue navigator's CSV ----------------------------------------------------------------

CSV_HEADER: tuple[str, ...] = (
    "Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key", "Project name",
    "Priority", "Resolution", "Assignee", "Reporter", "Created", "Updated", "Resolved",
    "Labels", "Labels", "Labels", "Component/s", "Component/s", "Custom field (Story point estimate)",
    "Status Category", "Status Category Changed", "Project type", "Project lead", "Creator",
    "Last Viewed", "Fix versions", "Due date", "Description", "Environment", "Sprint", "Sprint",
    "Parent", "Parent summary", "Custom field (Rank)", "Custom field (Flagged)",
    "Watchers", "Watchers", "Watchers", "Comment", "Comment", "Comment",
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def csv_time(text: str | None) -> str:
    """``22/Dec/25 2:38 PM``: the issue navigator's date format (local time, no zone)."""
    if not text:
        return ""
    local = datetime.fromisoformat(text)
    hour = local.hour % 12 or 12
    return f"{local.day:02d}/{_MONTHS[local.month - 1]}/{local.year % 100:02d} {hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def _padded(values: Sequence[str], n: int) -> list[str]:
    return list(values[:n]) + [""] * (n - min(n, len(values)))


def _csv_comments(issue: dict) -> list[str]:
    """Comments the way the CSV writes them (``date;accountId;text``), from notable moves."""
    notes = []
    for history in reversed(issue["changelog"]["histories"]):
        for change in history["items"]:
            if change["field"] != "status":
                continue
            before, after = change["fromString"], change["toString"]
            if after == IN_PROGRESS and before in (IN_REVIEW, IN_QA):
                text = "Sent back: " + ("review found missing tests\nplease add edge cases" if before == IN_REVIEW
                                        else "fails on staging, steps in the ticket")
            elif after == BLOCKED:
                text = "Blocked: waiting for the other team's API change"
            else:
                continue
            notes.append(f"{csv_time(history['created'])};{history['author']['accountId']};{text}")
    return _padded(notes, 3)


def csv_row(issue: dict) -> list[str]:
    """One issue as a row of the "CSV (all fields)" export, in ``CSV_HEADER`` order."""
    f = issue["fields"]
    person = lambda p: p["displayName"] if p else ""  # noqa: E731
    sprints = [s["name"] for s in (f[SPRINT_FIELD] or [])]
    watchers = [person(f["reporter"])] + ([person(f["assignee"])] if f["assignee"] else [])
    parent = f.get("parent")
    is_bug = f["issuetype"]["name"] == "Bug"
    description = f"{f['summary']}.\r\n\r\nAcceptance criteria:\n- works on web and mobile\n- tracked in analytics" if not is_bug else \
        f"Steps to reproduce:\n1. open the page\n2. {f['summary'].lower()}\n\nExpected: no error"
    return [
        f["summary"], issue["key"], issue["id"], f["issuetype"]["name"], f["status"]["name"],
        f["project"]["key"], f["project"]["name"], f["priority"]["name"],
        f["resolution"]["name"] if f["resolution"] else "", person(f["assignee"]), person(f["reporter"]),
        csv_time(f["created"]), csv_time(f["updated"]), csv_time(f["resolutiondate"]),
        *_padded(f["labels"], 3), *_padded([c["name"] for c in f["components"]], 2),
        "" if f[STORY_POINTS_FIELD] is None else _points_text(f[STORY_POINTS_FIELD]),
        f["status"]["statusCategory"]["name"], csv_time(f["statuscategorychangedate"]),
        "software", "", person(f["reporter"]), "",
        ", ".join(v["name"] for v in f["fixVersions"]), "", description,
        "Production" if is_bug else "", *_padded(sprints[-2:], 2),
        parent["id"] if parent else "", parent["fields"]["summary"] if parent else "",
        f[RANK_FIELD], "Impediment" if f[FLAGGED_FIELD] else "",
        *_padded(watchers, 3), *_csv_comments(issue),
    ]


def write_jira_csv(path: Path | str, n_issues: int, seed: int = 7, end: datetime | None = None) -> None:
    """Write an issue-navigator "CSV (all fields)" export of the simulated issues (no history,
    repeated column names for multi-value fields, dates like ``22/Dec/25 2:38 PM``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        for issue in generate_issues(n_issues, seed, end):
            writer.writerow(csv_row(issue))


# -- the committed demo data set and the command line -----------------------------------------

def write_demo_files(directory: Path | str, n_issues: int = DEMO_ISSUES, seed: int = 7) -> list[Path]:
    """Write the dashboard's demo data set (export, status list, board) into ``directory``."""
    directory = Path(directory)
    paths = [directory / name for name in DEMO_FILES]
    write_jira_json(paths[0], n_issues, seed=seed, end=DEMO_END, gzip_output=True)
    write_statuses(paths[1])
    write_board_configuration(paths[2])
    return paths


def _parse_end(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=TEAM_ZONE)


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m vsm_core.demo --issues N --out FILE [--csv] [--gzip] [--seed S]``."""
    parser = argparse.ArgumentParser(prog="vsm demo", description="Write a simulated Jira export for demos and benchmarks.")
    parser.add_argument("--issues", type=int, default=DEMO_ISSUES, help="how many issues (default %(default)s)")
    parser.add_argument("--out", type=Path, help="the export file to write")
    parser.add_argument("--csv", action="store_true", help="write the issue navigator's CSV instead of JSON")
    parser.add_argument("--gzip", action="store_true", help="gzip the JSON export")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=_parse_end, default=DEMO_END, help="as-of time, ISO 8601 (default %(default)s)")
    parser.add_argument("--statuses", type=Path, help="also write the status list here")
    parser.add_argument("--board", type=Path, help="also write the board configuration here")
    parser.add_argument("--demo-dir", type=Path, help="write the committed demo data set into this folder")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.demo_dir:
        for written in write_demo_files(args.demo_dir, args.issues, args.seed):
            print(written)
    if args.out:
        if args.csv:
            write_jira_csv(args.out, args.issues, args.seed, args.end)
        else:
            write_jira_json(args.out, args.issues, args.seed, args.end, gzip_output=args.gzip)
        print(args.out)
    if args.statuses:
        write_statuses(args.statuses)
    if args.board:
        write_board_configuration(args.board)
    if not (args.out or args.demo_dir or args.statuses or args.board):
        parser.error("say where to write: --out FILE (or --demo-dir DIR)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
