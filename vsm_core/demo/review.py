"""Review and QA: few reviewers and testers, so queues form in Ready for Review and Ready for
QA; both send work back now and then. From the policy change on, reviewers review first."""

from __future__ import annotations

import math

from vsm_core.demo.changelog import ChangelogRecorder
from vsm_core.demo.parameters import FOCUS_FACTOR, P_QA_REWORK, P_REVIEW_REWORK
from vsm_core.demo.people import Person
from vsm_core.demo.team import Item, Team
from vsm_core.demo.workflow import IN_PROGRESS, IN_QA, IN_REVIEW, READY_QA, READY_RELEASE, READY_REVIEW


class ReviewAndQA(ChangelogRecorder):
    """Event handlers for reviewers and testers."""

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
        """Back to the developer, on to QA (or straight to release), then the reviewer's break."""
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
