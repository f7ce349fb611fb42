"""Experiments: saved with the dataset, and read before vs after by stage entry.

The evaluation cases are Jira JSON search exports (built with ``conftest.jira_issue``)
imported into a fresh store with a fixed as-of time and read through a hand-made stage map,
as in ``test_metrics_hand.py``. Times are UTC. The experiment starts on Monday 2024-03-18
("S"); "S-9d" is nine days before its midnight. Every item is created one day before it enters
Ready for Review, moves on to In Review when its wait ends, and is done one day later, so its
lead time is its wait plus two days. The last test reads the committed demo data set, where
the team started reviewing first and pairing on reviews on 2025-12-01.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import jira_issue, write_search

from vsm_core.decisions.experiments import (
    LEVERS,
    Experiment,
    add_experiment,
    delete_experiment,
    evaluate,
    list_experiments,
    load_experiment,
)
from vsm_core.ingest import SourceFile, import_files
from vsm_core.metrics import Filters, measures, open_flow
from vsm_core.stagemap import Stage, StageMap, save_stage_map

REPO = Path(__file__).resolve().parents[1]
START = date(2024, 3, 18)
S = datetime(2024, 3, 18, tzinfo=UTC)
DAY = timedelta(days=1)

STAGE_MAP = StageMap((
    Stage("To Do", ("To Do",), "backlog", 0),
    Stage("In Progress", ("In Progress",), "active", 1),
    Stage("Ready for Review", ("Ready for Review",), "wait", 2),
    Stage("In Review", ("In Review",), "active", 3),
    Stage("Done", ("Done",), "done", 4),
    Stage("Won't Do", ("Won't Do",), "done", 5, cancelled=True),
))


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def reviewed(key: str, entered: datetime, wait_days: float, as_of: datetime, *, end: str = "Done") -> dict:
    """Created a day before entering Ready for Review at ``entered``; In Progress for the first 12
    hours; waits ``wait_days``, then In Review for a day, then ``end``; cut at ``as_of``."""
    created = entered - DAY
    path = [(created + timedelta(hours=12), "To Do", "In Progress"), (entered, "In Progress", "Ready for Review"),
            (entered + timedelta(days=wait_days), "Ready for Review", "In Review"),
            (entered + timedelta(days=wait_days + 1), "In Review", end)]
    changes = [(stamp(t), a, b) for t, a, b in path if t < as_of]
    current = changes[-1][2]
    return jira_issue(key, stamp(created), current, changes,
                      category="done" if current in ("Done", "Won't Do") else "indeterminate")


def group(prefix: str, count: int, entered: datetime, wait_days: float, as_of: datetime, **kwargs) -> list[dict]:
    return [reviewed(f"{prefix}-{i}", entered, wait_days, as_of, **kwargs) for i in range(1, count + 1)]


def open_case(store, tmp_path, issues, as_of: datetime):
    export = write_search(tmp_path / "search.json", issues)
    result = import_files(store, [SourceFile(export, export.name)], as_of=as_of)
    info = store.get(result.dataset)
    return info, open_flow(info, map_id=save_stage_map(info.path, STAGE_MAP), filters=Filters(all_types=True))


def run(store, tmp_path, issues, as_of: datetime, *, stage: str = "Ready for Review", settle_days: int = 2):
    info, flow = open_case(store, tmp_path, issues, as_of)
    with flow:
        experiment = add_experiment(info.path, title="Review first", stage=stage, lever="review-sla", start=START,
                                    settle_days=settle_days)
        return evaluate(flow, experiment, resamples=1000, seed=1)


def one_sentence(message: str) -> bool:
    return message.endswith(".") and "\n" not in message


# -- saved with the dataset -----------------------------------------------------------------

def test_experiments_round_trip_newest_first(tmp_path):
    first = add_experiment(tmp_path, title="Review SLA of one day", stage="Ready for Review", lever="review-sla",
                           start=date(2025, 12, 1), note="Agreed at the retro")
    second = add_experiment(tmp_path, title="Pair on critical changes", stage="In Review", lever="pairing",
                            start="2025-12-08", settle_days=0)
    other = add_experiment(tmp_path, title="  New release train  ", stage="Ready for Release", lever=None,
                           start=date(2026, 1, 5))
    assert [e.experiment_id for e in list_experiments(tmp_path)] == [other.experiment_id, second.experiment_id,
                                                                    first.experiment_id]
    assert load_experiment(tmp_path, first.experiment_id) == first
    assert second.start == date(2025, 12, 8) and second.settle_days == 0 and first.settle_days == 7
    assert other.title == "New release train" and other.lever is None
    saved = json.loads((tmp_path / "experiments" / f"{first.experiment_id}.json").read_text())
    assert saved == {"experiment_id": first.experiment_id, "title": "Review SLA of one day",
                     "stage": "Ready for Review", "lever": "review-sla", "start": "2025-12-01", "settle_days": 7,
                     "created_at": first.created_at, "note": "Agreed at the retro"}
    assert len(first.experiment_id) == 12 and first.experiment_id != second.experiment_id
    delete_experiment(tmp_path, second.experiment_id)
    assert [e.experiment_id for e in list_experiments(tmp_path)] == [other.experiment_id, first.experiment_id]
    with pytest.raises(ValueError, match="cannot be read"):
        load_experiment(tmp_path, second.experiment_id)
    with pytest.raises(ValueError, match="no experiment"):
        delete_experiment(tmp_path, second.experiment_id)


def test_a_dataset_without_experiments_lists_none(tmp_path):
    assert list_experiments(tmp_path) == []


def test_a_damaged_file_is_skipped_and_refused_with_a_sentence(tmp_path):
    kept = add_experiment(tmp_path, title="Kept", stage="In Review", lever="pairing", start=date(2025, 12, 1))
    folder = tmp_path / "experiments"
    (folder / "0123456789ab.json").write_text("{not json")
    (folder / "aaaaaaaaaaaa.json").write_text(json.dumps({**kept.to_dict(), "experiment_id": "aaaaaaaaaaaa",
                                                          "lever": "magic"}))
    (folder / "bbbbbbbbbbbb.json").write_text(json.dumps(kept.to_dict()))  # another experiment's content
    (folder / "notes.json").write_text(json.dumps(kept.to_dict()))
    assert list_experiments(tmp_path) == [kept]
    for experiment_id in ("0123456789ab", "aaaaaaaaaaaa", "bbbbbbbbbbbb"):
        with pytest.raises(ValueError) as caught:
            load_experiment(tmp_path, experiment_id)
        assert one_sentence(str(caught.value))


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "ABCDEF012345", "0123456789a", "0123456789abc", "", None,
                                    "0123456789ab/", "0123456789ab\n", "..", "*"])
def test_bad_ids_are_refused_before_any_file_is_touched(tmp_path, bad_id):
    (tmp_path / "experiments").mkdir()
    victim = tmp_path / "keep.json"
    victim.write_text("{}")
    for action in (load_experiment, delete_experiment):
        with pytest.raises(ValueError) as caught:
            action(tmp_path, bad_id)
        assert "is not an experiment id" in str(caught.value) and one_sentence(str(caught.value))
    assert victim.exists()


@pytest.mark.parametrize("fields, words", [
    pytest.param({"title": "  "}, "title of 1 to 200", id="empty-title"),
    pytest.param({"title": "x" * 201}, "title of 1 to 200", id="long-title"),
    pytest.param({"stage": ""}, "Name the stage", id="no-stage"),
    pytest.param({"lever": "magic"}, "is not a lever", id="unknown-lever"),
    pytest.param({"lever": "Review-SLA"}, "is not a lever", id="lever-case"),
    pytest.param({"settle_days": 61}, "from 0 to 60", id="long-settling"),
    pytest.param({"settle_days": -1}, "from 0 to 60", id="negative-settling"),
    pytest.param({"settle_days": True}, "from 0 to 60", id="settling-not-a-number"),
    pytest.param({"start": "yesterday"}, "YYYY-MM-DD", id="bad-start"),
    pytest.param({"note": "x" * 2001}, "note", id="long-note"),
])
def test_bad_fields_are_refused_with_a_sentence(tmp_path, fields, words):
    good = {"title": "Review first", "stage": "Ready for Review", "lever": "review-sla", "start": date(2025, 12, 1)}
    with pytest.raises(ValueError) as caught:
        add_experiment(tmp_path, **{**good, **fields})
    assert words in str(caught.value) and one_sentence(str(caught.value))
    assert not (tmp_path / "experiments").exists() or not list((tmp_path / "experiments").iterdir())


def test_every_lever_of_the_guide_can_be_recorded(tmp_path):
    assert len(LEVERS) == 10
    for lever in LEVERS:
        add_experiment(tmp_path, title=lever, stage="In Review", lever=lever, start=date(2025, 12, 1))
    assert sorted(e.lever for e in list_experiments(tmp_path)) == sorted(LEVERS)


# -- before and after -----------------------------------------------------------------------

def test_shorter_review_wait_after_the_start_is_improved(store, tmp_path):
    as_of = S + 16 * DAY
    # After period: from S+2d (2 settling days) to the as-of, 14 days; so the before group takes
    # entries from S-14d: the 12 items entering S-12d..S-1d (3-day waits), not the one at S-20d.
    # After: the 12 items entering S+2d..S+13d (half-day waits); the one entering during the
    # settling period (S+1d) and a cancelled one are left out.
    issues = [reviewed(f"B-{i}", S - i * DAY + 10 * timedelta(hours=1), 3, as_of) for i in range(1, 13)]
    issues += [reviewed(f"A-{i}", S + (i + 1) * DAY + timedelta(hours=10), 0.5, as_of) for i in range(1, 13)]
    issues += [reviewed("OLD-1", S - 20 * DAY, 9, as_of), reviewed("SETTLING-1", S + DAY, 9, as_of),
               reviewed("CANCELLED-1", S + 3 * DAY, 9, as_of, end="Won't Do")]
    result = run(store, tmp_path, issues, as_of)
    assert (result.before.items, result.before.finished, result.after.items, result.after.finished) == (12, 12, 12, 12)
    assert result.before.entered_from == S - 14 * DAY and result.after.entered_from == S + 2 * DAY
    stage, lead = result.stage_time, result.lead_time
    # Stage: 3.0 days before, 0.5 after: -2.5 days (every resample agrees), -83.3 %.
    assert (stage.before_median_days, stage.after_median_days) == (pytest.approx(3), pytest.approx(0.5))
    assert stage.difference_days == pytest.approx(-2.5)
    assert (stage.ci_low_days, stage.ci_high_days) == (pytest.approx(-2.5), pytest.approx(-2.5))
    assert stage.change_pct == pytest.approx(-2.5 / 3)
    # Lead time is the wait plus two days: 5.0 -> 2.5 days.
    assert (lead.before_median_days, lead.after_median_days) == (pytest.approx(5), pytest.approx(2.5))
    assert result.verdict == "improved"
    assert result.summary == ("Items that entered Ready for Review after 18 Mar 2024 waited a median 0.50 days "
                              "there, down from 3.0 days (90 % interval 2.5 to 2.5 days less); lead time fell from "
                              "5.0 to 2.5 days.")


@pytest.mark.parametrize("after_wait, verdict", [
    pytest.param(3.0, "no clear change", id="unchanged"),
    pytest.param(2.8, "no clear change", id="below-the-10-percent-threshold"),  # -6.7 %, however sure
    pytest.param(2.7, "improved", id="at-the-10-percent-threshold"),  # -10 %
    pytest.param(4.0, "worse", id="longer-wait"),  # +33 %
])
def test_verdict_thresholds(store, tmp_path, after_wait, verdict):
    as_of = S + 20 * DAY
    issues = [reviewed(f"B-{i}", S - i * DAY, 3, as_of) for i in range(1, 13)]
    issues += [reviewed(f"A-{i}", S + (i + 2) * DAY, after_wait, as_of) for i in range(1, 13)]
    result = run(store, tmp_path, issues, as_of)
    assert result.stage_time.difference_days == pytest.approx(after_wait - 3)
    assert result.verdict == verdict


def test_a_noisy_flow_without_change_is_no_clear_change(store, tmp_path):
    as_of = S + 30 * DAY
    waits = np.random.default_rng(4).lognormal(0.5, 0.8, size=60)
    issues = [reviewed(f"B-{i}", S - (i % 25 + 1) * DAY, float(w), as_of) for i, w in enumerate(waits[:30])]
    issues += [reviewed(f"A-{i}", S + (i % 15 + 3) * DAY, float(w), as_of) for i, w in enumerate(waits[30:])]
    result = run(store, tmp_path, issues, as_of)
    assert result.stage_time.ci_low_days < 0 < result.stage_time.ci_high_days
    assert result.verdict == "no clear change"
    assert "90 % interval from" in result.summary


def test_a_tiny_after_group_is_too_little_data_yet(store, tmp_path):
    as_of = S + 20 * DAY
    issues = [reviewed(f"B-{i}", S - i * DAY, 3, as_of) for i in range(1, 13)]
    issues += [reviewed(f"A-{i}", S + (i + 2) * DAY, 0.5, as_of) for i in range(1, 10)]  # 9 after
    result = run(store, tmp_path, issues, as_of)
    assert (result.after.items, result.verdict) == (9, "too little data yet")
    assert result.summary.startswith("Too little data yet: 9 items entered Ready for Review after 18 Mar 2024")
    assert "at least 10 items on each side, 5 of them finished" in result.summary


def test_too_few_finished_is_too_little_data_yet_and_unfinished_count_their_age(store, tmp_path):
    as_of = S + 10 * DAY
    issues = [reviewed(f"B-{i}", S - i * DAY / 2, 1, as_of) for i in range(1, 13)]  # S-0.5d..S-6d
    # 4 finished after items (1-day waits), 8 still waiting at the as-of since S+6d: 4 days so far.
    issues += [reviewed(f"A-{i}", S + 3 * DAY, 1, as_of) for i in range(1, 5)]
    issues += [reviewed(f"W-{i}", S + 6 * DAY, 30, as_of) for i in range(1, 9)]
    result = run(store, tmp_path, issues, as_of)
    assert (result.after.items, result.after.finished, result.verdict) == (12, 4, "too little data yet")
    # Stage time so far: 4 x 1 day and 8 x 4 days -> median 4 days; age so far 1 + 4 = 5 days.
    assert result.stage_time.after_median_days == pytest.approx(4)
    assert result.lead_time.after_median_days == pytest.approx(5)


def test_items_are_grouped_by_stage_entry_not_by_finish(store, tmp_path):
    """Fast items finish first: read by finish date, the review queue would look far faster."""
    as_of = S + 10 * DAY
    # Before (entered S-9d): 20 waits of 1, 3 and 5 days each, all done before S.
    issues = [reviewed(f"B{w}-{i}", S - 9 * DAY, w, as_of) for w in (1, 3, 5) for i in range(20)]
    # After: 20 entered S+1d with 1-day waits (done S+3d); 40 entered S+7d and still wait at
    # the as-of (3 days so far), 20 of them for 3 days and 20 for 5.
    issues += [reviewed(f"A1-{i}", S + DAY, 1, as_of) for i in range(20)]
    issues += [reviewed(f"A{w}-{i}", S + 7 * DAY, w, as_of) for w in (3, 5) for i in range(20)]
    info, flow = open_case(store, tmp_path, issues, as_of)
    with flow:
        experiment = add_experiment(info.path, title="Review first", stage="Ready for Review", lever="review-sla",
                                    start=START, settle_days=0)
        result = evaluate(flow, experiment, resamples=2000, seed=2)
        entries = measures.stage_entries(flow, "Ready for Review")
    # By entry: before 1/3/5 days -> median 3; after 20 x 1 and 40 x 3 so far -> median 3: no clear change.
    assert (result.before.items, result.after.items) == (60, 60)
    assert (result.stage_time.before_median_days, result.stage_time.after_median_days) == (3, 3)
    assert result.verdict == "no clear change"
    # By finish date (finished items only), the same data would say the wait fell from 3 days to 1,
    # with every resample agreeing: an improvement that never happened.
    done = entries[entries["finished"]]
    by_finish_before = np.sort(done.loc[done["done_at"] < S, "stage_hours"].to_numpy() / 24)
    by_finish_after = np.sort(done.loc[done["done_at"] >= S, "stage_hours"].to_numpy() / 24)
    assert np.median(by_finish_before) == pytest.approx(3) and np.median(by_finish_after) == pytest.approx(1)
    rng = np.random.default_rng(0)
    differences = (np.median(rng.choice(by_finish_after, (2000, len(by_finish_after))), axis=1)
                   - np.median(rng.choice(by_finish_before, (2000, len(by_finish_before))), axis=1))
    assert np.percentile(differences, 95) < 0  # the interval lies below zero: "improved" by the same rule


def test_an_unknown_or_done_stage_is_refused(store, tmp_path):
    as_of = S + 5 * DAY
    info, flow = open_case(store, tmp_path, [reviewed("X-1", S, 1, as_of)], as_of)
    with flow:
        for stage, words in (("Code Review", "no stage called"), ("Done", "done stage")):
            experiment = add_experiment(info.path, title="t", stage=stage, lever=None, start=START)
            with pytest.raises(ValueError) as caught:
                evaluate(flow, experiment)
            assert words in str(caught.value) and one_sentence(str(caught.value))


def test_result_to_dict_is_json_ready(store, tmp_path):
    as_of = S + 16 * DAY
    issues = [reviewed(f"B-{i}", S - i * DAY, 3, as_of) for i in range(1, 13)]
    issues += [reviewed(f"A-{i}", S + (i + 2) * DAY, 0.5, as_of) for i in range(1, 13)]
    data = json.loads(json.dumps(run(store, tmp_path, issues, as_of).to_dict()))
    assert data["verdict"] == "improved" and data["experiment"]["start"] == "2024-03-18"
    assert data["after"]["entered_from"] == "2024-03-20T00:00:00Z" and data["as_of"] == "2024-04-03T00:00:00Z"
    assert data["stage_time"]["change_pct"] == round(-2.5 / 3, 6)
    assert data["thresholds"] == {"min_items": 10, "min_finished": 5, "min_change": 0.1, "confidence": 0.9}


def test_experiment_from_dict_refuses_a_bad_id():
    good = {"experiment_id": "0123456789ab", "title": "t", "stage": "s", "lever": None, "start": "2025-12-01",
            "settle_days": 7, "created_at": "2025-12-01T00:00:00Z", "note": None}
    assert Experiment.from_dict(good).start == date(2025, 12, 1)
    with pytest.raises(ValueError):
        Experiment.from_dict({**good, "experiment_id": "../x"})


# -- the demo data set ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_flow(tmp_path_factory):
    from vsm_core.demo import DEMO_FILES
    from vsm_core.store import open_store

    store = open_store(tmp_path_factory.mktemp("demo") / "store")
    files = [REPO / "data" / "demo" / name for name in DEMO_FILES]
    info = store.get(import_files(store, [SourceFile(path, path.name) for path in files]).dataset)
    with open_flow(info) as flow:
        yield info, flow


def test_the_demo_review_first_policy_is_improved(demo_flow):
    info, flow = demo_flow
    queue = flow.stage_map.stage_of("Ready for Review")
    assert queue.kind == "wait"
    experiment = add_experiment(info.path, title="Review first, pair on reviews", stage=queue.name,
                                lever="review-sla", start=date(2025, 12, 1))
    result = evaluate(flow, experiment)
    assert result.verdict == "improved"
    assert result.stage_time.before_median_days > 2 and result.stage_time.after_median_days < 0.25
    assert result.stage_time.ci_high_days < -2
    assert min(result.before.items, result.after.items) > 300
    assert result.lead_time.after_median_days < result.lead_time.before_median_days
    assert result.summary.startswith(f"Items that entered {queue.name} after 1 Dec 2025 waited a median 0.")


def test_the_demo_work_stage_did_not_change_with_the_review_policy(demo_flow):
    info, flow = demo_flow
    experiment = add_experiment(info.path, title="Same date, other stage", stage="In Progress", lever=None,
                                start=date(2025, 12, 1))
    assert evaluate(flow, experiment).verdict == "no clear change"
