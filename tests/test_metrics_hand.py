"""The flow measures against figures worked out by hand on small timelines.

Every case is a real Jira JSON search export (built with ``conftest.jira_issue``) imported
into a fresh store with a fixed as-of time, read through a hand-made stage map saved with the
dataset, so the expected values depend only on the field guide's definitions (sections 2, 2a
and 3) and the decisions written in ``vsm_core/metrics/__init__.py``. The arithmetic sits in a
comment beside each expected value. The last tests read the real exports in
``../shared/data/real/`` with the inferred stage map.

Unless a case says otherwise, times are UTC and the week is Monday 2024-03-04 to Sunday
2024-03-10; "Mon 10" means 2024-03-04 10:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pandas as pd
import pytest
from conftest import jira_issue, write_search

from vsm_core.ingest import SourceFile, import_files
from vsm_core.metrics import Clock, Filters, measures, open_flow
from vsm_core.stagemap import Stage, StageMap, save_stage_map

FRIDAY_MIDNIGHT = datetime(2024, 3, 8, tzinfo=UTC)  # the default as-of: Fri 2024-03-08 00:00

# The value stream of every synthetic case, in map order.
STAGE_MAP = StageMap((
    Stage("To Do", ("To Do",), "backlog", 0),
    Stage("In Progress", ("In Progress",), "active", 1),
    Stage("Ready for Review", ("Ready for Review",), "wait", 2),
    Stage("In Review", ("In Review",), "active", 3),
    Stage("Blocked", ("Blocked",), "wait", 4, side=True),
    Stage("Done", ("Done",), "done", 5),
    Stage("Won't Do", ("Won't Do",), "done", 6, cancelled=True),
))
DONE_STATUSES = {"Done", "Won't Do"}


# -- building exports -------------------------------------------------------------------------

def at(day: int, hour: float, *, month: int = 3) -> str:
    """A Jira timestamp on 2024-<month>-<day> at ``hour`` UTC (fractions are minutes)."""
    moment = datetime(2024, month, day, tzinfo=UTC) + timedelta(hours=hour)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def story(key: str, path: list[tuple[str, str]], *, extra=(), issue_type: str = "Story", labels=()) -> dict:
    """An issue that walks ``path``: [(created, initial status), (time, next status), ...].

    ``extra`` holds (time, changelog item) pairs for assignee and Flagged changes; each
    becomes a history of its own, after the status histories in id order."""
    created = path[0][0]
    changes = [(time, before, after) for (_, before), (time, after) in pairwise(path)]
    current = path[-1][1]
    category = "done" if current in DONE_STATUSES else ("new" if current == "To Do" else "indeterminate")
    issue = jira_issue(key, created, current, changes, category=category,
                       fields={"issuetype": {"name": issue_type}, "labels": list(labels)})
    histories = issue["changelog"]["histories"]
    for n, (time, item) in enumerate(extra):
        histories.append({"id": str(5000 + n), "created": time, "author": {"displayName": "Dev"}, "items": [item]})
    issue["changelog"]["total"] = issue["changelog"]["maxResults"] = len(histories)
    return issue


def assignee(before: str | None, after: str | None) -> dict:
    """An assignee change item, as Jira writes it (account ids in from/to, names in the strings)."""
    return {"field": "assignee", "fieldtype": "jira", "from": before and f"acc-{before}", "fromString": before,
            "to": after and f"acc-{after}", "toString": after}


def flagged(on: bool) -> dict:
    """A Flagged change item: set to Impediment, or cleared (Jira writes an empty string)."""
    return {"field": "Flagged", "fieldtype": "custom", "fieldId": "customfield_10021",
            "from": None if on else "[10019]", "fromString": None if on else "Impediment",
            "to": "[10019]" if on else None, "toString": "Impediment" if on else ""}


def import_case(store, tmp_path, issues, as_of: datetime, stage_map: StageMap = STAGE_MAP):
    """Import ``issues`` as one export into a fresh dataset and save ``stage_map`` with it."""
    export = write_search(tmp_path / "search.json", issues)
    result = import_files(store, [SourceFile(export, export.name)], as_of=as_of)
    info = store.get(result.dataset)
    return info, save_stage_map(info.path, stage_map)


def flow_of(store, tmp_path, issues, as_of: datetime = FRIDAY_MIDNIGHT, *, filters: Filters | None = None,
            clock: Clock | None = None):
    """The prepared flow of ``issues`` under the hand-made stage map (default scope, calendar clock)."""
    info, map_id = import_case(store, tmp_path, issues, as_of)
    return open_flow(info, map_id=map_id, filters=filters or Filters(), clock=clock or Clock())


def day(number: int) -> pd.Timestamp:
    """A day of March 2024, as the measures return days and weeks."""
    return pd.Timestamp(2024, 3, number)


def by_stage(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index("stage")


def by_key(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index("key")


def loops(table: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Rework loops as {(from stage, to stage): moves}."""
    return {(row.from_stage, row.to_stage): int(row.moves) for row in table.itertuples()}


def approx(value: float):
    return pytest.approx(value, abs=1e-6)


# -- 1. reopened item ---------------------------------------------------------------------

def reopened_issue() -> dict:
    # Mon 09 To Do -> Mon 10 In Progress -> Tue 10 Done -> Wed 10 In Progress -> Wed 16 Done.
    return story("A-1", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(5, 10), "Done"),
                         (at(6, 10), "In Progress"), (at(6, 16), "Done")])


def test_reopened_issue_lead_time_ends_at_final_entry_into_done(store, tmp_path):
    with flow_of(store, tmp_path, [reopened_issue()]) as flow:
        item = by_key(measures.finished_items(flow)).loc["A-1"]
        lead = by_key(measures.distributions(flow).rename(columns={"measure": "key"})).loc["lead_time"]
    # Lead time: created Mon 09 -> final entry into Done Wed 16 = 24 + 24 + 7 = 55 h (not Tue 10: 25 h).
    assert item["lead_hours"] == approx(55)
    assert lead["items"] == 1 and lead["median_hours"] == approx(55)
    # Cycle time: first commitment Mon 10 -> Wed 16 = 54 h.
    assert item["cycle_hours"] == approx(54)
    assert item["done_at"] == pd.Timestamp(at(6, 16))


