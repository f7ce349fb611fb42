"""The future-state what-if against figures worked out by hand.

Every case is a Jira JSON search export (built with ``conftest.jira_issue``) imported into a
fresh store with a fixed as-of time and read through a hand-made stage map, as in
``test_metrics_hand.py``. Times are UTC; the week is Monday 2024-03-04 to Sunday 2024-03-10,
and "+10 h" means 10 hours after Monday 2024-03-04 00:00. The arithmetic sits beside each
expected value.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np
import pytest
from conftest import jira_issue, write_search

from vsm_core.decisions.whatif import StageTarget, resample_draws, what_if
from vsm_core.ingest import SourceFile, import_files
from vsm_core.metrics import Filters, measures, open_flow
from vsm_core.stagemap import Stage, StageMap, save_stage_map

MONDAY = datetime(2024, 3, 4, tzinfo=UTC)
AS_OF = datetime(2024, 3, 8, tzinfo=UTC)  # Fri 00:00, after every case finished

STAGE_MAP = StageMap((
    Stage("To Do", ("To Do",), "backlog", 0),
    Stage("In Progress", ("In Progress",), "active", 1),
    Stage("Ready for Review", ("Ready for Review",), "wait", 2),
    Stage("In Review", ("In Review",), "active", 3),
    Stage("Blocked", ("Blocked",), "wait", 4, side=True),
    Stage("Done", ("Done",), "done", 5),
))


def stamp(hours: float) -> str:
    return (MONDAY + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def story(key: str, path: list[tuple[float, str]], *, flags: tuple[tuple[float, bool], ...] = ()) -> dict:
    """An issue walking ``path`` [(hours after Monday 00:00, status), ...]; ``flags`` set or
    clear Jira's Flagged field at the given hours."""
    changes = [(stamp(t), before, after) for (_, before), (t, after) in pairwise(path)]
    current = path[-1][1]
    issue = jira_issue(key, stamp(path[0][0]), current, changes,
                       category="done" if current == "Done" else "indeterminate")
    histories = issue["changelog"]["histories"]
    for n, (hours, on) in enumerate(flags):
        histories.append({"id": str(5000 + n), "created": stamp(hours), "author": {"displayName": "Dev"}, "items": [{
            "field": "Flagged", "fieldtype": "custom", "from": None if on else "[10019]",
            "fromString": None if on else "Impediment", "to": "[10019]" if on else None,
            "toString": "Impediment" if on else ""}]})
    issue["changelog"]["total"] = issue["changelog"]["maxResults"] = len(histories)
    return issue


# A: To Do 0-10, In Progress 10-30 (20 h), Ready for Review 30-78 (48 h), In Review 78-88 (10 h), Done at 88.
def item_a(key: str = "A-1", flags=()) -> dict:
    return story(key, [(0, "To Do"), (10, "In Progress"), (30, "Ready for Review"), (78, "In Review"), (88, "Done")],
                 flags=flags)


# B: To Do 0-4, In Progress 4-28 (24 h), Ready for Review 28-52 (24 h), In Review 52-60 (8 h), Done at 60.
def item_b(key: str = "B-1") -> dict:
    return story(key, [(0, "To Do"), (4, "In Progress"), (28, "Ready for Review"), (52, "In Review"), (60, "Done")])


def open_case(store, tmp_path, issues, as_of: datetime = AS_OF):
    export = write_search(tmp_path / "search.json", issues)
    result = import_files(store, [SourceFile(export, export.name)], as_of=as_of)
    info = store.get(result.dataset)
    return open_flow(info, map_id=save_stage_map(info.path, STAGE_MAP), filters=Filters(all_types=True))


def days(hours: float):
    return pytest.approx(hours / 24, abs=1e-9)


def one_sentence(message: str) -> bool:
    return message.endswith(".") and "\n" not in message and len(message) < 300


