"""The issue navigator's "CSV (all fields)" export of the simulated issues: no history,
repeated column names for multi-value fields, dates like ``22/Dec/25 2:38 PM``."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Sequence

from vsm_core.demo.jira_json import generate_issues
from vsm_core.demo.site import FLAGGED_FIELD, RANK_FIELD, SPRINT_FIELD, STORY_POINTS_FIELD, points_text
from vsm_core.demo.workflow import BLOCKED, IN_PROGRESS, IN_QA, IN_REVIEW

CSV_HEADER: tuple[str, ...] = (
    "Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key", "Project name",
    "Priority", "Resolution", "Assignee", "Reporter", "Created", "Updated", "Resolved",
    "Labels", "Labels", "Labels", "Component/s", "Component/s", "Custom field (Story point estimate)",
    "Status Category", "Status Category Changed", "Project type", "Project lead", "Creator",
    "Last Viewed", "Fix versions", "Due date", "Description", "Environment", "Sprint", "Sprint",
    "Parent", "Parent summary", "Custom field (Rank)", "Custom field (Flagged)",
    "Watchers", "Watchers", "Watchers", "Comment", "Comment", "Comment",
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def csv_time(text: str | None) -> str:
    """``22/Dec/25 2:38 PM``: the issue navigator's date format (local time, no zone)."""
    if not text:
        return ""
    local = datetime.fromisoformat(text)
    hour = local.hour % 12 or 12
    return f"{local.day:02d}/{_MONTHS[local.month - 1]}/{local.year % 100:02d} {hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def _padded(values: Sequence[str], n: int) -> list[str]:
    return list(values[:n]) + [""] * (n - min(n, len(values)))


def _csv_comments(issue: dict) -> list[str]:
    """Comments the way the CSV writes them (``date;accountId;text``), from notable moves."""
    notes = []
    for history in reversed(issue["changelog"]["histories"]):
        for change in history["items"]:
            if change["field"] != "status":
                continue
            before, after = change["fromString"], change["toString"]
            if after == IN_PROGRESS and before in (IN_REVIEW, IN_QA):
                text = "Sent back: " + ("review found missing tests\nplease add edge cases" if before == IN_REVIEW
                                        else "fails on staging, steps in the ticket")
            elif after == BLOCKED:
                text = "Blocked: waiting for the other team's API change"
            else:
                continue
            notes.append(f"{csv_time(history['created'])};{history['author']['accountId']};{text}")
    return _padded(notes, 3)


def _description(fields: dict) -> str:
    """A multi-line description (with CRLF and LF breaks, as typed in the browser)."""
    if fields["issuetype"]["name"] != "Bug":
        return f"{fields['summary']}.\r\n\r\nAcceptance criteria:\n- works on web and mobile\n- tracked in analytics"
    return f"Steps to reproduce:\n1. open the page\n2. {fields['summary'].lower()}\n\nExpected: no error"


def csv_row(issue: dict) -> list[str]:
    """One issue as a row of the "CSV (all fields)" export, in ``CSV_HEADER`` order."""
    f = issue["fields"]
    person = lambda p: p["displayName"] if p else ""  # noqa: E731
    sprints = [s["name"] for s in (f[SPRINT_FIELD] or [])]
    watchers = [person(f["reporter"])] + ([person(f["assignee"])] if f["assignee"] else [])
    parent = f.get("parent")
    is_bug = f["issuetype"]["name"] == "Bug"
    return [
        f["summary"], issue["key"], issue["id"], f["issuetype"]["name"], f["status"]["name"],
        f["project"]["key"], f["project"]["name"], f["priority"]["name"],
        f["resolution"]["name"] if f["resolution"] else "", person(f["assignee"]), person(f["reporter"]),
        csv_time(f["created"]), csv_time(f["updated"]), csv_time(f["resolutiondate"]),
        *_padded(f["labels"], 3), *_padded([c["name"] for c in f["components"]], 2),
        "" if f[STORY_POINTS_FIELD] is None else points_text(f[STORY_POINTS_FIELD]),
        f["status"]["statusCategory"]["name"], csv_time(f["statuscategorychangedate"]),
        "software", "", person(f["reporter"]), "",
        ", ".join(v["name"] for v in f["fixVersions"]), "", _description(f),
        "Production" if is_bug else "", *_padded(sprints[-2:], 2),
        parent["id"] if parent else "", parent["fields"]["summary"] if parent else "",
        f[RANK_FIELD], "Impediment" if f[FLAGGED_FIELD] else "",
        *_padded(watchers, 3), *_csv_comments(issue),
    ]


def write_jira_csv(path: Path | str, n_issues: int, seed: int = 7, end: datetime | None = None) -> None:
    """Write an issue-navigator "CSV (all fields)" export of the simulated issues (no history,
    repeated column names for multi-value fields, dates like ``22/Dec/25 2:38 PM``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        for issue in generate_issues(n_issues, seed, end):
            writer.writerow(csv_row(issue))
