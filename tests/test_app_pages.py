"""Every page of the dashboard in AppTest, opened the way a link opens it (query parameters
preset), on the demo team, a hand-built export, a planted problem and the real public exports
in ../shared/data/real/. The figures a page shows are checked against values worked out in
this file from the export itself (``app_support``: timelines, lead and cycle time, stage time
by the documented rules), never by calling ``vsm_core``'s measures. ``vsm_core`` only imports
the files into the store and writes the planted export.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pyarrow as pa
import pytest
import streamlit as st
from app_support import (
    Item,
    Workflow,
    as_of_of,
    close_to,
    complete_and_accurate,
    cycle_hours,
    delivered,
    flow_hours,
    hours,
    in_scope,
    items_of,
    lead_hours,
    median,
    metrics,
    notices,
    one_sentence,
    percentile,
    process_and_wait,
    read_item_dates_csv,
    read_jira_json,
    run_page,
    status_hours,
    subheaders,
    texts,
    titles,
    unescaped,
    wait_by_name,
)
from conftest import REAL, REPO, jira_issue, write_search

from vsm_core.demo.plants import (
    plant,
    plant_as_of,
    write_plant_export,
    write_plant_statuses,
)
from vsm_core.ingest import SourceFile, import_files
from vsm_core.store import open_store

DEMO = REPO / "data" / "demo"
HOSTILE = "![x](http://e/x.png) <script>alert(1)</script> **bold**"
HOSTILE_NAME = f"Team {HOSTILE}"
HOSTILE_STATUS = f"Awaiting {HOSTILE}"  # 'awaiting': a queue by its name
ESCAPED_PARTS = (r"\!\[x\]", r"\<script\>", r"\*\*bold\*\*")
RAW_PARTS = ("![x]", "<script>", "**bold**")
PLANT = "review-queue"


def shown_escaped(markdown: str, text: str) -> bool:
    """A Markdown element shows ``text`` literally: every Markdown character is escaped and
    nothing of it would render as an image, HTML or bold."""
    return (text in unescaped(markdown) and all(part in markdown for part in ESCAPED_PARTS)
            and not any(part in markdown for part in RAW_PARTS))


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the hand-built export ----------------------------------------------------------------------
# Times are UTC; the week is Monday 2024-03-04 to Sunday 2024-03-10 (Fri 1 is the Friday
# before); the as-of time is Fri 2024-03-08 00:00. H is the hostile queue status.
#
# key  type   path                                                              finish
# T-1  Story  To Do Mon4 00 -> In Progress Mon4 10 -> H Tue5 12 -> Done Wed6 00     Wed6 00
# T-2  Story  To Do Mon4 00 -> In Progress Tue5 00 -> H Wed6 00 -> Done Thu7 00     Thu7 00
# T-3  Bug    To Do Tue5 00 -> In Progress Tue5 06 -> Done Tue5 20                  Tue5 20
# T-4  Story  To Do Wed6 00 -> In Progress Wed6 12 -> H Thu7 00 (still there)       -
# T-5  Epic   To Do Mon4 00 -> In Progress Mon4 12 -> Done Tue5 00 (out of scope)   Tue5 00
# T-6  Story  To Do Fri1 00 -> In Progress Fri1 12 -> Done Mon4 18                  Mon4 18
#
# Delivered in the default scope: T-1, T-2, T-3, T-6 (4 items).
# Lead (h):  T-1 48, T-2 72, T-3 20, T-6 24*3+18 = 90    -> sorted 20, 48, 72, 90
#   median (48+72)/2 = 60 h = 2.5 d; p85 at rank 0.85*3 = 2.55: 72 + 0.55*18 = 81.9 h = 3.41 d
# Cycle (h): T-1 Mon10->Wed00 = 38, T-2 48, T-3 14, T-6 Fri12->Mon18 = 78
#   sorted 14, 38, 48, 78 -> median (38+48)/2 = 43 h = 1.79 d
# Process (In Progress) h: T-1 Mon10->Tue12 = 26, T-2 24, T-3 14, T-6 78 -> 142
# Wait (H) h: T-1 Tue12->Wed00 = 12, T-2 24 -> 36
#   flow efficiency 142 / (142+36) = 0.798 -> 80%; activity ratio 142 / (20+48+72+90 = 230) = 0.617 -> 62%
# Working clock (UTC): only T-6 crosses a weekend: Fri1 00->Mon4 18 = 24 + 18 = 42 h
#   leads 20, 42, 48, 72 -> median 45 h = 1.875 d -> 1.9 d
# Window 2024-03-05..2024-03-06 (finish days): T-1 (Wed6) and T-3 (Tue5) -> 2 items,
#   leads 48, 20 -> median 34 h = 1.42 d
# type=Bug: T-3 alone -> 1 item, lead 20 h = 0.83 d
# Stage H: visited by T-1 (12 h), T-2 (24 h), T-4 (Thu7 00 -> as-of Fri8 00 = 24 h) -> 3 items,
#   median 24 h = 1.0 d, p85 (rank 1.7 of 12, 24, 24) 24 h = 1.0 d; 1 item there now (T-4);
#   days of lead time = (12 + 24) / 4 delivered / 24 = 0.375 d -> 0.4 d
#   T-4 in the drill-down: 1.0 day in H, 1.5 days since it started (Wed6 12 -> Fri8 00 = 36 h)
# Stage In Progress: days of lead time 142 / 4 / 24 = 1.48 d; shares 142/230 = 62%, H 36/230 = 16%
# What-if, H's waiting halved: leads 48-6 = 42, 72-12 = 60, 20, 90 -> median (42+60)/2 = 51 h
#   = 2.125 d (2.1), 9 h = 0.375 d shorter (0.4); p85 60 + 0.55*30 = 76.5 h = 3.19 d (3.2);
#   flow efficiency 142 / (142 + 18) = 0.8875 -> 89%
# Status changes in the file: 3 + 3 + 2 + 2 + 2 + 2 = 14; issues 6 (the epic included).
# Work in process now: T-4 alone (1).

TINY_AS_OF = datetime(2024, 3, 8, tzinfo=UTC)


def moment(day: int, hour: float = 0) -> str:
    when = datetime(2024, 3, day, tzinfo=UTC) + timedelta(hours=hour)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _tiny_issue(key: str, kind: str, path: list[tuple[str, str]], summary: str | None = None) -> dict:
    created = path[0][0]
    changes = [(when, before, after) for (_, before), (when, after) in pairwise(path)]
    current = path[-1][1]
    category = {"To Do": "new", "Done": "done"}.get(current, "indeterminate")
    return jira_issue(key, created, current, changes, category=category,
                      fields={"issuetype": {"name": kind}, "summary": summary or f"Summary of {key}"})


def tiny_issues() -> list[dict]:
    ip, h = "In Progress", HOSTILE_STATUS
    return [
        _tiny_issue("T-1", "Story", [(moment(4), "To Do"), (moment(4, 10), ip), (moment(5, 12), h), (moment(6), "Done")],
                    summary=HOSTILE),
        _tiny_issue("T-2", "Story", [(moment(4), "To Do"), (moment(5), ip), (moment(6), h), (moment(7), "Done")]),
        _tiny_issue("T-3", "Bug", [(moment(5), "To Do"), (moment(5, 6), ip), (moment(5, 20), "Done")]),
        _tiny_issue("T-4", "Story", [(moment(6), "To Do"), (moment(6, 12), ip), (moment(7), h)]),
        _tiny_issue("T-5", "Epic", [(moment(4), "To Do"), (moment(4, 12), ip), (moment(5), "Done")]),
        _tiny_issue("T-6", "Story", [(moment(1), "To Do"), (moment(1, 12), ip), (moment(4, 18), "Done")]),
    ]


def statuses_file(path: Path, categories: dict[str, str]) -> Path:
    """A Jira status list companion (``/rest/api/2/status``) naming each status's category."""
    path.write_text(json.dumps([{"id": str(10000 + n), "name": name, "statusCategory": {"key": key}}
                                for n, (name, key) in enumerate(categories.items())]))
    return path