def test_reopened_issue_counts_reopened_time_apart(store, tmp_path):
    with flow_of(store, tmp_path, [reopened_issue()]) as flow:
        item = by_key(measures.finished_items(flow)).loc["A-1"]
        reopened = by_key(measures.distributions(flow).rename(columns={"measure": "key"})).loc["reopened_time"]
        stages = by_stage(measures.stage_times(flow))
    # Reopened time: in Done from Tue 10 to Wed 10 = 24 h.
    assert item["reopened_hours"] == approx(24)
    assert reopened["items"] == 1 and reopened["mean_hours"] == approx(24)
    # Flow time leaves it out: To Do 1 h + In Progress 24 h (Mon 10 -> Tue 10) + 6 h (Wed 10 -> 16) = 31 h,
    # and lead time = flow time + reopened time = 31 + 24 = 55 h.
    assert item["flow_hours"] == approx(31)
    assert item["flow_hours"] + item["reopened_hours"] == approx(item["lead_hours"])
    # Both stays in In Progress are summed: 24 + 6 = 30 h over 2 visits.
    assert (stages.loc["In Progress", "visits"], stages.loc["In Progress", "total_hours"]) == (2, approx(30))
    # Process time is the 30 h in In Progress; wait time 0: flow efficiency 1.
    assert (item["process_hours"], item["wait_hours"]) == (approx(30), approx(0))


def test_reopened_issue_moves_out_of_done_as_rework(store, tmp_path):
    with flow_of(store, tmp_path, [reopened_issue()]) as flow:
        rework = loops(measures.rework_loops(flow))
        cna = by_stage(measures.complete_and_accurate(flow)[0])
    # Linear path: To Do, In Progress, Done, In Progress, Done: one move Done -> In Progress.
    assert rework == {("Done", "In Progress"): 1}
    # In Progress departs forward twice (to Done); the first departure comes back: 1 of 2 complete.
    assert (cna.loc["In Progress", "forward_departures"], cna.loc["In Progress", "returned"]) == (2, 1)
    assert cna.loc["In Progress", "pct_complete_accurate"] == approx(0.5)


# -- 2. skipped stage ---------------------------------------------------------------------

def skipping_issues() -> list[dict]:
    return [
        # B-1 jumps over Ready for Review: Mon 10 In Progress -> Mon 14 In Review -> Mon 18 Done.
        story("B-1", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 14), "In Review"), (at(4, 18), "Done")]),
        # B-2 walks every stage: In Progress 2 h, Ready for Review 3 h, In Review 2 h.
        story("B-2", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 12), "Ready for Review"),
                      (at(4, 15), "In Review"), (at(4, 17), "Done")]),
    ]


def test_skipped_stage_is_not_visited_by_the_item(store, tmp_path):
    with flow_of(store, tmp_path, skipping_issues()) as flow:
        stages = by_stage(measures.stage_times(flow))
    # Ready for Review: only B-2 (Mon 12 -> 15 = 3 h); B-1 adds no zero-hour stay.
    assert (stages.loc["Ready for Review", "items"], stages.loc["Ready for Review", "visits"]) == (1, 1)
    assert stages.loc["Ready for Review", "median_hours"] == approx(3)
    # In Review: B-1 4 h (Mon 14 -> 18), B-2 2 h: both items, median (2 + 4) / 2 = 3 h.
    assert stages.loc["In Review", "items"] == 2 and stages.loc["In Review", "median_hours"] == approx(3)


def test_skipped_stage_leaves_complete_and_accurate_whole(store, tmp_path):
    with flow_of(store, tmp_path, skipping_issues()) as flow:
        cna, rolled = measures.complete_and_accurate(flow)
        rework = measures.rework_loops(flow)
    cna = by_stage(cna)
    # A skip is a forward move (In Progress -> In Review): In Progress departs forward twice, none return.
    assert (cna.loc["In Progress", "forward_departures"], cna.loc["In Progress", "returned"]) == (2, 0)
    for stage in ("To Do", "In Progress", "Ready for Review", "In Review"):
        assert cna.loc[stage, "pct_complete_accurate"] == approx(1.0), stage
    assert cna.loc["Ready for Review", "forward_departures"] == 1  # only B-2 left it
    assert rolled == approx(1.0)
    assert rework.empty


# -- 3. backward move ---------------------------------------------------------------------

def review_sends_back() -> list[dict]:
    return [
        # C-1: In Progress Mon 10-14 (4 h), Ready for Review Mon 14-16, In Review Mon 16 -> Tue 10,
        # back to In Progress Tue 10-12 (2 h), Ready for Review Tue 12-13, In Review Tue 13-15, Done.
        story("C-1", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 14), "Ready for Review"),
                      (at(4, 16), "In Review"), (at(5, 10), "In Progress"), (at(5, 12), "Ready for Review"),
                      (at(5, 13), "In Review"), (at(5, 15), "Done")]),
        # C-2 goes straight through: In Progress 1 h, Ready for Review 1 h, In Review 1 h.
        story("C-2", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 11), "Ready for Review"),
                      (at(4, 12), "In Review"), (at(4, 13), "Done")]),
    ]


def test_backward_move_is_one_rework_loop(store, tmp_path):
    with flow_of(store, tmp_path, review_sends_back()) as flow:
        table = measures.rework_loops(flow)
    assert loops(table) == {("In Review", "In Progress"): 1}
    assert table.iloc[0]["items"] == 1 and list(table.iloc[0]["example_keys"]) == ["C-1"]


def test_backward_move_lowers_complete_and_accurate_upstream(store, tmp_path):
    with flow_of(store, tmp_path, review_sends_back()) as flow:
        cna, rolled = measures.complete_and_accurate(flow)
    cna = by_stage(cna)
    # In Progress: forward departures C-1 (Mon 14), C-1 (Tue 12), C-2; C-1's first one came back: 2/3.
    assert (cna.loc["In Progress", "forward_departures"], cna.loc["In Progress", "returned"]) == (3, 1)
    assert cna.loc["In Progress", "pct_complete_accurate"] == approx(2 / 3)
    # Ready for Review sits between them: C-1 re-enters In Progress (earlier) after its first
    # departure: 2/3 as well.
    assert cna.loc["Ready for Review", "pct_complete_accurate"] == approx(2 / 3)
    # In Review: the move back is not a forward departure; both departures to Done stay: 2/2.
    assert (cna.loc["In Review", "forward_departures"], cna.loc["In Review", "returned"]) == (2, 0)
    assert cna.loc["In Review", "pct_complete_accurate"] == approx(1.0)
    # Rolled %C&A over the active stages: 2/3 x 1 = 0.6667.
    assert rolled == approx(2 / 3)


