"""New work arriving: the planned stream of issue kinds and gaps, and each issue's creation
(epics open, sub-tasks attach to their story, the rest go to the backlog or are expedited)."""

from __future__ import annotations

from collections import deque

from vsm_core.demo.changelog import ChangelogRecorder
from vsm_core.demo.clock import MINUTE, WORK_DAY
from vsm_core.demo.parameters import (
    ARRIVALS_PER_DAY, P_BUG, P_DUPLICATE_BUG, P_EPIC, P_STORY, P_STORY_WITH_SUBTASKS, P_TASK_SKIPS_QA,
)
from vsm_core.demo.summaries import describe
from vsm_core.demo.team import Item, Team
from vsm_core.demo.workflow import BACKLOG, DONE, READY, WONT_DO


class Arrivals(ChangelogRecorder):
    """Event handlers for issues being created."""

    def _plan_arrivals(self, team: Team, size: int, last_w: float) -> None:
        """Kinds and working-time gaps of the team's issues, scaled to end a day before as-of.

        Planning only kinds and gaps up front (a few bytes per issue) gives exactly the
        requested number of issues while the issues themselves are built when they arrive.
        """
        kinds: list[tuple[float, str]] = []
        while len(kinds) < size:
            gap = self.rng.expovariate(ARRIVALS_PER_DAY / WORK_DAY)
            roll = self.rng.random()
            if roll < P_EPIC:
                kinds.append((gap, "Epic"))
                continue
            kind = "Story" if roll < P_EPIC + P_STORY else "Bug" if roll < P_EPIC + P_STORY + P_BUG else "Task"
            kinds.append((gap, kind))
            if kind == "Story" and self.rng.random() < P_STORY_WITH_SUBTASKS:
                for _ in range(min(self.rng.randint(1, 3), size - len(kinds))):
                    kinds.append((-self.rng.uniform(2, 12) * MINUTE, "Sub-task"))
        total = sum(g for g, _ in kinds if g > 0) or 1.0
        subtask_minutes = -sum(g for g, _ in kinds if g < 0)
        scale = max(0.0, last_w - self.start_w - subtask_minutes) / total
        team.plan = deque((g * scale if g > 0 else -g, k) for g, k in kinds)

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
        describe(item, self.rng)
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