# -- the store every test reads -------------------------------------------------------------------


@dataclass
class Expected:
    """A dataset in the store and what the test works out from its export."""

    dataset: str
    name: str
    issues: int
    status_changes: int
    as_of: datetime
    flow: Workflow | None
    items: list[Item]


def _workflow(categories: dict[str, str], cancelled=()) -> Workflow:
    return Workflow(backlog=frozenset(s for s, c in categories.items() if c == "new"),
                    done=frozenset(s for s, c in categories.items() if c == "done"),
                    cancelled=frozenset(cancelled),
                    wait=frozenset(s for s, c in categories.items() if c == "indeterminate" and wait_by_name(s)))


def _expected(store, result, issues, flow: Workflow, as_of: datetime | None = None) -> Expected:
    as_of = as_of or as_of_of(issues)
    return Expected(result.dataset, store.get(result.dataset).name, len(issues), sum(len(i.changes) for i in issues),
                    as_of, flow, items_of(issues, as_of, flow))


@pytest.fixture(scope="module")
def page_store(tmp_path_factory):
    """One store for the module, named by $VSM_STORE as the server reads it."""
    base = tmp_path_factory.mktemp("pages")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VSM_STORE", str(base / "store"))
        yield open_store(base / "store"), base
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def sets(page_store) -> dict[str, Expected]:
    """The demo, the hand-built export and a planted one, with what the tests expect of them."""
    from vsm_app.context import DEMO_FILES, DEMO_NAME

    store, base = page_store
    sets: dict[str, Expected] = {}
    # The demo, imported as the app does on its first run (then found, not imported again).
    demo_result = import_files(store, [SourceFile(DEMO / n, n) for n in DEMO_FILES], name=DEMO_NAME)
    store.mark_demo(demo_result.dataset)
    demo_statuses = {s["name"]: s["statusCategory"]["key"] for s in json.loads((DEMO / "demo-statuses.json").read_text())}
    sets["demo"] = _expected(store, demo_result, read_jira_json(DEMO / "demo-jira-export.json.gz"),
                             _workflow(demo_statuses, cancelled=("Won't Do",)))

    tiny_categories = {"To Do": "new", "In Progress": "indeterminate", HOSTILE_STATUS: "indeterminate", "Done": "done"}
    export = write_search(base / "tiny.json", tiny_issues())
    companion = statuses_file(base / "tiny-statuses.json", tiny_categories)
    result = import_files(store, [SourceFile(export, export.name), SourceFile(companion, companion.name)],
                          name=HOSTILE_NAME, as_of=TINY_AS_OF)
    sets["tiny"] = _expected(store, result, read_jira_json(export), _workflow(tiny_categories), TINY_AS_OF)

    planted = plant(PLANT)
    export = write_plant_export(planted, base / "planted.json", seed=3)
    companion = write_plant_statuses(planted, base / "planted-statuses.json")
    result = import_files(store, [SourceFile(export, export.name), SourceFile(companion, companion.name)],
                          name="Payments (planted review queue)", as_of=plant_as_of(planted))
    categories = {s["name"]: s["statusCategory"]["key"] for s in json.loads(companion.read_text())}
    sets[PLANT] = _expected(store, result, read_jira_json(export), _workflow(categories), plant_as_of(planted))
    return sets


