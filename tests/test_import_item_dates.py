"""Item-dates importer: stage-date CSVs (jira-agile-metrics, ActionableAgile) and created/finished files."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vsm_core.ingest import event_log, item_dates, time_in_status
from vsm_core.ingest.base import read_head
from vsm_core.problems import ImportProblem

from importer_support import NAVIGATOR, read_tables, utc
from vsm_core.timeparse import zone

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
RUEEDLINGER = REAL / "rueedlinger_agile_project_4123tasks.csv"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tabular"




def by_key(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["key"], []).append(row)
    return out


# -- the real created/finished file ------------------------------------------------------


def test_rueedlinger_every_row_becomes_an_issue(tmp_path):
    sink, tables = run(RUEEDLINGER, tmp_path)
    assert len(tables["issues"]) == 4123
    assert len({i["key"] for i in tables["issues"]}) == 4123
    assert sink.meta["has_history"] is False
    assert "item-dates" in sink.meta["formats"]
    assert [f.code for f in sink.findings if f.severity == "info"] == ["no_status_history"]


def test_rueedlinger_hand_checked_rows(tmp_path):
    _, tables = run(RUEEDLINGER, tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    changes = by_key(tables["status_changes"])
    done = issues["P0-T324"]
    assert (done["created"], done["resolved"]) == (utc(2013, 8, 13), utc(2013, 8, 31))
    assert (done["status"], done["status_category"], done["project"]) == ("Done", "done", "0")
    [change] = changes["P0-T324"]
    assert (change["time"], change["from_status"], change["to_status"]) == (utc(2013, 8, 31), "Open", "Done")
    backwards = issues["P0-T5052"]
    assert (backwards["created"], backwards["resolved"]) == (utc(2015, 2, 5), utc(2015, 2, 4))
    assert changes["P0-T5052"][0]["time"] == utc(2015, 2, 4)  # kept at its recorded time


def test_rueedlinger_finished_before_created_reported_once_per_row(tmp_path):
    sink, _ = run(RUEEDLINGER, tmp_path)
    with open(RUEEDLINGER, newline="") as handle:
        expected = sum(1 for r in csv.DictReader(handle) if r["finished_date"] < r["created_date"])
    found = [f for f in sink.findings if f.code == "finished_before_created"]
    assert expected == 1662
    assert len(found) == expected
    assert len({f.key for f in found}) == expected
    assert "P0-T5052" in {f.key for f in found}
    assert "P0-T324" not in {f.key for f in found}


def test_rueedlinger_sniffs_as_item_dates():
    head = read_head(RUEEDLINGER, RUEEDLINGER.name)
    assert item_dates.sniff(head) >= 80
    assert event_log.sniff(head) < 30
    assert time_in_status.sniff(head) < 30


# -- stage-date files --------------------------------------------------------------------


def test_jira_agile_metrics_stages_become_changes_in_column_order(tmp_path):
    sink, tables = run(FIXTURES / "jira_agile_metrics_cycle_time.csv", tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    changes = by_key(tables["status_changes"])
    assert len(issues) == 5
    assert sink.meta["has_history"] is True
    assert sink.meta["base_url"] == "https://jira.example.com"
    done = issues["ABC-1"]
    assert (done["status"], done["status_category"]) == ("Done", "done")
    assert (done["created"], done["resolved"]) == (utc(2018, 1, 2), utc(2018, 1, 15))
    assert (done["summary"], done["type"], done["resolution"]) == ("Checkout page", "Story", "Done")
    assert [(c["from_status"], c["to_status"], c["time"]) for c in changes["ABC-1"]] == [
        ("Backlog", "Committed", utc(2018, 1, 5)),
        ("Committed", "Build", utc(2018, 1, 8)),
        ("Build", "Test", utc(2018, 1, 12)),
        ("Test", "Done", utc(2018, 1, 15)),
    ]
    assert [c["item_seq"] for c in changes["ABC-1"]] == [4, 5, 6, 7]  # the columns' positions
    assert all(c["history_id"] is None for c in tables["status_changes"])


def test_in_progress_and_skipped_stages(tmp_path):
    _, tables = run(FIXTURES / "jira_agile_metrics_cycle_time.csv", tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    changes = by_key(tables["status_changes"])
    assert (issues["ABC-2"]["status"], issues["ABC-2"]["status_category"]) == ("Build", "indeterminate")
    assert issues["ABC-2"]["resolved"] is None
    # ABC-3 skipped Committed: Backlog -> Build directly
    assert [(c["from_status"], c["to_status"]) for c in changes["ABC-3"]] == [("Backlog", "Build"), ("Build", "Test")]
    # ABC-5 only entered the backlog: no change, first column is "new"
    assert "ABC-5" not in changes
    assert (issues["ABC-5"]["status"], issues["ABC-5"]["status_category"]) == ("Backlog", "new")


def test_backward_stage_dates_keep_column_order_and_are_reported(tmp_path):
    sink, tables = run(FIXTURES / "jira_agile_metrics_cycle_time.csv", tmp_path)
    changes = by_key(tables["status_changes"])
    assert [(c["to_status"], c["time"]) for c in changes["ABC-4"]] == [
        ("Committed", utc(2018, 1, 20)),
        ("Build", utc(2018, 1, 18)),
    ]
    flagged = [f.key for f in sink.findings if f.code == "stage_dates_out_of_order"]
    assert flagged == ["ABC-4"]
    assert [f.code for f in sink.findings if f.severity == "info"] == ["stage_dates_only"]


def test_actionable_agile_month_first_dates_and_class_of_service(tmp_path):
    _, tables = run(FIXTURES / "actionable_agile.csv", tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    changes = by_key(tables["status_changes"])
    landing = issues["WEB-10"]
    assert landing["created"] == utc(2024, 1, 8)  # 01/15/2024 elsewhere makes the file month-first
    assert (landing["resolved"], landing["status"], landing["priority"]) == (utc(2024, 2, 1), "Done", "Standard")
    assert [c["time"] for c in changes["WEB-10"]] == [utc(2024, 1, 15), utc(2024, 1, 22), utc(2024, 2, 1)]
    assert (issues["WEB-12"]["status"], issues["WEB-12"]["status_category"]) == ("In Progress", "indeterminate")
    assert issues["WEB-11"]["priority"] == "Expedite"


def test_day_first_by_default_and_timezone_for_naive_dates(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("Key,Backlog,Doing,Done\nK-1,05/02/2015,06/02/2015 10:30,2015-02-09T12:00:00+01:00\n")
    _, tables = run(path, tmp_path, timezone=zone("Europe/Madrid"))
    [issue] = tables["issues"]
    assert issue["created"] == utc(2015, 2, 4, 23)  # 5 February, midnight in Madrid
    assert [c["time"] for c in tables["status_changes"]] == [utc(2015, 2, 6, 9, 30), utc(2015, 2, 9, 11)]


def test_unreadable_date_is_a_finding_not_a_crash(tmp_path):
    path = tmp_path / "bad.csv"
    rows = "".join(f"X-{n},2020-01-0{n},2020-01-0{n + 1},\n" for n in range(2, 7))
    path.write_text("ID,Backlog,Build,Done\nX-1,2020-01-01,someday,2020-01-09\n" + rows)
    sink, tables = run(path, tmp_path)
    assert len(tables["issues"]) == 6
    [bad] = [f for f in sink.findings if f.code == "unreadable_date"]
    assert bad.key == "X-1" and "someday" in bad.message
    x1 = by_key(tables["status_changes"])["X-1"]
    assert [(c["from_status"], c["to_status"]) for c in x1] == [("Backlog", "Done")]


def test_parquet_with_typed_timestamps(tmp_path):
    path = tmp_path / "stages.parquet"
    table = pa.table({
        "Key": ["P-1", "P-2"],
        "Ready": pa.array([utc(2021, 6, 1, 9), utc(2021, 6, 2, 9)], pa.timestamp("us", tz="UTC")),
        "Doing": pa.array([utc(2021, 6, 3, 9), None], pa.timestamp("us", tz="UTC")),
        "Done": pa.array([utc(2021, 6, 4, 9), None], pa.timestamp("us", tz="UTC")),
    })
    pq.write_table(table, path)
    _, tables = run(path, tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    assert issues["P-1"]["resolved"] == utc(2021, 6, 4, 9)
    assert issues["P-2"]["status"] == "Ready"
    assert len(tables["status_changes"]) == 2


def test_header_only_file_is_a_problem(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("id,created_date,finished_date\n")
    with pytest.raises(ImportProblem, match="No issues found in empty.csv"):
        run(path, tmp_path)


def test_file_without_dates_is_a_problem(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("id,name\nA-1,first\n")
    with pytest.raises(ImportProblem, match="no column of dates"):
        run(path, tmp_path)


def test_progress_is_reported(tmp_path):
    calls: list[tuple[int, int]] = []
    run(RUEEDLINGER, tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] == RUEEDLINGER.stat().st_size


# -- sniffing against the other formats ---------------------------------------------------


@pytest.mark.parametrize(
    "name, low",
    [
        pytest.param("jira_agile_metrics_cycle_time.csv", False, id="jira-agile-metrics"),
        pytest.param("actionable_agile.csv", False, id="actionable-agile"),
        pytest.param("event_log_unsorted.csv", True, id="event-log"),
        pytest.param("time_in_status_hours.csv", True, id="time-in-status-hours"),
        pytest.param("time_in_status_text.csv", True, id="time-in-status-text"),
    ],
)
def test_sniff_fixtures(name, low):
    score = item_dates.sniff((FIXTURES / name).read_bytes())
    assert (score < 30) if low else (score >= 70)


def test_sniff_rejects_jira_issue_navigator_csv():
    assert item_dates.sniff(NAVIGATOR) < 30


def test_findings_counted_by_code(tmp_path):
    sink, _ = run(FIXTURES / "jira_agile_metrics_cycle_time.csv", tmp_path)
    assert Counter(f.code for f in sink.findings) == {"stage_dates_only": 1, "stage_dates_out_of_order": 1}


def test_same_day_finish_is_not_reported_and_open_rows_stay_open(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("id,created_date,finished_date\nS-1,2020-03-02,2020-03-02\nS-2,2020-03-03,\nS-3,2020-03-05,2020-03-04\n")
    sink, tables = run(path, tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    assert [f.key for f in sink.findings if f.code == "finished_before_created"] == ["S-3"]
    assert (issues["S-2"]["status"], issues["S-2"]["status_category"], issues["S-2"]["resolved"]) == ("Open", "new", None)
    assert [c["key"] for c in tables["status_changes"]] == ["S-1", "S-3"]


def run(path: Path, tmp_path: Path, **options):
    return read_tables(item_dates, path, tmp_path, **options)