def test_backward_move_sums_both_visits_in_stage_time(store, tmp_path):
    with flow_of(store, tmp_path, review_sends_back()) as flow:
        stages = by_stage(measures.stage_times(flow))
        c1 = by_key(measures.finished_items(flow)).loc["C-1"]
    # In Progress: C-1 4 + 2 = 6 h in 2 visits, C-2 1 h: items 2, visits 3, total 7 h, median 3.5 h.
    row = stages.loc["In Progress"]
    assert (row["items"], row["visits"]) == (2, 3)
    assert (row["total_hours"], row["median_hours"]) == (approx(7), approx(3.5))
    # C-1 In Review: Mon 16 -> Tue 10 (18 h) + Tue 13-15 (2 h) = 20 h; process time 6 + 20 = 26 h,
    # wait time Ready for Review 2 + 1 = 3 h.
    assert (c1["process_hours"], c1["wait_hours"]) == (approx(26), approx(3))


# -- 4. return from a side state ----------------------------------------------------------

def blocked_and_back() -> dict:
    # Mon 10 In Progress -> Mon 12 Blocked -> Mon 18 In Progress -> Mon 20 Done.
    return story("D-1", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 12), "Blocked"),
                         (at(4, 18), "In Progress"), (at(4, 20), "Done")])


def test_return_from_side_state_is_not_rework(store, tmp_path):
    with flow_of(store, tmp_path, [blocked_and_back()]) as flow:
        rework = measures.rework_loops(flow)
        cna = by_stage(measures.complete_and_accurate(flow)[0])
    assert rework.empty
    # Side states are not on the linear path: In Progress departs forward once (to Done), complete.
    assert "Blocked" not in cna.index
    assert cna.loc["In Progress", "pct_complete_accurate"] == approx(1.0)


def test_time_in_side_state_is_wait_time(store, tmp_path):
    with flow_of(store, tmp_path, [blocked_and_back()]) as flow:
        item = by_key(measures.finished_items(flow)).loc["D-1"]
        efficiency = measures.flow_efficiency(flow)
        stages = by_stage(measures.stage_times(flow))
    # PT = In Progress 2 h (Mon 10-12) + 2 h (Mon 18-20) = 4 h; WT = Blocked 6 h (Mon 12-18).
    assert (item["process_hours"], item["wait_hours"]) == (approx(4), approx(6))
    # Flow efficiency = 4 / (4 + 6) = 0.4; the cycle (Mon 10 -> 20 = 10 h) is PT + WT.
    assert item["flow_efficiency"] == approx(0.4) and item["cycle_hours"] == approx(10)
    assert efficiency["ratio_of_sums"] == approx(0.4) and efficiency["median_of_ratios"] == approx(0.4)
    assert (stages.loc["Blocked", "items"], stages.loc["Blocked", "wait_hours"]) == (1, approx(6))
    assert (stages.loc["In Progress", "visits"], stages.loc["In Progress", "total_hours"]) == (2, approx(4))


# -- 5. flagged inside a queue stage / inside an active stage -------------------------------

def test_flag_inside_queue_stage_counts_wait_once(store, tmp_path):
    # E-1: In Progress Mon 10-12, Ready for Review Mon 12-18 with Flagged set Mon 13 and cleared
    # Mon 15, In Review Mon 18-20, Done.
    issue = story("E-1", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 12), "Ready for Review"),
                          (at(4, 18), "In Review"), (at(4, 20), "Done")],
                  extra=[(at(4, 13), flagged(True)), (at(4, 15), flagged(False))])
    with flow_of(store, tmp_path, [issue]) as flow:
        stages = by_stage(measures.stage_times(flow))
        item = by_key(measures.finished_items(flow)).loc["E-1"]
        efficiency = measures.flow_efficiency(flow)
    # The stage shows the 2 flagged hours (Mon 13-15) among its 6 hours of waiting (not 6 + 2).
    queue = stages.loc["Ready for Review"]
    assert (queue["blocked_hours"], queue["wait_hours"], queue["total_hours"]) == (approx(2), approx(6), approx(6))
    # PT = 2 + 2 = 4 h; WT = 6 h (the stage time once); flow efficiency 4 / (4 + 6) = 0.4, not 4 / 12.
    assert (item["process_hours"], item["wait_hours"], item["blocked_hours"]) == (approx(4), approx(6), approx(2))
    assert item["flow_efficiency"] == approx(0.4)
    assert efficiency["wait_hours"] == approx(6) and efficiency["ratio_of_sums"] == approx(0.4)


def test_flag_inside_active_stage_moves_time_from_process_to_wait(store, tmp_path):
    # E-2: In Progress Mon 10-16 flagged Mon 11-14, Ready for Review Mon 16-17, In Review Mon 17-19, Done.
    issue = story("E-2", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 16), "Ready for Review"),
                          (at(4, 17), "In Review"), (at(4, 19), "Done")],
                  extra=[(at(4, 11), flagged(True)), (at(4, 14), flagged(False))])
    with flow_of(store, tmp_path, [issue]) as flow:
        stages = by_stage(measures.stage_times(flow))
        item = by_key(measures.finished_items(flow)).loc["E-2"]
    # In Progress: 6 h, of which 3 h flagged: 3 h active, 3 h waiting.
    work = stages.loc["In Progress"]
    assert (work["total_hours"], work["blocked_hours"]) == (approx(6), approx(3))
    assert (work["active_hours"], work["wait_hours"]) == (approx(3), approx(3))
    # PT = (6 - 3) + In Review 2 = 5 h; WT = 3 flagged + Ready for Review 1 = 4 h; FE = 5/9.
    assert (item["process_hours"], item["wait_hours"]) == (approx(5), approx(4))
    assert item["flow_efficiency"] == approx(5 / 9)


# -- 6. flag never cleared ----------------------------------------------------------------
# Documented rule (vsm_core/metrics/__init__.py): flagged time runs from the change to a value
# to the next change clearing it, "or the as-of time when it never clears", counted once.

