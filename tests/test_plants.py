"""The planted flow problems are really in the data.

Each plant is written with ``vsm_core.demo.plants``, imported like a user's export (with its
status list, at its as-of time) and read through the inferred stage map and the flow measures;
each test checks the signal its plant was built to carry, with the existing measures only, so
that the decision layer's tests (``test_decisions_plants``) start from a known truth. The
thresholds are well inside what the plants' parameters give (the arithmetic sits in the plant's
comment in ``plants.py``) and outside what the healthy plant gives.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from vsm_core.demo.plants import (
    DEFAULT_ITEMS,
    Plant,
    plant,
    plant_as_of,
    plants,
    write_plant_export,
    write_plant_statuses,
)
from vsm_core.ingest import SourceFile, import_files
from vsm_core.metrics import Filters, measures, open_flow
from vsm_core.store import open_store

SEED = 7
COMMITTED = ("wait", "active")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Every plant written, imported and opened once: {name: (export path, flow, seconds)}."""
    base = tmp_path_factory.mktemp("plants")
    store = open_store(base / "store")
    opened = {}
    for each in plants():
        started = time.perf_counter()
        export = write_plant_export(each, base / f"{each.name}.json", seed=SEED)
        statuses = write_plant_statuses(each, base / f"{each.name}-statuses.json")
        result = import_files(store, [SourceFile(export, export.name), SourceFile(statuses, statuses.name)],
                              as_of=plant_as_of(each))
        flow = open_flow(store.get(result.dataset), filters=Filters(all_types=True))
        opened[each.name] = (export, flow, time.perf_counter() - started)
    yield opened
    for _, flow, _ in opened.values():
        flow.close()


def flow_of(imported, name: str):
    return imported[name][1]


def committed_stages(flow):
    """The stage table's committed (wait and active) stages, most days of lead time first."""
    table = measures.stage_times(flow)
    return table[table["kind"].isin(COMMITTED)].sort_values("days_of_lead_time", ascending=False)


def delivered_count(flow) -> int:
    return len(measures.delivered_items(flow))


# -- each plant's signal ----------------------------------------------------------------------

def test_review_queue_dominates_lead_time(imported):
    review = plant("review-queue")
    stages = committed_stages(flow_of(imported, review.name))
    top = stages.iloc[0]
    assert top["stage"] == review.expected_bottleneck_stage
    assert top["kind"] == "wait"
    assert top["share_of_lead_time"] >= 0.35
    # the review step itself is quick: the time is waiting for the one reviewer
    assert stages.set_index("stage").loc["Peer Check", "median_hours"] < 4


def test_qa_sends_work_back_to_development_again_and_again(imported):
    rework = plant("qa-rework")
    flow = flow_of(imported, rework.name)
    loops = measures.rework_loops(flow).set_index(["from_stage", "to_stage"])
    back = loops.loc[("En pruebas", "En desarrollo")]
    assert back["moves"] >= 0.3 * delivered_count(flow)
    assert back["moves"] > back["items"]  # several loops for some items
    table, rolled = measures.complete_and_accurate(flow)
    build = table.set_index("stage").loc["En desarrollo"]
    assert build["pct_complete_accurate"] < 0.7
    assert rolled < 0.7
    assert committed_stages(flow).iloc[0]["stage"] == rework.expected_bottleneck_stage


def test_release_train_departs_only_on_release_fridays(imported):
    train = plant("release-train")
    flow = flow_of(imported, train.name)
    zone = ZoneInfo(train.parameters.zone)
    departures = measures.stage_entries(flow, "Shipped")["entered_at"]
    local = [moment.to_pydatetime().astimezone(zone) for moment in departures]
    assert {moment.weekday() for moment in local} == {4}  # Friday
    weeks = {moment.isocalendar()[:2] for moment in local}
    assert len({moment.date() for moment in local}) == len(weeks)  # one release day per week released
    assert all(b[1] - a[1] == 2 for a, b in zip(sorted(weeks), sorted(weeks)[1:]) if a[0] == b[0])
    weekly = measures.throughput(flow)["delivered"]
    assert (weekly == 0).mean() >= 0.4  # lumpy: every other week ships nothing
    top = committed_stages(flow).iloc[0]
    assert (top["stage"], top["kind"]) == (train.expected_bottleneck_stage, "wait")


def test_wip_overload_piles_up_and_ages(imported):
    overload = plant("wip-overload")
    flow = flow_of(imported, overload.name)
    wip = measures.wip_daily(flow)
    daily = wip[wip["kind"].isin(COMMITTED)].groupby("day")["wip"].sum()
    three_weeks_in, at_end = daily.iloc[21], daily.iloc[-1]
    assert at_end > 3 * three_weeks_in
    ageing = measures.ageing(flow)
    assert ageing["at_risk"].mean() > 0.5
    law = measures.littles_law(flow)
    assert law["average_wip"] > 1.5 * law["predicted_wip"]  # WIP far above throughput x cycle time
    assert committed_stages(flow).iloc[0]["stage"] == overload.expected_bottleneck_stage


def test_blocked_items_lose_a_fifth_of_their_lead_time(imported):
    blocked = plant("blocked-dependencies")
    flow = flow_of(imported, blocked.name)
    finished = measures.finished_items(flow)
    assert finished["blocked_hours"].sum() / finished["lead_hours"].sum() > 0.15
    assert (finished["blocked_hours"] > 0).mean() >= 0.2
    stages = measures.stage_times(flow).set_index("stage")
    assert stages["blocked_hours"].idxmax() == blocked.expected_bottleneck_stage
    side = stages.loc[blocked.parameters.blocking.side_status]
    assert bool(side["side"]) and side["items"] > 0  # recognised as a side state from the flow
    assert committed_stages(flow).iloc[0]["stage"] == blocked.expected_bottleneck_stage


