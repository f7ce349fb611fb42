"""The simulation's parameters, each a documented decision about how the simulated team works.

They are tuned so the demo data shows what the dashboard is for: a review queue that costs
days, weekly release batching, rework loops, blocked time and ageing work in flight.
"""

from __future__ import annotations

ISSUES_PER_TEAM = 3000  # one team per this many issues, so the span stays about three years
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
