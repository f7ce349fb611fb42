"""The Stream map page's drawing and charts: the map's tooltips state each stage's figures, names
from Jira stay text in tooltips and links, a stage's link carries the whole view, the frame is as
tall as the drawing, and the map and the charts share one palette.

The hand case: three stories go To Do (1 h) -> In Progress (24 h) -> Review (48 h) -> Done, and
a fourth has waited in Review for 96 h at the as-of time. The expected figures are worked out in
the comments.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from conftest import jira_issue, write_search

from vsm_core import charts
from vsm_core.charts import ALERT_COLOUR, KIND_COLOURS
from vsm_core.decisions.inputs import DecisionInputs
from vsm_core.export.html_report import (
    FRAME_ROOM,
    LOOP_LEVEL,
    map_height,
    themed,
    value_stream_map,
)
from vsm_core.metrics import Clock, Filters, measures, open_flow
from vsm_core.stagemap import Stage, StageMap, save_stage_map

START = datetime(2025, 3, 3, 9, tzinfo=UTC)
HAND = StageMap((
    Stage("To Do", ("To Do",), "backlog", 0),
    Stage("In Progress", ("In Progress",), "active", 1),
    Stage("Review", ("Review",), "wait", 2),
    Stage("Done", ("Done",), "done", 3),
))
EVIL = "<script>alert(1)</script>"
MARKDOWN = "![x](http://e/x.png)"
ODD = StageMap((
    Stage("To Do", ("To Do",), "backlog", 0),
    Stage(EVIL, (EVIL,), "active", 1),
    Stage(MARKDOWN, (MARKDOWN,), "wait", 2),
    Stage("Blocked", ("Blocked",), "wait", 3, side=True),
    Stage("Done", ("Done",), "done", 4),
))


def _t(hours: float) -> str:
    return (START + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _item(key: str, path: list[tuple[str, float]], offset: float) -> dict:
    """Created in To Do at ``offset`` hours; each (status, hours) moves it ``hours`` later."""
    changes, at, previous = [], offset, "To Do"
    for status, hours in path:
        at += hours
        changes.append((_t(at), previous, status))
        previous = status
    return jira_issue(key, _t(offset), previous, changes, category="done" if previous == "Done" else "indeterminate")


def _import(store, tmp_path, issues, stage_map: StageMap, as_of_hours: float):
    from vsm_core.ingest import SourceFile, import_files

    path = write_search(tmp_path / "export.json", issues)
    result = import_files(store, [SourceFile(path, path.name)], name="Map team", as_of=START + timedelta(hours=as_of_hours))
    info = store.get(result.dataset)
    save_stage_map(info.path, stage_map)
    return info


@pytest.fixture
def hand(store, tmp_path):
    # A-1..A-3 enter Review at offset + 25 h and leave 48 h later; A-4 enters Review at 40 + 25 = 65 h
    # and is still there at the as-of time, 65 + 96 = 161 h.
    done = [("In Progress", 1), ("Review", 24), ("Done", 48)]
    issues = [_item(f"A-{n}", done, offset=n * 10) for n in (1, 2, 3)]
    issues.append(_item("A-4", [("In Progress", 1), ("Review", 24)], offset=40))
    return _import(store, tmp_path, issues, HAND, as_of_hours=161)


@pytest.fixture
def odd(store, tmp_path):
    # Stage names that are markup and a Markdown image; B-1 is sent back once (a loop between two
    # stages named from Jira) and steps into Blocked.
    there = [(EVIL, 1), (MARKDOWN, 5), ("Done", 5)]
    issues = [_item(f"B-{n}", there, offset=n * 10) for n in range(2, 6)]
    issues.append(_item("B-1", [(EVIL, 1), (MARKDOWN, 5), (EVIL, 5), ("Blocked", 2), (EVIL, 1), (MARKDOWN, 1),
                                ("Done", 5)], offset=0))
    return _import(store, tmp_path, issues, ODD, as_of_hours=500)


class MapReader(HTMLParser):
    """The map document read back: each stage group's data-stage, tooltip and link, every
    <title>'s text, and every y coordinate."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stages: dict[str, dict] = {}
        self.titles: list[str] = []
        self.ys: list[float] = []
        self.svg: dict = {}
        self._stage = None
        self._in_title = False
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg":
            self.svg = attrs
        if "y" in attrs:
            self.ys.append(float(attrs["y"]))
        if tag == "g" and "stage-shape" in attrs.get("class", "").split():
            self._stage = {"class": attrs["class"], "title": None, "href": None, "target": None}
            self.stages[attrs["data-stage"]] = self._stage
        if tag == "a" and self._stage is not None:
            self._stage.update(href=attrs.get("href"), target=attrs.get("target"))
        if tag == "title":
            self._in_title = True
            self.titles.append("")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
            if self._stage is not None and self._stage["title"] is None:
                self._stage["title"] = self.titles[-1]

    def handle_data(self, data):
        if self._in_title:
            self.titles[-1] += data

    @classmethod
    def read(cls, document: str) -> MapReader:
        reader = cls()
        reader.feed(document)
        reader.close()
        return reader


