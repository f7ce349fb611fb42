"""Demo data: a seeded simulation of software teams' Jira flow, written the way Jira exports it.

Why a simulation and not random rows: the dashboard's findings (a review queue that costs
days, weekly release batching, rework loops, blocked time, ageing work in flight) only show
up when the data has real queueing behind it. So the generator runs a small discrete-event
model of a team and writes what Jira would have recorded. Everything is drawn from one
``random.Random(seed)`` in event order: same arguments, same bytes.

Where things live:

- ``simulation``: the model (described there) put together from ``engine`` (event loop),
  ``changelog`` (what Jira records), ``arrivals``, ``planning``, ``development``, ``review``
  and ``releases`` (the event handlers by job), on ``team`` (issues and teams in flight).
- ``clock``: the team's zone, working hours and Jira's time format; ``parameters``: the
  model's documented decisions; ``site``, ``workflow``, ``people``, ``summaries``: the
  simulated Jira site, its statuses and board, its users, and what people type.
- ``jira_json``, ``jira_csv``: the two export formats, streamed; ``cli``: the committed
  demo data set and ``python -m vsm_core.demo``.
"""

from __future__ import annotations

from vsm_core.demo.cli import DEMO_FILES, DEMO_ISSUES, main, write_demo_files
from vsm_core.demo.clock import DEMO_END, TEAM_ZONE, WorkCalendar, jira_time, local_at
from vsm_core.demo.jira_csv import CSV_HEADER, csv_row, csv_time, write_jira_csv
from vsm_core.demo.jira_json import NAMES, SCHEMA, generate_issues, issue_json, write_jira_json
from vsm_core.demo.parameters import (
    ARRIVALS_PER_DAY, FOCUS_FACTOR, ISSUES_PER_TEAM, P_BLOCK_FIRST_PASS, P_BLOCK_REWORK, P_BUG, P_DUPLICATE_BUG,
    P_EPIC, P_QA_REWORK, P_REOPEN, P_REVIEW_REWORK, P_SKIP_REFINEMENT, P_STALE_CANCEL, P_STORY,
    P_STORY_WITH_SUBTASKS, P_TASK_SKIPS_QA, POINT_HOURS, POLICY_CHANGE_AT, READY_TARGET, STALE_DAYS, TEAM_SIZE,
)
from vsm_core.demo.people import AUTOMATION, Person
from vsm_core.demo.simulation import Simulation
from vsm_core.demo.site import API, FLAGGED_FIELD, RANK_FIELD, SITE, SPRINT_FIELD, STORY_POINTS_FIELD
from vsm_core.demo.team import Item, Team
from vsm_core.demo.workflow import (
    BACKLOG, BLOCKED, BOARD_COLUMNS, DONE, IN_PROGRESS, IN_QA, IN_REVIEW, READY, READY_QA, READY_RELEASE,
    READY_REVIEW, STATUS_CATEGORY, STATUS_ID, WONT_DO, WORKFLOW, board_configuration_json, statuses_json,
    write_board_configuration, write_statuses,
)

__all__ = [
    # writing exports and the demo data set
    "generate_issues", "write_jira_json", "write_jira_csv", "write_statuses", "write_board_configuration",
    "write_demo_files", "main", "issue_json", "csv_row", "csv_time", "jira_time",
    "statuses_json", "board_configuration_json",
    "DEMO_END", "DEMO_ISSUES", "DEMO_FILES", "CSV_HEADER", "NAMES", "SCHEMA",
    # the workflow and the site
    "BACKLOG", "READY", "IN_PROGRESS", "READY_REVIEW", "IN_REVIEW", "READY_QA", "IN_QA", "READY_RELEASE",
    "DONE", "BLOCKED", "WONT_DO", "WORKFLOW", "STATUS_ID", "STATUS_CATEGORY", "BOARD_COLUMNS",
    "SITE", "API", "STORY_POINTS_FIELD", "RANK_FIELD", "SPRINT_FIELD", "FLAGGED_FIELD",
    # the simulation
    "Simulation", "Item", "Team", "Person", "AUTOMATION", "WorkCalendar", "local_at", "TEAM_ZONE",
    "ISSUES_PER_TEAM", "ARRIVALS_PER_DAY", "P_EPIC", "P_STORY", "P_BUG", "P_STORY_WITH_SUBTASKS",
    "POINT_HOURS", "P_BLOCK_FIRST_PASS", "P_BLOCK_REWORK", "P_REVIEW_REWORK", "P_QA_REWORK",
    "P_TASK_SKIPS_QA", "P_REOPEN", "P_DUPLICATE_BUG", "P_STALE_CANCEL", "STALE_DAYS", "READY_TARGET",
    "P_SKIP_REFINEMENT", "FOCUS_FACTOR", "POLICY_CHANGE_AT", "TEAM_SIZE",
]