def test_ownership_churn_hands_items_around_after_a_long_triage(imported):
    churn = plant("ownership-churn")
    flow = flow_of(imported, churn.name)
    assert measures.handoffs_per_item(flow)["handoffs"].median() >= 3
    top = committed_stages(flow).iloc[0]
    assert (top["stage"], top["kind"]) == (churn.expected_bottleneck_stage, "wait")
    assert top["share_of_lead_time"] >= 0.35
    for other in ("review-queue", "release-train", "healthy"):  # the signal is this plant's only
        assert measures.handoffs_per_item(flow_of(imported, other))["handoffs"].median() <= 1


def test_healthy_flow_has_no_planted_problem(imported):
    flow = flow_of(imported, "healthy")
    assert measures.flow_efficiency(flow)["ratio_of_sums"] > 0.4
    assert committed_stages(flow)["share_of_lead_time"].max() <= 0.35
    assert measures.complete_and_accurate(flow)[1] > 0.8
    assert measures.littles_law(flow)["consistent"]
    assert measures.finished_items(flow)["blocked_hours"].sum() == 0
    wip = measures.wip_daily(flow)
    daily = wip[wip["kind"].isin(COMMITTED)].groupby("day")["wip"].sum()
    assert daily.iloc[-1] <= 2 * daily.iloc[21] + 5  # steady, not growing
    assert measures.ageing(flow)["at_risk"].mean() < 0.3


@pytest.mark.parametrize("name", [p.name for p in plants()])
def test_little_s_law_holds_except_where_wip_piles_up(imported, name):
    consistent = measures.littles_law(flow_of(imported, name))["consistent"]
    assert consistent is (name != "wip-overload")


# -- how the plants are written ---------------------------------------------------------------

def test_same_seed_writes_the_same_bytes(tmp_path):
    for each in plants():
        first = write_plant_export(each, tmp_path / "a.json", seed=3, n_items=60).read_bytes()
        second = write_plant_export(each, tmp_path / "b.json", seed=3, n_items=60).read_bytes()
        other = write_plant_export(each, tmp_path / "c.json", seed=4, n_items=60).read_bytes()
        assert first == second
        assert first != other


def test_plants_differ_in_names_zones_and_history_order():
    every = plants()
    assert len({p.name for p in every}) == 7
    status_sets = [frozenset(status for status, _ in p.statuses()) for p in every]
    shared = set.intersection(*map(set, status_sets))
    assert not shared  # no status name common to all plants
    assert len(set(status_sets)) == len(every)
    assert any("ó" in status or status.startswith("En ") for s in status_sets for status in s)  # a Spanish plant
    assert len({p.parameters.zone for p in every}) >= 6
    assert {p.parameters.history_order for p in every} == {"oldest-first", "newest-first", "shuffled"}
    assert len({(p.parameters.history_id_base, p.parameters.history_id_step) for p in every}) == len(every)


def _history_times(issue: dict) -> list[datetime]:
    return [datetime.strptime(h["created"], "%Y-%m-%dT%H:%M:%S.%f%z") for h in issue["changelog"]["histories"]]


@pytest.mark.parametrize("name", [p.name for p in plants()])
def test_file_layout_follows_the_plant(imported, name):
    """Histories are in the plant's order; ids rise with time; times carry the zone's offsets
    and fall inside working hours, Monday to Friday."""
    each = plant(name)
    issues = json.loads(imported[name][0].read_text(encoding="utf-8"))["issues"]
    assert len(issues) == DEFAULT_ITEMS
    zone = ZoneInfo(each.parameters.zone)
    orders, offsets = Counter(), set()
    for issue in issues:
        times = _history_times(issue)
        ids = [int(h["id"]) for h in issue["changelog"]["histories"]]
        by_time = sorted(zip(times, ids))
        assert [i for _, i in by_time] == sorted(i for _, i in by_time)
        if len(times) > 2:
            orders["oldest-first" if times == sorted(times) else
                   "newest-first" if times == sorted(times, reverse=True) else "shuffled"] += 1
        for moment in times:
            local = moment.astimezone(zone)
            assert moment.utcoffset() == local.utcoffset()
            assert local.weekday() < 5 and 9 <= local.hour < 17 or (local.hour, local.minute) == (17, 0)
            offsets.add(moment.utcoffset())
    assert orders.most_common(1)[0][0] == each.parameters.history_order
    assert len(orders) == 1 or each.parameters.history_order == "shuffled"
    if each.parameters.zone in ("America/New_York", "Europe/Madrid", "Europe/Berlin"):
        assert len(offsets) == 2  # daylight saving time changes the offset within the export


@pytest.mark.parametrize("name", [p.name for p in plants()])
def test_inferred_stage_map_matches_the_plant(imported, name):
    """The default stage map reads every plant's statuses with the planted kinds and order."""
    each = plant(name)
    stages = imported[name][1].stage_map.stages
    kinds = {stage.name: stage.kind for stage in stages}
    assert kinds == dict(each.statuses())
    linear = [stage.name for stage in stages if not stage.side]
    assert linear == [step.status for step in each.workflow]


def test_writing_and_importing_a_plant_is_quick(imported):
    assert max(seconds for _, _, seconds in imported.values()) < 2.0


def test_plant_lookup_and_expectations():
    assert plant("healthy").expected_bottleneck_stage is None and plant("healthy").expected_lever is None
    for each in plants():
        if each.expected_bottleneck_stage is not None:
            assert each.expected_bottleneck_stage in dict(each.statuses())
            assert each.expected_lever is not None
    with pytest.raises(ValueError, match="no plant called"):
        plant("nonsense")
    assert isinstance(plants()[0], Plant)
