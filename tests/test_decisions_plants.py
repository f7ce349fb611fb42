"""The decision layer finds each planted flow problem from the data.

Every plant of ``vsm_core.demo.plants`` is written, imported like a user's export (status list
included, inferred stage map, all issue types) and handed to ``rank_bottlenecks`` and
``recommend_changes``. A plant with a problem must have its planted stage ranked first and
standing out, and its planted lever at the top of the changes; the healthy plant must be
reported healthy with no change promising more than a tenth of its median lead time. That the
planted signals are really in the data is checked apart, with the flow measures only, in
``test_plants``. The last test is a small timeline worked out by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from conftest import jira_issue, write_search

from vsm_core.decisions.bottlenecks import BottleneckReport, rank_bottlenecks
from vsm_core.decisions.levers import Change, recommend_changes
from vsm_core.demo.plants import (
    plant,
    plant_as_of,
    plants,
    write_plant_export,
    write_plant_statuses,
)
from vsm_core.ingest import SourceFile, import_files
from vsm_core.metrics import Filters, measures, open_flow
from vsm_core.stagemap import Stage, StageMap, save_stage_map
from vsm_core.store import open_store

SEED = 7
NO_BIG_PROMISE = 0.10  # of the median lead time
ACCEPTED_LEVERS = {"review-queue": {"review-sla", "pairing"}}  # review also sends some work back
PROBLEMS = [p.name for p in plants() if p.expected_bottleneck_stage is not None]

# The alarm rule does not see work piling up in an active stage (see the report that goes with
# this file): the flow is reported healthy although WIP grew sixfold and most items are old.
WIP_PILE_NOT_AN_ALARM = (
    "rank_bottlenecks ranks Doing first (2.6 days, 88 % of lead time) but with stands_out False and "
    "healthy True, although 93 items sit there now, 88 of them past the stage's p85, and WIP grew from "
    "about 16 to 100 items: rule 3 of the alarm counts waiting, flags, rework and p95/median as waste, "
    "never items piling up and ageing in an active stage")


@dataclass(frozen=True)
class Decided:
    report: BottleneckReport
    changes: list[Change]
    median_lead_days: float


def decide(store, base, name: str, seed: int) -> Decided:
    """Write, import and open one plant, and run the decision layer on it."""
    each = plant(name)
    export = write_plant_export(each, base / f"{name}-{seed}.json", seed=seed)
    statuses = write_plant_statuses(each, base / f"{name}-statuses.json")
    result = import_files(store, [SourceFile(export, export.name), SourceFile(statuses, statuses.name)],
                          as_of=plant_as_of(each))
    with open_flow(store.get(result.dataset), filters=Filters(all_types=True)) as flow:
        lead = measures.distributions(flow).set_index("measure").loc["lead_time", "median_hours"] / 24
        return Decided(rank_bottlenecks(flow), recommend_changes(flow), float(lead))


@pytest.fixture(scope="module")
def decided(tmp_path_factory) -> dict[str, Decided]:
    base = tmp_path_factory.mktemp("plants")
    store = open_store(base / "store")
    return {each.name: decide(store, base, each.name, SEED) for each in plants()}


def _strict_xfail_for(name: str, broken: dict[str, str]):
    return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=broken[name])) if name in broken else name


# -- plants with a problem ----------------------------------------------------------------------

@pytest.mark.parametrize("name", PROBLEMS)
def test_the_planted_stage_is_ranked_first(decided, name):
    top = decided[name].report.stages[0]
    assert top.rank == 1
    assert top.stage == plant(name).expected_bottleneck_stage
    assert plant(name).expected_bottleneck_stage in top.statuses
    assert top.ci_low_days <= top.days_of_lead_time <= top.ci_high_days
    assert top.stage in top.why


@pytest.mark.parametrize("name", PROBLEMS)
def test_the_planted_stage_stands_out(decided, name):
    report = decided[name].report
    assert report.stages[0].stands_out
    assert not report.healthy
    assert [s.stage for s in report.stages if s.stands_out] == [report.stages[0].stage]  # one alarm, not many


@pytest.mark.parametrize("name", PROBLEMS)
def test_the_top_change_pulls_the_planted_lever(decided, name):
    changes = decided[name].changes
    assert changes, "no change recommended"
    top = changes[0]
    assert top.rank == 1
    assert top.lever in ACCEPTED_LEVERS.get(name, {plant(name).expected_lever})
    assert top.expected_days_saved_median > 0 and top.expected_days_saved_p85 > 0
    assert top.expected_days_saved_median < decided[name].median_lead_days  # cannot save more than there is


# -- the healthy flow ---------------------------------------------------------------------------

def _assert_no_big_promises(result: Decided) -> None:
    assert result.report.healthy
    assert not any(stage.stands_out for stage in result.report.stages)
    for change in result.changes:
        assert change.expected_days_saved_median <= NO_BIG_PROMISE * result.median_lead_days, change


def test_the_healthy_flow_gets_no_big_promises(decided):
    _assert_no_big_promises(decided["healthy"])


WIP_NOISE = (
    "recommend_changes proposes wip-limit at Analysis saving 1.41 of 5.2 median lead days (27 %) on the "
    "healthy plant: its committed WIP moved from about 6 to 9 items by chance (arrivals are random), "
    "which passes WIP_GROWTH = 1.5x, and the wip-limit replay then cuts every cycle time by WIP_CUT = 30 % "
    "whatever the evidence; 9 other seeds give no change")


@pytest.mark.parametrize("seed", (1, 2, 3, 4, 5))
def test_the_healthy_flow_gets_no_big_promises_whatever_the_seed(tmp_path, seed):
    _assert_no_big_promises(decide(open_store(tmp_path / "store"), tmp_path, "healthy", seed))


# -- by hand --------------------------------------------------------------------------------------

TOKYO = timezone(timedelta(hours=9))
HAND_MAP = StageMap((
    Stage("Por hacer", ("Por hacer",), "backlog", 0),
    Stage("Construcción", ("Construcción",), "active", 1),
    Stage("Awaiting Release", ("Awaiting Release",), "wait", 2),
    Stage("Released", ("Released",), "done", 3),
))


def _tokyo(day: int, hour: float) -> str:
    moment = datetime(2025, 6, day, tzinfo=TOKYO) + timedelta(hours=hour)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0900")


def test_ten_items_waiting_five_days_for_a_release(store, tmp_path):
    """Ten items, created on ten days, each 1 h in the backlog, 1 h in construction and
    5 days (120 h) awaiting the release: the release queue is the bottleneck and deploying
    continuously is the change. Flow time per item = 1 + 1 + 120 = 122 h."""
    issues = [jira_issue(f"T-{k}", _tokyo(k, 9), "Released", [
        (_tokyo(k, 10), "Por hacer", "Construcción"),
        (_tokyo(k, 11), "Construcción", "Awaiting Release"),
        (_tokyo(k + 5, 11), "Awaiting Release", "Released"),
    ], issue_id=500 + k, category="done") for k in range(1, 11)]
    export = write_search(tmp_path / "hand.json", issues)
    info = store.get(import_files(store, [SourceFile(export, export.name)],
                                  as_of=datetime(2025, 7, 1, tzinfo=TOKYO)).dataset)
    map_id = save_stage_map(info.path, HAND_MAP)
    with open_flow(info, map_id=map_id, filters=Filters(all_types=True)) as flow:
        report, changes = rank_bottlenecks(flow), recommend_changes(flow)
    top = report.stages[0]
    assert [s.stage for s in report.stages] == ["Awaiting Release", "Construcción"]  # backlog is not ranked
    assert top.days_of_lead_time == pytest.approx(5.0)  # 120 h / 24
    assert top.share_of_lead_time == pytest.approx(120 / 122)
    assert (top.ci_low_days, top.ci_high_days) == (pytest.approx(5.0), pytest.approx(5.0))  # ten equal items
    assert report.stages[1].days_of_lead_time == pytest.approx(1 / 24)
    assert top.stands_out and not report.stages[1].stands_out and not report.healthy
    first = changes[0]
    assert (first.lever, first.stage) == ("automate-deploy", "Awaiting Release")
    # capping each release wait at one day (24 h) saves 120 - 24 = 96 h = 4 days for every item
    assert first.expected_days_saved_median == pytest.approx(4.0)
    assert first.expected_days_saved_p85 == pytest.approx(4.0)
