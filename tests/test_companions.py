"""Companion files: the status list and the agile board configuration."""

from __future__ import annotations

import codecs
import gzip
import json
from pathlib import Path

import pytest

from vsm_core.ingest import companions
from vsm_core.ingest.base import ReadOptions, read_head
from vsm_core.ingest.sink import CanonicalSink
from vsm_core.problems import ImportProblem

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
STATUSES = REAL / "jirametrics_sample_statuses.json"
BOARD = REAL / "jirametrics_sample_board_configuration.json"

SAMPLE_STATUSES = [
    {"status_id": "10000", "name": "Backlog", "category": "new"},
    {"status_id": "10001", "name": "Selected for Development", "category": "indeterminate"},
    {"status_id": "3", "name": "In Progress", "category": "indeterminate"},
    {"status_id": "10002", "name": "Done", "category": "done"},
    {"status_id": "10011", "name": "Review", "category": "indeterminate"},
]


def options(name: str = "companion.json") -> ReadOptions:
    return ReadOptions(display_name=name)


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_project_statuses_are_deduplicated_across_issue_types(tmp_path):
    sink = CanonicalSink(tmp_path)
    companions.read_statuses(STATUSES, sink, options())
    assert len(json.loads(STATUSES.read_text())) == 5  # five issue types share the five statuses
    assert sink.statuses == SAMPLE_STATUSES
    assert "jira-statuses" in sink.meta["formats"]


def test_board_columns_in_order_with_wip_limits(tmp_path):
    sink = CanonicalSink(tmp_path)
    companions.read_board(BOARD, sink, options())
    assert sink.board_name == "SP board"
    assert [(c["column_order"], c["column"], c["status_id"], c["wip_min"], c["wip_max"]) for c in sink.board_columns] == [
        (0, "Backlog", "10000", None, None),
        (1, "Ready", "10001", 1, 4),
        (2, "In Progress", "3", None, 3),
        (3, "Review", "10011", None, 3),
        (4, "Done", "10002", None, None),
    ]
    assert {c["status_name"] for c in sink.board_columns} == {None}
    assert "jira-board" in sink.meta["formats"]


def test_companion_kind_of_real_files():
    assert companions.companion_kind(read_head(STATUSES, "x")) == "jira-statuses"
    assert companions.companion_kind(read_head(BOARD, "x")) == "jira-board"
    assert companions.companion_kind(read_head(REAL / "jirametrics_sample_search_6issues.json", "x")) is None
    assert companions.companion_kind(read_head(REAL / "puppet_public_perceval_5issues.json", "x")) is None
    assert companions.companion_kind(read_head(REAL / "rueedlinger_agile_project_4123tasks.csv", "x")) is None
    assert companions.sniff_statuses(read_head(STATUSES, "x")) > 50 and companions.sniff_board(read_head(STATUSES, "x")) == 0
    assert companions.sniff_board(read_head(BOARD, "x")) > 50 and companions.sniff_statuses(read_head(BOARD, "x")) == 0


def test_companion_kind_when_the_head_cuts_the_first_element():
    big_status = json.dumps([{"id": "1", "name": "Open", "statusCategory": {"key": "new"}, "description": "x" * 70_000}])
    assert companions.companion_kind(big_status.encode()[:65536]) == "jira-statuses"
    big_issue = json.dumps([{"key": "A-1", "changelog": {"histories": []}, "fields": {"status": {"statusCategory": {}}, "d": "x" * 70_000}}])
    assert companions.companion_kind(big_issue.encode()[:65536]) is None


