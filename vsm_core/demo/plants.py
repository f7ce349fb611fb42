"""Planted flow problems: small simulated Jira exports whose one problem is known in advance.

Each ``Plant`` is a team's workflow with one known flow problem (or none, for the healthy
flow) and the answer a correct analysis gives: the status of the stage that should rank first
as the bottleneck and the lever that should top the recommended changes. The decision layer's
tests write each plant, import it like a user's export and check that the answer comes out of
the data. Status names, time zones, the order of histories in the file and the history ids
differ between plants, so nothing can pass by expecting names.

The model, a seeded discrete-event queueing simulation (independent from ``simulation``, the
large demo model), with the choices it makes:

* **Time** runs on the working clock of the plant's time zone: work happens Monday to Friday,
  09:00-17:00 local, no holidays. Every event falls inside working hours, and is written as
  local time with its UTC offset, as Jira writes it (offsets change across daylight saving).
* **Arrivals**: ``n_items`` items are created at uniformly random working moments over the
  horizon (a Poisson process conditioned on its count); the horizon is the number of whole
  weeks that ``n_items`` need at the plant's ``arrivals_per_day``, so the load stays as
  designed whatever the count. The horizon starts on the plant's Monday; events after it do
  not happen (that work is in flight) and the as-of time is its end, the last Friday 17:00.
* **Stages**: the workflow is an ordered list of statuses of four kinds. An ``active`` status
  has ``workers`` people and a lognormal service time (median ``hours`` working hours, spread
  ``sigma``). A ``wait`` status is the queue in front of the next active status: an item moves
  into it when the previous step finishes and out of it when a worker of the next step starts
  (after a short exponential pick-up delay, mean ``pickup_hours``). A wait status with no
  next active status but ``hours`` is a delay nobody serves (an unowned triage queue); one
  with ``release_every_weeks`` lets items go only at the release: Friday 15:00 local every
  that many weeks (batching). Items are pulled out of the backlog when a worker of the first
  active step is free, unless the plant ``pushes`` (starts every item on arrival).
* **Order of service**: first come, first served, with rework and unblocked items first;
  a plant can make workers take any waiting item or the newest one (``pick``): an overloaded
  team chasing the latest request while older work rots.
* **Rework**: after a pass through an active status, an item goes back to an earlier status
  with ``probability x decay ** loops so far``; the fix takes ``effort`` times a fresh pass.
  It then follows the workflow forward again.
* **Blocking**: in one active status, a share of items is blocked once, part-way through the
  work (a uniform point between 15 % and 85 % of it): the worker takes other work, the item
  is flagged (Jira's Flagged = Impediment) or moved to a side status, for a lognormal time;
  then it is unflagged (or moved back) and resumed first.
* **Assignees**: a worker starting one of the plant's ``assign_at`` statuses becomes the
  assignee (one history with the status change). With ``churn``, each item's first pass
  through the first active status also changes hands a few times at random moments, and
  every handoff costs the new owner ``hours_lost`` working hours of catching up.
* **Export**: the Jira REST search response with the changelog inline (status, assignee,
  Flagged and resolution items), histories oldest-first, newest-first or shuffled per plant,
  history ids increasing with time from a plant's base by a plant's step; and the status list
  companion (``/rest/api/2/status``) so that every status's category is known.

Everything is drawn from one ``random.Random`` seeded by (plant name, seed), in event order:
the same plant, seed and count give the same bytes.
"""

from __future__ import annotations

import functools
import heapq
import json
import math
import random
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_ITEMS = 400
WORK_START_HOUR = 9
HOURS_PER_DAY = 8  # 09:00-17:00
RELEASE_HOUR = 15.0  # local time of a release on its Friday
RELEASE_WEEKDAY = 4  # Friday
LEVERS = ("review-sla", "pairing", "automate-tests", "automate-deploy", "wip-limit", "requirements-definition",
          "clarify-ownership", "unblock-dependencies", "slice-smaller", "local-decisions")
HISTORY_ORDERS = ("oldest-first", "newest-first", "shuffled")
_CATEGORY_KEY = {"backlog": "new", "wait": "indeterminate", "active": "indeterminate", "done": "done"}
_SITE = "https://plants.example.atlassian.net/rest/api/2"


