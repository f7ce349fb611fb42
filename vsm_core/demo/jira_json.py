"""Simulated issues in Jira's JSON: the search API's issue with its changelog, and the
streaming writer of a ``/rest/api/2/search?expand=changelog`` response.

Issues are yielded as soon as they are final (done with no reopen ahead, or cancelled)
and the rest at the end, so memory holds only the work in flight, never the whole export.
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Iterator

from vsm_core.demo.clock import DEMO_END, TEAM_ZONE, jira_time
from vsm_core.demo.site import (
    API, COMPONENTS, FLAG_VALUE, FLAGGED_FIELD, ISSUE_TYPE_JSON, PRIORITY_JSON, RANK_FIELD, RESOLUTION_JSON,
    SPRINT_FIELD, STORY_POINTS_FIELD,
)
from vsm_core.demo.simulation import Simulation
from vsm_core.demo.team import Item
from vsm_core.demo.workflow import DONE, STATUS_JSON

NAMES = {
    "summary": "Summary", "issuetype": "Issue Type", "project": "Project", "status": "Status",
    "created": "Created", "updated": "Updated", "resolution": "Resolution", "resolutiondate": "Resolved",
    "statuscategorychangedate": "Status Category Changed", "assignee": "Assignee", "reporter": "Reporter",
    "creator": "Creator", "priority": "Priority", "labels": "Labels", "components": "Components",
    "fixVersions": "Fix versions", "parent": "Parent", "subtasks": "Sub-tasks", "timespent": "Time Spent",
    "workratio": "Work Ratio", "watches": "Watchers", "description": "Description",
    STORY_POINTS_FIELD: "Story point estimate", RANK_FIELD: "Rank", SPRINT_FIELD: "Sprint", FLAGGED_FIELD: "Flagged",
}
SCHEMA = {
    STORY_POINTS_FIELD: {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points", "customId": 10016},
    RANK_FIELD: {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-lexo-rank", "customId": 10019},
    SPRINT_FIELD: {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint", "customId": 10020},
    FLAGGED_FIELD: {"type": "array", "items": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multicheckboxes", "customId": 10021},
}


def issue_json(item: Item) -> dict:
    """The issue as Jira's search API returns it with ``expand=changelog`` (histories newest first)."""
    histories = [
        {"id": str(hid), "author": author.json, "created": jira_time(t), "items": changes}
        for hid, t, author, changes in reversed(item.histories)
    ]
    total = len(histories)
    # Jira inlines at most 100 histories; the oldest are the ones left out.
    shown = histories[:100]
    return {
        "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
        "id": str(item.issue_id),
        "self": f"{API}/issue/{item.issue_id}",
        "key": item.key,
        "changelog": {"startAt": 0, "maxResults": len(shown), "total": total, "histories": shown},
        "fields": _fields_json(item),
    }


def _fields_json(item: Item) -> dict:
    """The issue's ``fields`` in the order Jira Cloud writes them (parent last, when there is one)."""
    fields: dict = {
        "statuscategorychangedate": jira_time(item.category_t),
        "issuetype": ISSUE_TYPE_JSON[item.type],
        "project": item.team.project_json,
        "fixVersions": _fix_versions_json(item),
        "resolution": RESOLUTION_JSON[item.resolution] if item.resolution else None,
        "resolutiondate": jira_time(item.resolved) if item.resolved is not None and item.resolution else None,
        "created": jira_time(item.created),
        "priority": PRIORITY_JSON[item.priority],
        "labels": list(item.labels),
        STORY_POINTS_FIELD: item.points,
        RANK_FIELD: f"0|i{item.issue_id:05x}:",
        SPRINT_FIELD: [_sprint_json(s, item) for s in item.sprints] or None,
        FLAGGED_FIELD: FLAG_VALUE if item.flagged else None,
        "assignee": item.assignee.json if item.assignee else None,
        "updated": jira_time(max(item.last_t, item.created)),
        "status": STATUS_JSON[item.status],
        "components": [_component_json(c) for c in item.components],
        "summary": item.summary,
        "subtasks": [{"id": str(s.issue_id), "key": s.key, "self": f"{API}/issue/{s.issue_id}"} for s in item.subtasks],
        "reporter": item.reporter.json,
    }
    parent = item.parent or item.epic
    if parent is not None:
        fields["parent"] = {"id": str(parent.issue_id), "key": parent.key, "self": f"{API}/issue/{parent.issue_id}",
                            "fields": {"summary": parent.summary}}
    return fields


def _fix_versions_json(item: Item) -> list[dict]:
    """The release the item shipped in; a reopened item loses it until it ships again."""
    if item.fix_version is None or item.status != DONE:
        return []
    version_id, name, released = item.fix_version
    return [{"self": f"{API}/version/{version_id}", "id": version_id, "description": "",
             "name": name, "archived": False, "released": True,
             "releaseDate": datetime.fromtimestamp(released, TEAM_ZONE).strftime("%Y-%m-%d")}]


def _component_json(name: str) -> dict:
    component_id = str(10000 + COMPONENTS.index(name))
    return {"self": f"{API}/component/{component_id}", "id": component_id, "name": name}


def _sprint_json(sprint: tuple[int, str], item: Item) -> dict:
    return {"id": sprint[0], "name": sprint[1], "state": "closed" if sprint != item.team.sprint else "active",
            "boardId": 1 + item.team.index, "goal": ""}


def generate_issues(n_issues: int, seed: int = 7, end: datetime | None = None) -> Iterator[dict]:
    """Yield ``n_issues`` simulated issues as Jira search-API dicts, streaming.

    ``end`` is the as-of time (default ``DEMO_END``, so output is reproducible); a naive
    ``end`` is read in the team's zone (Europe/Berlin).
    """
    if n_issues < 0:
        raise ValueError("n_issues must be zero or more")
    if n_issues == 0:
        return
    for item in Simulation(n_issues, seed, end or DEMO_END).run():
        yield issue_json(item)


def write_jira_json(path: Path | str, n_issues: int, seed: int = 7, end: datetime | None = None,
                    gzip_output: bool = False) -> None:
    """Write a ``/rest/api/2/search?expand=changelog`` response to ``path``, one issue per
    line inside ``"issues"``, with ``names`` and ``schema`` after the issues as Jira does."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with _open_text_out(Path(path), gzip_output) as out:
        out.write(f'{{"expand":"names,schema","startAt":0,"maxResults":{n_issues},"total":{n_issues},"issues":[')
        for n, issue in enumerate(generate_issues(n_issues, seed, end)):
            out.write("\n" if n == 0 else ",\n")
            out.write(dumps(issue))
        out.write('\n],"names":' + dumps(NAMES) + ',"schema":' + dumps(SCHEMA) + "}\n")


def _open_text_out(path: Path, gzip_output: bool) -> _Closing:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gzip_output:
        raw = open(path, "wb")
        # mtime=0 and no file name in the header: same input, same bytes.
        zipped = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9)
        return _Closing(io.TextIOWrapper(zipped, encoding="utf-8", newline="\n"), raw)
    return _Closing(open(path, "w", encoding="utf-8", newline="\n"), None)


class _Closing:
    """A text stream that also closes the raw file under a gzip layer."""

    def __init__(self, text, raw):
        self.text, self.raw = text, raw

    def __enter__(self):
        return self.text

    def __exit__(self, *exc) -> None:
        self.text.close()
        if self.raw is not None:
            self.raw.close()
