"""Status timelines under the guide's section 3 rules, through the real import path."""

from __future__ import annotations

import json


from conftest import jira_issue, run_cli, write_search
from vsm_core import queries
from vsm_core.ingest import SourceFile, import_files


def _import(store, tmp_path, issues, **kwargs):
    path = write_search(tmp_path / "export.json", issues)
    result = import_files(store, [SourceFile(path, "export.json")], **kwargs)
    info = store.get(result.dataset)
    return result, info


def _times(info):
    frame = queries.table(info, info.latest, "status_times")
    return {(r.key, r.status): (r.visits, round(r.hours, 6)) for r in frame.itertuples()}


def test_reopened_issue_counts_both_visits(store, tmp_path):
    issue = jira_issue("A-1", "2025-01-01T00:00:00.000+0000", "Done", [
        ("2025-01-01T10:00:00.000+0000", "To Do", "In Progress"),
        ("2025-01-02T10:00:00.000+0000", "In Progress", "Done"),
        ("2025-01-03T10:00:00.000+0000", "Done", "In Progress"),
        ("2025-01-03T16:00:00.000+0000", "In Progress", "Done"),
    ], category="done")
    _, info = _import(store, tmp_path, [issue], as_of=_utc("2025-01-05T16:00:00"))
    times = _times(info)
    assert times[("A-1", "To Do")] == (1, 10.0)
    assert times[("A-1", "In Progress")] == (2, 30.0)
    assert times[("A-1", "Done")] == (2, 24.0 + 48.0)


def test_history_order_is_by_time_not_file_order_and_ties_by_history_id(store, tmp_path):
    # Two changes share a timestamp: the numeric history id decides (9 before 10), not the file.
    issue = jira_issue("B-1", "2025-01-01T00:00:00.000+0000", "Review", [
        ("2025-01-01T06:00:00.000+0000", "Open", "In Progress", 9),
        ("2025-01-01T06:00:00.000+0000", "In Progress", "Blocked", 10),
        ("2025-01-01T12:00:00.000+0000", "Blocked", "Review", 11),
    ])
    histories = issue["changelog"]["histories"]  # newest first as built; scramble further
    issue["changelog"]["histories"] = [histories[1], histories[2], histories[0]]
    assert [h["id"] for h in issue["changelog"]["histories"]] == ["10", "9", "11"]
    _, info = _import(store, tmp_path, [issue], as_of=_utc("2025-01-01T18:00:00"))
    assert _times(info) == {
        ("B-1", "Open"): (1, 6.0),
        ("B-1", "In Progress"): (1, 0.0),
        ("B-1", "Blocked"): (1, 6.0),
        ("B-1", "Review"): (1, 6.0),
    }
    findings = queries.table(info, info.latest, "findings")
    assert "from_status_mismatch" not in set(findings["code"])


def test_offsets_are_normalised_to_utc_across_daylight_saving(store, tmp_path):
    issue = jira_issue("C-1", "2025-03-29T12:00:00.000+0100", "In Progress", [
        ("2025-03-31T12:00:00.000+0200", "Open", "In Progress"),
    ])
    _, info = _import(store, tmp_path, [issue], as_of=_utc("2025-04-01T10:00:00"))
    times = _times(info)
    assert times[("C-1", "Open")] == (1, 47.0)  # 11:00Z on the 29th to 10:00Z on the 31st
    assert times[("C-1", "In Progress")] == (1, 24.0)


def test_change_before_created_counts_zero_and_is_reported(store, tmp_path):
    issue = jira_issue("D-1", "2025-01-02T00:00:00.000+0000", "Done", [
        ("2025-01-01T00:00:00.000+0000", "Open", "In Progress"),
        ("2025-01-02T12:00:00.000+0000", "In Progress", "Done"),
    ], category="done")
    result, info = _import(store, tmp_path, [issue], as_of=_utc("2025-01-03T00:00:00"))
    times = _times(info)
    assert times[("D-1", "Open")] == (1, 0.0)
    assert times[("D-1", "In Progress")] == (1, 12.0)
    assert all(hours >= 0 for _, hours in times.values())
    findings = queries.table(info, info.latest, "findings")
    assert "change_before_created" in set(findings["code"])
    assert any("D-1" in w and "before" in w for w in result.warnings)