def test_flag_never_cleared_blocks_until_as_of_and_counts_once(store, tmp_path):
    issues = [
        # F-1: In Progress Mon 10-14 flagged from Mon 12 for good, Ready for Review Mon 14-15,
        # In Review Mon 15-17, Done.
        story("F-1", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 14), "Ready for Review"),
                      (at(4, 15), "In Review"), (at(4, 17), "Done")], extra=[(at(4, 12), flagged(True))]),
        # F-2: In Progress from Tue 10 to the as-of (Fri 00), flagged from Wed 10 for good.
        story("F-2", [(at(4, 9), "To Do"), (at(5, 10), "In Progress")], extra=[(at(6, 10), flagged(True))]),
    ]
    with flow_of(store, tmp_path, issues) as flow:
        stages = by_stage(measures.stage_times(flow))
        f1 = by_key(measures.finished_items(flow)).loc["F-1"]
    # F-1: In Progress 2 h worked + 2 h flagged; Ready for Review 1 h (flagged, still 1 h of wait);
    # In Review 2 h all flagged. PT = 2; WT = 2 + 1 + 2 = 5 h; blocked 2 + 1 + 2 = 5 h; FE = 2/7.
    assert (f1["process_hours"], f1["wait_hours"], f1["blocked_hours"]) == (approx(2), approx(5), approx(5))
    assert f1["flow_efficiency"] == approx(2 / 7)
    # F-2 is flagged from Wed 10 to the as-of Fri 00 = 24 + 14 = 38 h of its 24 + 38 = 62 h in
    # In Progress (Tue 10 -> Fri 00).
    # In Progress: total 4 + 62 = 66 h; blocked 2 + 38 = 40 h; active 66 - 40 = 26 h.
    work = stages.loc["In Progress"]
    assert (work["total_hours"], work["blocked_hours"], work["active_hours"]) == (approx(66), approx(40), approx(26))
    assert stages.loc["Ready for Review", "wait_hours"] == approx(1)  # not 1 + 1
    assert stages.loc["In Review", "blocked_hours"] == approx(2)


# -- 7. item still in flight --------------------------------------------------------------

def in_flight_issues() -> list[dict]:
    return [
        # G-1 finished: In Progress Mon 10-14, Ready for Review Mon 14-16, In Review Mon 16-18, Done.
        story("G-1", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 14), "Ready for Review"),
                      (at(4, 16), "In Review"), (at(4, 18), "Done")]),
        # G-2 in flight: In Progress Tue 10 -> Wed 10, Ready for Review since Wed 10 (as-of Fri 00).
        story("G-2", [(at(4, 9), "To Do"), (at(5, 10), "In Progress"), (at(6, 10), "Ready for Review")]),
    ]


def test_item_in_flight_counts_in_stage_times_with_its_time_so_far(store, tmp_path):
    with flow_of(store, tmp_path, in_flight_issues()) as flow:
        stages = by_stage(measures.stage_times(flow))
    # In Progress: G-1 4 h, G-2 24 h: items 2, median (4 + 24) / 2 = 14 h.
    assert stages.loc["In Progress", "items"] == 2 and stages.loc["In Progress", "median_hours"] == approx(14)
    # Ready for Review: G-1 2 h, G-2 Wed 10 -> Fri 00 = 24 + 14 = 38 h so far: median (2 + 38) / 2 = 20 h.
    queue = stages.loc["Ready for Review"]
    assert queue["items"] == 2 and queue["median_hours"] == approx(20)
    # ... and G-2 is there now, 38 h into the stage.
    assert (queue["items_now"], queue["median_age_now_hours"]) == (1, approx(38))
    assert stages.loc["In Progress", "items_now"] == 0
    # share_of_lead_time covers delivered items only: G-1's flow 1 + 4 + 2 + 2 = 9 h; queue 2/9.
    assert queue["share_of_lead_time"] == approx(2 / 9) and queue["finished_items"] == 1


def test_item_in_flight_ages_from_commitment_and_is_not_throughput(store, tmp_path):
    with flow_of(store, tmp_path, in_flight_issues()) as flow:
        ageing = by_key(measures.ageing(flow))
        finished = measures.finished_items(flow)
        lead = measures.distributions(flow).set_index("measure").loc["lead_time"]
        weekly = measures.throughput(flow)
    # Age: committed Tue 10 -> as-of Fri 00 = 24 + 24 + 14 = 62 h; 38 h of it in Ready for Review.
    g2 = ageing.loc["G-2"]
    assert (g2["stage"], g2["age_hours"], g2["stage_age_hours"]) == ("Ready for Review", approx(62), approx(38))
    # G-1 left Ready for Review 6 h after commitment (Mon 10 -> 16): p85 of one value = 6 h; 62 > 6.
    assert g2["stage_p85_hours"] == approx(6) and bool(g2["at_risk"])
    assert list(ageing.index) == ["G-2"]
    # Lead time and throughput hold G-1 only (Mon 09 -> Mon 18 = 9 h).
    assert list(finished["key"]) == ["G-1"]
    assert (lead["items"], lead["mean_hours"]) == (1, approx(9))
    assert weekly["delivered"].sum() == 1


# -- 8. cancelled item --------------------------------------------------------------------

def cancelled_issues() -> list[dict]:
    return [
        # H-1 delivered: In Progress Mon 10 -> Done Tue 10.
        story("H-1", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(5, 10), "Done")]),
        # H-2 cancelled: In Progress Mon 10 -> Won't Do Wed 10.
        story("H-2", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(6, 10), "Won't Do")]),
    ]


def test_cancelled_item_is_counted_apart_from_throughput(store, tmp_path):
    with flow_of(store, tmp_path, cancelled_issues()) as flow:
        weekly = measures.throughput(flow)
        finished = by_key(measures.finished_items(flow))
        lead = measures.distributions(flow).set_index("measure").loc["lead_time"]
        efficiency = measures.flow_efficiency(flow)
    # Week of Mon 2024-03-04: H-1 delivered, H-2 cancelled.
    assert [(row.week, row.delivered, row.cancelled) for row in weekly.itertuples()] == [(day(4), 1, 1)]
    assert bool(finished.loc["H-2", "cancelled"]) and not bool(finished.loc["H-1", "cancelled"])
    # Lead time distribution: H-1 only, Mon 09 -> Tue 10 = 25 h.
    assert (lead["items"], lead["mean_hours"], lead["max_hours"]) == (1, approx(25), approx(25))
    assert efficiency["items"] == 1


def test_cancelled_item_leaves_wip(store, tmp_path):
    with flow_of(store, tmp_path, cancelled_issues()) as flow:
        wip = measures.wip_daily(flow)
        stages = by_stage(measures.stage_times(flow))
    in_progress = {row.day: row.wip for row in wip[wip["stage"] == "In Progress"].itertuples()}
    # End of Mon: H-1, H-2 = 2; Tue: H-2 = 1 (H-1 done Tue 10); Wed: 0 (H-2 cancelled Wed 10); Thu, Fri 0.
    assert [in_progress[day(d)] for d in range(4, 9)] == [2, 1, 0, 0, 0]
    assert stages.loc["In Progress", "items_now"] == 0
    # H-1's flow: To Do 1 h + In Progress 24 h; the cancelled item's 48 h do not enter the share: 24/25.
    assert stages.loc["In Progress", "share_of_lead_time"] == approx(24 / 25)


