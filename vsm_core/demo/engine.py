"""The discrete-event core the simulation is built on: a heap of timed actions, working-time
delays, and the run loop that hands issues out as soon as they are final.

The simulation's event handlers are split by job over a few classes (arrivals, planning,
development, review and QA, releases) that all build on this one; they reach each other's
handlers through ``self``, and ``Simulation`` puts them together.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from datetime import date, timedelta
from typing import Callable, Iterator

from vsm_core.demo.clock import HOUR, MINUTE, WorkCalendar, local_at
from vsm_core.demo.team import Item, Team


class EventEngine:
    """Scheduling and the run loop; the state every event handler shares.

    Decision: everything random is drawn from the one ``rng`` in event order, and ties in
    time are broken by a sequence number, so the same arguments give the same bytes.
    """

    rng: random.Random
    cal: WorkCalendar
    end_t: float
    start_w: float
    start_t: float
    policy_t: float
    heap: list[tuple[float, int, Callable, tuple]]
    seq: int
    outbox: deque[Item]
    open: dict[int, Item]
    teams: list[Team]
    next_issue_id: int
    next_history_id: int
    next_sprint_id: int
    next_version_id: int

    def at(self, t: float, action: Callable, *args) -> None:
        """Schedule ``action(t, *args)`` at calendar time ``t``."""
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, action, args))

    def work_later(self, t: float, hours: float) -> float:
        """The calendar time ``hours`` of working time after ``t``."""
        return self.cal.add(t, hours * HOUR)

    def reaction(self, t: float, mean_minutes: float = 25.0) -> float:
        """When a person gets to something noticed at ``t``: in working time, a short delay."""
        return self.cal.add(t, self.rng.expovariate(1.0 / (mean_minutes * MINUTE)) + 30.0)

    def lognormal_hours(self, median: float, sigma: float) -> float:
        return median * math.exp(self.rng.gauss(0.0, sigma))

    def next_weekday(self, after: date, weekdays: tuple[int, ...], hour: int, minute: int) -> float:
        """A few minutes after ``hour:minute`` on the first working day after ``after`` that
        falls on one of ``weekdays`` (a team ritual's next meeting)."""
        day = after + timedelta(days=1)
        while day.weekday() not in weekdays or not self.cal.is_working_day(day):
            day += timedelta(days=1)
        return local_at(day, hour, minute) + self.rng.uniform(0, 600)

    def run(self) -> Iterator[Item]:
        """Run to the as-of time, yielding issues as they become final, then those in flight."""
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