# -- the plant's description ------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One status of a plant's workflow, in order (see the module docstring for the kinds)."""

    status: str
    kind: str  # backlog | wait | active | done
    workers: int = 0
    hours: float = 0.0  # active: median working hours per pass; wait without server: median delay
    sigma: float = 0.6
    release_every_weeks: int = 0


@dataclass(frozen=True)
class Rework:
    """Items finishing a pass through ``at`` go back to the earlier status ``to``."""

    at: str
    to: str
    probability: float
    decay: float = 1.0  # each earlier loop multiplies the probability by this
    effort: float = 0.5  # a fix's working hours as a share of a fresh pass


@dataclass(frozen=True)
class Blocking:
    """A share of the items in the active status ``at`` is blocked once, for a while."""

    at: str
    probability: float
    hours: float  # median working hours blocked
    sigma: float = 0.5
    side_status: str | None = None  # where ``side_share`` of the blocked items are moved
    side_share: float = 0.0


@dataclass(frozen=True)
class Churn:
    """Assignee changes during the first pass through the first active status."""

    handoffs: tuple[int, int] = (2, 5)  # fewest and most, uniform
    hours_lost: float = 1.5


@dataclass(frozen=True)
class Parameters:
    """The plant's load, clock, file layout and planted behaviour."""

    project: str
    zone: str
    start: date  # a Monday
    arrivals_per_day: float
    history_order: str = "oldest-first"
    history_id_base: int = 10_000
    history_id_step: int = 1
    issue_id_base: int = 10_000
    backlog_hours: float = 2.0  # median working hours an item is refined before it can be pulled
    pickup_hours: float = 0.5  # mean working hours between a free worker and the start
    pushes: bool = False
    pick: str = "oldest"  # which waiting item a free worker takes: oldest, any (random) or newest
    assign_at: tuple[str, ...] = ()  # default: the first active status
    rework: tuple[Rework, ...] = ()
    blocking: Blocking | None = None
    churn: Churn | None = None
    category_names: tuple[str, str, str] = ("To Do", "In Progress", "Done")
    done_resolution: str = "Done"


@dataclass(frozen=True)
class Plant:
    """A simulated team with one known flow problem and the answer an analysis should give."""

    name: str
    description: str
    workflow: tuple[Step, ...]
    parameters: Parameters
    expected_bottleneck_stage: str | None  # status of the stage ranked first; None when healthy
    expected_lever: str | None  # the top change's lever; None when healthy

    def __post_init__(self) -> None:
        if self.expected_lever is not None and self.expected_lever not in LEVERS:
            raise ValueError(f"The plant {self.name} expects the unknown lever {self.expected_lever!r}.")
        if self.parameters.history_order not in HISTORY_ORDERS:
            raise ValueError(f"The plant {self.name} has the unknown history order {self.parameters.history_order!r}.")

    def statuses(self) -> tuple[tuple[str, str], ...]:
        """(status, kind) of every status the plant uses, side status included (as a wait)."""
        steps = tuple((s.status, s.kind) for s in self.workflow)
        side = self.parameters.blocking.side_status if self.parameters.blocking else None
        return steps + (((side, "wait"),) if side else ())


# -- the plants -------------------------------------------------------------------------------

def plants() -> list[Plant]:
    """The seven plants: six known problems and a healthy flow."""
    return [_review_queue(), _qa_rework(), _release_train(), _wip_overload(), _blocked_dependencies(),
            _ownership_churn(), _healthy()]


def plant(name: str) -> Plant:
    """The plant called ``name``; ValueError when there is none."""
    for candidate in plants():
        if candidate.name == name:
            return candidate
    known = ", ".join(p.name for p in plants())
    raise ValueError(f"There is no plant called {name!r}; choose one of {known}.")


def _review_queue() -> Plant:
    # Six developers feed one reviewer: 3.0 review passes a day (8 % are sent back) x (2.0 h
    # mean review + 0.5 h pick-up) = 7.6 of 8 working hours (utilisation 0.95), so changes wait
    # days in front of the reviewer while coding takes about one.
    return Plant(
        "review-queue", "One reviewer for six developers: changes wait days for a peer check.",
        (Step("Backlog", "backlog"), Step("Queued for Dev", "wait"), Step("Coding", "active", 6, 6.0),
         Step("Awaiting Peer Check", "wait"), Step("Peer Check", "active", 1, 1.7),
         Step("Awaiting Verification", "wait"), Step("Verifying", "active", 2, 2.0), Step("Closed", "done")),
        Parameters("PAY", "America/New_York", date(2025, 1, 6), 2.8, "oldest-first", 10_000, 1, 20_000,
                   rework=(Rework("Peer Check", "Coding", 0.08, effort=0.3),)),
        "Awaiting Peer Check", "review-sla")