@pytest.fixture(scope="module")
def real_sets(page_store) -> dict[str, Expected]:
    """The real public exports imported into the same store (skips when they are absent)."""
    if not REAL.exists():
        pytest.skip("the shared real exports are not beside this checkout")
    store, _ = page_store
    sets: dict[str, Expected] = {}
    files = [REAL / "jirametrics_sample_search_6issues.json", REAL / "jirametrics_sample_statuses.json",
             REAL / "jirametrics_sample_board_configuration.json"]
    result = import_files(store, [SourceFile(p, p.name) for p in files], name="jirametrics sample")
    categories = {s["name"]: s["statusCategory"]["key"] for entry in json.loads(files[1].read_text())
                  for s in entry["statuses"]}
    sets["jirametrics"] = _expected(store, result, read_jira_json(files[0]), _workflow(categories))

    puppet = REAL / "puppet_public_perceval_5issues.json"
    result = import_files(store, [SourceFile(puppet, puppet.name)], name="Puppet public Jira")
    # No status list: Resolved is done (issues in it carry the done category), Open is new.
    sets["puppet"] = _expected(store, result, read_jira_json(puppet),
                               Workflow(backlog=frozenset({"Open"}), done=frozenset({"Resolved"})))

    csv_path = REAL / "rueedlinger_agile_project_4123tasks.csv"
    result = import_files(store, [SourceFile(csv_path, csv_path.name)], name="rueedlinger tasks")
    sets["rueedlinger"] = Expected(result.dataset, "rueedlinger tasks", result.issues, 0, datetime.min, None, [])
    return sets


@pytest.fixture(autouse=True)
def fresh_caches(sets):
    """Streamlit's caches outlive an AppTest run; every test starts from a cold server."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def page(name: str, expected: Expected | None = None, **params):
    """Run page ``name`` on ``expected``'s dataset with ``params`` (``from_`` for ``from``)."""
    query = {key.rstrip("_"): value for key, value in params.items()}
    if expected is not None:
        query["dataset"] = expected.dataset
    at = run_page(name, query)
    assert not at.exception, [e.message for e in at.exception]
    return at


def main_captions(at) -> list[str]:
    return [unescaped(c.value) for c in at.main.caption]


def assert_view_caption(at, expected: Expected, clock_words: str = "calendar time (every day counts)") -> None:
    """The page names its dataset, data version, as-of time (UTC) and clock in words."""
    wanted = [expected.name, "data version 1", f"as of {stamp(expected.as_of)} (UTC)", clock_words]
    assert any(all(part in caption for part in wanted) for caption in main_captions(at)), main_captions(at)


def chart_data(at, title_start: str):
    """The rows behind the chart whose title starts with ``title_start``."""
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title", {})
        text = title.get("text", "") if isinstance(title, dict) else str(title)
        if text.startswith(title_start):
            return pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_pandas()
    raise AssertionError(f"no chart titled {title_start!r}")


def days(values) -> list[float]:
    return [v / 24 for v in values]


# -- Overview -------------------------------------------------------------------------------------


def test_overview_of_the_demo_counts_the_export_and_its_flow(sets):
    demo = sets["demo"]
    at = page("overview", demo)
    assert titles(at) == ["Demo team (simulated)"]
    assert_view_caption(at, demo)
    shown = metrics(at)
    first_created = min(i.issue.created for i in demo.items)
    assert shown["Issues"] == f"{demo.issues:,}" == "3,000"
    assert shown["Status changes"] == f"{demo.status_changes:,}"
    assert shown["Created from"] == first_created.date().isoformat()
    assert shown["As of"] == demo.as_of.date().isoformat()
    done = delivered(demo.items)
    lead = days(lead_hours(i) for i in done)
    assert shown["Delivered"] == f"{len(done):,}"
    assert close_to(shown["Lead time, median"], median(lead))
    assert close_to(shown["Lead time, p85"], percentile(lead, 85))
    in_process = [i for i in demo.items if in_scope(i) and i.finished_at is None and i.committed_at is not None]
    assert shown["Work in process now"] == f"{len(in_process):,}"


def test_overview_of_the_hand_built_export(sets):
    tiny = sets["tiny"]
    at = page("overview", tiny)
    # The dataset's name comes from a user: shown as typed, nothing of it rendered.
    assert len(at.title) == 1 and shown_escaped(at.title[0].value, HOSTILE_NAME)
    assert_view_caption(at, tiny)
    shown = metrics(at)
    assert (shown["Issues"], shown["Status changes"]) == ("6", "14")
    assert (shown["Created from"], shown["As of"]) == ("2024-03-01", "2024-03-08")
    assert shown["Delivered"] == "4"
    assert shown["Lead time, median"] == "2.5 d"  # (48 + 72) / 2 = 60 h
    assert shown["Lead time, p85"] == "3.4 d"  # 72 + 0.55 * 18 = 81.9 h
    assert shown["Flow efficiency"] == "80%"  # 142 / 178
    assert shown["Work in process now"] == "1"  # T-4
    assert "Too few delivered items (4) to name a bottleneck" in subheaders(at)
    # The time-per-status table covers the whole file (the epic too), on the calendar clock.
    table = at.dataframe[0].value.set_index("status")
    assert table.loc[HOSTILE_STATUS, "items"] == 3 and table.loc[HOSTILE_STATUS, "visits"] == 3
    assert table.loc[HOSTILE_STATUS, "total_days"] == pytest.approx((12 + 24 + 24) / 24)
    # In Progress: T-1 26 h, T-2 24, T-3 14, T-4 12, T-5 12, T-6 78 -> 166 h over 6 items
    assert table.loc["In Progress", "items"] == 6
    assert table.loc["In Progress", "total_days"] == pytest.approx(166 / 24)
    assert table.loc["In Progress", "median_days"] == pytest.approx(((14 + 24) / 2) / 24)  # 12,12,14,24,26,78


