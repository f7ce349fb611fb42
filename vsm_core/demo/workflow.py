"""The team's workflow and board: statuses with their ids and categories, the board's columns
and WIP limits, and the two companion files (status list, board configuration) that go with
an export.
"""

from __future__ import annotations

import json
from pathlib import Path

from vsm_core.demo.site import API, PROJECTS, SITE, STORY_POINTS_FIELD

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
STATUS_JSON = {
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


def statuses_json() -> list[dict]:
    """The workflow's statuses as ``/rest/api/2/status`` lists them."""
    return [dict(STATUS_JSON[name], untranslatedName=name) for name, _, _, _ in WORKFLOW]


def _board_columns_json() -> list[dict]:
    """The board's columns in order, each with its statuses and any WIP limits."""
    columns = []
    for name, statuses, low, high in BOARD_COLUMNS:
        column: dict = {"name": name, "statuses": [{"id": STATUS_ID[s], "self": f"{API}/status/{STATUS_ID[s]}"} for s in statuses]}
        if low is not None:
            column["min"] = low
        if high is not None:
            column["max"] = high
        columns.append(column)
    return columns


def board_configuration_json() -> dict:
    """An agile board configuration: columns in order with their statuses and WIP limits."""
    key, project = PROJECTS[0]
    return {
        "id": 1, "name": f"{key} board", "type": "kanban", "self": f"{SITE}/rest/agile/1.0/board/1/configuration",
        "location": {"type": "project", "key": key, "id": "10000", "self": f"{API}/project/10000", "name": project},
        "filter": {"id": "10000", "self": f"{API}/filter/10000"},
        "subQuery": {"query": "fixVersion in unreleasedVersions() OR fixVersion is EMPTY"},
        "columnConfig": {"columns": _board_columns_json(), "constraintType": "issueCount"},
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