def _qa_rework() -> Plant:
    # QA sends 45 % of first passes back to development, and fewer of each later pass (x 0.75):
    # 0.45 + 0.45 x 0.34 + ... = about 0.65 loops per item, each a half-size fix.
    return Plant(
        "qa-rework", "Vague requirements: QA sends almost half the work back to development, often more than once.",
        (Step("Por hacer", "backlog"), Step("En desarrollo", "active", 7, 10.0),
         Step("Pendiente de revisión", "wait"), Step("En revisión", "active", 2, 1.5),
         Step("Pendiente de QA", "wait"), Step("En pruebas", "active", 3, 2.5), Step("Hecho", "done")),
        Parameters("PED", "Europe/Madrid", date(2025, 2, 3), 2.5, "newest-first", 2_000_000, 3, 41_000,
                   rework=(Rework("En pruebas", "En desarrollo", 0.45, decay=0.75, effort=0.5),),
                   category_names=("Por hacer", "En curso", "Listo"), done_resolution="Hecho"),
        "En desarrollo", "requirements-definition")


def _release_train() -> Plant:
    # Finished work waits for the release every other Friday: 5 working days on average.
    return Plant(
        "release-train", "A release train every other Friday: finished work waits for the next departure.",
        (Step("Backlog", "backlog"), Step("Ready for Dev", "wait"), Step("Implementation", "active", 5, 9.0),
         Step("Code Review Queue", "wait"), Step("Code Review", "active", 2, 1.5),
         Step("Ready to Ship", "wait", release_every_weeks=2), Step("Shipped", "done")),
        Parameters("SHOP", "Asia/Tokyo", date(2025, 3, 3), 2.6, "newest-first", 500_000, 1, 70_000),
        "Ready to Ship", "automate-deploy")


def _wip_overload() -> Plant:
    # Three developers finish about 2.5 items a day (3 x 8 h / 9.6 h mean) while 3.2 arrive and
    # all are started at once: the pile in Doing grows by about 0.7 items a working day, and
    # the newest requests are served first while older ones rot.
    return Plant(
        "wip-overload", "Everything is started on arrival: more arrives than the team finishes, so work piles up.",
        (Step("Open", "backlog"), Step("Doing", "active", 3, 8.0), Step("Ready for Acceptance", "wait"),
         Step("Acceptance", "active", 2, 1.0), Step("Resolved", "done")),
        Parameters("OPS", "UTC", date(2025, 1, 13), 3.2, "oldest-first", 70_000, 1, 90_000,
                   backlog_hours=0.3, pushes=True, pick="newest"),
        "Doing", "wip-limit")


def _blocked_dependencies() -> Plant:
    # 40 % of builds are blocked once for a median 3 working days on another team; a quarter of
    # those are moved to a side status, the rest stay in Building with the Flagged field set.
    return Plant(
        "blocked-dependencies", "Builds wait on another team: 40 % of items are blocked for days while in progress.",
        (Step("Backlog", "backlog"), Step("Ready for Build", "wait"), Step("Building", "active", 5, 9.0),
         Step("Ready for Test", "wait"), Step("Testing", "active", 2, 2.5), Step("Live", "done")),
        Parameters("INT", "Europe/Berlin", date(2025, 4, 7), 2.6, "shuffled", 4_100, 2, 11_000,
                   blocking=Blocking("Building", 0.40, 24.0, side_status="Waiting on Platform Team", side_share=0.25)),
        "Building", "unblock-dependencies")


def _ownership_churn() -> Plant:
    # Nobody owns triage: items wait a median 3 working days before anyone looks, then change
    # hands 2-5 times while being implemented and once more for verification.
    return Plant(
        "ownership-churn", "No clear owner: items sit unassigned awaiting triage, then change hands again and again.",
        (Step("New", "backlog"), Step("Waiting for Triage", "wait", hours=24.0, sigma=0.7),
         Step("Implementing", "active", 6, 7.0), Step("Ready for Verification", "wait"),
         Step("Verifying", "active", 2, 2.0), Step("Closed", "done")),
        Parameters("CRM", "America/Sao_Paulo", date(2025, 2, 17), 2.6, "oldest-first", 300, 11, 5_000,
                   backlog_hours=0.5, assign_at=("Implementing", "Verifying"), churn=Churn((2, 5), 1.0)),
        "Waiting for Triage", "clarify-ownership")