@pytest.fixture
def two_items(store, tmp_path):
    with open_case(store, tmp_path, [item_a(), item_b()]) as flow:
        yield flow


# -- exact replays -----------------------------------------------------------------------------

def test_halving_the_review_wait_removes_half_of_each_items_wait(two_items):
    result = what_if(two_items, [StageTarget("Ready for Review", reduce_wait_pct=50)], runs=200)
    today, projected = result.today, result.projected
    # Today: lead A 88 h, B 60 h -> median (88 + 60) / 2 = 74 h; p85 = 60 + 0.85 x 28 = 83.8 h.
    assert today["lead_time_median_days"] == days(74) and today["lead_time_p85_days"] == days(83.8)
    # Half the review wait goes: A 88 - 24 = 64 h, B 60 - 12 = 48 h -> median 56 h; p85 = 48 + 0.85 x 16 = 61.6 h.
    assert projected["lead_time_median_days"] == days(56) and projected["lead_time_p85_days"] == days(61.6)
    # Cycle time from In Progress: today A 78, B 56 -> 67 h; projected A 54, B 44 -> 49 h.
    assert today["cycle_time_median_days"] == days(67) and projected["cycle_time_median_days"] == days(49)
    # Process time 20 + 10 + 24 + 8 = 62 h; wait 48 + 24 = 72 h today, 24 + 12 = 36 h projected.
    assert today["flow_efficiency"] == pytest.approx(62 / 134)
    assert projected["flow_efficiency"] == pytest.approx(62 / 98)
    # Both finished in the week of 4 March: 2 per week, and a cut of waiting does not change it.
    assert today["throughput_per_week"] == projected["throughput_per_week"] == pytest.approx(2.0)
    assert result.days_saved == {"median": days(18), "p85": days(22.2)}
    assert result.items == 2


def test_today_matches_the_flow_measures(two_items):
    result = what_if(two_items, [StageTarget("In Review", reduce_active_pct=10)], runs=100)
    lead = measures.distributions(two_items).set_index("measure").loc["lead_time"]
    assert result.today["lead_time_median_days"] == pytest.approx(lead["median_hours"] / 24)
    assert result.today["lead_time_p85_days"] == pytest.approx(lead["p85_hours"] / 24)
    assert result.today["flow_efficiency"] == pytest.approx(measures.flow_efficiency(two_items)["ratio_of_sums"])
    assert result.today["throughput_per_week"] == pytest.approx(measures.throughput(two_items)["delivered"].mean())


def test_identical_items_make_every_run_agree_on_the_hand_value(store, tmp_path):
    with open_case(store, tmp_path, [item_a(f"A-{i}") for i in range(1, 6)]) as flow:
        result = what_if(flow, [StageTarget("Ready for Review", reduce_wait_pct=50)], runs=500, seed=3)
    # Every resample holds only copies of A: lead 88 h today, 88 - 24 = 64 h projected, in every run.
    for figure in ("lead_time_median_days", "lead_time_p85_days"):
        assert result.today_intervals[figure] == (days(88), days(88), days(88))
        assert result.projected_intervals[figure] == (days(64), days(64), days(64))


def test_flagged_time_in_a_working_stage_is_its_waiting(store, tmp_path):
    # A flagged +12 to +16: In Progress holds 4 h of waiting and 20 - 4 = 16 h of work.
    issues = [item_a(flags=((12, True), (16, False)))]
    with open_case(store, tmp_path, issues) as flow:
        wait_cut = what_if(flow, [StageTarget("In Progress", reduce_wait_pct=50)], runs=100)
        work_cut = what_if(flow, [StageTarget("In Progress", reduce_active_pct=50)], runs=100)
        both = what_if(flow, [StageTarget("In Progress", reduce_wait_pct=100, reduce_active_pct=25)], runs=100)
    assert wait_cut.projected["lead_time_median_days"] == days(88 - 2)  # half of the 4 flagged hours
    assert work_cut.projected["lead_time_median_days"] == days(88 - 8)  # half of the 16 working hours
    assert both.projected["lead_time_median_days"] == days(88 - 4 - 4)  # all 4 flagged, a quarter of 16
    # Process time 16 + 10 = 26 h, wait 4 + 48 = 52 h; the working cut leaves 8 + 10 = 18 h of process.
    assert wait_cut.today["flow_efficiency"] == pytest.approx(26 / 78)
    assert wait_cut.projected["flow_efficiency"] == pytest.approx(26 / 76)
    assert work_cut.projected["flow_efficiency"] == pytest.approx(18 / 70)