def _document(info, stage_map: StageMap, **kwargs):
    with open_flow(info, map_id=stage_map.version_id, filters=Filters(all_types=True)) as flow:
        return value_stream_map(flow, **kwargs)


# ------------------------------------------------------------------ tooltips


def test_each_stage_tooltip_states_its_hand_computed_figures(hand):
    reader = MapReader.read(_document(hand, HAND, worst="Review").html)
    # Review, per item: 48, 48, 48 and 96 h (A-4 so far). Median 48 h = 2.0 d; p85 at rank 0.85 x 3 = 2.55:
    # 48 + 0.55 x 48 = 74.4 h = 3.1 d. Delivered flow time 3 x 73 h = 219 h, of which 3 x 48 = 144 h in
    # Review: 66%.
    assert reader.stages["Review"]["title"] == (
        "Review (wait): 1 item there now; median 2.0 d, p85 3.1 d per item; 4 items in this view; "
        "66% of lead time; the bottleneck")
    # In Progress: 24 h for each of the four; 72 / 219 = 33%; all four left forward and none came back.
    assert reader.stages["In Progress"]["title"] == (
        "In Progress (process): 0 items there now; median 1.0 d, p85 1.0 d per item; 4 items in this view; "
        "33% of lead time; 100% complete and accurate")
    assert "worst" in reader.stages["Review"]["class"].split()


def test_ladder_steps_and_totals_say_their_figures(hand):
    reader = MapReader.read(_document(hand, HAND, worst="Review").html)
    titles = reader.titles
    # Mean per delivered item: 48 h = 2.0 d waiting in Review, 24 h = 1.0 d working.
    assert "Review: 2.0 d of waiting per delivered item, 66% of lead time" in titles
    assert "In Progress: 1.0 d of work per delivered item, 33% of lead time" in titles
    # Lead time 73 h = 3.0 d for each; activity ratio 72 / 219; flow efficiency 24 / (24 + 48).
    assert "Lead time: from creation to done over the delivered items: median 3.0 d, p85 3.0 d" in titles
    text = re.sub(r"<[^>]+>", " ", _document(hand, HAND).html)
    assert re.search(r"Activity ratio\s+33%", text) and re.search(r"Flow efficiency\s+33%", text)
    assert re.search(r"Rolled %C&amp;A\s+100%", text) and re.search(r"Waiting\s+2\.0 d", text)


def test_the_drill_down_histogram_title_states_the_median_and_p85(hand):
    with open_flow(hand, map_id=HAND.version_id, filters=Filters(all_types=True)) as flow:
        entries = measures.stage_entries(flow, "Review")
    finding, chart = charts.stage_time_histogram(entries, "Review", "wait")
    assert finding == "Review: half the items wait more than 2.0 days; 15% more than 3.1"
    spec = chart.to_dict()
    assert spec["layer"][0]["title"]["text"] == finding
    bars = pd.DataFrame(spec["datasets"][spec["layer"][0]["data"]["name"]])
    # Three items left after 2 days; A-4 is still there at 4 days.
    assert bars.groupby("items_are")["items"].sum().to_dict() == {"left the stage": 3, "still there now": 1}
    _, active = charts.stage_time_histogram(entries.assign(in_stage_now=False), "Build", "active")
    assert active.to_dict()["layer"][0]["title"]["text"].startswith("Build: half the items spend more than 2.0 days there")


# ------------------------------------------------------------------ names from Jira