# -- 9. working time ----------------------------------------------------------------------

def weekend_issues() -> list[dict]:
    # All created Fri 2024-03-08 09:00 UTC; the weekend is Sat 9 - Sun 10; Mon 11, Tue 12.
    return [
        # W-1: In Progress Fri 16:00 UTC -> Mon 10:00 UTC.
        story("W-1", [(at(8, 9), "To Do"), (at(8, 16), "In Progress"), (at(11, 10), "Done")]),
        # W-2: In Progress Fri 16:00 UTC -> Tue 10:00 UTC.
        story("W-2", [(at(8, 9), "To Do"), (at(8, 16), "In Progress"), (at(12, 10), "Done")]),
        # W-3, written in Madrid's offset: In Progress Fri 17:00 +0100 (16:00 UTC) -> Mon 00:30 +0100
        # (Sun 23:30 UTC).
        story("W-3", [("2024-03-08T10:00:00.000+0100", "To Do"), ("2024-03-08T17:00:00.000+0100", "In Progress"),
                      ("2024-03-11T00:30:00.000+0100", "Done")]),
    ]


def process_hours_on(info, map_id, clock: Clock) -> dict[str, float]:
    with open_flow(info, map_id=map_id, clock=clock) as flow:
        return {row.key: row.process_hours for row in measures.finished_items(flow).itertuples()}


def test_weekend_is_left_out_on_the_working_clock(store, tmp_path):
    info, map_id = import_case(store, tmp_path, weekend_issues(), datetime(2024, 3, 13, tzinfo=UTC))
    calendar = process_hours_on(info, map_id, Clock())
    working = process_hours_on(info, map_id, Clock("working", "UTC"))
    # W-1 calendar: Fri 16 -> Mon 10 = 8 + 24 + 24 + 10 = 66 h; working: 8 (Fri) + 10 (Mon) = 18 h.
    assert (calendar["W-1"], working["W-1"]) == (approx(66), approx(18))
    # W-2 calendar: 66 + 24 = 90 h; working: 8 + 24 (Mon) + 10 (Tue) = 42 h.
    assert (calendar["W-2"], working["W-2"]) == (approx(90), approx(42))
    # W-3 in UTC: Fri 16 -> Sun 23:30 = 55.5 h calendar; working only Friday's 8 h (Sunday counts 0).
    assert (calendar["W-3"], working["W-3"]) == (approx(55.5), approx(8))


def test_working_clock_reads_days_in_the_team_time_zone(store, tmp_path):
    info, map_id = import_case(store, tmp_path, weekend_issues(), datetime(2024, 3, 13, tzinfo=UTC))
    madrid = process_hours_on(info, map_id, Clock("working", "Europe/Madrid"))
    # Madrid is UTC+1 in March (before 31 March). W-1: Fri 17:00 -> 24:00 = 7 h, Mon 00:00 -> 11:00 = 11 h: 18 h.
    assert madrid["W-1"] == approx(18)
    # W-2: 7 + 24 + 11 = 42 h.
    assert madrid["W-2"] == approx(42)
    # W-3 ends Mon 00:30 local: 7 h (Fri) + 0.5 h (Mon) = 7.5 h (8 h when read in UTC).
    assert madrid["W-3"] == approx(7.5)
    with open_flow(info, map_id=map_id, clock=Clock("working", "Europe/Madrid")) as flow:
        w1 = by_key(measures.finished_items(flow)).loc["W-1"]
    # W-1 lead time: created Fri 10:00 local -> Mon 11:00 local = 14 + 11 = 25 working hours.
    assert w1["lead_hours"] == approx(25)


def test_holiday_is_left_out_on_the_working_clock(store, tmp_path):
    info, map_id = import_case(store, tmp_path, weekend_issues(), datetime(2024, 3, 13, tzinfo=UTC))
    holiday = process_hours_on(info, map_id, Clock("working", "UTC", holidays=(date(2024, 3, 11),)))
    # Monday 11 is a holiday: W-1 (ends Mon 10:00) keeps Friday's 8 h; W-2: 8 (Fri) + 10 (Tue) = 18 h.
    assert (holiday["W-1"], holiday["W-2"]) == (approx(8), approx(18))
    madrid = process_hours_on(info, map_id, Clock("working", "Europe/Madrid", holidays=(date(2024, 3, 11),)))
    # In Madrid, W-3's half hour falls on the holiday: 7 h; W-2: 7 (Fri) + 11 (Tue) = 18 h.
    assert (madrid["W-3"], madrid["W-2"]) == (approx(7), approx(18))


# -- 10. share and days of lead time ------------------------------------------------------

def shares_issues() -> list[dict]:
    return [
        # J-1 flow 24 h: To Do 2 (Mon 08-10), In Progress 4 (10-14), Ready for Review 10 (Mon 14 -> Tue 00),
        # In Review 8 (Tue 00-08).
        story("J-1", [(at(4, 8), "To Do"), (at(4, 10), "In Progress"), (at(4, 14), "Ready for Review"),
                      (at(5, 0), "In Review"), (at(5, 8), "Done")]),
        # J-2 flow 48 h: To Do 6 (Mon 08-14), In Progress 12 (Mon 14 -> Tue 02), Ready for Review 20
        # (Tue 02-22), In Review 10 (Tue 22 -> Wed 08).
        story("J-2", [(at(4, 8), "To Do"), (at(4, 14), "In Progress"), (at(5, 2), "Ready for Review"),
                      (at(5, 22), "In Review"), (at(6, 8), "Done")]),
        # J-3 is unfinished: it does not enter the shares.
        story("J-3", [(at(4, 8), "To Do"), (at(4, 9), "In Progress")]),
    ]


def test_share_of_lead_time_sums_to_one_over_non_done_stages(store, tmp_path):
    with flow_of(store, tmp_path, shares_issues()) as flow:
        stages = by_stage(measures.stage_times(flow))
    # Summed flow time 24 + 48 = 72 h.
    expected = {"To Do": (2 + 6) / 72, "In Progress": (4 + 12) / 72, "Ready for Review": (10 + 20) / 72,
                "In Review": (8 + 10) / 72, "Blocked": 0.0}
    for stage, share in expected.items():
        assert stages.loc[stage, "share_of_lead_time"] == approx(share), stage
    assert stages.loc[list(expected), "share_of_lead_time"].sum() == approx(1.0)
    assert stages.loc[["Done", "Won't Do"], "share_of_lead_time"].isna().all()
    # Finished-only medians beside it: Ready for Review (10 + 20) / 2 = 15 h over 2 items.
    assert (stages.loc["Ready for Review", "finished_items"], stages.loc["Ready for Review", "finished_median_hours"]) \
        == (2, approx(15))