# -- WIP limits (Little's law) ----------------------------------------------------------------

def test_wip_limit_below_todays_average_cuts_the_stage_wait_in_proportion(store, tmp_path):
    # Five copies of A sit in Ready for Review from Tue 06:00 to Thu 06:00: at the end of Mon 0,
    # Tue 5, Wed 5, Thu 0, Fri (the as-of day) 0 -> average 10 / 5 = 2 items. A limit of 1 keeps
    # 1 / 2 of the wait: 48 h -> 24 h, the same as a 50 % cut.
    with open_case(store, tmp_path, [item_a(f"A-{i}") for i in range(1, 6)]) as flow:
        limited = what_if(flow, [StageTarget("Ready for Review", wip_limit=1)], runs=100)
        halved = what_if(flow, [StageTarget("Ready for Review", reduce_wait_pct=50)], runs=100)
        # In Progress holds the five items at Monday's end only (5, 0, 0, 0, 0): an average of 1, within a limit of 1.
        working = what_if(flow, [StageTarget("In Progress", wip_limit=1)], runs=100)
    assert limited.projected["lead_time_median_days"] == days(64)
    assert limited.projected == halved.projected
    assert any("WIP limit of 1 in Ready for Review" in s and "average of 2 items" in s and "50 %" in s
               for s in limited.assumptions)
    assert working.projected == working.today


def test_wip_limit_above_todays_average_changes_nothing(two_items):
    result = what_if(two_items, [StageTarget("Ready for Review", wip_limit=5)], runs=100)
    assert result.projected == result.today
    assert result.projected_intervals == result.today_intervals
    assert any("changes nothing" in s for s in result.assumptions)


def test_a_working_time_cut_in_a_queue_changes_nothing(two_items):
    result = what_if(two_items, [StageTarget("Ready for Review", reduce_active_pct=80)], runs=100)
    assert result.projected == result.today
    assert any("no working time" in s for s in result.assumptions)


def test_a_stage_no_delivered_item_visited_changes_nothing(two_items):
    result = what_if(two_items, [StageTarget("Blocked", reduce_wait_pct=90)], runs=100)
    assert result.projected == result.today


# -- properties -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def varied_flow(tmp_path_factory):
    """40 delivered items with seeded random stays, some flagged, some sent back for rework."""
    from vsm_core.store import open_store

    rng = np.random.default_rng(5)
    issues = []
    for i in range(40):
        t = float(rng.uniform(0, 20))
        path = [(t, "To Do")]
        for status in ("In Progress", "Ready for Review", "In Review"):
            t += float(rng.exponential(12)) + 0.5
            path.append((t, status))
        if i % 5 == 0:  # review sends it back to work once
            for status in ("In Progress", "Ready for Review", "In Review"):
                t += float(rng.exponential(6)) + 0.5
                path.append((t, status))
        t += float(rng.exponential(4)) + 0.5
        path.append((t, "Done"))
        flags = ((path[1][0] + 0.2, True), (path[1][0] + 0.4, False)) if i % 3 == 0 else ()
        issues.append(story(f"P-{i}", path, flags=flags))
    base = tmp_path_factory.mktemp("varied")
    with open_case(open_store(base / "store"), base, issues, as_of=MONDAY + timedelta(days=14)) as flow:
        yield flow


STAGES = ("In Progress", "Ready for Review", "In Review", "Blocked")