def test_names_from_jira_stay_text_in_tooltips_and_links(odd, store):
    from vsm_app.data import stage_link

    href = stage_link(odd.dataset, odd.latest, (("map", (ODD.version_id,)),))
    document = _document(odd, ODD, stage_href=href).html
    assert "<script" not in document.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    reader = MapReader.read(document)
    assert set(reader.stages) == {EVIL, MARKDOWN, "Blocked"}
    assert reader.stages[EVIL]["title"].startswith(f"{EVIL} (process): ")
    assert reader.stages[MARKDOWN]["title"].startswith(f"{MARKDOWN} (wait): ")
    assert f"{MARKDOWN} sends work back to {EVIL}: 1 move back (1 item)" in reader.titles
    for name, shape in reader.stages.items():
        assert shape["target"] == "_blank"
        assert parse_qs(urlsplit(shape["href"]).query)["stage"] == [name]
    # The only web address is the Markdown image, shown as text (whole, or cut short on the map's label);
    # the links are relative.
    assert re.findall(r"https?://", document.replace(MARKDOWN, "").replace(MARKDOWN[:18] + "\u2026", "")) == []


def test_a_stage_link_that_is_not_a_web_address_is_refused(hand):
    with pytest.raises(ValueError, match="relative or start with http"):
        _document(hand, HAND, stage_href=lambda stage: "javascript:alert(1)")


def test_a_stage_link_carries_the_whole_view():
    from vsm_app.data import stage_link
    from vsm_app.viewstate import ViewState, from_query_params

    map_id = "0123456789abcdef"
    query = (("clock", ("working",)), ("from", ("2025-03-01",)), ("holiday", ("2025-04-18",)), ("label", ("x y",)),
             ("map", (map_id,)), ("project", ("PAY",)), ("to", ("2025-06-30",)), ("type", ("Bug", "Story")),
             ("tz", ("Europe/Paris",)))
    dataset = "A" * 22
    link = stage_link(dataset, 3, query)(EVIL)
    assert link.startswith("stream_map?") and "<" not in link
    params = parse_qs(urlsplit(link).query)
    assert params["dataset"] == [dataset] and params["v"] == ["3"] and params["stage"] == [EVIL]
    state, problems = from_query_params(params)
    assert problems == []
    assert state == ViewState(dataset, 3, map_id,
                              Filters(start=date(2025, 3, 1), end=date(2025, 6, 30), issue_types=("Bug", "Story"),
                                      projects=("PAY",), labels=("x y",)),
                              Clock("working", "Europe/Paris", (date(2025, 4, 18),)), EVIL)


# ------------------------------------------------------------------ frame height


def test_the_map_height_grows_with_each_loop_level_and_row():
    heights = [map_height(levels) for levels in range(7)]
    assert heights[1] > heights[0]  # the first loop also makes room for its label
    assert all(b - a == LOOP_LEVEL for a, b in pairwise(heights[1:]))
    assert map_height(2, has_side=True) > map_height(2) > 0
    assert map_height(2, other_loops=3) > map_height(2, other_loops=1) > map_height(2)


def test_the_frame_is_as_tall_as_the_drawing(hand, odd):
    plain = _document(hand, HAND)
    looped = _document(odd, ODD)
    for document in (plain, looped):
        reader = MapReader.read(document.html)
        height = int(reader.svg["height"])
        assert document.height == height + FRAME_ROOM
        assert max(reader.ys) < height  # nothing is drawn below the frame's edge
    # The odd team has one loop drawn and a row of side states; the hand team has neither.
    assert looped.height == plain.height + (map_height(1, has_side=True) - map_height(0))


# ------------------------------------------------------------------ one palette


def test_the_map_and_the_charts_use_the_kind_colours(odd):
    document = _document(odd, ODD, worst=MARKDOWN).html
    strokes = set(re.findall(r'stroke="(#[0-9A-Fa-f]{6})"', document))
    assert strokes == {KIND_COLOURS["wait"], KIND_COLOURS["active"], KIND_COLOURS["side"], ALERT_COLOUR}
    with open_flow(odd, map_id=ODD.version_id, filters=Filters(all_types=True)) as flow:
        inputs = DecisionInputs(flow)
        stage_table, wip = inputs.stage_table, inputs.wip
    strip = json.dumps(charts.stage_strip(stage_table, MARKDOWN, EVIL).to_dict())
    _, flow_chart = charts.cumulative_flow(wip)
    cfd = json.dumps(flow_chart.to_dict())
    for colour in (KIND_COLOURS["wait"], KIND_COLOURS["active"], KIND_COLOURS["side"]):
        assert colour in strip
    for kind in ("backlog", "wait", "active", "done"):  # the first stage of each kind has the kind's own colour
        assert KIND_COLOURS[kind] in cfd
    assert ALERT_COLOUR in strip
    ranking = pd.DataFrame({"stage": ["Q", "W"], "kind": ["wait", "active"], "side": [False, False],
                            "stands_out": [True, False], "days_of_lead_time": [3.0, 1.0], "ci_low_days": [2.0, 0.5],
                            "ci_high_days": [4.0, 1.5], "share_of_lead_time": [0.7, 0.2]})
    bars = json.dumps(charts.bottleneck_ranking(ranking, "Q costs 70% of lead time").to_dict())
    assert KIND_COLOURS["wait"] in bars and KIND_COLOURS["active"] in bars


