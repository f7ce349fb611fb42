"""How a link names a view, run through the app (AppTest): the sidebar takes the link's filters
and clock, keeps them across page switches, pins the data version and the stage map, offers a
newer data version instead of swapping it in, says which link values it left out, and shows a
share link that names all of it.

The export: two stories and one bug, times in UTC. Version 1 is as of 2025-01-10 10:00; version
2 adds a third story delivered on 2025-01-12 (as of 2025-01-13 10:00).
ST-1 To Do → In Progress (Jan 6, Monday, 10:00) → Done (Jan 8 10:00): lead time from created
(Jan 6 09:00) 2 d 1 h. BG-1 the same a day later. ST-2 In Progress from Jan 9 10:00, still there.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import REPO, jira_issue, write_search
from streamlit.testing.v1 import AppTest


def _t(day: int, hour: int = 10) -> str:
    return f"2025-01-{day:02d}T{hour:02d}:00:00.000+0000"


def _item(key: str, start: int, done: int | None, kind: str = "Story"):
    changes = [(_t(start), "To Do", "In Progress")] + ([(_t(done), "In Progress", "Done")] if done else [])
    return jira_issue(key, _t(start, 9), "Done" if done else "In Progress", changes,
                      category="done" if done else None, fields={"issuetype": {"name": kind}})


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    import streamlit as st

    from vsm_core.ingest import SourceFile, import_files
    from vsm_core.store import open_store

    store = open_store(tmp_path / "store")
    first = write_search(tmp_path / "v1.json", [_item("ST-1", 6, 8), _item("BG-1", 7, 9, "Bug"), _item("ST-2", 9, None)])
    result = import_files(store, [SourceFile(first, first.name)], name="Links team",
                          as_of=datetime(2025, 1, 10, 10, tzinfo=UTC))
    second = write_search(tmp_path / "v2.json", [_item("ST-1", 6, 8), _item("BG-1", 7, 9, "Bug"), _item("ST-2", 9, 12)])
    import_files(store, [SourceFile(second, second.name)], into=result.dataset,
                 as_of=datetime(2025, 1, 13, 10, tzinfo=UTC))
    monkeypatch.setenv("VSM_STORE", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield result.dataset
    st.cache_data.clear()
    st.cache_resource.clear()


def _open(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _caption(at: AppTest) -> str:
    """The page's caption as the reader sees it (Markdown escapes removed)."""
    return at.caption[0].value.replace("\\", "").replace("\u2060", "")


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _link(at: AppTest) -> dict[str, list[str]]:
    return parse_qs(urlsplit(at.sidebar.code[0].value).query)


def test_a_link_to_an_older_version_keeps_it_and_offers_the_newer(dataset):
    at = _open("stream_map", dataset=dataset, v="1")
    assert "data version 1" in _caption(at)
    assert _metric(at, "Delivered") == "2"  # ST-1 and BG-1 by Jan 10; ST-2 is still in progress
    offer = " ".join(i.value for i in at.info)
    assert "A newer version 2 exists" in offer and "2025-01-13" in offer
    assert _link(at)["v"] == ["1"]
    at.button(key="newest_version").click().run()
    assert "data version 2" in _caption(at)
    assert _metric(at, "Delivered") == "3"  # ST-2 delivered on Jan 12 in version 2
    assert not [i for i in at.info if "A newer version" in i.value]
    assert _link(at)["v"] == ["2"]


def test_a_link_without_a_version_shows_the_latest_and_pins_it(dataset):
    at = _open("stream_map", dataset=dataset)
    assert "data version 2" in _caption(at)
    link = _link(at)
    assert link["dataset"] == [dataset] and link["v"] == ["2"] and len(link["map"][0]) == 16


def test_filters_and_clock_from_the_link_reach_the_figures_and_the_share_link(dataset):
    at = _open("stream_map", dataset=dataset, v="2", type="Bug", clock="working", tz="Europe/Madrid")
    assert _metric(at, "Delivered") == "1"  # BG-1 only
    assert "working time (weekends removed, Europe/Madrid)" in _caption(at)
    assert "types Bug" in _caption(at)
    link = _link(at)
    assert link["type"] == ["Bug"] and link["clock"] == ["working"] and link["tz"] == ["Europe/Madrid"]
    assert urlsplit(at.sidebar.code[0].value).query.startswith(f"dataset={dataset}&v=2&map=")


def test_filters_survive_a_page_switch(dataset):
    at = _open("stream_map", dataset=dataset)
    at.sidebar.multiselect(key="type").set_value(["Story"]).run()
    assert _metric(at, "Delivered") == "2"  # ST-1 and ST-2 in version 2
    at.switch_page("pages/flow.py").run()
    assert not at.exception
    assert "types Story" in _caption(at)
    assert at.sidebar.multiselect(key="type").value == ["Story"]
    assert _link(at)["type"] == ["Story"]


def test_link_values_the_view_cannot_use_are_left_out_with_a_sentence(dataset):
    # A deep link runs its page first; here the first run is the Overview, where the sentences show.
    at = _open("overview", dataset=dataset, type="Epic story", clock="lunar", **{"from": "2025-13-01"})
    warnings = " ".join(w.value for w in at.warning)
    assert "This dataset has no issue types Epic story" in warnings
    assert "is not calendar or working" in warnings
    assert "is not a date like" in warnings
    assert "calendar time" in _caption(at)
    assert "type" not in _link(at) and "clock" not in _link(at)


def test_a_pinned_stage_map_is_kept_after_a_new_map_is_saved(dataset, tmp_path):
    from vsm_core.stagemap import edit, load_stage_map, save_stage_map
    from vsm_core.store import open_store

    at = _open("stream_map", dataset=dataset)
    pinned = _link(at)["map"][0]
    info = open_store(tmp_path / "store").get(dataset)
    stage_names = json.loads((info.version_path(2) / "stagemap.json").read_text())["stages"]
    active = next(s["name"] for s in stage_names if s["kind"] == "active")
    renamed = edit.rename_stage(_inferred(info), active, "Making it")
    new_id = save_stage_map(info.path, renamed)
    assert new_id != pinned and load_stage_map(info.path, new_id)
    again = _open("stream_map", dataset=dataset, map=pinned)
    assert _link(again)["map"] == [pinned]
    fresh = _open("stream_map", dataset=dataset)
    assert _link(fresh)["map"] == [new_id]  # a link without a map takes the newest saved one


def _inferred(info):
    from vsm_core.stagemap.model import StageMap

    return StageMap.from_dict(json.loads((info.version_path(2) / "stagemap.json").read_text()))