def test_overview_of_the_jirametrics_export(sets, real_sets):
    jm = real_sets["jirametrics"]
    at = page("overview", jm)
    assert titles(at) == ["jirametrics sample"]
    assert_view_caption(at, jm)
    shown = metrics(at)
    assert (shown["Issues"], shown["Status changes"]) == ("6", "15")
    assert shown["As of"] == "2021-12-14"
    # SP-5 alone is done: created 2021-06-18T18:41:58.333, final entry into Done 2021-10-11T12:49:07.261.
    sp5 = hours(datetime(2021, 6, 18, 18, 41, 58, 333000, tzinfo=UTC), datetime(2021, 10, 11, 12, 49, 7, 261000, tzinfo=UTC))
    assert shown["Delivered"] == "1"
    assert close_to(shown["Lead time, median"], sp5 / 24)


def test_overview_of_a_csv_without_history_says_what_it_cannot_show(sets, real_sets):
    csv = real_sets["rueedlinger"]
    at = page("overview", csv)
    shown = metrics(at)
    rows = read_item_dates_csv(REAL / "rueedlinger_agile_project_4123tasks.csv")
    assert shown["Issues"] == f"{len(rows):,}" == "4,123"
    assert shown["Created from"] == min(r["created_date"] for r in rows)
    assert shown["As of"] == max(max(r["created_date"], r["finished_date"]) for r in rows)
    assert any("no status history" in w.value for w in at.warning)


# -- Stream map -----------------------------------------------------------------------------------


def _stream_map_figures(expected: Expected, **scope):
    clock, tz = scope.pop("clock", "calendar"), scope.pop("tz", "UTC")
    done = delivered(expected.items, tz=tz, **scope)
    lead = days(lead_hours(i, clock, tz) for i in done)
    cycle = days(c for i in done if (c := cycle_hours(i, clock, tz)) is not None)
    return done, lead, cycle


DEMO_ORDER = {s: n for n, s in enumerate(("Backlog", "Ready for Dev", "In Progress", "Ready for Review", "In Review",
                                         "Ready for QA", "In QA", "Ready for Release", "Done", "Won't Do"))}
DEMO_SIDE = ("Blocked",)  # the board's order; Blocked is a side state


def drill_heading(at) -> str:
    """The heading of the stage drill-down, as Markdown."""
    return next(s.value for s in at.subheader if "there now" in s.value)


def test_stream_map_of_the_demo_shows_the_key_figures(sets):
    demo = sets["demo"]
    at = page("stream_map", demo, stage="In Progress")
    done, lead, cycle = _stream_map_figures(demo)
    split = [process_and_wait(i, demo.flow) for i in done]
    process, wait = sum(p for p, _ in split), sum(w for _, w in split)
    efficiency = process / (process + wait)
    scoped = [i for i in demo.items if in_scope(i)]
    active = ("In Progress", "In Review", "In QA")
    per_stage = {s: complete_and_accurate(scoped, s, DEMO_ORDER, DEMO_SIDE) for s in active}
    shown = metrics(at)
    assert shown["Delivered"] == f"{len(done):,}"
    assert close_to(shown["Lead time, median"], median(lead))
    assert close_to(shown["Cycle time, median"], median(cycle))
    assert close_to(shown["Flow efficiency"], efficiency * 100, 0)
    assert close_to(shown["Activity ratio"], process / sum(lead_hours(i) for i in done) * 100, 0)
    assert close_to(shown["Rolled %C&A"], per_stage["In Progress"] * per_stage["In Review"] * per_stage["In QA"] * 100, 0)
    assert titles(at) == [(f"Value stream: lead time {shown['Lead time, median']} at the median, "
                           f"flow efficiency {shown['Flow efficiency']}")]
    assert_view_caption(at, demo)
    # The stage the link names is the one looked into.
    now = [i for i in scoped if i.finished_at is None and i.visits[-1][0] == "In Progress"]
    assert unescaped(drill_heading(at)) == f"In Progress (process step): {len(now):,} items there now"
    visited = [i for i in scoped if any(v[0] == "In Progress" for v in i.visits)]
    there = days(status_hours(i, "In Progress", until_finish=False) for i in visited)
    assert shown["Items that visited"] == f"{len(visited):,}"
    assert close_to(shown["Median time there"], median(there))
    assert close_to(shown["p85 time there"], percentile(there, 85))
    in_progress = sum(status_hours(i, "In Progress") for i in done)
    share = next(m for m in at.metric if m.label == "Share of lead time")
    assert close_to(share.value, in_progress / sum(flow_hours(i, demo.flow) for i in done) * 100, 0)
    assert close_to(share.proto.help, in_progress / len(done) / 24)  # days of lead time per delivered item
    assert close_to(shown["%C&A"], per_stage["In Progress"] * 100, 0)
    table = at.dataframe[0].value
    assert sorted(table["key"]) == sorted(i.key for i in now)


