"""The default stage map, its id, persistence and refresh, on the real exports, the demo
dataset and small synthetic exports; expected values worked out by hand from the files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import REPO, jira_issue, write_search

from vsm_core.db import connect
from vsm_core.ingest import SourceFile, import_files
from vsm_core.stagemap import (
    Stage,
    StageMap,
    infer_stage_map,
    list_stage_maps,
    load_stage_map,
    refresh_stage_map,
    save_stage_map,
)

DEMO = REPO / "data" / "demo"


def _import(store, *paths: Path):
    result = import_files(store, [SourceFile(path, path.name) for path in paths])
    info = store.get(result.dataset)
    return info, connect(info.version_path())


def _rows(stage_map: StageMap) -> list[tuple]:
    return [(s.order, s.name, s.statuses, s.kind, s.side, s.cancelled, s.wip_limit, s.decided_by) for s in stage_map.stages]


@pytest.fixture
def jirametrics(store, real):
    return _import(store, real / "jirametrics_sample_search_6issues.json", real / "jirametrics_sample_statuses.json",
                   real / "jirametrics_sample_board_configuration.json")


@pytest.fixture
def puppet(store, real):
    return _import(store, real / "puppet_public_perceval_5issues.json")


def test_jirametrics_board_columns_are_the_stages(jirametrics):
    _, con = jirametrics
    # The board's five columns in order; WIP max from the file (Ready 1..4, In Progress 3, Review 3).
    # "Ready" holds Selected for Development (category indeterminate): a wait column by its name.
    # "Review" has no wait word ("to review" would): active.
    assert _rows(infer_stage_map(con)) == [
        (0, "Backlog", ("Backlog",), "backlog", False, False, None, "board column"),
        (1, "Ready", ("Selected for Development",), "wait", False, False, 4, "board column"),
        (2, "In Progress", ("In Progress",), "active", False, False, 3, "board column"),
        (3, "Review", ("Review",), "active", False, False, 3, "board column"),
        (4, "Done", ("Done",), "done", False, False, None, "board column"),
    ]


def test_jirametrics_without_companions_orders_by_observed_flow(store, real):
    _, con = _import(store, real / "jirametrics_sample_search_6issues.json")
    stage_map = infer_stage_map(con)
    assert [s.name for s in stage_map.stages] == ["Backlog", "Selected for Development", "In Progress", "Review", "Done"]
    assert [s.kind for s in stage_map.stages] == ["backlog", "wait", "active", "active", "done"]
    assert all(s.wip_limit is None for s in stage_map.stages)


def test_puppet_order_and_kinds_from_the_flow(puppet):
    _, con = puppet
    # First-entry sequences in the file:
    #   PUP-3483 Open, Resolved            PUP-6295 Open, In Progress, Ready for Merge
    #   PUP-6159 Open, Accepted, Ready for Engineering, In Progress, Ready for Merge, Ready for CI,
    #            Ready for Test, Resolved  PUP-6545 Open, Ready for Engineering, Accepted, In Progress,
    #            Ready for Merge           PUP-6551 Open, Ready for Merge
    # Ready for Engineering and Accepted precede each other once each (a tie); by median normalised
    # position Ready for Engineering (2/7, 1/4 -> 0.268) comes before Accepted (1/7, 2/4 -> 0.321).
    # Ready for Merge precedes Ready for CI and Ready for Test wherever both occur.
    # Kinds: Open is category new (current status of PUP-3483); Ready for Merge category
    # indeterminate with a wait word; Accepted and In Progress have no category and no
    # backlog or wait word: active; Resolved is done.
    assert _rows(infer_stage_map(con)) == [
        (0, "Open", ("Open",), "backlog", False, False, None, "status category"),
        (1, "Ready for Engineering", ("Ready for Engineering",), "wait", False, False, None, "name"),
        (2, "Accepted", ("Accepted",), "active", False, False, None, "name"),
        (3, "In Progress", ("In Progress",), "active", False, False, None, "name"),
        (4, "Ready for Merge", ("Ready for Merge",), "wait", False, False, None, "name"),
        (5, "Ready for CI", ("Ready for CI",), "wait", False, False, None, "name"),
        (6, "Ready for Test", ("Ready for Test",), "wait", False, False, None, "name"),
        (7, "Resolved", ("Resolved",), "done", False, False, None, "status category"),
    ]


EXPECTED_DEMO = [
    ("Backlog", "backlog", False, False, None),
    ("Ready for Dev", "backlog", False, False, 14),  # category new in demo-statuses.json
    ("In Progress", "active", False, False, 8),
    ("Ready for Review", "wait", False, False, None),
    ("In Review", "active", False, False, 3),
    ("Ready for QA", "wait", False, False, None),
    ("In QA", "active", False, False, 3),
    ("Ready for Release", "wait", False, False, None),
    ("Blocked", "wait", True, False, None),  # a side state: moved after the last non-done stage
    ("Done", "done", False, False, None),
    ("Won't Do", "done", False, True, None),  # split off the Done column: cancelled after delivered
]


def test_demo_with_board(store):
    _, con = _import(store, DEMO / "demo-jira-export.json.gz", DEMO / "demo-statuses.json",
                     DEMO / "demo-board-configuration.json")
    stage_map = infer_stage_map(con)
    assert [(s.name, s.kind, s.side, s.cancelled, s.wip_limit) for s in stage_map.stages] == EXPECTED_DEMO
    assert [s.order for s in stage_map.stages] == list(range(11))
    assert {s.decided_by for s in stage_map.stages} == {"board column"}
    assert stage_map.stage_of("won't do").name == "Won't Do"
    assert stage_map.stage_of("READY FOR QA").kind == "wait"
    assert stage_map.stage_of("Nowhere") is None


def test_demo_without_board_gives_the_same_stages_from_the_flow(store):
    _, con = _import(store, DEMO / "demo-jira-export.json.gz", DEMO / "demo-statuses.json")
    stage_map = infer_stage_map(con)
    assert [(s.name, s.kind, s.side, s.cancelled) for s in stage_map.stages] == [row[:4] for row in EXPECTED_DEMO]
    assert stage_map.stage_of("Blocked").decided_by == "name"
    # Backlog is left back to Ready for Dev 47 times, but most of its exits start from the
    # initial visit: it is not a side state.
    assert stage_map.stage_of("Backlog").side is False


def _flow_export(tmp_path: Path, returns: int) -> Path:
    """Issues going To Do -> In Progress -> Parking -> In Progress -> Done ``returns`` times,
    plus two going through Checking (entered from In Progress, left forward to Done)."""
    issues = []
    for n in range(returns):
        issues.append(jira_issue(f"SY-{n + 1}", "2024-01-01T09:00:00.000+0000", "Done", [
            ("2024-01-02T09:00:00.000+0000", "To Do", "In Progress"),
            ("2024-01-03T09:00:00.000+0000", "In Progress", "Parking"),
            ("2024-01-04T09:00:00.000+0000", "Parking", "In Progress"),
            ("2024-01-05T09:00:00.000+0000", "In Progress", "Checking"),
            ("2024-01-06T09:00:00.000+0000", "Checking", "Done"),
        ], category="done"))
    issues.append(jira_issue("SY-90", "2024-01-01T09:00:00.000+0000", "To Do", [], category="new"))
    return write_search(tmp_path / "flow.json", issues)


def test_a_status_items_leave_back_to_where_they_came_from_is_a_side_state(store, tmp_path):
    _, con = _import(store, _flow_export(tmp_path, returns=3))
    stage_map = infer_stage_map(con)
    parking = stage_map.stage_of("Parking")
    assert (parking.kind, parking.side, parking.decided_by) == ("wait", True, "observed flow")
    assert stage_map.stage_of("Checking").side is False  # left forward to Done, never back
    assert [s.name for s in stage_map.stages] == ["To Do", "In Progress", "Checking", "Parking", "Done"]


def test_two_returns_are_not_enough_for_a_side_state(store, tmp_path):
    _, con = _import(store, _flow_export(tmp_path, returns=2))
    parking = infer_stage_map(con).stage_of("Parking")
    assert (parking.kind, parking.side) == ("active", False)


def test_status_on_no_board_column_is_placed_after_its_usual_predecessor(store, real, tmp_path):
    changes = [
        ("2024-01-02T09:00:00.000+0000", "Backlog", "Selected for Development"),
        ("2024-01-03T09:00:00.000+0000", "Selected for Development", "In Progress"),
        ("2024-01-04T09:00:00.000+0000", "In Progress", "Review"),
        ("2024-01-05T09:00:00.000+0000", "Review", "Awaiting Sign-off"),
    ]
    export = write_search(tmp_path / "extra.json", [
        jira_issue("SP-101", "2024-01-01T09:00:00.000+0000", "Awaiting Sign-off", changes),
        jira_issue("SP-102", "2024-01-01T09:00:00.000+0000", "Done",
                   changes + [("2024-01-06T09:00:00.000+0000", "Awaiting Sign-off", "Done")], category="done"),
    ])
    _, con = _import(store, export, real / "jirametrics_sample_statuses.json",
                     real / "jirametrics_sample_board_configuration.json")
    stage_map = infer_stage_map(con)
    assert [s.name for s in stage_map.stages] == ["Backlog", "Ready", "In Progress", "Review", "Awaiting Sign-off", "Done"]
    extra = stage_map.stage_of("awaiting sign-off")
    assert (extra.kind, extra.order, extra.wip_limit, extra.decided_by) == ("wait", 4, None, "name")


def test_version_id_is_stable_and_names_the_map(store, real, puppet):
    _, con = puppet
    first = infer_stage_map(con)
    _, con_again = _import(store, real / "puppet_public_perceval_5issues.json")
    second = infer_stage_map(con_again)
    assert first.version_id == second.version_id
    assert len(first.version_id) == 16 and int(first.version_id, 16) >= 0
    changed = StageMap(tuple(replace(s, wip_limit=5) if s.name == "In Progress" else s for s in first.stages))
    assert changed.version_id != first.version_id
    # Plain JSON round trip keeps the map and its id.
    text = json.dumps(first.to_dict())
    assert StageMap.from_dict(json.loads(text)) == first
    assert json.loads(text)["version_id"] == first.version_id


def test_save_load_list_round_trip(puppet):
    info, con = puppet
    stage_map = infer_stage_map(con)
    assert list_stage_maps(info.path) == []
    vid = save_stage_map(info.path, stage_map, note="default")
    path = info.path / "stagemaps" / f"{vid}.json"
    before = path.read_text()
    assert save_stage_map(info.path, stage_map, note="again") == vid  # a no-op
    assert path.read_text() == before
    edited = StageMap(tuple(replace(s, kind="backlog", decided_by="user") if s.name == "Accepted" else s
                            for s in stage_map.stages))
    vid2 = save_stage_map(info.path, edited)
    assert load_stage_map(info.path, vid) == stage_map
    assert load_stage_map(info.path, vid2).stage_of("Accepted").kind == "backlog"
    listed = list_stage_maps(info.path)
    assert [(v, note) for v, _, note in listed] == [(vid2, None), (vid, "default")]
    assert listed[0][1] >= listed[1][1]
    assert not [p for p in (info.path / "stagemaps").iterdir() if p.name.startswith(".")]
    with pytest.raises(ValueError, match="no saved stage map"):
        load_stage_map(info.path, "0123456789abcdef")
    with pytest.raises(ValueError, match="no saved stage map"):
        load_stage_map(info.path, "../../etc/passwd")


def test_refresh_adds_unknown_statuses_flagged_new(puppet):
    _, con = puppet
    full = infer_stage_map(con)
    assert refresh_stage_map(full, con) == full
    partial = StageMap(tuple(s for s in full.stages if s.name not in ("Ready for CI", "Resolved")))
    refreshed = refresh_stage_map(partial, con)
    assert refreshed.stages[:len(partial.stages)] == partial.stages  # existing stages unchanged
    added = [(s.name, s.kind, s.order, s.new, s.decided_by) for s in refreshed.stages[len(partial.stages):]]
    assert added == [("Ready for CI", "wait", 7, True, "name"), ("Resolved", "done", 8, True, "status category")]
    assert not any(s.new for s in partial.stages)


def test_stage_from_dict_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        Stage.from_dict({"name": "X", "statuses": ["X"], "kind": "doing", "order": 0})
