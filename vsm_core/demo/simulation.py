"""The discrete-event model of the teams, put together from its parts.

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
"""

from __future__ import annotations

import random
from collections import deque
from datetime import datetime, timedelta
from typing import Iterator

from vsm_core.demo.arrivals import Arrivals
from vsm_core.demo.clock import TEAM_ZONE, WORK_DAY, WorkCalendar, local_at
from vsm_core.demo.development import Development
from vsm_core.demo.parameters import ARRIVALS_PER_DAY, ISSUES_PER_TEAM, P_STORY, P_STORY_WITH_SUBTASKS, POLICY_CHANGE_AT
from vsm_core.demo.people import FIRST_NAMES, LAST_NAMES
from vsm_core.demo.planning import Planning
from vsm_core.demo.releases import Releases
from vsm_core.demo.review import ReviewAndQA
from vsm_core.demo.team import Item, Team


class Simulation(Arrivals, Planning, Releases, Development, ReviewAndQA):
    """A discrete-event model of the teams; ``run()`` yields finished issues as they settle."""

    def __init__(self, n_issues: int, seed: int, end: datetime):
        if end.tzinfo is None:
            end = end.replace(tzinfo=TEAM_ZONE)
        self.rng = random.Random(seed)
        self.end_t = end.timestamp()
        self.heap = []
        self.seq = 0
        self.outbox = deque()
        self.open = {}
        self.next_issue_id = 10001
        self.next_history_id = 10100
        self.next_sprint_id = 1
        self.next_version_id = 10100
        n_teams = max(1, round(n_issues / ISSUES_PER_TEAM))
        sizes = [n_issues // n_teams + (1 if i < n_issues % n_teams else 0) for i in range(n_teams)]
        span_days = max(60.0, max(sizes) / (ARRIVALS_PER_DAY * (1 + P_STORY * P_STORY_WITH_SUBTASKS * 2)))
        end_w = self._set_span(span_days)
        names = self._name_stream()
        self.teams = [Team(i, 10000 + i, self.rng, names) for i in range(n_teams)]
        for team, size in zip(self.teams, sizes):
            self._plan_arrivals(team, size, end_w - WORK_DAY)
            self._start_team(team)

    def _set_span(self, span_days: float) -> float:
        """The working calendar, the start of the span and the policy change; returns the
        as-of time in working time."""
        end_day = datetime.fromtimestamp(self.end_t, TEAM_ZONE).date()
        self.cal = WorkCalendar(end_day - timedelta(days=int(span_days * 7 / 5) + 60))
        end_w = self.cal.to_work(self.end_t)
        self.start_w = max(0.0, end_w - span_days * WORK_DAY - WORK_DAY)
        self.start_t = self.cal.to_cal(self.start_w)
        self.policy_t = self._monday_morning(self.cal.to_cal(self.start_w + POLICY_CHANGE_AT * (end_w - self.start_w)))
        return end_w

    @staticmethod
    def _monday_morning(t: float) -> float:
        """09:00 on the Monday on or after ``t``'s day: when a team would start a new policy."""
        day = datetime.fromtimestamp(t, TEAM_ZONE).date()
        return local_at(day + timedelta(days=(7 - day.weekday()) % 7), 9)

    def _name_stream(self) -> Iterator[str]:
        """Unique "First Last" names in a seeded order; numbered once every pair is used."""
        pairs = [f"{f} {l}" for f in FIRST_NAMES for l in LAST_NAMES]
        self.rng.shuffle(pairs)
        round_ = 0
        while True:
            for pair in pairs:
                yield pair if round_ == 0 else f"{pair} {round_ + 1}"
            round_ += 1

    def _start_team(self, team: Team) -> None:
        """Schedule the team's first arrival and its rituals (refinement, release, sprint, policy)."""
        first_day = datetime.fromtimestamp(self.start_t, TEAM_ZONE).date()
        self.at(self.start_t + 60.0, self._arrive, team, None)
        self.at(self.next_weekday(first_day, (1, 3), 10, team.index % 40), self._refinement, team)
        self.at(self.next_weekday(first_day, (3,), 15, team.index % 50), self._release, team)
        self.at(self.next_weekday(first_day, (0,), 9, 30), self._sprint_rollover, team)
        self.at(self.policy_t, self._policy_change, team)

    def finalize(self, item: Item) -> None:
        """The item will not change again: hand it out, and let its epic know."""
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