def test_stream_map_type_filter_counts_only_bugs(sets):
    demo = sets["demo"]
    at = page("stream_map", demo, type="Bug")
    bugs, lead, _ = _stream_map_figures(demo, types=["Bug"])
    everything, all_lead, _ = _stream_map_figures(demo)
    shown = metrics(at)
    assert shown["Delivered"] == f"{len(bugs):,}" != f"{len(everything):,}"
    assert close_to(shown["Lead time, median"], median(lead)) and not close_to(shown["Lead time, median"], median(all_lead))
    assert any("types Bug" in c for c in main_captions(at))


def test_stream_map_date_window_counts_items_finished_in_it(sets):
    demo = sets["demo"]
    at = page("stream_map", demo, from_="2026-01-01", to="2026-03-31")
    window, lead, cycle = _stream_map_figures(demo, start=date(2026, 1, 1), end=date(2026, 3, 31))
    shown = metrics(at)
    assert shown["Delivered"] == f"{len(window):,}"
    assert 0 < len(window) < len(delivered(demo.items))
    assert close_to(shown["Lead time, median"], median(lead))
    assert close_to(shown["Cycle time, median"], median(cycle))
    assert any("2026-01-01 to 2026-03-31" in c for c in main_captions(at))


def test_stream_map_working_clock_takes_the_weekends_out(sets):
    demo = sets["demo"]
    at = page("stream_map", demo, clock="working", tz="Europe/Madrid")
    done, calendar_lead, _ = _stream_map_figures(demo)
    _, working_lead, working_cycle = _stream_map_figures(demo, clock="working", tz="Europe/Madrid")
    weekend_share = 1 - sum(working_lead) / sum(calendar_lead)
    assert 0.2 < weekend_share < 0.35  # about 2 days in 7 of every lead time
    shown = metrics(at)
    assert shown["Delivered"] == f"{len(done):,}"  # the clock changes times, not counts
    assert close_to(shown["Lead time, median"], median(working_lead))
    assert not close_to(shown["Lead time, median"], median(calendar_lead))
    assert close_to(shown["Cycle time, median"], median(working_cycle))
    assert_view_caption(at, demo, "working time (weekends removed, Europe/Madrid)")


def test_stream_map_of_the_hand_built_export_with_a_hostile_stage(sets):
    tiny = sets["tiny"]
    at = page("stream_map", tiny, stage=HOSTILE_STATUS)
    shown = metrics(at)
    assert shown["Delivered"] == "4"
    assert shown["Lead time, median"] == "2.5 d"  # 60 h
    assert shown["Cycle time, median"] == "1.8 d"  # 43 h
    assert shown["Flow efficiency"] == "80%"  # 142 / 178
    assert shown["Activity ratio"] == "62%"  # 142 / 230
    assert shown["Rolled %C&A"] == "100%"  # nothing went back
    assert titles(at) == ["Value stream: lead time 2.5 d at the median, flow efficiency 80%"]
    # The stage named in the link is the one looked into; its name is shown literally.
    heading = drill_heading(at)
    assert shown_escaped(heading, HOSTILE_STATUS) and unescaped(heading) == f"{HOSTILE_STATUS} (queue): 1 item there now"
    assert shown["Items that visited"] == "3"  # T-1, T-2, T-4
    assert shown["Median time there"] == "1.0 d"  # 12, 24, 24 h
    assert shown["p85 time there"] == "1.0 d"
    share = next(m for m in at.metric if m.label == "Share of lead time")
    assert (share.value, share.proto.help) == ("16%", "0.4 d per delivered item, on average")  # 36/230; 36 h / 4
    assert shown["Oldest there now"] == "1.0 d"  # T-4: Thu7 00 -> Fri8 00
    table = at.dataframe[0].value
    assert list(table["key"]) == ["T-4"]
    assert table["stage_age_hours"].iloc[0] == pytest.approx(1.0)  # Thu7 00 -> Fri8 00, in days
    assert table["age_hours"].iloc[0] == pytest.approx(1.5)  # Wed6 12 -> Fri8 00, in days
    view_captions = [c.value for c in at.main.caption if "data version" in c.value]
    assert view_captions and all(shown_escaped(c, HOSTILE_NAME) for c in view_captions)


@pytest.mark.parametrize("params, expected_figures", [
    pytest.param({"type": "Bug"}, ("1", "0.8 d"), id="bugs"),  # T-3: 20 h
    pytest.param({"from_": "2024-03-05", "to": "2024-03-06"}, ("2", "1.4 d"), id="window"),  # T-1, T-3: (48+20)/2 = 34 h
    pytest.param({"clock": "working"}, ("4", "1.9 d"), id="working-clock"),  # 20, 42, 48, 72 -> 45 h
    pytest.param({"all_types": "true"}, ("5", "2.0 d"), id="all-types"),  # + the epic, 24 h: 20, 24, 48, 72, 90
    pytest.param({"all_types": "1"}, ("5", "2.0 d"), id="all-types-1"),  # as links written before said it
])
def test_filters_change_the_hand_built_figures(sets, params, expected_figures):
    shown = metrics(page("stream_map", sets["tiny"], **params))
    assert (shown["Delivered"], shown["Lead time, median"]) == expected_figures


def test_stream_map_of_the_puppet_export(sets, real_sets):
    puppet = real_sets["puppet"]
    at = page("stream_map", puppet, stage="Ready for Merge")
    done, lead, _ = _stream_map_figures(puppet)
    assert [i.key for i in done] == ["PUP-6159"]
    shown = metrics(at)
    assert shown["Delivered"] == "1"
    assert close_to(shown["Lead time, median"], lead[0])  # 2016-04-12T03:07:56-0700 -> 2016-05-26T16:37:39-0700
    now = sorted(i.key for i in puppet.items if i.finished_at is None and i.visits[-1][0] == "Ready for Merge")
    assert now == ["PUP-6295", "PUP-6545", "PUP-6551"]
    assert unescaped(drill_heading(at)) == "Ready for Merge (queue): 3 items there now"
    assert sorted(at.dataframe[0].value["key"]) == now