def test_change_into_same_status_starts_a_new_visit(store, tmp_path):
    issue = jira_issue("E-1", "2025-01-01T00:00:00.000+0000", "In Progress", [
        ("2025-01-01T01:00:00.000+0000", "Open", "In Progress"),
        ("2025-01-01T03:00:00.000+0000", "In Progress", "In Progress"),
    ])
    _, info = _import(store, tmp_path, [issue], as_of=_utc("2025-01-01T04:00:00"))
    assert _times(info)[("E-1", "In Progress")] == (2, 3.0)


def test_issue_without_changes_has_one_visit_in_current_status(store, tmp_path):
    issue = jira_issue("F-1", "2025-01-01T00:00:00.000+0000", "Backlog")
    _, info = _import(store, tmp_path, [issue], as_of=_utc("2025-01-02T00:00:00"))
    assert _times(info) == {("F-1", "Backlog"): (1, 24.0)}


def test_issue_created_after_as_of_is_kept_with_a_warning(store, tmp_path):
    early = jira_issue("G-1", "2025-01-01T00:00:00.000+0000", "Open")
    late = jira_issue("G-2", "2025-02-01T00:00:00.000+0000", "Open")
    result, info = _import(store, tmp_path, [early, late], as_of=_utc("2025-01-10T00:00:00"))
    times = _times(info)
    assert times[("G-2", "Open")] == (1, 0.0)
    assert result.issues == 2
    assert any("G-2" in w for w in result.warnings)


def test_default_as_of_is_latest_change_or_update(store, tmp_path):
    issue = jira_issue("H-1", "2025-01-01T00:00:00.000+0000", "Open", [
        ("2025-01-01T05:00:00.000+0000", "New", "Open"),
    ], updated="2025-01-01T09:00:00.000+0000")
    result, info = _import(store, tmp_path, [issue])
    assert result.as_of == "2025-01-01T09:00:00Z"
    assert _times(info)[("H-1", "Open")] == (1, 4.0)


def test_duplicates_keep_the_latest_updated_copy_and_moved_keys(store, tmp_path):
    old = jira_issue("PA-433", "2025-01-01T00:00:00.000+0000", "Open", issue_id=77,
                     updated="2025-01-02T00:00:00.000+0000")
    new = jira_issue("PUP-6545", "2025-01-01T00:00:00.000+0000", "In Progress", [
        ("2025-01-03T00:00:00.000+0000", "Open", "In Progress")], issue_id=77)
    first = write_search(tmp_path / "page2.json", [new])
    second = write_search(tmp_path / "page1.json", [old])
    result = import_files(store, [SourceFile(first, "page2.json"), SourceFile(second, "page1.json")])
    assert result.issues == 1
    assert result.status_changes == 1
    info = store.get(result.dataset)
    issues = queries.table(info, info.latest, "issues")
    assert issues["key"].tolist() == ["PUP-6545"]
    assert any("PA-433" in w and "PUP-6545" in w for w in result.warnings)


def test_status_times_cli_prints_the_documented_keys(tmp_path):
    issue = jira_issue("J-1", "2025-01-01T00:00:00.000+0000", "Done", [
        ("2025-01-01T12:00:00.000+0000", "Open", "Done")], category="done")
    path = write_search(tmp_path / "e.json", [issue])
    store_dir = tmp_path / "s"
    out = json.loads(run_cli("import", path, "--json", "--as-of", "2025-01-02T00:00:00Z", store_dir=store_dir, check=True).stdout)
    rows = json.loads(run_cli("status-times", out["dataset"], "--json", store_dir=store_dir, check=True).stdout)
    assert [{k: r[k] for k in ("key", "status", "visits", "hours")} for r in rows] == [
        {"key": "J-1", "status": "Open", "visits": 1, "hours": 12.0},
        {"key": "J-1", "status": "Done", "visits": 1, "hours": 12.0},
    ]


def _utc(text):
    from datetime import datetime, timezone

    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