def test_days_of_lead_time_add_up_to_mean_flow_time(store, tmp_path):
    with flow_of(store, tmp_path, shares_issues()) as flow:
        stages = by_stage(measures.stage_times(flow))
    # Mean flow time (24 + 48) / 2 = 36 h = 1.5 days; per stage: summed hours / 2 items / 24.
    expected = {"To Do": 8 / 2 / 24, "In Progress": 16 / 2 / 24, "Ready for Review": 30 / 2 / 24,
                "In Review": 18 / 2 / 24}  # 0.1667 + 0.3333 + 0.625 + 0.375 = 1.5
    for stage, days in expected.items():
        assert stages.loc[stage, "days_of_lead_time"] == approx(days), stage
    non_done = stages[stages["kind"] != "done"]
    assert non_done["days_of_lead_time"].sum() == approx(1.5)


# -- 11. daily WIP, weekly throughput, net flow ----------------------------------------------

def wip_issues() -> list[dict]:
    return [
        story("K-1", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(6, 12), "Done")]),   # done Wed 12
        story("K-4", [(at(4, 8), "To Do"), (at(4, 8.5), "In Progress"), (at(10, 23), "Done")]),  # done Sun 23
        story("K-2", [(at(5, 9), "To Do"), (at(6, 9), "In Progress"), (at(11, 15), "Done")]),   # done Mon 11
        story("K-3", [(at(6, 10), "To Do"), (at(7, 10), "In Progress")]),                        # in flight
    ]


WIP_AS_OF = datetime(2024, 3, 12, 12, tzinfo=UTC)  # Tue 2024-03-12 12:00


def test_daily_wip_counts_items_at_the_end_of_each_day(store, tmp_path):
    with flow_of(store, tmp_path, wip_issues(), WIP_AS_OF) as flow:
        wip = measures.wip_daily(flow)
    per_stage = {stage: [int(n) for n in rows.sort_values("day")["wip"]] for stage, rows in wip.groupby("stage")}
    assert sorted(wip["day"].unique()) == [day(d) for d in range(4, 13)]  # Mon 4 .. Tue 12
    # In Progress at each day's end, Mon 4 .. Tue 12:
    # Mon K-1 K-4 | Tue same | Wed K-4 K-2 (K-1 done 12:00) | Thu + K-3 | Fri | Sat |
    # Sun K-4 leaves 23:00 -> K-2 K-3 | Mon 11 K-2 leaves -> K-3 | Tue K-3.
    assert per_stage["In Progress"] == [2, 2, 2, 3, 3, 3, 2, 1, 1]
    # To Do: Mon 0 (K-1, K-4 started that day) | Tue K-2 | Wed K-3 (K-2 started) | Thu on 0.
    assert per_stage["To Do"] == [0, 1, 1, 0, 0, 0, 0, 0, 0]
    # Done accumulates: Wed K-1, Sun K-4, Mon K-2.
    assert per_stage["Done"] == [0, 0, 1, 1, 1, 1, 2, 3, 3]


def test_throughput_counts_per_week_starting_monday(store, tmp_path):
    with flow_of(store, tmp_path, wip_issues(), WIP_AS_OF) as flow:
        weekly = measures.throughput(flow)
    # Week of Mon 4: K-1 (Wed) and K-4 (Sun 23:00); week of Mon 11: K-2.
    assert [(row.week, row.delivered, row.cancelled) for row in weekly.itertuples()] == [
        (day(4), 2, 0), (day(11), 1, 0)]


def test_throughput_weeks_are_local_to_the_clock_time_zone(store, tmp_path):
    with flow_of(store, tmp_path, wip_issues(), WIP_AS_OF, clock=Clock("calendar", "Europe/Madrid")) as flow:
        weekly = measures.throughput(flow)
    # In Madrid (UTC+1) K-4's Sun 23:00 UTC is Mon 00:00 local: it moves to the week of Mon 11.
    assert [(row.week, row.delivered) for row in weekly.itertuples()] == [(day(4), 1), (day(11), 2)]


def test_net_flow_weighs_arrivals_against_departures(store, tmp_path):
    with flow_of(store, tmp_path, wip_issues(), WIP_AS_OF) as flow:
        table = measures.net_flow(flow)
    flows = {(row.stage, row.week): (row.arrivals, row.departures, row.net_flow) for row in table.itertuples()}
    week1, week2 = day(4), day(11)
    # In Progress, week 1: arrivals K-1, K-4, K-2, K-3 = 4; departures K-1, K-4 = 2; net +2.
    assert flows[("In Progress", week1)] == (4, 2, 2)
    # Week 2: K-2 leaves: (0, 1, -1).
    assert flows[("In Progress", week2)] == (0, 1, -1)
    # To Do: 4 created, 4 started in week 1; Done: 2 arrivals in week 1, 1 in week 2, never departs.
    assert flows[("To Do", week1)] == (4, 4, 0)
    assert flows[("Done", week1)] == (2, 0, 2) and flows[("Done", week2)] == (1, 0, 1)


# -- 12. handoffs -------------------------------------------------------------------------

def handoff_issues() -> list[dict]:
    path = [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 16), "Done")]
    return [
        # L-1: none -> Ann in To Do (first assignment), Ann -> Bob in In Progress: 1 handoff.
        story("L-1", path, extra=[(at(4, 9.5), assignee(None, "Ann")), (at(4, 12), assignee("Ann", "Bob"))]),
        # L-2: none -> Ann, Ann -> none, none -> Bob, all in In Progress: 1 handoff (Ann to Bob).
        story("L-2", path, extra=[(at(4, 11), assignee(None, "Ann")), (at(4, 12), assignee("Ann", None)),
                                  (at(4, 13), assignee(None, "Bob"))]),
        # L-3: none -> Ann, Ann -> none, none -> Ann: the same person back, no handoff.
        story("L-3", path, extra=[(at(4, 11), assignee(None, "Ann")), (at(4, 12), assignee("Ann", None)),
                                  (at(4, 13), assignee(None, "Ann"))]),
        # L-4: Ann -> Bob while still in To Do (not in progress): no handoff.
        story("L-4", path, extra=[(at(4, 9.1), assignee(None, "Ann")), (at(4, 9.2), assignee("Ann", "Bob"))]),
    ]