def _healthy() -> Plant:
    # Four balanced steps with spare capacity (utilisation 0.4-0.6) and a short queue.
    return Plant(
        "healthy", "A healthy flow: balanced steps, spare capacity, little rework, nothing blocked.",
        (Step("To Do", "backlog"), Step("Analysis", "active", 3, 5.0, 0.5), Step("Development", "active", 5, 6.0, 0.5),
         Step("Code Review", "active", 3, 4.0, 0.5), Step("Ready for Test", "wait"),
         Step("Testing", "active", 3, 5.0, 0.5), Step("Done", "done")),
        Parameters("WEB", "Asia/Kolkata", date(2025, 1, 6), 2.4, "shuffled", 9_000, 2, 30_000,
                   assign_at=("Analysis", "Testing"), rework=(Rework("Testing", "Development", 0.05, effort=0.3),)),
        None, None)


# -- the working clock ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Calendar:
    """Working hours since the plant's start <-> local wall-clock times."""

    zone: ZoneInfo
    days: tuple[date, ...]  # the horizon's working days

    @classmethod
    def of(cls, parameters: Parameters, weeks: int) -> _Calendar:
        monday = parameters.start - timedelta(days=parameters.start.weekday())
        days = tuple(monday + timedelta(days=7 * w + d) for w in range(weeks) for d in range(5))
        return cls(ZoneInfo(parameters.zone), days)

    @property
    def end(self) -> float:
        return len(self.days) * HOURS_PER_DAY

    def local(self, w: float) -> datetime:
        if w >= self.end:  # the horizon's end: the last day's 17:00
            day, hours = len(self.days) - 1, HOURS_PER_DAY
        else:
            day, hours = divmod(w, HOURS_PER_DAY)
        d = self.days[int(day)]
        base = datetime(d.year, d.month, d.day, WORK_START_HOUR, tzinfo=self.zone)
        return base + timedelta(milliseconds=round(hours * 3_600_000))

    def jira_time(self, w: float) -> str:
        """``2025-03-04T10:15:32.123+0100``: local time with its offset."""
        moment = self.local(w)
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}{moment:%z}"

    def next_release(self, w: float, every_weeks: int) -> float:
        """The first release moment after ``w`` (Friday 15:00 local of every ``every_weeks``-th week)."""
        offset = RELEASE_HOUR - WORK_START_HOUR
        week = int(w // (5 * HOURS_PER_DAY))
        while True:
            if week % every_weeks == every_weeks - 1:
                moment = (5 * week + RELEASE_WEEKDAY) * HOURS_PER_DAY + offset
                if moment > w:
                    return moment
            week += 1


def plant_weeks(plant: Plant, n_items: int = DEFAULT_ITEMS) -> int:
    """Whole weeks of the horizon: the weeks ``n_items`` arrivals take at the plant's rate."""
    return max(4, math.ceil(n_items / (plant.parameters.arrivals_per_day * 5)))


def plant_as_of(plant: Plant, n_items: int = DEFAULT_ITEMS) -> datetime:
    """The export's as-of time: the horizon's end (its last Friday, 17:00 local)."""
    return _Calendar.of(plant.parameters, plant_weeks(plant, n_items)).local(math.inf)


# -- the simulation ---------------------------------------------------------------------------

@dataclass
class _Item:
    n: int
    created: float
    issue_type: str
    status: str
    histories: list[tuple[float, int, list[dict]]] = field(default_factory=list)
    assignee: str | None = None
    flagged: bool = False
    on_side: bool = False
    blocked_once: bool = False
    loops: int = 0
    remaining: float = 0.0  # working hours left when a blocked item resumes
    next_hours: float | None = None  # working hours of a rework fix
    done_at: float | None = None


class _Team:
    """The discrete-event run of one plant."""

    def __init__(self, plant: Plant, seed: int, n_items: int):
        self.plant, self.p = plant, plant.parameters
        self.rng = random.Random(zlib.crc32(plant.name.encode()) * 1_000_003 + seed)
        self.calendar = _Calendar.of(self.p, plant_weeks(plant, n_items))
        self.index = {s.status: i for i, s in enumerate(plant.workflow)}
        self.first_active = next(i for i, s in enumerate(plant.workflow) if s.kind == "active")
        self.assign_at = set(self.p.assign_at or (plant.workflow[self.first_active].status,))
        self.rework = {r.at: r for r in self.p.rework}
        self.free = {i: _people(plant.name, i, s.workers) for i, s in enumerate(plant.workflow) if s.kind == "active"}
        self.teams = {i: tuple(people) for i, people in self.free.items()}
        self.urgent: dict[int, list[_Item]] = {i: [] for i in self.free}
        self.waiting: dict[int, list[_Item]] = {i: [] for i in self.free}
        self.events: list[tuple[float, int, str, tuple]] = []
        self.sequence = 0
        self.history_count = 0
        self.items = self._arrivals(n_items)

    # events
    def schedule(self, w: float, action: str, *args) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (w, self.sequence, action, args))

    def run(self) -> list[_Item]:
        end = self.calendar.end
        while self.events and self.events[0][0] < end:
            w, _, action, args = heapq.heappop(self.events)
            getattr(self, f"_on_{action}")(w, *args)
        return self.items

    def _arrivals(self, n_items: int) -> list[_Item]:
        times = sorted(self.rng.uniform(0, self.calendar.end) for _ in range(n_items))
        items = []
        for n, w in enumerate(times):
            issue_type = self.rng.choices(("Story", "Bug", "Task"), (0.7, 0.2, 0.1))[0]
            item = _Item(n, w, issue_type, self.plant.workflow[0].status)
            items.append(item)
            self.schedule(w + self.rng.expovariate(1 / self.p.backlog_hours), "leave_backlog", item)
        return items

    # recording
    def record(self, item: _Item, w: float, changes: list[dict]) -> None:
        if changes:
            hid = self.p.history_id_base + self.p.history_id_step * self.history_count
            self.history_count += 1
            item.histories.append((w, hid, changes))

    def status_change(self, item: _Item, status: str) -> list[dict]:
        if item.status == status:
            return []
        change = {"field": "status", "fieldtype": "jira", "from": _status_id(self.plant, item.status),
                  "fromString": item.status, "to": _status_id(self.plant, status), "toString": status}
        item.status = status
        return [change]

    def assignee_change(self, item: _Item, person: str | None) -> list[dict]:
        if item.assignee == person:
            return []
        change = {"field": "assignee", "fieldtype": "jira", "from": _account(item.assignee), "fromString": item.assignee,
                  "to": _account(person), "toString": person}
        item.assignee = person
        return [change]

    def move(self, item: _Item, w: float, status: str, extra: list[dict] = ()) -> None:
        self.record(item, w, self.status_change(item, status) + list(extra))

    # routing
    def enter(self, item: _Item, i: int, w: float, *, urgent: bool = False) -> None:
        step = self.plant.workflow[i]
        if step.kind == "done":
            resolution = {"field": "resolution", "fieldtype": "jira", "from": None, "fromString": None,
                          "to": "10000", "toString": self.p.done_resolution}
            self.move(item, w, step.status, [resolution])
            item.done_at = w
        elif step.kind == "active":
            self.move(item, w, step.status)
            self.join(item, i, w, urgent)
        elif step.release_every_weeks:
            self.move(item, w, step.status)
            self.schedule(self.calendar.next_release(w, step.release_every_weeks), "release", item, i)
        elif step.hours:
            self.move(item, w, step.status)
            self.schedule(w + self.rng.lognormvariate(math.log(step.hours), step.sigma), "depart", item, i)
        else:
            self.move(item, w, step.status)
            self.join(item, i + 1, w, urgent)

    def join(self, item: _Item, active: int, w: float, urgent: bool) -> None:
        (self.urgent if urgent else self.waiting)[active].append(item)
        self.try_start(active, w)

    def try_start(self, active: int, w: float) -> None:
        while self.free[active] and (self.urgent[active] or self.waiting[active]):
            queue = self.urgent[active] or self.waiting[active]
            item = queue.pop(self.pick(queue) if queue is self.waiting[active] else 0)
            worker = self.free[active].pop(0)
            self.schedule(w + self.rng.expovariate(1 / self.p.pickup_hours), "start", item, active, worker)

    def pick(self, queue: list[_Item]) -> int:
        if self.p.pick == "any":
            return self.rng.randrange(len(queue))
        return len(queue) - 1 if self.p.pick == "newest" else 0

    # handlers
    def _on_leave_backlog(self, w: float, item: _Item) -> None:
        i = self.index[item.status] + 1
        if self.plant.workflow[i].kind == "active" and not self.p.pushes:
            self.join(item, i, w, urgent=False)  # pulled from the backlog when a worker is free
        else:
            self.enter(item, i, w)

    def _on_depart(self, w: float, item: _Item, i: int) -> None:
        if self.plant.workflow[i + 1].kind == "active":
            self.join(item, i + 1, w, urgent=False)  # stays in the wait status until a worker starts
        else:
            self.enter(item, i + 1, w)

    def _on_release(self, w: float, item: _Item, i: int) -> None:
        # the release's moves take a few minutes
        self.schedule(w + self.rng.uniform(0, 0.25), "depart", item, i)

    def _on_start(self, w: float, item: _Item, active: int, worker: str) -> None:
        step = self.plant.workflow[active]
        extra = self.assignee_change(item, worker) if step.status in self.assign_at else []
        self.move(item, w, step.status, extra)
        first_pass = active == self.first_active and item.loops == 0 and not item.remaining
        hours = self.service_hours(item, step)
        churn = self.p.churn
        if churn and first_pass:
            handoffs = self.rng.randint(*churn.handoffs)
            hours += handoffs * churn.hours_lost
            for moment in sorted(self.rng.uniform(0, hours) for _ in range(handoffs)):
                self.schedule(w + moment, "handoff", item, active)
        blocking = self.p.blocking
        if blocking and step.status == blocking.at and not item.blocked_once and self.rng.random() < blocking.probability:
            item.blocked_once = True
            share = self.rng.uniform(0.15, 0.85)
            self.schedule(w + share * hours, "block", item, active, worker, (1 - share) * hours)
            return
        self.schedule(w + hours, "finish", item, active, worker)

    def service_hours(self, item: _Item, step: Step) -> float:
        """The working hours of this pass: what is left after a block, a fix, or a fresh pass."""
        if item.remaining:
            hours, item.remaining = item.remaining, 0.0
        elif item.next_hours is not None:
            hours, item.next_hours = item.next_hours, None
        else:
            hours = self.rng.lognormvariate(math.log(step.hours), step.sigma)
        return hours

    def _on_handoff(self, w: float, item: _Item, active: int) -> None:
        others = [person for person in self.teams[active] if person != item.assignee]
        self.record(item, w, self.assignee_change(item, self.rng.choice(others)))

    def _on_block(self, w: float, item: _Item, active: int, worker: str, remaining: float) -> None:
        blocking = self.p.blocking
        self.free[active].append(worker)
        item.remaining = remaining
        if blocking.side_status and self.rng.random() < blocking.side_share:
            item.on_side = True
            self.move(item, w, blocking.side_status)
        else:
            item.flagged = True
            self.record(item, w, [_flag(True)])
        self.schedule(w + self.rng.lognormvariate(math.log(blocking.hours), blocking.sigma), "unblock", item, active)
        self.try_start(active, w)

    def _on_unblock(self, w: float, item: _Item, active: int) -> None:
        if item.on_side:
            item.on_side = False
            self.move(item, w, self.plant.workflow[active].status)
        else:
            item.flagged = False
            self.record(item, w, [_flag(False)])
        self.join(item, active, w, urgent=True)

    def _on_finish(self, w: float, item: _Item, active: int, worker: str) -> None:
        self.free[active].append(worker)
        step = self.plant.workflow[active]
        rule = self.rework.get(step.status)
        if rule and self.rng.random() < rule.probability * rule.decay ** item.loops:
            item.loops += 1
            target = self.index[rule.to]
            fresh = self.plant.workflow[target if self.plant.workflow[target].kind == "active" else target + 1]
            item.next_hours = rule.effort * self.rng.lognormvariate(math.log(fresh.hours), fresh.sigma)
            self.enter(item, target, w, urgent=True)
        else:
            self.enter(item, active + 1, w)
        self.try_start(active, w)


