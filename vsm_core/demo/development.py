"""Developers at work: picking up work (own rework first, then Ready for Dev, sometimes
straight from the backlog), building it in working time, getting blocked, and sub-tasks."""

from __future__ import annotations

import heapq
import math
from typing import Callable

from vsm_core.demo.changelog import ChangelogRecorder
from vsm_core.demo.clock import HOUR, WORK_DAY
from vsm_core.demo.parameters import FOCUS_FACTOR, P_BLOCK_FIRST_PASS, P_BLOCK_REWORK, P_SKIP_REFINEMENT, POINT_HOURS
from vsm_core.demo.people import Person
from vsm_core.demo.team import Item, Team
from vsm_core.demo.workflow import BACKLOG, BLOCKED, DONE, IN_PROGRESS, READY, READY_REVIEW


class Development(ChangelogRecorder):
    """Event handlers for developers and the work in progress."""

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
        """In Progress: the epic starts with its first child; sub-tasks start along the way."""
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
        w = self.cal.to_work(t) + hours * HOUR
        day, into = divmod(w, WORK_DAY)
        if into < 1.5 * HOUR and day > 0 and self.rng.random() < 0.3:
            return self.cal.to_cal((day - 1) * WORK_DAY) + WORK_DAY + into
        return self.cal.to_cal(w)

    def _block(self, t: float, item: Item, dev: Person) -> None:
        """Blocked by the Blocked status, the Flagged field, or both; the developer moves on."""
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
        """Wake the first free person of a role (reviewer, tester) to look at their queue."""
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