def test_assignee_change_in_progress_is_a_handoff(store, tmp_path):
    with flow_of(store, tmp_path, handoff_issues()) as flow:
        per_item = {row.key: row.handoffs for row in measures.handoffs_per_item(flow).itertuples()}
        per_stage = by_stage(measures.handoffs_by_stage(flow))
    assert per_item == {"L-1": 1, "L-2": 1, "L-3": 0, "L-4": 0}
    assert (per_stage.loc["In Progress", "handoffs"], per_stage.loc["In Progress", "items_with_handoffs"]) == (2, 2)
    assert per_stage.drop(index="In Progress")["handoffs"].sum() == 0
    assert "To Do" not in per_stage.index  # backlog is not in progress


# -- 13. filters --------------------------------------------------------------------------

def done_on(done_day: int) -> list[tuple[str, str]]:
    """Created Mon 09, started Mon 10, done at 10:00 on ``done_day``."""
    return [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(done_day, 10), "Done")]


def filter_issues() -> list[dict]:
    return [
        story("ALPHA-1", done_on(5), labels=("frontend",)),          # done Tue 5
        story("ALPHA-2", done_on(6), issue_type="Bug"),              # done Wed 6
        story("ALPHA-3", done_on(7), issue_type="Epic"),             # done Thu 7
        story("ALPHA-4", done_on(7), issue_type="Sub-task"),         # done Thu 7
        story("BETA-1", done_on(11), labels=("backend",)),           # done Mon 11
        story("BETA-2", [(at(4, 9), "To Do"), (at(12, 10), "In Progress")]),    # in flight since Tue 12
        story("BETA-3", [(at(13, 9), "To Do"), (at(13, 10), "In Progress")]),   # created Wed 13, in flight
    ]


FILTER_AS_OF = datetime(2024, 3, 15, tzinfo=UTC)  # Fri 2024-03-15 00:00


def finished_keys(info, map_id, filters: Filters) -> list[str]:
    with open_flow(info, map_id=map_id, filters=filters) as flow:
        return sorted(measures.finished_items(flow)["key"])


def test_default_scope_leaves_out_epics_and_sub_tasks(store, tmp_path):
    info, map_id = import_case(store, tmp_path, filter_issues(), FILTER_AS_OF)
    assert finished_keys(info, map_id, Filters()) == ["ALPHA-1", "ALPHA-2", "BETA-1"]
    assert finished_keys(info, map_id, Filters(all_types=True)) == ["ALPHA-1", "ALPHA-2", "ALPHA-3", "ALPHA-4", "BETA-1"]


def test_filters_pick_issue_types_projects_and_labels(store, tmp_path):
    info, map_id = import_case(store, tmp_path, filter_issues(), FILTER_AS_OF)
    assert finished_keys(info, map_id, Filters(issue_types=("Bug",))) == ["ALPHA-2"]
    assert finished_keys(info, map_id, Filters(issue_types=("Epic",))) == ["ALPHA-3"]
    assert finished_keys(info, map_id, Filters(projects=("BETA",))) == ["BETA-1"]
    assert finished_keys(info, map_id, Filters(labels=("frontend",))) == ["ALPHA-1"]
    with open_flow(info, map_id=map_id, filters=Filters(projects=("BETA",))) as flow:
        assert sorted(measures.ageing(flow)["key"]) == ["BETA-2", "BETA-3"]


def test_date_window_picks_finished_items_by_finish_date_and_wip_by_overlap(store, tmp_path):
    info, map_id = import_case(store, tmp_path, filter_issues(), FILTER_AS_OF)
    window = Filters(start=date(2024, 3, 5), end=date(2024, 3, 6))
    # Finished Tue 5 and Wed 6: ALPHA-1, ALPHA-2 (BETA-1 finished Mon 11, after the window).
    assert finished_keys(info, map_id, window) == ["ALPHA-1", "ALPHA-2"]
    with open_flow(info, map_id=map_id, filters=window) as flow:
        wip = measures.wip_daily(flow)
        weekly = measures.throughput(flow)
        ageing = measures.ageing(flow)
    in_progress = {row.day: row.wip for row in wip[wip["stage"] == "In Progress"].itertuples()}
    # End of Tue 5: ALPHA-2, BETA-1 (ALPHA-1 done Tue 10:00); end of Wed 6: BETA-1.
    assert in_progress == {day(5): 2, day(6): 1}
    to_do = {row.day: row.wip for row in wip[wip["stage"] == "To Do"].itertuples()}
    assert to_do == {day(5): 1, day(6): 1}  # BETA-2 waits in To Do; BETA-3 not yet created
    assert [(row.week, row.delivered) for row in weekly.itertuples()] == [(day(4), 2)]
    # Ageing by overlap: BETA-2 (created Mon 4, unfinished) overlaps; BETA-3 (created Wed 13) does not.
    assert list(ageing["key"]) == ["BETA-2"]


# -- percentiles ----------------------------------------------------------------------------

def test_percentiles_interpolate_linearly(store, tmp_path):
    # P-1, P-2, P-3: In Progress for 1, 2 and 10 hours from Mon 10.
    issues = [story(f"P-{n}", [(at(4, 9), "To Do"), (at(4, 10), "In Progress"), (at(4, 10 + hours), "Done")])
              for n, hours in ((1, 1), (2, 2), (3, 10))]
    with flow_of(store, tmp_path, issues) as flow:
        work = by_stage(measures.stage_times(flow)).loc["In Progress"]
        lead = measures.distributions(flow).set_index("measure").loc["lead_time"]
    # Sorted 1, 2, 10; rank (n - 1) q: median rank 1 -> 2; p85 rank 1.7 -> 2 + 0.7 x 8 = 7.6;
    # p95 rank 1.9 -> 2 + 0.9 x 8 = 9.2.
    assert (work["median_hours"], work["p85_hours"], work["p95_hours"]) == (approx(2), approx(7.6), approx(9.2))
    assert (work["finished_median_hours"], work["finished_p85_hours"]) == (approx(2), approx(7.6))
    # Lead times 2, 3, 11 h: median 3, p85 3 + 0.7 x 8 = 8.6, mean 16 / 3.
    assert (lead["median_hours"], lead["p85_hours"], lead["mean_hours"]) == (approx(3), approx(8.6), approx(16 / 3))


# -- 14. the real exports -------------------------------------------------------------------

def hours_between(start: str, end: str) -> float:
    """Hours between two of the file's timestamps (offsets honoured)."""
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600