def _people(plant_name: str, step: int, count: int) -> list[str]:
    """Display names of a step's workers, different in every plant and step."""
    first = ("Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena",
             "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara")
    last = ("Silva", "Novak", "Okafor", "Tanaka", "Berg", "Costa", "Haddad", "Kowalski", "Moreau", "Reyes")
    offset = zlib.crc32(plant_name.encode()) % len(first)
    return [f"{first[(offset + 5 * step + k) % len(first)]} {last[(step + k) % len(last)]}" for k in range(count)]


def _account(person: str | None) -> str | None:
    return None if person is None else f"acc-{zlib.crc32(person.encode()):08x}"


def _flag(on: bool) -> dict:
    """A Flagged change: set to Impediment, or cleared (Jira writes an empty string)."""
    return {"field": "Flagged", "fieldtype": "custom", "fieldId": "customfield_10021",
            "from": None if on else "[10019]", "fromString": "" if on else "Impediment",
            "to": "[10019]" if on else None, "toString": "Impediment" if on else ""}


def _status_id(plant: Plant, status: str) -> str:
    return _status_ids(plant)[status]


@functools.lru_cache(maxsize=16)
def _status_ids(plant: Plant) -> dict[str, str]:
    """Status ids like Jira's, different in every plant."""
    first = 10_100 + 20 * (zlib.crc32(plant.name.encode()) % 50)
    return {name: str(first + n) for n, (name, _) in enumerate(plant.statuses())}