@pytest.mark.parametrize("seed", range(12))
def test_only_cuts_never_lengthen_a_figure(varied_flow, seed):
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(STAGES), size=int(rng.integers(1, len(STAGES) + 1)), replace=False)
    targets = [StageTarget(STAGES[i], reduce_wait_pct=float(rng.uniform(0, 100)),
                           reduce_active_pct=float(rng.uniform(1, 100)), wip_limit=int(rng.integers(1, 4)))
               for i in chosen]
    result = what_if(varied_flow, targets, runs=300, seed=seed)
    for figure in ("lead_time_median_days", "lead_time_p85_days", "cycle_time_median_days"):
        assert result.projected[figure] <= result.today[figure] + 1e-12
    for figure, projected in result.projected_intervals.items():
        # The same resamples: in every run the projection is at most today's, so are the bands.
        assert projected[0] <= projected[1] <= projected[2]
        assert all(p <= t + 1e-12 for p, t in zip(projected, result.today_intervals[figure]))
    assert result.projected["throughput_per_week"] == result.today["throughput_per_week"]
    assert sum(result.histogram.today) == sum(result.histogram.projected) == result.items == 40


def test_more_cut_never_gives_a_longer_lead_time(varied_flow):
    results = [what_if(varied_flow, [StageTarget("Ready for Review", reduce_wait_pct=pct)], runs=50)
               for pct in (10, 30, 50, 70, 90, 100)]
    medians = [r.projected["lead_time_median_days"] for r in results]
    assert medians == sorted(medians, reverse=True)
    assert medians[-1] < results[0].today["lead_time_median_days"]


def test_resampled_quantiles_match_explicit_resampling():
    """The order-statistic draws give the distribution of quantiles of explicit resamples."""
    values = np.sort(np.random.default_rng(0).gamma(2.0, 30.0, size=15))
    runs = 40_000
    fast = resample_draws(len(values), (0.5, 0.85), runs, np.random.default_rng(1)).quantiles(values)
    picks = np.random.default_rng(2).integers(0, len(values), size=(runs, len(values)))
    slow = np.quantile(values[picks], [0.5, 0.85], axis=1).T
    # The median of 15 values is one of them: compare how often each value is the median.
    fast_freq = np.array([(fast[:, 0] == v).mean() for v in values])
    slow_freq = np.array([(slow[:, 0] == v).mean() for v in values])
    assert np.abs(fast_freq - slow_freq).max() < 0.01
    for column in (0, 1):
        for q in (5, 25, 50, 75, 95):
            assert np.percentile(fast[:, column], q) == pytest.approx(np.percentile(slow[:, column], q), rel=0.03)
        assert fast[:, column].mean() == pytest.approx(slow[:, column].mean(), rel=0.01)
    assert (fast[:, 1] >= fast[:, 0]).all()  # one resample per run: its p85 is never below its median


# -- output -----------------------------------------------------------------------------------

def test_histogram_bins_reach_todays_p95(two_items):
    result = what_if(two_items, [StageTarget("Ready for Review", reduce_wait_pct=50)], runs=50)
    histogram = result.histogram
    # Today's p95 = 60 + 0.95 x 28 = 86.6 h = 3.61 days -> bins up to 4 days, 20 bins of 0.2 days.
    assert histogram.edges_days[0] == 0 and histogram.edges_days[-1] == 4 and len(histogram.edges_days) == 21
    # Today A 88 h = 3.67 d (bin 18, the last holds longer too), B 2.5 d (bin 12); projected 2.67 d and 2.0 d.
    assert [i for i, c in enumerate(histogram.today) if c] == [12, 18]
    assert [i for i, c in enumerate(histogram.projected) if c] == [10, 13]