def test_stream_map_of_the_jirametrics_board_columns(sets, real_sets):
    jm = real_sets["jirametrics"]
    at = page("stream_map", jm, stage="Ready")
    # The board's Ready column holds Selected for Development: SP-2, SP-7, SP-11 are there now.
    now = sorted(i.key for i in jm.items if i.visits[-1][0] == "Selected for Development")
    assert now == ["SP-11", "SP-2", "SP-7"]
    assert unescaped(drill_heading(at)) == "Ready (queue): 3 items there now"
    assert metrics(at)["Delivered"] == "1"


def test_stream_map_of_the_csv_lead_time_from_created_and_finished(sets, real_sets):
    csv = real_sets["rueedlinger"]
    at = page("stream_map", csv)
    rows = read_item_dates_csv(REAL / "rueedlinger_agile_project_4123tasks.csv")
    # Open at created, Done at finished; a row finishing before it starts has a zero lead time.
    lead = [max(0, (date.fromisoformat(r["finished_date"]) - date.fromisoformat(r["created_date"])).days) for r in rows]
    shown = metrics(at)
    assert shown["Delivered"] == f"{len(rows):,}"
    assert close_to(shown["Lead time, median"], median(lead))
    assert shown["Cycle time, median"] == "n/a"  # from the backlog straight to done: no cycle time


# -- Bottlenecks ----------------------------------------------------------------------------------


def _stage_days(expected: Expected) -> dict[str, float]:
    """Mean days per delivered item in each committed status (each is its own stage here)."""
    done = delivered(expected.items)
    committed = {s for i in done for s, _, _ in i.visits} - expected.flow.backlog - expected.flow.done
    return {s: sum(status_hours(i, s) for i in done) / len(done) / 24 for s in committed}


def test_bottlenecks_ranks_the_planted_review_queue_first(sets):
    planted = sets[PLANT]
    at = page("bottlenecks", planted)
    stage_days = _stage_days(planted)
    worst = max(stage_days, key=stage_days.get)
    assert worst == plant(PLANT).expected_bottleneck_stage
    done = delivered(planted.items)
    share = sum(status_hours(i, worst) for i in done) / sum(flow_hours(i, planted.flow) for i in done)
    assert titles(at) == [f"{worst} costs {share:.0%} of lead time"]
    ranking = at.dataframe[0].value
    assert ranking.iloc[0]["stage"] == worst and ranking.iloc[0]["rank"] == 1
    assert dict(zip(ranking["stage"], ranking["days_of_lead_time"])) == pytest.approx(stage_days, abs=1e-6)
    assert_view_caption(at, planted)


def test_bottlenecks_of_the_demo_in_ranked_order(sets):
    demo = sets["demo"]
    at = page("bottlenecks", demo)
    done = delivered(demo.items)
    committed = {s for i in done for s, _, _ in i.visits} - demo.flow.backlog - demo.flow.done
    stage_days = {s: sum(status_hours(i, s) for i in done) / len(done) / 24 for s in committed}
    ranking = at.dataframe[0].value
    assert list(ranking["stage"]) == sorted(stage_days, key=stage_days.get, reverse=True)
    assert dict(zip(ranking["stage"], ranking["days_of_lead_time"])) == pytest.approx(stage_days, abs=1e-6)
    top = ranking.iloc[0]["stage"]
    share = stage_days[top] * 24 * len(done) / sum(flow_hours(i, demo.flow) for i in done)
    assert titles(at) == [f"{top} costs {share:.0%} of lead time"]


def test_bottlenecks_of_the_hand_built_export_show_stage_names_as_typed(sets):
    at = page("bottlenecks", sets["tiny"])
    assert titles(at) == ["Too few delivered items (4) to name a bottleneck"]
    ranking = at.dataframe[0].value.set_index("stage")
    assert list(ranking.index) == ["In Progress", HOSTILE_STATUS]  # raw text in a data frame
    assert ranking.loc["In Progress", "days_of_lead_time"] == pytest.approx(142 / 4 / 24)
    assert ranking.loc[HOSTILE_STATUS, "days_of_lead_time"] == pytest.approx(36 / 4 / 24)
    assert ranking.loc["In Progress", "share_pct"] == pytest.approx(142 / 230 * 100)
    assert ranking.loc[HOSTILE_STATUS, "share_pct"] == pytest.approx(36 / 230 * 100)
    for element in [*at.title, *at.subheader, *at.main.caption, *at.markdown]:
        assert "<script>" not in element.value and "![x](" not in element.value


# -- Changes --------------------------------------------------------------------------------------


