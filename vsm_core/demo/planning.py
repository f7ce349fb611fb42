"""Planning rituals: refinement twice a week (stale backlog cancelled, Ready for Dev topped
up by priority), expedited urgent items, sprints every two weeks, and cancelling work."""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta

from vsm_core.demo.changelog import ChangelogRecorder
from vsm_core.demo.clock import TEAM_ZONE, WORK_DAY
from vsm_core.demo.parameters import P_STALE_CANCEL, READY_TARGET, STALE_DAYS
from vsm_core.demo.people import Person
from vsm_core.demo.site import PRIORITIES, STORY_POINTS_FIELD, points_text
from vsm_core.demo.team import Item, Team
from vsm_core.demo.workflow import BACKLOG, READY, WONT_DO


class Planning(ChangelogRecorder):
    """Event handlers for the product owner's work on the backlog and sprints."""

    def _refinement(self, t: float, team: Team) -> None:
        """Twice a week: cancel some stale backlog, then top up Ready for Dev by priority."""
        stale_before = self.cal.to_cal(max(0.0, self.cal.to_work(t) - STALE_DAYS * WORK_DAY))
        keep: list[Item] = []
        for item in team.backlog:
            if item.final or item.status != BACKLOG:
                continue
            if item.created < stale_before and self.rng.random() < P_STALE_CANCEL:
                t += self.rng.uniform(20, 90)
                self.at(t, self._cancel, item, "Won't Do")
            else:
                keep.append(item)
        keep.sort(key=lambda i: (PRIORITIES.index(i.priority) - (i.type == "Bug"), i.created + self.rng.random() * 20 * WORK_DAY))
        planned = len(team.ready)
        while keep and planned < READY_TARGET:
            planned += 1
            t += self.rng.uniform(40, 240)
            self.at(t, self._refine_event, keep.pop(0))
        team.backlog = keep
        self._demote_one(team, t + self.rng.uniform(30, 300))
        day = datetime.fromtimestamp(t, TEAM_ZONE).date()
        self.at(self.next_weekday(day, (1, 3), 10, team.index % 40), self._refinement, team)

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
        """Backlog -> Ready for Dev, sometimes with a new estimate, a rank change, a sprint."""
        team = item.team
        if item.type == "Story" and self.rng.random() < 0.2:
            old = item.points
            item.points = float(self.rng.choice((2, 3, 5, 8)))
            t = self.record(item, t, author, [{
                "field": "Story point estimate", "fieldtype": "custom", "fieldId": STORY_POINTS_FIELD,
                "from": None, "fromString": None if old is None else points_text(old),
                "to": None, "toString": points_text(item.points)}])
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
        """Queue the item in Ready for Dev (by priority, then time) and wake a free developer."""
        team = item.team
        team.committed.add(item)
        self.seq += 1
        heapq.heappush(team.ready, (PRIORITIES.index(item.priority), t, self.seq, item))
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
        self.at(self.next_weekday(day, (0,), 9, 30), self._sprint_rollover, team)

    def _cancel(self, t: float, item: Item, resolution: str) -> float:
        """Won't Do (or Duplicate) from Backlog or Ready for Dev, with its open sub-tasks."""
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