def test_the_stage_strip_is_clickable_by_stage_and_marks_the_bottleneck(odd):
    with open_flow(odd, map_id=ODD.version_id, filters=Filters(all_types=True)) as flow:
        stage_table = DecisionInputs(flow).stage_table
    spec = charts.stage_strip(stage_table, MARKDOWN, EVIL).to_dict()
    params = spec.get("params", []) + [p for layer in spec["layer"] for p in layer.get("params", [])]
    assert [(p["name"], p["select"]["fields"]) for p in params] == [("stage_pick", ["stage"])]
    rows = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    # The line in map order, then the side state; one box each, the bottleneck outlined.
    assert list(rows["stage"]) == [EVIL, MARKDOWN, "Blocked"]
    assert list(rows["flag"]) == ["", "BOTTLENECK", ""] and list(rows["shown"]) == ["\u25b2 shown below", "", ""]
    assert rows.set_index("stage")["now"].to_dict()["Blocked"] == "side state \u00b7 0 there now"


def test_the_map_follows_the_dashboard_theme(hand):
    document = _document(hand, HAND).html
    assert '<html lang="en" class="auto">' in document
    assert '<html lang="en" class="dark">' in themed(document, "dark")
    assert themed(document, None) == document == themed(document, "sepia")
    # The dark theme's ink is light; the report is never themed.
    assert re.search(r":root\.dark \{[^}]*--ink: #fafafa", document)


# ------------------------------------------------------------------ the page


@pytest.fixture
def app_store(store, hand, tmp_path, monkeypatch):
    """The hand team as the store's demo (so the app imports nothing), and a team whose export
    names a site that is not a web address; the app reads this store."""
    import streamlit as st

    store.mark_demo(hand.dataset)
    hostile = _item("H-1", [("In Progress", 1), ("Review", 24)], offset=0)
    hostile["self"] = "javascript://x%0Aalert(1)/rest/api/2/issue/1"
    (tmp_path / "other").mkdir()
    other = _import(store, tmp_path / "other", [hostile], HAND, as_of_hours=200)
    monkeypatch.setenv("VSM_STORE", str(store.root))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield hand, other
    st.cache_data.clear()
    st.cache_resource.clear()


def _run_stream_map(params: dict):
    from conftest import REPO
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    for name, value in params.items():
        at.query_params[name] = value
    at.switch_page("pages/stream_map.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def test_the_page_opens_the_linked_stage_with_its_distribution_and_jira_links(app_store):
    hand, _ = app_store
    at = _run_stream_map({"dataset": hand.dataset, "stage": "In Progress"})
    assert at.selectbox(key="stage").value == "In Progress"
    assert at.selectbox(key="stage").options == ["In Progress", "Review"]
    assert [_unescaped(s.value) for s in at.subheader if "there now" in s.value] == ["In Progress (process step): 0 items there now"]
    at.selectbox(key="stage").set_value("Review").run()
    assert [_unescaped(s.value) for s in at.subheader if "there now" in s.value] == ["Review (queue): 1 item there now"]
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    titles = [(spec.get("title") or spec["layer"][0].get("title") or {}).get("text") for spec in specs]
    assert "Review: half the items wait more than 2.0 days; 15% more than 3.1" in titles
    table = at.dataframe[0].value
    assert list(table["key"]) == ["A-4"] and list(table["link"]) == ["https://example.atlassian.net/browse/A-4"]
    # The map in its frame, each stage linked to its drill-down.
    frame = MapReader.read(at.get("iframe")[0].proto.srcdoc)
    assert set(frame.stages) == {"In Progress", "Review"}
    assert parse_qs(urlsplit(frame.stages["Review"]["href"]).query)["dataset"] == [hand.dataset]


def test_an_export_whose_site_is_not_a_web_address_gets_no_links(app_store):
    _, other = app_store
    at = _run_stream_map({"dataset": other.dataset, "stage": "Review"})
    table = at.dataframe[0].value
    assert list(table["key"]) == ["H-1"] and "link" not in table.columns