def test_to_dict_is_json_ready_and_states_its_assumptions(two_items):
    result = what_if(two_items, [StageTarget("Ready for Review", reduce_wait_pct=50),
                                 StageTarget("In Review", wip_limit=1)], runs=100, seed=7)
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data["today"]) == set(data["projected"]) == {
        "lead_time_median_days", "lead_time_p85_days", "cycle_time_median_days", "flow_efficiency",
        "throughput_per_week"}
    assert data["projected"]["lead_time_median_days"] == round(56 / 24, 4)
    assert set(data["projected_intervals"]["lead_time_p85_days"]) == {"low", "median_of_runs", "high"}
    assert data["targets"][0] == {"stage": "Ready for Review", "reduce_wait_pct": 50, "reduce_active_pct": 0,
                                  "wip_limit": None}
    assert data["items"] == 2 and data["runs"] == 100 and len(data["histogram"]["bins"]) == 20
    text = " ".join(data["assumptions"])
    for words in ("2 delivered items", "cut by 50 %", "WIP limit of 1 in In Review", "Throughput stays",
                  "does not promise", "90 % intervals from 100 resamples", "calendar time"):
        assert words in text
    assert all(one_sentence(s) for s in data["assumptions"])


def test_the_same_seed_gives_the_same_answer(store, tmp_path):
    issues = [item_a("A-1"), item_b("B-1"), item_b("B-2"), item_a("A-2"), item_b("B-3")]
    with open_case(store, tmp_path, issues) as flow:
        first = what_if(flow, [StageTarget("Ready for Review", reduce_wait_pct=40)], runs=300, seed=1)
        again = what_if(flow, [StageTarget("Ready for Review", reduce_wait_pct=40)], runs=300, seed=1)
    assert first.to_dict() == again.to_dict()


# -- refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, words", [
    pytest.param({"reduce_wait_pct": 120}, "from 0 to 100", id="over-100-percent"),
    pytest.param({"reduce_active_pct": -5}, "from 0 to 100", id="negative-percent"),
    pytest.param({"reduce_wait_pct": "half"}, "from 0 to 100", id="not-a-number"),
    pytest.param({"wip_limit": 0}, "1 or more", id="limit-zero"),
    pytest.param({"wip_limit": 2.5}, "1 or more", id="limit-not-whole"),
    pytest.param({}, "Nothing is asked", id="nothing-requested"),
])
def test_a_bad_target_is_refused_with_a_sentence(fields, words):
    with pytest.raises(ValueError) as caught:
        StageTarget("Ready for Review", **fields)
    assert words in str(caught.value) and one_sentence(str(caught.value))


@pytest.mark.parametrize("targets, words", [
    pytest.param([StageTarget("Code Review", reduce_wait_pct=50)], "no stage called", id="unknown-stage"),
    pytest.param([], "No change is set", id="no-target"),
    pytest.param([StageTarget("To Do", reduce_wait_pct=50)], "backlog stage", id="backlog"),
    pytest.param([StageTarget("Done", reduce_wait_pct=50)], "done stage", id="done"),
    pytest.param([StageTarget("In Review", reduce_wait_pct=5), StageTarget("in review", wip_limit=2)],
                 "two targets", id="stage-twice"),
])
def test_a_target_the_map_cannot_take_is_refused(two_items, targets, words):
    with pytest.raises(ValueError) as caught:
        what_if(two_items, targets)
    assert words in str(caught.value) and one_sentence(str(caught.value))


def test_bad_run_counts_are_refused(two_items):
    for runs in (0, -3, 10**6, 2.5):
        with pytest.raises(ValueError, match="Monte Carlo runs"):
            what_if(two_items, [StageTarget("In Review", reduce_wait_pct=5)], runs=runs)


def test_no_delivered_item_is_refused(store, tmp_path):
    unfinished = story("U-1", [(0, "To Do"), (5, "In Progress")])
    with open_case(store, tmp_path, [unfinished]) as flow, pytest.raises(ValueError, match="no history to project"):
        what_if(flow, [StageTarget("In Progress", reduce_active_pct=50)])