def test_changes_what_if_on_the_hand_built_queue(sets):
    tiny = sets["tiny"]
    at = page("changes", tiny)
    # No change fires on four items: the plan starts on the first ranked stage, In Progress, with its
    # waiting halved; In Progress has no waiting (nothing flagged), so nothing changes.
    assert "In Progress: no visible change in lead time" in subheaders(at)
    projected = {m.label: (m.value, m.proto.help) for m in at.metric}
    assert projected["Lead time, median (days)"] == ("2.5", "today: 2.5")
    # The plan's rows are the ranked stages: In Progress, then H. Halve H's waiting instead.
    at.session_state[f"whatif-{tiny.dataset}-1"] = {"edited_rows": {0: {"wait": 0}, 1: {"wait": 50}},
                                                     "added_rows": [], "deleted_rows": []}
    next(b for b in at.button if b.label == "Project lead time").click()
    at.run()
    assert not at.exception
    heading = next(s.value for s in at.subheader if "lead time" in s.value)
    assert shown_escaped(heading, HOSTILE_STATUS)
    assert unescaped(heading) == f"{HOSTILE_STATUS}: lead time 0.4 days shorter at the median"  # 60 - 51 = 9 h
    projected = {m.label: (m.value, m.proto.help) for m in at.metric}
    assert projected["Lead time, median (days)"] == ("2.1", "today: 2.5")  # 51 h vs 60 h
    assert projected["Lead time, p85 (days)"] == ("3.2", "today: 3.4")  # 76.5 h vs 81.9 h
    assert projected["Flow efficiency"] == ("89%", "today: 80%")  # 142/160 vs 142/178
    assert any(HOSTILE_STATUS in line for line in texts(at))  # the assumptions, as plain text


def test_changes_default_what_if_halves_the_top_queue_of_the_demo(sets):
    demo = sets["demo"]
    at = page("changes", demo)
    heading = next(unescaped(s.value) for s in at.subheader if ": lead time" in s.value)
    stage = heading.split(": lead time")[0]
    assert demo.flow.wait >= {stage}  # the top change is a queue's
    done = delivered(demo.items)
    today = [lead_hours(i) / 24 for i in done]
    projected = [(lead_hours(i) - 0.5 * status_hours(i, stage)) / 24 for i in done]
    saved = median(today) - median(projected)
    assert close_to(heading.split("lead time ")[1], saved)
    shown = {m.label: (m.value, m.proto.help) for m in at.metric}
    assert close_to(shown["Lead time, median (days)"][0], median(projected))
    assert close_to(shown["Lead time, median (days)"][1], median(today))
    assert_view_caption(at, demo)


# -- Flow -----------------------------------------------------------------------------------------


def test_flow_of_the_demo_lead_time_and_weekly_throughput(sets):
    demo = sets["demo"]
    at = page("flow", demo)
    done, lead, _ = _stream_map_figures(demo)
    title = titles(at)[0]
    assert title == (f"Half of the items are delivered within {median(lead):.1f} days of creation, "
                     f"85% within {percentile(lead, 85):.1f}")
    weekly = chart_data(at, "A median")
    per_week = Counter((i.finished_at.date() - timedelta(days=i.finished_at.weekday())) for i in done)
    shown = weekly[(weekly["what"] == "delivered") & (weekly["items"] > 0)]
    assert {w.date(): n for w, n in zip(shown["week"], shown["items"])} == dict(per_week)
    cancelled = [i for i in demo.items if in_scope(i) and i.finished_at is not None and not i.delivered]
    assert weekly.loc[weekly["what"] == "cancelled", "items"].sum() == len(cancelled)
    assert_view_caption(at, demo)


def test_flow_of_the_hand_built_export(sets):
    at = page("flow", sets["tiny"])
    # 60 h = 2.5 d and 81.9 h = 3.41 d
    assert titles(at) == ["Half of the items are delivered within 2.5 days of creation, 85% within 3.4"]
    weekly = chart_data(at, "A median")
    delivered_weeks = weekly[(weekly["what"] == "delivered") & (weekly["items"] > 0)]
    # Weeks start on Monday: T-1, T-2, T-3, T-6 all finish in the week of Mon 2024-03-04.
    assert [(w.date(), n) for w, n in zip(delivered_weeks["week"], delivered_weeks["items"])] == [(date(2024, 3, 4), 4)]


def test_flow_type_filter_on_the_demo(sets):
    demo = sets["demo"]
    at = page("flow", demo, type="Story")
    _, lead, _ = _stream_map_figures(demo, types=["Story"])
    assert titles(at) == [(f"Half of the items are delivered within {median(lead):.1f} days of creation, "
                           f"85% within {percentile(lead, 85):.1f}")]


# -- Upload and Datasets --------------------------------------------------------------------------


def test_upload_page_imports_a_file_and_names_it(sets, tmp_path):
    at = page("upload", sets["tiny"])
    assert titles(at) == ["Bring your own Jira data"]
    body = json.dumps({"issues": tiny_issues()[:3]}).encode()
    at.file_uploader(key="uploads").set_value([("three.json", body, "application/json")])
    next(t for t in at.text_input if t.label == "Dataset name").set_value("Three items")
    next(b for b in at.button if b.label == "Import").click()
    at.run()
    assert not at.exception
    # T-1..T-3: 3 issues, 3 + 3 + 2 status changes
    assert any(unescaped(s.value) == "Imported 3 issues and 8 status changes as “Three items”." for s in at.success)


def test_datasets_page_lists_every_dataset_with_its_counts(sets, page_store):
    # The list shows the datasets this browser may edit: it holds every dataset's edit key.
    store, _ = page_store
    keys = {expected.dataset: store.new_edit_key(expected.dataset) for expected in sets.values()}
    at = run_page("datasets", {"dataset": sets["tiny"].dataset}, edit_keys=keys)
    assert not at.exception
    assert titles(at) == ["Datasets"]
    listed = at.dataframe[0].value.set_index("dataset")
    for expected in sets.values():
        row = listed.loc[expected.dataset]
        assert (row["name"], row["issues"], row["status_changes"]) == (expected.name, expected.issues, expected.status_changes)
        assert row["as_of"] == stamp(expected.as_of)
    assert listed.loc[sets["tiny"].dataset, "name"] == HOSTILE_NAME  # raw in a data frame
    heading = next(s.value for s in at.subheader if s.value.startswith("Data-quality findings"))
    assert shown_escaped(heading, HOSTILE_NAME)