# -- the export -------------------------------------------------------------------------------

def write_plant_export(plant: Plant, path: Path | str, *, seed: int = 1, n_items: int = DEFAULT_ITEMS) -> Path:
    """Simulate ``plant`` and write it as a Jira REST search response with the changelog."""
    team = _Team(plant, seed, n_items)
    items = team.run()
    order = random.Random(seed)
    issues = [_issue_json(plant, team.calendar, item, order) for item in items]
    if plant.parameters.history_order == "newest-first":
        issues.reverse()  # the search's default order: newest created first
    document = {"expand": "schema,names", "startAt": 0, "maxResults": len(issues), "total": len(issues),
                "issues": issues}
    return _write(Path(path), document)


def write_plant_statuses(plant: Plant, path: Path | str) -> Path:
    """Write the plant's status list companion (the ``/rest/api/2/status`` shape)."""
    names = dict(zip(("new", "indeterminate", "done"), plant.parameters.category_names))
    ids = {"new": 2, "indeterminate": 4, "done": 3}
    statuses = [{
        "self": f"{_SITE}/status/{_status_id(plant, status)}", "description": "", "iconUrl": f"{_SITE}/images/status.png",
        "name": status, "untranslatedName": status, "id": _status_id(plant, status),
        "statusCategory": {"self": f"{_SITE}/statuscategory/{ids[key]}", "id": ids[key], "key": key,
                           "name": names[key]},
    } for status, kind in plant.statuses() for key in (_CATEGORY_KEY[kind],)]
    return _write(Path(path), statuses)


