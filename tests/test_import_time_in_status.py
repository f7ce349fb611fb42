"""Time-in-status importer: marketplace-app exports with one duration column per status."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vsm_core.ingest import event_log, item_dates, time_in_status
from vsm_core.ingest.base import read_head
from vsm_core.ingest.time_in_status import duration_hours, header_unit
from vsm_core.problems import ImportProblem

from importer_support import NAVIGATOR, moves, read_tables, utc

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tabular"
HOURS = FIXTURES / "time_in_status_hours.csv"
TEXT = FIXTURES / "time_in_status_text.csv"





@pytest.mark.parametrize(
    "cell, unit, hours",
    [
        pytest.param("2d 3h 15m", 1.0, 51.25, id="days-hours-minutes"),
        pytest.param("1w 2d", 1.0, 216.0, id="weeks-days"),
        pytest.param("3h", 1.0, 3.0, id="hours"),
        pytest.param("45m", 1.0, 0.75, id="minutes"),
        pytest.param("1.5d", 1.0, 36.0, id="decimal-days"),
        pytest.param("01:30:00", 1.0, 1.5, id="clock-seconds"),
        pytest.param("36:15", 1.0, 36.25, id="clock-hours-minutes"),
        pytest.param("12", 1.0, 12.0, id="number-hours"),
        pytest.param("2,5", 24.0, 60.0, id="decimal-comma-days"),
        pytest.param(90, 1 / 60, 1.5, id="typed-minutes"),
        pytest.param("", 1.0, None, id="empty"),
    ],
)
def test_duration_forms(cell, unit, hours):
    expected = None if hours is None else pytest.approx(hours)
    assert duration_hours(cell, unit) == expected


@pytest.mark.parametrize("cell", ["soon", "-3", "3 parsecs", "1:2"])
def test_unreadable_durations(cell):
    with pytest.raises(ValueError):
        duration_hours(cell)


def test_header_units():
    assert header_unit("In Progress (days)") == ("In Progress", 24.0)
    assert header_unit("Review [h]") == ("Review", 1.0)
    assert header_unit("QA (minutes)") == ("QA", 1 / 60)
    assert header_unit("Done") == ("Done", None)


def test_numeric_hours_build_a_timeline_from_created(tmp_path):
    sink, tables = run(HOURS, tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    assert len(issues) == 3
    printer = issues["SUP-1"]
    assert (printer["created"], printer["resolved"], printer["status"]) == (
        utc(2022, 5, 2, 9), utc(2022, 5, 4, 15), "Done"
    )
    assert (printer["summary"], printer["type"]) == ("Printer jam", "Bug")
    assert moves(tables["status_changes"], "SUP-1") == [
        ("Open", "In Progress", utc(2022, 5, 2, 13)),
        ("In Progress", "Review", utc(2022, 5, 3, 19)),
        ("Review", "Done", utc(2022, 5, 4, 15)),
    ]
    # zero and empty durations are skipped: SUP-2 never visited Review
    assert moves(tables["status_changes"], "SUP-2") == [("Open", "In Progress", utc(2022, 5, 3, 12, 30))]
    assert moves(tables["status_changes"], "SUP-3") == [("Open", "Done", utc(2022, 5, 3, 12))]
    assert sink.meta["has_history"] is True and "time-in-status" in sink.meta["formats"]
    [note] = [f for f in sink.findings if f.code == "synthetic_order"]
    assert note.severity == "info" and "not the order or number of visits" in note.message


def test_text_durations_and_current_status_column(tmp_path):
    _, tables = run(TEXT, tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    assert moves(tables["status_changes"], "PAY-7") == [
        ("To Do", "In Progress", utc(2023, 2, 3, 11, 15)),
        ("In Progress", "Code Review", utc(2023, 2, 12, 11, 15)),
        ("Code Review", "QA", utc(2023, 2, 12, 12, 0)),
        ("QA", "Done", utc(2023, 2, 12, 13, 30)),
    ]
    # Status says Code Review though no time was spent there yet: the issue moves into it
    assert moves(tables["status_changes"], "PAY-8") == [
        ("To Do", "In Progress", utc(2023, 2, 3, 20)),
        ("In Progress", "Code Review", utc(2023, 2, 3, 23)),
    ]
    assert issues["PAY-8"]["status"] == "Code Review"
    assert moves(tables["status_changes"], "PAY-9") == []
    assert (issues["PAY-9"]["status"], issues["PAY-9"]["created"]) == ("To Do", utc(2023, 2, 3, 8))


def test_without_created_the_visits_end_at_resolved_or_latest_date(tmp_path):
    path = tmp_path / "nocreated.csv"
    path.write_text(
        "Key,Resolved,Updated,Open (days),Doing (days)\n"
        "N-1,2021-01-10,2021-01-10,2,3\n"
        "N-2,,2021-01-20,1,1\n"
        "N-3,,,4,\n"
    )
    _, tables = run(path, tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    assert issues["N-1"]["created"] == utc(2021, 1, 5)
    assert moves(tables["status_changes"], "N-1") == [("Open", "Doing", utc(2021, 1, 7))]
    assert issues["N-2"]["created"] == utc(2021, 1, 18)  # ends at its Updated date
    assert issues["N-3"]["created"] == utc(2021, 1, 16)  # ends at the latest date in the file


def test_no_dates_at_all_is_a_problem(tmp_path):
    path = tmp_path / "nodates.csv"
    path.write_text("Key,Open,Doing\nZ-1,3,4\n")
    with pytest.raises(ImportProblem, match="Created"):
        run(path, tmp_path)


def test_header_only_file_is_a_problem(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("Key,Created,Open,Doing\n")
    with pytest.raises(ImportProblem, match="No issues found in empty.csv"):
        run(path, tmp_path)


def test_unreadable_cells_are_findings_naming_the_key(tmp_path):
    path = tmp_path / "bad.csv"
    rows = "".join(f"B-{n},2020-01-0{n},1h,2h\n" for n in range(2, 6))
    path.write_text("Key,Created,Open,Doing\nB-1,the other day,1h,lots\n" + rows)
    sink, tables = run(path, tmp_path)
    assert len(tables["issues"]) == 5
    found = {(f.code, f.key) for f in sink.findings}
    assert ("unreadable_date", "B-1") in found and ("unreadable_duration", "B-1") in found


def test_parquet_export_with_numbers(tmp_path):
    path = tmp_path / "tis.parquet"
    pq.write_table(pa.table({
        "Issue Key": ["Q-1"],
        "Created": pa.array([datetime(2020, 6, 1, 8)], pa.timestamp("us")),
        "Open (h)": [1.5],
        "Doing (h)": [2.0],
    }), path)
    _, tables = run(path, tmp_path)
    assert moves(tables["status_changes"], "Q-1") == [("Open", "Doing", utc(2020, 6, 1, 9, 30))]


@pytest.mark.parametrize(
    "path, high",
    [
        pytest.param(HOURS, True, id="hours"),
        pytest.param(TEXT, True, id="text"),
        pytest.param(FIXTURES / "jira_agile_metrics_cycle_time.csv", False, id="jira-agile-metrics"),
        pytest.param(FIXTURES / "actionable_agile.csv", False, id="actionable-agile"),
        pytest.param(FIXTURES / "event_log_unsorted.csv", False, id="event-log"),
        pytest.param(REAL / "rueedlinger_agile_project_4123tasks.csv", False, id="rueedlinger"),
    ],
)
def test_sniff_against_other_formats(path, high):
    score = time_in_status.sniff(read_head(path, path.name))
    assert (score >= 80) if high else (score < 30)


def test_other_sniffers_stay_low_on_time_in_status():
    for path in (HOURS, TEXT):
        assert item_dates.sniff(path.read_bytes()) < 30
        assert event_log.sniff(path.read_bytes()) < 30


def test_sniff_rejects_jira_issue_navigator_csv():
    assert time_in_status.sniff(NAVIGATOR) < 30


def test_numeric_export_with_created_and_resolved_is_not_item_dates(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text(
        "Key,Created,Resolved,Open,In Progress,Done\n"
        "R-1,2020-01-01,2020-01-03,10,30,4\n"
        "R-2,2020-01-02,,5,12,\n"
    )
    head = path.read_bytes()
    assert time_in_status.sniff(head) > item_dates.sniff(head)
    assert time_in_status.sniff(head) >= 30


def run(path: Path, tmp_path: Path, **options):
    return read_tables(time_in_status, path, tmp_path, **options)