def test_flat_status_list_and_newer_statuses_search_page(tmp_path):
    flat = [
        {"id": "1", "name": "Open", "statusCategory": {"key": "new", "name": "To Do"}},
        {"id": 6, "name": "Closed", "statusCategory": {"key": "done"}},
        {"id": "10100", "name": "En curso", "statusCategory": {"name": "En curso"}},
        {"id": "1", "name": "Open again", "statusCategory": {"key": "done"}},
    ]
    search = {"values": [
        {"id": "7", "name": "Waiting", "statusCategory": "IN_PROGRESS"},
        {"id": "8", "name": "Won't do", "statusCategory": "DONE"},
    ]}
    sink = CanonicalSink(tmp_path)
    for name, document in (("status.json", flat), ("search.json", search)):
        path = write(tmp_path, name, json.dumps(document))
        assert companions.companion_kind(read_head(path, name)) == "jira-statuses"
        companions.read_statuses(path, sink, options(name))
    assert [(s["status_id"], s["name"], s["category"]) for s in sink.statuses] == [
        ("1", "Open", "new"),
        ("6", "Closed", "done"),
        ("10100", "En curso", "indeterminate"),
        ("7", "Waiting", "indeterminate"),
        ("8", "Won't do", "done"),
    ]


def test_status_list_read_twice_adds_nothing_new(tmp_path):
    sink = CanonicalSink(tmp_path)
    companions.read_statuses(STATUSES, sink, options())
    companions.read_statuses(STATUSES, sink, options())
    assert sink.statuses == SAMPLE_STATUSES


def test_board_column_without_statuses_keeps_its_place(tmp_path):
    board = {"name": "Team", "columnConfig": {"columns": [
        {"name": "Todo", "statuses": [{"id": "1"}, {"id": "2"}], "max": "5"},
        {"name": "Parked", "statuses": []},
        {"name": "Done", "statuses": [{"id": 3}], "min": 0},
    ]}}
    sink = CanonicalSink(tmp_path)
    companions.read_board(write(tmp_path, "board.json", json.dumps(board)), sink, options())
    assert [(c["column_order"], c["column"], c["status_id"], c["wip_min"], c["wip_max"]) for c in sink.board_columns] == [
        (0, "Todo", "1", None, 5),
        (0, "Todo", "2", None, 5),
        (1, "Parked", None, None, None),
        (2, "Done", "3", 0, None),
    ]


def test_gzip_bom_and_utf16_companions(tmp_path):
    text = BOARD.read_text(encoding="utf-8")
    for name, data in {
        "bom.json": codecs.BOM_UTF8 + text.encode(),
        "utf16.json": text.encode("utf-16"),
        "board.json.gz": gzip.compress(text.encode()),
    }.items():
        path = write(tmp_path, name, data)
        assert companions.companion_kind(read_head(path, name)) == "jira-board", name
        sink = CanonicalSink(tmp_path / f"out-{name}")
        companions.read(path, sink, options(name))
        assert [c["column"] for c in sink.board_columns] == ["Backlog", "Ready", "In Progress", "Review", "Done"]


@pytest.mark.parametrize(
    ("reader", "data", "expected"),
    [
        pytest.param(companions.read_board, '{"name": "B",\n "columnConfig": {"columns": [}}', "is not valid JSON at line 2", id="invalid"),
        pytest.param(companions.read_board, '{"name": "B"}', "has no board columns", id="no-columns"),
        pytest.param(companions.read_board, '{"columnConfig": {"columns": [3]}}', "board column number 1", id="bad-column"),
        pytest.param(companions.read_board, "[" * 100_000, "nests JSON too deeply", id="deep"),
        pytest.param(companions.read_statuses, "[]", "holds no statuses", id="empty-statuses"),
        pytest.param(companions.read_statuses, b'[{"id": "1", "name": "caf\xe9"}]', "is not UTF-8", id="not-utf8"),
    ],
)
def test_malformed_companions_are_import_problems(tmp_path, reader, data, expected):
    path = write(tmp_path, "bad.json", data)
    with pytest.raises(ImportProblem) as caught:
        reader(path, CanonicalSink(tmp_path / "out"), options("bad.json"))
    assert caught.value.sentence.startswith("bad.json") and expected in caught.value.sentence


def test_companion_larger_than_the_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(companions, "MAX_COMPANION_BYTES", 100)
    with pytest.raises(ImportProblem, match="larger than"):
        companions.read_statuses(STATUSES, CanonicalSink(tmp_path), options())


def test_importer_objects_follow_the_contract():
    assert [(i.FORMAT, i.sniff, i.read) for i in companions.IMPORTERS] == [
        ("jira-statuses", companions.sniff_statuses, companions.read_statuses),
        ("jira-board", companions.sniff_board, companions.read_board),
    ]