def test_datasets_page_lists_the_findings_issue_by_issue(sets, real_sets):
    for name in ("puppet", "jirametrics"):
        expected = real_sets[name]
        at = page("datasets", expected)
        reopened = {i.key for i in expected.items
                    if any(before in expected.flow.done and after not in expected.flow.done
                           for _, _, before, after in i.issue.changes)}
        assert reopened == ({"PUP-3483"} if name == "puppet" else {"SP-5"})
        findings = at.dataframe[1].value
        assert reopened <= set(findings["key"].dropna())
        assert_view_caption(at, expected)


# -- links with values the product cannot use -----------------------------------------------------


@pytest.mark.parametrize("page_name", ["overview", "stream_map", "bottlenecks", "flow", "changes", "datasets"])
def test_unknown_dataset_in_a_link_says_so_and_shows_the_demo(sets, page_name):
    at = page(page_name, dataset="unknownid")
    said = notices(at)
    assert len(said) == 1 and "dataset" in said[0] and "demo" in said[0], said
    assert at.title and any(sets["demo"].name in c for c in main_captions(at))


def test_unknown_dataset_in_a_link_is_one_sentence(sets):
    said = notices(page("stream_map", dataset="unknownid"))
    assert len(said) == 1 and one_sentence(said[0]), said


@pytest.mark.parametrize("params, about", [
    pytest.param({"from_": "not-a-date"}, "date", id="start-date"),
    pytest.param({"type": "Spaceship"}, "Spaceship", id="unknown-type"),
    pytest.param({"tz": "Mars/Olympus_Mons"}, "Mars/Olympus_Mons", id="unknown-zone"),
    pytest.param({"clock": "sideways"}, "sideways", id="unknown-clock"),
    pytest.param({"v": "99"}, "99", id="unknown-version"),
    pytest.param({"map": "not-a-map"}, "stage map", id="bad-map-id"),
])
def test_a_bad_link_value_is_left_out_with_one_sentence(sets, params, about):
    demo = sets["demo"]
    at = page("stream_map", demo, **params)
    said = notices(at)
    assert len(said) == 1 and one_sentence(said[0]) and about in said[0], said
    done, lead, _ = _stream_map_figures(demo)
    shown = metrics(at)
    assert shown["Delivered"] == f"{len(done):,}" and close_to(shown["Lead time, median"], median(lead))


def test_a_window_that_ends_before_it_starts_is_swapped(sets):
    demo = sets["demo"]
    at = page("stream_map", demo, from_="2026-01-01", to="2025-01-01")
    said = notices(at)
    assert len(said) == 1 and one_sentence(said[0]) and "swapped" in said[0], said
    window, lead, _ = _stream_map_figures(demo, start=date(2025, 1, 1), end=date(2026, 1, 1))
    shown = metrics(at)
    assert shown["Delivered"] == f"{len(window):,}" and close_to(shown["Lead time, median"], median(lead))


# -- the real exports on the decision and flow pages --------------------------------------------

# The board of the jirametrics sample names its columns; each holds one status.
JIRAMETRICS_COLUMNS = {"Backlog": "Backlog", "Ready": "Selected for Development", "In Progress": "In Progress",
                       "Review": "Review", "Done": "Done"}


@pytest.mark.parametrize("name", ["jirametrics", "puppet"])
def test_decision_and_flow_pages_of_the_real_json_exports(sets, real_sets, name):
    expected = real_sets[name]
    (item,) = delivered(expected.items)  # SP-5 and PUP-6159: one delivered item each
    lead = lead_hours(item) / 24

    flow = page("flow", expected)
    assert titles(flow) == [f"Half of the items are delivered within {lead:.1f} days of creation, 85% within {lead:.1f}"]
    assert_view_caption(flow, expected)

    bottlenecks = page("bottlenecks", expected)
    assert titles(bottlenecks) == ["Too few delivered items (1) to name a bottleneck"]

    changes = page("changes", expected)
    heading = next(unescaped(s.value) for s in changes.subheader if ": lead time" in s.value)
    stage = heading.split(": lead time")[0]
    status = JIRAMETRICS_COLUMNS.get(stage, stage) if name == "jirametrics" else stage
    assert status in expected.flow.wait or wait_by_name(status)  # a queue's waiting halved
    assert close_to(heading.split("lead time ")[1], 0.5 * status_hours(item, status) / 24)


def test_decision_and_flow_pages_of_the_csv(sets, real_sets):
    csv = real_sets["rueedlinger"]
    rows = read_item_dates_csv(REAL / "rueedlinger_agile_project_4123tasks.csv")
    lead = [max(0, (date.fromisoformat(r["finished_date"]) - date.fromisoformat(r["created_date"])).days) for r in rows]

    flow = page("flow", csv)
    assert titles(flow) == [(f"Half of the items are delivered within {median(lead):.1f} days of creation, "
                             f"85% within {percentile(lead, 85):.1f}")]
    # Every item waited in Open until it was done: its time before anyone starts is its lead time.
    bottlenecks = page("bottlenecks", csv)
    assert f"Before anyone starts, items wait a median {median(lead):.1f} days in Open" in " ".join(texts(bottlenecks))

    changes = page("changes", csv)
    assert "This dataset has no committed stage to change." in [i.value for i in changes.info]