def _write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return path


def _issue_json(plant: Plant, calendar: _Calendar, item: _Item, order: random.Random) -> dict:
    p = plant.parameters
    category = _CATEGORY_KEY[dict(plant.statuses())[item.status]]
    histories = [{"id": str(hid), "author": {"displayName": f"{p.project} team member"},
                  "created": calendar.jira_time(w), "items": changes} for w, hid, changes in item.histories]
    if p.history_order == "newest-first":
        histories.reverse()
    elif p.history_order == "shuffled":
        order.shuffle(histories)
    last = max([w for w, _, _ in item.histories], default=item.created)
    done = item.done_at is not None
    issue_id = str(p.issue_id_base + item.n)
    return {
        "id": issue_id, "key": f"{p.project}-{item.n + 1}", "self": f"{_SITE}/issue/{issue_id}",
        "fields": {
            "summary": f"{plant.name} work item {item.n + 1}",
            "issuetype": {"name": item.issue_type, "subtask": False},
            "project": {"key": p.project, "name": f"{p.project} team"},
            "created": calendar.jira_time(item.created),
            "updated": calendar.jira_time(last),
            "status": {"name": item.status, "id": _status_id(plant, item.status),
                       "statusCategory": {"key": category, "name": dict(zip(("new", "indeterminate", "done"),
                                                                            p.category_names))[category]}},
            "assignee": None if item.assignee is None else {"accountId": _account(item.assignee),
                                                            "displayName": item.assignee},
            "resolution": {"name": p.done_resolution} if done else None,
            "resolutiondate": calendar.jira_time(item.done_at) if done else None,
            "labels": [],
            "customfield_10021": [{"value": "Impediment", "id": "10019"}] if item.flagged else None,
        },
        "changelog": {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories},
    }