def open_real(store, *paths):
    result = import_files(store, [SourceFile(path, path.name) for path in paths])
    return open_flow(store.get(result.dataset))  # the inferred stage map, the default scope


SP_AS_OF = "2021-12-14T00:30:34.153+00:00"  # SP-11's `updated`, the latest time in the file


def test_jirametrics_sample_stage_figures_by_hand(store, real):
    with open_real(store, real / "jirametrics_sample_search_6issues.json", real / "jirametrics_sample_statuses.json",
                   real / "jirametrics_sample_board_configuration.json") as flow:
        assert [s.name for s in flow.stage_map.stages] == ["Backlog", "Ready", "In Progress", "Review", "Done"]
        stages = by_stage(measures.stage_times(flow))
        sp5 = by_key(measures.finished_items(flow)).loc["SP-5"]
        rework = loops(measures.rework_loops(flow))
        ageing = by_key(measures.ageing(flow))
    # In Progress: SP-1 (once), SP-5 (twice), SP-8 (once, 29.7 s before the as-of): 3 items, 4 visits.
    sp5_work = (hours_between("2021-08-29T18:04:49.188+00:00", "2021-09-06T04:34:11.432+00:00")    # 178.4895 h
                + hours_between("2021-10-11T12:49:04.096+00:00", "2021-10-11T12:49:07.261+00:00"))  # + 3.165 s
    sp1_work = hours_between("2021-06-18T18:44:21.050+00:00", "2021-12-14T00:30:15.283+00:00")     # 4269.8 h
    sp8_work = hours_between("2021-12-14T00:30:04.491+00:00", SP_AS_OF)                             # 29.662 s
    work = stages.loc["In Progress"]
    assert (work["items"], work["visits"]) == (3, 4)
    assert work["median_hours"] == approx(sp5_work)  # the middle of SP-8 < SP-5 < SP-1
    assert work["total_hours"] == approx(sp1_work + sp5_work + sp8_work)
    # Ready ("Selected for Development"): six items; sorted SP-11 0.17 s, SP-7 6.2 s, SP-1 46.2 s,
    # SP-5 1613.3 h, SP-8 2550.4 h, SP-2 4277.8 h: median = (SP-1 + SP-5) / 2.
    sp1_ready = hours_between("2021-06-18T18:43:34.818+00:00", "2021-06-18T18:44:21.050+00:00")
    sp5_ready = (hours_between("2021-06-23T12:44:38.197+00:00", "2021-08-29T18:04:49.188+00:00")
                 + hours_between("2021-10-11T12:48:42.419+00:00", "2021-10-11T12:49:04.096+00:00"))
    ready = stages.loc["Ready"]
    assert (ready["items"], ready["visits"], ready["items_now"]) == (6, 7, 3)  # now: SP-2, SP-7, SP-11
    assert ready["median_hours"] == approx((sp1_ready + sp5_ready) / 2)      # 806.68 h
    # SP-5: created 2021-06-18T18:41:58.333 -> final Done 2021-10-11T12:49:07.261 = 2754.12 h;
    # reopened: Done 2021-09-06T04:34:14.358 -> 2021-10-11T12:48:42.419 = 848.24 h.
    assert sp5["lead_hours"] == approx(hours_between("2021-06-18T18:41:58.333+00:00", "2021-10-11T12:49:07.261+00:00"))
    assert sp5["reopened_hours"] == approx(hours_between("2021-09-06T04:34:14.358+00:00", "2021-10-11T12:48:42.419+00:00"))
    # Its Impediment flag (2021-08-29T18:04:59.081) is never cleared: only the 9.893 s in In Progress
    # before it are process time.
    assert sp5["process_hours"] == approx(hours_between("2021-08-29T18:04:49.188+00:00", "2021-08-29T18:04:59.081+00:00"))
    assert rework == {("Done", "Ready"): 1}
    # SP-8 committed (Ready) 2021-08-29T18:06:23.463: age at the as-of 2550.40 h.
    assert ageing.loc["SP-8", "age_hours"] == approx(hours_between("2021-08-29T18:06:23.463+00:00", SP_AS_OF))


def test_puppet_perceval_lead_time_and_handoffs_by_hand(store, real):
    with open_real(store, real / "puppet_public_perceval_5issues.json") as flow:
        finished = by_key(measures.finished_items(flow))
        handoffs = {row.key: row.handoffs for row in measures.handoffs_per_item(flow).itertuples()}
        rework = loops(measures.rework_loops(flow))
    # PUP-6159 (the one finished issue): created 2016-04-12T03:07:56-0700 -> Resolved
    # 2016-05-26T16:37:39.284-0700 = 44 d 13 h 29 m 43.284 s = 1069.4954 h.
    assert list(finished.index) == ["PUP-6159"]
    pup = finished.loc["PUP-6159"]
    assert pup["lead_hours"] == approx(hours_between("2016-04-12T03:07:56.000-07:00", "2016-05-26T16:37:39.284-07:00"))
    # Cycle: first commitment (Accepted) 2016-04-20T16:06:29.568-0700 -> Resolved = 864.52 h.
    assert pup["cycle_hours"] == approx(hours_between("2016-04-20T16:06:29.568-07:00", "2016-05-26T16:37:39.284-07:00"))
    # Process time: Accepted (04-20 16:06:29.568 -> 04-27 15:12:26.896) + In Progress
    # (05-04 16:31:35.641 -> 05-06 11:41:34.269) = 167.10 + 43.17 = 210.27 h.
    assert pup["process_hours"] == approx(
        hours_between("2016-04-20T16:06:29.568-07:00", "2016-04-27T15:12:26.896-07:00")
        + hours_between("2016-05-04T16:31:35.641-07:00", "2016-05-06T11:41:34.269-07:00"))
    # Accepted -> Ready for Engineering goes back in the inferred order; Resolved -> Open reopens PUP-3483.
    assert rework == {("Accepted", "Ready for Engineering"): 1, ("Resolved", "Open"): 1}
    # Handoffs: PUP-6159 William -> (none) -> qa at Ready for Test, qa -> Eric: 2; PUP-6545 Glenn -> Ethan
    # in Ready for Merge: 1; PUP-6551 Glenn (assigned while Open) -> (none) -> Ethan in Ready for Merge: 1;
    # PUP-6295 only unassigned: 0. PUP-3483 never committed: not listed.
    assert handoffs == {"PUP-6159": 2, "PUP-6545": 1, "PUP-6551": 1, "PUP-6295": 0}
