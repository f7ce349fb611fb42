"""The stage-map editor on the Upload page: merge, preview, save, refused edits, Jira text.

The export has four stories, times in UTC (as of 2025-01-10 10:00):
ST-1 To Do -> Analysis (Jan 6 10:00) -> Build (Jan 7 10:00) -> Done (Jan 9 10:00);
ST-2 the same a day later (Done Jan 10 10:00); ST-3 Analysis Jan 8 10:00 -> Build Jan 9 10:00,
still there; ST-4 moved into a status with a hostile name. Merging Analysis and Build gives
per item 3, 3 and 2 days (ST-3 so far): median 3.0, p85 3.0 (linear between ranks), 1 there now.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from conftest import REPO, jira_issue, write_search
from streamlit.testing.v1 import AppTest

HOSTILE = "<b>x</b> ![i](http://e/x.png)"
AS_OF = datetime(2025, 1, 10, 10, tzinfo=UTC)


def _t(day: int, hour: int = 10) -> str:
    return f"2025-01-{day:02d}T{hour:02d}:00:00.000+0000"


def _export(path):
    def flow(key, start, done=True):
        changes = [(_t(start), "To Do", "Analysis"), (_t(start + 1), "Analysis", "Build")]
        if done:
            changes.append((_t(start + 3), "Build", "Done"))
        return jira_issue(key, _t(start, 9), "Done" if done else "Build", changes, category="done" if done else None)

    issues = [flow("ST-1", 6), flow("ST-2", 7), flow("ST-3", 8, done=False),
              jira_issue("ST-4", _t(6, 9), HOSTILE, [(_t(8, 12), "To Do", HOSTILE)])]
    return write_search(path, issues)


@pytest.fixture
def editor(tmp_path, monkeypatch):
    """The Upload page of a fresh server whose store holds the export above."""
    import streamlit as st

    from vsm_core.ingest import SourceFile, import_files
    from vsm_core.store import open_store

    store = open_store(tmp_path / "store")
    export = _export(tmp_path / "search.json")
    result = import_files(store, [SourceFile(export, export.name)], name="Team *one*", as_of=AS_OF)
    monkeypatch.setenv("VSM_STORE", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params["dataset"] = result.dataset
    at.query_params["edit"] = store.new_edit_key(result.dataset)  # saving a map needs the edit link
    at.run()
    at.switch_page("pages/upload.py").run()
    assert not at.exception, at.exception
    yield at, store.get(result.dataset)
    st.cache_data.clear()
    st.cache_resource.clear()


def _one(elements, label):
    found = [e for e in elements if e.label == label]
    assert len(found) == 1, f"{label!r}: {[e.label for e in elements]}"
    return found[0]


def _preview(at) -> pd.DataFrame:
    tables = [d.value for d in at.dataframe if "Median days there" in d.value.columns]
    assert len(tables) == 1
    return tables[0]


def _merge(at, names, new_name=""):
    _one(at.multiselect, "Stages to merge").set_value(names)
    _one(at.text_input, "Name of the merged stage").input(new_name)
    _one(at.button, "Merge").click().run()
    assert not at.exception, at.exception


def _draft(at, info):
    return at.session_state[f"stagemap_draft:{info.dataset}:{info.latest}"]["map"]


def test_merged_stage_preview_matches_a_hand_count_and_saving_writes_a_new_version(editor):
    at, info = editor
    assert "Stages of Team \\*one\\*" in [h.value for h in at.header]
    before = _preview(at).set_index("Stage")
    assert before.loc["Analysis", "Median days there"] == 1.0 and before.loc["Build", "Median days there"] == 2.0

    _merge(at, ["Analysis", "Build"], "Analysis and build")
    row = _preview(at).set_index("Stage").loc["Analysis and build"]
    shown = row[["Items that visited", "Median days there", "85th percentile days", "Items there now"]].tolist()
    assert shown == [3, 3.0, 3.0, 1]
    assert row["Statuses"] == "Analysis, Build"
    assert not list(info.path.glob("stagemaps/*.json"))  # the preview saved nothing

    _one(at.text_input, "Note for this version").input("Analysis and build are one step")
    _one(at.button, "Save as a new map version").click().run()
    assert not at.exception, at.exception
    files = list(info.path.glob("stagemaps/*.json"))
    assert len(files) == 1
    saved = json.loads(files[0].read_text(encoding="utf-8"))
    names = [s["name"] for s in sorted(saved["stages"], key=lambda s: s["order"])]
    assert "Analysis and build" in names and "Analysis" not in names and "Build" not in names
    merged = next(s for s in saved["stages"] if s["name"] == "Analysis and build")
    assert merged["statuses"] == ["Analysis", "Build"] and saved["note"] == "Analysis and build are one step"
    new_id = files[0].stem
    assert any(new_id in s.value for s in at.success)
    assert at.session_state["view_map"] == new_id and at.query_params["map"] == new_id

    # The same stages again, from the inferred map: recognised as saved, no second file.
    _one(at.selectbox, "Start from").set_value("inferred").run()
    _merge(at, ["Analysis", "Build"], "Analysis and build")
    assert any(f"Every page uses these stages: saved map {new_id}" in c.value for c in at.caption)
    assert not [b for b in at.button if b.label == "Save as a new map version"]
    assert len(list(info.path.glob("stagemaps/*.json"))) == 1


def test_a_refused_edit_shows_its_sentence_and_keeps_the_draft(editor):
    at, info = editor
    draft, preview = _draft(at, info), _preview(at)

    _merge(at, ["Analysis"])
    assert any("Pick at least two stages to merge" in e.value for e in at.error)
    assert _draft(at, info) == draft
    pd.testing.assert_frame_equal(_preview(at), preview)

    _one(at.selectbox, "Stage to rename").set_value("Analysis")
    _one(at.text_input, "New name").input("build")
    _one(at.button, "Rename").click().run()
    assert any("Two stages are named" in e.value and "merge them or rename one" in e.value for e in at.error)
    assert _draft(at, info) == draft
    assert not list(info.path.glob("stagemaps/*.json"))


def test_a_hostile_status_name_shows_literally(editor):
    at, _ = editor
    assert HOSTILE in set(_preview(at)["Stage"])
    _merge(at, [HOSTILE, "Build"], "")
    merged = _preview(at).set_index("Stage").loc["Build"]  # the merged stage keeps the first one's name
    assert merged["Statuses"] == f"Build, {HOSTILE}"
    bodies = [e.value for kind in (at.markdown, at.success, at.error, at.info, at.warning, at.caption, at.header)
              for e in kind]
    assert not any("![i](" in body or "<b>x</b>" in body for body in bodies)
    assert any(r"\!\[i\]\(http" in body for body in (s.value for s in at.success))  # the merge message, escaped


# The table's edits (a data editor AppTest cannot type into) through the editor's draft functions.


def _map():
    from vsm_core.stagemap import Stage, StageMap

    return StageMap((
        Stage("To Do", ("To Do",), "backlog", 0, decided_by="status category"),
        Stage("Analysis", ("Analysis",), "active", 1, decided_by="name"),
        Stage("Build", ("Build", "Code"), "active", 2, wip_limit=3, decided_by="board column"),
        Stage("Done", ("Done",), "done", 3, decided_by="user"),
    ))


def test_table_edits_set_a_kind_and_keep_the_wip_limit():
    from vsm_app.stagemap_editor import stage_rows, table_edits

    table = stage_rows(_map())
    table.loc[2, "Kind"] = "wait"
    edited, said = table_edits(_map(), table)
    build = edited.stages[2]
    assert (build.name, build.kind, build.wip_limit, build.decided_by) == ("Build", "wait", 3, "user")
    assert said == ["Set Build to wait, WIP limit 3."]
    assert [s.kind for s in edited.stages] == ["backlog", "active", "wait", "done"]


def test_table_edits_move_a_stage_and_confirm_a_kind():
    from vsm_app.stagemap_editor import stage_rows, table_edits

    table = stage_rows(_map())
    table.loc[1, "Order"] = 3  # Analysis after Build
    table.loc[0, "Confirmed"] = True
    table.loc[3, "Confirmed"] = False  # a confirmed kind stays confirmed
    edited, said = table_edits(_map(), table)
    assert [s.name for s in edited.stages] == ["To Do", "Build", "Analysis", "Done"]
    assert [s.order for s in edited.stages] == [0, 1, 2, 3]
    assert [s.decided_by for s in edited.stages] == ["user", "board column", "name", "user"]
    assert said == ["Set To Do to backlog.", "Moved Analysis to position 3."]


def test_table_edits_refuse_a_side_state_that_is_not_a_wait_and_change_nothing():
    from vsm_app.stagemap_editor import stage_rows, table_edits

    original = _map()
    table = stage_rows(original)
    table.loc[1, "Side state"] = True
    with pytest.raises(ValueError, match="'Analysis' is a side state, so its kind must be wait, not active"):
        table_edits(original, table)
    assert original == _map()


def test_unchanged_table_changes_nothing_and_confirm_all_accepts_every_inferred_kind():
    from vsm_app.stagemap_editor import (
        confirm_all,
        is_confirmed,
        move_stage,
        stage_rows,
        table_edits,
    )

    assert table_edits(_map(), stage_rows(_map())) == (_map(), [])
    confirmed = confirm_all(_map())
    assert all(is_confirmed(s) for s in confirmed.stages)
    assert [(s.name, s.kind, s.wip_limit) for s in confirmed.stages] == [(s.name, s.kind, s.wip_limit) for s in _map().stages]
    assert [s.name for s in move_stage(_map(), "done", 0).stages] == ["Done", "To Do", "Analysis", "Build"]
    assert [s.name for s in move_stage(_map(), "To Do", 99).stages] == ["Analysis", "Build", "Done", "To Do"]
