"""The demo-data generator: a seeded simulation written the way Jira exports look."""

from __future__ import annotations

import csv
import gzip
import inspect
import itertools
import json
import re
import tracemalloc
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from vsm_core import demo
from vsm_core.timeparse import parse_iso

REPO = Path(__file__).resolve().parents[1]
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
END = datetime(2026, 3, 20, 17, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    """500 simulated issues: enough for every behaviour of the model to show up."""
    return list(demo.generate_issues(500, seed=11, end=END))


def _status_changes(issue: dict) -> list[tuple[int, int, dict]]:
    """(time, history id, item) for the issue's status changes, in time order."""
    rows = [
        (parse_iso(h["created"]), int(h["id"]), item)
        for h in issue["changelog"]["histories"]
        for item in h["items"]
        if item["field"] == "status"
    ]
    return sorted(rows, key=lambda row: (row[0], row[1]))


def _paths(sample: list[dict]) -> list[list[str]]:
    return [[issue_change[2]["toString"] for issue_change in _status_changes(issue)] for issue in sample]


# -- determinism and shape ------------------------------------------------------------------

def test_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    demo.write_jira_json(first, 80, seed=3, end=END)
    demo.write_jira_json(second, 80, seed=3, end=END)
    demo.write_jira_json(other, 80, seed=4, end=END)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_gzip_output_is_reproducible_and_gzip(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    demo.write_jira_json(first, 40, seed=3, end=END, gzip_output=True)
    demo.write_jira_json(second, 40, seed=3, end=END, gzip_output=True)
    assert first.read_bytes()[:2] == b"\x1f\x8b"
    assert first.read_bytes() == second.read_bytes()
    assert len(json.loads(gzip.decompress(first.read_bytes()))["issues"]) == 40


def test_export_is_a_search_response_with_the_requested_issues(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    demo.write_jira_json(path, 123, seed=5, end=END)
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    assert list(data)[:5] == ["expand", "startAt", "maxResults", "total", "issues"]
    assert data["total"] == data["maxResults"] == len(data["issues"]) == 123
    assert data["names"]["customfield_10016"] == "Story point estimate"
    assert data["names"]["customfield_10021"] == "Flagged"
    issue = data["issues"][0]
    assert issue["self"] == f"https://demo-team.atlassian.net/rest/api/2/issue/{issue['id']}"
    assert {"summary", "issuetype", "project", "status", "created", "updated", "resolutiondate",
            "resolution", "assignee", "priority", "labels", "components", "customfield_10016"} <= set(issue["fields"])
    assert issue["fields"]["status"]["statusCategory"]["key"] in {"new", "indeterminate", "done"}
    # One issue per line inside the array, compact separators.
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 123 + 1
    assert lines[1].startswith('{"expand":') and ", " not in lines[1][:200]


def test_keys_and_ids_are_unique(sample: list[dict]) -> None:
    assert len({i["key"] for i in sample}) == len({i["id"] for i in sample}) == 500


def test_generator_streams_and_holds_little_memory() -> None:
    issues = demo.generate_issues(100_000, seed=2, end=END)
    assert inspect.isgenerator(issues)
    tracemalloc.start()
    try:
        taken = sum(1 for _ in itertools.islice(issues, 1500))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert taken == 1500
    assert peak < 80 * 1024 * 1024


# -- changelog rules ------------------------------------------------------------------------

def test_histories_are_newest_first(sample: list[dict]) -> None:
    for issue in sample:
        times = [parse_iso(h["created"]) for h in issue["changelog"]["histories"]]
        assert times == sorted(times, reverse=True), issue["key"]
        assert len(set(times)) == len(times), issue["key"]


def test_each_status_change_starts_where_the_previous_ended(sample: list[dict]) -> None:
    for issue in sample:
        previous = "Backlog"  # every issue is created in Backlog
        for _, _, change in _status_changes(issue):
            assert change["fromString"] == previous, issue["key"]
            assert change["from"] == demo.STATUS_ID[change["fromString"]]
            previous = change["toString"]
        assert issue["fields"]["status"]["name"] == previous, issue["key"]


def test_changes_lie_between_created_and_as_of(sample: list[dict]) -> None:
    as_of = int(END.timestamp() * 1_000_000)
    for issue in sample:
        created = parse_iso(issue["fields"]["created"])
        for history in issue["changelog"]["histories"]:
            assert created < parse_iso(history["created"]) <= as_of, issue["key"]
        assert parse_iso(issue["fields"]["updated"]) <= as_of


def test_resolution_follows_done_and_is_cleared_on_reopen(sample: list[dict]) -> None:
    reopened = 0
    for issue in sample:
        fields = issue["fields"]
        path = [c[2]["toString"] for c in _status_changes(issue)]
        if "Done" in path[:-1]:
            reopened += 1
        cleared = [item for h in issue["changelog"]["histories"] for item in h["items"]
                   if item["field"] == "resolution" and item["toString"] is None]
        if any(a == "Done" and b != "Done" for a, b in zip(path, path[1:])):
            assert cleared, issue["key"]
        if fields["resolution"] is not None:
            assert fields["status"]["statusCategory"]["key"] == "done"
            assert fields["resolutiondate"] is not None
        elif fields["status"]["name"] != "Done" or fields["issuetype"]["name"] != "Epic":
            assert fields["status"]["statusCategory"]["key"] != "done", issue["key"]
    assert reopened >= 3


def test_assignee_field_matches_the_last_handoff(sample: list[dict]) -> None:
    for issue in sample:
        last = None
        for history in reversed(issue["changelog"]["histories"]):
            for item in history["items"]:
                if item["field"] == "assignee":
                    last = item["toString"]
        assignee = issue["fields"]["assignee"]
        assert (assignee["displayName"] if assignee else None) == last, issue["key"]


# -- the flow has the behaviours the dashboard looks for ----------------------------------

def test_sample_has_rework_blocking_cancelling_and_work_in_flight(sample: list[dict]) -> None:
    paths = _paths(sample)
    review_rework = sum(any(a == "In Review" and b == "In Progress" for a, b in zip(p, p[1:])) for p in paths)
    qa_rework = sum(any(a == "In QA" and b == "In Progress" for a, b in zip(p, p[1:])) for p in paths)
    blocked_status = sum("Blocked" in p for p in paths)
    flags = Counter((item["fromString"], item["toString"]) for issue in sample
                    for h in issue["changelog"]["histories"] for item in h["items"] if item["field"] == "Flagged")
    statuses = Counter(issue["fields"]["status"]["name"] for issue in sample)
    categories = Counter(issue["fields"]["status"]["statusCategory"]["key"] for issue in sample)
    assert review_rework >= 20 and qa_rework >= 10
    assert blocked_status >= 5
    assert flags[("", "Impediment")] >= 5 and flags[("Impediment", "")] >= 3
    assert statuses["Won't Do"] >= 5
    assert categories["indeterminate"] >= 5 and categories["new"] >= 3


def test_cancelled_work_leaves_mostly_from_the_backlog(sample: list[dict]) -> None:
    before_cancel = Counter(c[2]["fromString"] for issue in sample for c in _status_changes(issue)
                            if c[2]["toString"] == "Won't Do")
    assert before_cancel["Backlog"] > sum(before_cancel.values()) / 2


def test_work_is_handed_from_developer_to_reviewer_to_tester(sample: list[dict]) -> None:
    handoffs = 0
    for issue in sample:
        for history in issue["changelog"]["histories"]:
            fields = {item["field"]: item for item in history["items"]}
            if fields.get("status", {}).get("toString") in ("In Review", "In QA") and "assignee" in fields:
                assert fields["assignee"]["toString"] == history["author"]["displayName"]
                handoffs += 1
    assert handoffs >= 300


def test_releases_are_batched_on_thursdays(sample: list[dict]) -> None:
    days = Counter()
    for issue in sample:
        for history in issue["changelog"]["histories"]:
            if any(i["field"] == "status" and i["fromString"] == "Ready for Release" for i in history["items"]):
                assert history["author"]["displayName"] == "Automation for Jira"
                days[datetime.fromisoformat(history["created"]).weekday()] += 1
    assert set(days) == {3}


def test_types_include_epics_and_sub_tasks_with_parents(sample: list[dict]) -> None:
    types = Counter(issue["fields"]["issuetype"]["name"] for issue in sample)
    assert {"Story", "Bug", "Task", "Epic", "Sub-task"} <= set(types)
    assert types["Story"] > types["Bug"] > types["Epic"]
    keys = {issue["key"] for issue in sample}
    for issue in sample:
        if issue["fields"]["issuetype"]["subtask"]:
            assert issue["fields"]["parent"]["key"] in keys


def test_changelog_has_noise_like_real_exports(sample: list[dict]) -> None:
    fields = Counter(item["field"] for issue in sample for h in issue["changelog"]["histories"] for item in h["items"])
    assert {"Rank", "Sprint", "labels", "Fix Version", "resolution", "assignee"} <= set(fields)
    author = sample[0]["changelog"]["histories"][0]["author"]
    assert {"self", "accountId", "avatarUrls", "displayName"} <= set(author)


def test_most_activity_happens_in_working_hours(sample: list[dict]) -> None:
    local = [datetime.fromisoformat(h["created"]) for issue in sample for h in issue["changelog"]["histories"]]
    in_hours = sum(t.weekday() < 5 and 9 <= t.hour < 18 for t in local)
    assert in_hours / len(local) > 0.95
    assert in_hours < len(local)  # someone stays late now and then


# -- time zones -----------------------------------------------------------------------------

def test_offsets_cross_daylight_saving(sample: list[dict]) -> None:
    offsets = Counter(h["created"][-5:] for issue in sample for h in issue["changelog"]["histories"])
    assert set(offsets) == {"+0100", "+0200"}


def test_jira_time_writes_the_local_offset() -> None:
    winter = datetime(2025, 3, 30, 0, 59, 59, 123000, tzinfo=timezone.utc).timestamp()
    assert demo.jira_time(winter) == "2025-03-30T01:59:59.123+0100"
    assert demo.jira_time(winter + 1) == "2025-03-30T03:00:00.123+0200"


def test_policy_change_shortens_the_review_queue() -> None:
    """The demo has a real improvement for the experiments page to find."""
    sim = demo.Simulation(3000, 7, demo.DEMO_END)
    assert demo.jira_time(sim.policy_t) == "2025-12-01T09:00:00.000+0100"
    waits: dict[bool, list[float]] = {True: [], False: []}
    for item in sim.run():
        for (_, t0, _, ch0), (_, t1, _, _) in zip(item.histories, item.histories[1:]):
            if any(c["field"] == "status" and c["toString"] == "Ready for Review" for c in ch0):
                waits[t0 >= sim.policy_t].append(t1 - t0)
    before = sorted(waits[False])[len(waits[False]) // 2] / 86400
    after = sorted(waits[True])[len(waits[True]) // 2] / 86400
    assert before > 1.0 and after < 0.3


# -- companions and CSV -----------------------------------------------------------------------

def test_status_list_names_every_workflow_status_with_a_category(tmp_path: Path) -> None:
    demo.write_statuses(tmp_path / "statuses.json")
    statuses = json.loads((tmp_path / "statuses.json").read_text(encoding="utf-8"))
    by_name = {s["name"]: (s["id"], s["statusCategory"]["key"]) for s in statuses}
    assert by_name["Backlog"] == ("10000", "new")
    assert by_name["In Progress"] == ("3", "indeterminate")
    assert by_name["Blocked"][1] == "indeterminate"
    assert by_name["Done"][1] == by_name["Won't Do"][1] == "done"
    assert len(by_name) == 11


def test_board_configuration_orders_columns_with_wip_limits(tmp_path: Path) -> None:
    demo.write_board_configuration(tmp_path / "board.json")
    board = json.loads((tmp_path / "board.json").read_text(encoding="utf-8"))
    columns = board["columnConfig"]["columns"]
    assert [c["name"] for c in columns] == [
        "Backlog", "Ready for Dev", "In Progress", "Blocked", "Ready for Review", "In Review",
        "Ready for QA", "In QA", "Ready for Release", "Done"]
    limits = {c["name"]: c.get("max") for c in columns}
    assert limits["In Progress"] == 8 and limits["In Review"] == 3 and limits["Backlog"] is None
    ids = [s["id"] for c in columns for s in c["statuses"]]
    assert sorted(ids) == sorted(demo.STATUS_ID.values())
    real = json.loads((REAL / "jirametrics_sample_board_configuration.json").read_text(encoding="utf-8"))
    assert set(real) <= set(board) | {"estimation"}


def test_csv_has_the_navigator_header_with_repeated_names(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    demo.write_jira_csv(path, 60, seed=5, end=END)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    assert header[:22] == [
        "Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key", "Project name",
        "Priority", "Resolution", "Assignee", "Reporter", "Created", "Updated", "Resolved",
        "Labels", "Labels", "Labels", "Component/s", "Component/s", "Custom field (Story point estimate)",
        "Status Category", "Status Category Changed"]
    counts = Counter(header)
    assert (counts["Labels"], counts["Component/s"], counts["Sprint"], counts["Watchers"], counts["Comment"]) == (3, 2, 2, 3, 3)
    assert 38 <= len(header) <= 45
    assert len(rows) == 61 and all(len(r) == len(header) for r in rows)
    created = [r[header.index("Created")] for r in rows[1:]]
    assert all(re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{2} \d{1,2}:\d{2} [AP]M", c) for c in created)
    assert any("\n" in cell for r in rows[1:] for cell in r)  # multi-line cells, as real exports have
    assert path.read_bytes().count(b"\r\n") >= 61


def test_csv_rows_match_the_json_issues() -> None:
    issue = next(demo.generate_issues(30, seed=5, end=END))
    row = dict(zip(demo.CSV_HEADER, demo.csv_row(issue)))
    assert row["Issue key"] == issue["key"] and row["Issue id"] == issue["id"]
    assert row["Status"] == issue["fields"]["status"]["name"]
    assert row["Created"] == demo.csv_time(issue["fields"]["created"])


def test_csv_time_uses_the_navigators_twelve_hour_clock() -> None:
    assert demo.csv_time("2025-12-22T14:38:10.000+0100") == "22/Dec/25 2:38 PM"
    assert demo.csv_time("2026-07-03T00:05:00.000+0200") == "03/Jul/26 12:05 AM"
    assert demo.csv_time(None) == ""


# -- command line and the committed demo data set ---------------------------------------------

def test_main_writes_json_gzip_and_csv(tmp_path: Path) -> None:
    assert demo.main(["--issues", "25", "--out", str(tmp_path / "x.json.gz"), "--gzip"]) == 0
    assert (tmp_path / "x.json.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert demo.main(["--issues", "25", "--out", str(tmp_path / "x.csv"), "--csv"]) == 0
    assert (tmp_path / "x.csv").read_text(encoding="utf-8").startswith("Summary,Issue key,Issue id,")


def test_committed_demo_data_is_what_the_generator_writes(tmp_path: Path) -> None:
    committed = REPO / "data" / "demo"
    export = committed / "demo-jira-export.json.gz"
    assert export.stat().st_size < 6 * 1024 * 1024
    demo.write_jira_json(tmp_path / "fresh.json", demo.DEMO_ISSUES, seed=7, end=demo.DEMO_END)
    assert gzip.decompress(export.read_bytes()) == (tmp_path / "fresh.json").read_bytes()
    demo.write_statuses(tmp_path / "s.json")
    demo.write_board_configuration(tmp_path / "b.json")
    assert (committed / "demo-statuses.json").read_bytes() == (tmp_path / "s.json").read_bytes()
    assert (committed / "demo-board-configuration.json").read_bytes() == (tmp_path / "b.json").read_bytes()
