"""Event-log importer: one row per status change, CSV or Parquet, any row order."""

from __future__ import annotations

import csv
import random
import time
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vsm_core.ingest import event_log, item_dates, time_in_status
from vsm_core.problems import ImportProblem

from importer_support import NAVIGATOR, moves, read_tables, utc
from vsm_core.timeparse import zone

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tabular"
UNSORTED = FIXTURES / "event_log_unsorted.csv"





def test_unsorted_csv_is_ordered_by_time_per_issue(tmp_path):
    sink, tables = run(UNSORTED, tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    assert set(issues) == {"OPS-1", "OPS-2"}
    ops1 = issues["OPS-1"]
    assert (ops1["created"], ops1["status"], ops1["type"], ops1["summary"]) == (
        utc(2021, 3, 1, 8), "Done", "Story", "New dashboard"
    )
    # the first event (To Do at created) is the initial status; the rework loop is kept
    assert moves(tables["status_changes"], "OPS-1") == [
        ("To Do", "In Progress", utc(2021, 3, 2, 12)),
        ("In Progress", "Review", utc(2021, 3, 4, 16)),
        ("Review", "In Progress", utc(2021, 3, 5, 9)),
        ("In Progress", "Done", utc(2021, 3, 5, 17, 30)),
    ]
    assert [c["author"] for c in tables["status_changes"] if c["key"] == "OPS-1"] == ["cy", "cy", "dee", "ben"]
    assert sink.meta["has_history"] is True and "event-log" in sink.meta["formats"]


def test_offsets_are_normalised_and_unreadable_times_reported(tmp_path):
    sink, tables = run(UNSORTED, tmp_path)
    ops2 = next(i for i in tables["issues"] if i["key"] == "OPS-2")
    assert ops2["created"] == utc(2021, 3, 2, 9)  # 10:00+01:00
    assert ops2["status"] == "In Progress"  # the Review row has no readable time
    assert moves(tables["status_changes"], "OPS-2") == [("To Do", "In Progress", utc(2021, 3, 4, 8))]
    [finding] = [f for f in sink.findings if f.code == "unreadable_date"]
    assert finding.key == "OPS-2" and "not a date" in finding.message


def test_naive_times_read_in_the_chosen_zone(tmp_path):
    path = tmp_path / "madrid.csv"
    path.write_text("key,status,time\nM-1,Open,2021-07-01 10:00\nM-1,Done,2021-07-02 10:00\n")
    _, tables = run(path, tmp_path, timezone=zone("Europe/Madrid"))
    assert tables["issues"][0]["created"] == utc(2021, 7, 1, 8)
    assert moves(tables["status_changes"], "M-1") == [("Open", "Done", utc(2021, 7, 2, 8))]


def test_from_column_makes_every_event_a_change(tmp_path):
    path = tmp_path / "from.csv"
    path.write_text(
        "Issue,From Status,To Status,Changed At\n"
        "F-1,Open,In Progress,2020-02-03T10:00:00Z\n"
        "F-1,In Progress,Done,2020-02-05T10:00:00Z\n"
    )
    _, tables = run(path, tmp_path)
    assert tables["issues"][0]["created"] == utc(2020, 2, 3, 10)
    assert moves(tables["status_changes"], "F-1") == [
        ("Open", "In Progress", utc(2020, 2, 3, 10)),
        ("In Progress", "Done", utc(2020, 2, 5, 10)),
    ]


def test_created_column_sets_created_and_first_status_is_initial(tmp_path):
    path = tmp_path / "created.csv"
    path.write_text(
        "case_id,activity,timestamp,created\n"
        "C-1,Backlog,2020-03-01,2020-03-01\n"
        "C-1,Doing,2020-03-04,2020-03-01\n"
        "C-2,Doing,2020-03-06,2020-03-02\n"
        "C-2,Done,2020-03-09,2020-03-02\n"
    )
    sink, tables = run(path, tmp_path)
    issues = {i["key"]: i for i in tables["issues"]}
    assert issues["C-1"]["created"] == utc(2020, 3, 1)
    assert moves(tables["status_changes"], "C-1") == [("Backlog", "Doing", utc(2020, 3, 4))]
    assert issues["C-2"]["created"] == utc(2020, 3, 2)
    assert moves(tables["status_changes"], "C-2") == [("Doing", "Done", utc(2020, 3, 9))]
    [assumed] = [f for f in sink.findings if f.code == "initial_status_assumed"]
    assert assumed.severity == "info" and assumed.message.startswith("1 issues")


def test_explicit_column_mapping(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text(
        "Ticket Ref;Moved To;When;Note\n"
        "T-9;Open;2019-05-01 09:00;first\n"
        "T-9;Closed;2019-05-03 17:00;second\n"
    )
    columns = {"key": "Ticket Ref", "status": "moved to", "time": "When"}
    _, tables = run(path, tmp_path, columns=columns)
    assert tables["issues"][0]["key"] == "T-9"
    assert moves(tables["status_changes"], "T-9") == [("Open", "Closed", utc(2019, 5, 3, 17))]


def test_explicit_column_that_does_not_exist(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("a,b,c\nx,y,2020-01-01\n")
    with pytest.raises(ImportProblem, match="no column 'Ticket'"):
        run(path, tmp_path, columns={"key": "Ticket", "status": "b", "time": "c"})


def test_missing_role_names_file_role_and_headers(tmp_path):
    path = tmp_path / "nostatus.csv"
    path.write_text("key,when,who\nA-1,2020-01-01,me\n")
    with pytest.raises(ImportProblem) as problem:
        run(path, tmp_path)
    sentence = problem.value.sentence
    assert "nostatus.csv" in sentence and "status or time" in sentence
    assert "key, when, who" in sentence and "rename the columns to 'key', 'status' and 'time'" in sentence


def test_header_only_file_is_a_problem(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("key,status,time\n")
    with pytest.raises(ImportProblem, match="No issues found in empty.csv"):
        run(path, tmp_path)


def test_rows_without_key_or_status_are_counted(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("key,status,time\n,Open,2020-01-01\nG-1,,2020-01-02\nG-1,Open,2020-01-03\nG-1,Done,\n")
    sink, tables = run(path, tmp_path)
    assert [i["key"] for i in tables["issues"]] == ["G-1"]
    codes = {f.code: f.message for f in sink.findings}
    assert codes["row_without_key"].startswith("1 rows")
    assert codes["event_without_status"].startswith("1 rows")
    assert codes["event_without_time"].startswith("1 rows")


def test_non_utf8_csv_uses_the_tolerant_reader(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("key;status;time\nÑ-1;Revisión;05/02/2015\nÑ-1;Hecho;13/02/2015\n".encode("cp1252"))
    _, tables = run(path, tmp_path)
    assert tables["issues"][0]["created"] == utc(2015, 2, 5)
    assert moves(tables["status_changes"], "Ñ-1") == [("Revisión", "Hecho", utc(2015, 2, 13))]


def test_parquet_event_log_with_typed_times(tmp_path):
    path = tmp_path / "events.parquet"
    table = pa.table({
        "case_id": pa.array([7, 7, 8], pa.int64()),
        "activity": ["Done", "Open", "Open"],
        "time": pa.array(
            [datetime(2022, 1, 5, 12), datetime(2022, 1, 1, 12), datetime(2022, 1, 2)], pa.timestamp("ms")
        ),
    })
    pq.write_table(table, path)
    _, tables = run(path, tmp_path, timezone=zone("+02:00"))
    issues = {i["key"]: i for i in tables["issues"]}
    assert set(issues) == {"7", "8"}
    assert issues["7"]["created"] == utc(2022, 1, 1, 10)
    assert moves(tables["status_changes"], "7") == [("Open", "Done", utc(2022, 1, 5, 10))]
    assert issues["8"]["status"] == "Open"


def write_large_log(path: Path, issues: int) -> int:
    """A shuffled log of five moves per issue; returns the number of rows."""
    rng = random.Random(7)
    statuses = ["To Do", "In Progress", "Review", "Testing", "Done"]
    start = datetime(2020, 1, 1)
    rows = []
    for n in range(issues):
        moment = start + timedelta(minutes=rng.randrange(500_000))
        for status in statuses:
            moment += timedelta(minutes=rng.randrange(1, 5_000))
            rows.append((f"BIG-{n}", status, moment.strftime("%Y-%m-%d %H:%M:%S")))
    rng.shuffle(rows)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "status", "time"])
        writer.writerows(rows)
    return len(rows)


def test_large_log_is_fast_and_complete(tmp_path):
    path = tmp_path / "big.csv"
    rows = write_large_log(path, 40_000)
    started = time.perf_counter()
    calls: list[int] = []
    sink, tables = run(path, tmp_path, progress=lambda done, total: calls.append(done))
    elapsed = time.perf_counter() - started
    assert len(tables["issues"]) == 40_000
    assert len(tables["status_changes"]) == rows - 40_000
    first = moves(tables["status_changes"], "BIG-0")
    assert [m[1] for m in first] == ["In Progress", "Review", "Testing", "Done"]
    assert all(a[2] < b[2] for a, b in zip(first, first[1:]))
    assert calls[-1] == path.stat().st_size
    assert elapsed < 3.0  # 200,000 rows; a million takes about three seconds


def test_sniff_event_log_and_others():
    assert event_log.sniff(UNSORTED.read_bytes()) >= 70
    assert item_dates.sniff(UNSORTED.read_bytes()) < 30
    assert time_in_status.sniff(UNSORTED.read_bytes()) < 30
    for other in ("jira_agile_metrics_cycle_time.csv", "actionable_agile.csv", "time_in_status_hours.csv",
                  "time_in_status_text.csv"):
        assert event_log.sniff((FIXTURES / other).read_bytes()) < 30, other


def test_sniff_rejects_jira_issue_navigator_csv():
    assert event_log.sniff(NAVIGATOR) < 30


def test_sniff_reads_a_small_parquet_file(tmp_path):
    path = tmp_path / "small.parquet"
    table = pa.table({"key": ["A", "A"], "status": ["Open", "Done"], "time": ["2020-01-01", "2020-01-02"]})
    pq.write_table(table, path)
    assert event_log.sniff(path.read_bytes()) >= 70
    assert item_dates.sniff(path.read_bytes()) < 30


def run(path: Path, tmp_path: Path, **options):
    return read_tables(event_log, path, tmp_path, **options)
