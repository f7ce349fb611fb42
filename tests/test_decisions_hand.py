"""Bottlenecks and changes on small hand-written timelines where the answer is obvious to a
person: the numbers are worked out by hand in the comments."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import jira_issue, run_cli, write_search

from vsm_core.decisions.bottlenecks import rank_bottlenecks
from vsm_core.decisions.levers import LEVERS, recommend_changes
from vsm_core.metrics import Filters, open_flow
from vsm_core.stagemap import Stage, StageMap, save_stage_map

STAGES = StageMap((
    Stage("To Do", ("To Do",), "backlog", 0),
    Stage("In Progress", ("In Progress",), "active", 1),
    Stage("Awaiting Review", ("Awaiting Review",), "wait", 2),
    Stage("In Review", ("In Review",), "active", 3),
    Stage("Done", ("Done",), "done", 4),
))
START = datetime(2025, 3, 3, 9, tzinfo=UTC)


def _t(hours: float) -> str:
    return (START + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _item(n: int, path: list[tuple[str, float]], offset: float, until: float = 2000.0) -> dict:
    """An issue created at ``offset`` hours that spends ``hours`` in each status of ``path``
    (changes after ``until``, the as-of, have not happened yet)."""
    changes, at, previous = [], offset, "To Do"
    for status, hours in path:
        at += hours
        if at > until:
            break
        changes.append((_t(at), previous, status))
        previous = status
    return jira_issue(f"H-{n}", _t(offset), previous, changes, category="done" if previous == "Done" else "indeterminate")


def _dataset(store, tmp_path, issues, as_of_hours=2000.0):
    from vsm_core.ingest import SourceFile, import_files

    path = write_search(tmp_path / "hand.json", issues)
    result = import_files(store, [SourceFile(path, path.name)], as_of=START + timedelta(hours=as_of_hours))
    info = store.get(result.dataset)
    save_stage_map(info.path, STAGES)
    return info


def _queue_flow(n_items: int) -> list[dict]:
    # Each item: 1 h in To Do, 1 h in progress, 120 h (5 days) awaiting review, 1 h in review, then done.
    return [_item(n, [("In Progress", 1), ("Awaiting Review", 1), ("In Review", 120), ("Done", 1)], offset=n * 10)
            for n in range(1, n_items + 1)]


def test_a_review_queue_that_costs_five_days_ranks_first_and_stands_out(store, tmp_path):
    info = _dataset(store, tmp_path, _queue_flow(12))
    with open_flow(info, map_id=STAGES.version_id, filters=Filters(all_types=True)) as flow:
        report = rank_bottlenecks(flow)
    top = report.stages[0]
    assert (top.rank, top.stage, top.stands_out) == (1, "Awaiting Review", True)
    # Lead time 123 h: 1 + 1 + 120 + 1; the queue holds 120 h = 5 days, 120/123 of it, identical for every item.
    assert top.days_of_lead_time == pytest.approx(5.0)
    assert top.share_of_lead_time == pytest.approx(120 / 123)
    assert top.ci_low_days == pytest.approx(5.0) and top.ci_high_days == pytest.approx(5.0)
    assert "Awaiting Review" in top.why and "5.0 days" in top.why
    assert not report.healthy
    assert [s.stage for s in report.stages] == ["Awaiting Review", "In Progress", "In Review"]
    assert not any(s.stands_out for s in report.stages[1:])


def test_the_top_change_for_a_review_queue_is_a_review_sla_that_saves_four_days(store, tmp_path):
    info = _dataset(store, tmp_path, _queue_flow(12))
    with open_flow(info, map_id=STAGES.version_id, filters=Filters(all_types=True)) as flow:
        changes = recommend_changes(flow)
    top = changes[0]
    assert (top.lever, top.stage) == ("review-sla", "Awaiting Review")
    # Capping each 120 h wait at 24 h removes 96 h = 4 days from every lead time: median and p85 alike.
    assert top.expected_days_saved_median == pytest.approx(4.0)
    assert top.expected_days_saved_p85 == pytest.approx(4.0)
    assert top.effort == "low" and top.confidence == "low"  # 12 items: below the 30 of "medium"
    assert len(top.evidence_items) == 5 and "12 of 12 waited more than a day" in top.evidence


def test_an_even_flow_raises_no_alarm_and_promises_nothing(store, tmp_path):
    # Every stage takes 4 hours: nothing stands out, no signal fires.
    issues = [_item(n, [("In Progress", 4), ("Awaiting Review", 4), ("In Review", 4), ("Done", 4)], offset=n * 10)
              for n in range(1, 21)]
    info = _dataset(store, tmp_path, issues)
    with open_flow(info, map_id=STAGES.version_id, filters=Filters(all_types=True)) as flow:
        report = rank_bottlenecks(flow)
        changes = recommend_changes(flow)
    assert report.healthy and not any(s.stands_out for s in report.stages)
    assert report.title == "No stage stands out"
    assert report.summary.startswith("No stage stands out")
    assert changes == []


def test_three_items_are_too_few_to_call_a_bottleneck(store, tmp_path):
    info = _dataset(store, tmp_path, _queue_flow(3))
    with open_flow(info, map_id=STAGES.version_id, filters=Filters(all_types=True)) as flow:
        report = rank_bottlenecks(flow)
    assert report.stages[0].stage == "Awaiting Review"
    assert report.healthy and "too few" in report.summary
    assert report.title == "Too few delivered items (3) to name a bottleneck"


def test_work_sent_back_from_review_asks_for_clearer_requirements(store, tmp_path):
    # 20 items: 2 h in progress, 1 h awaiting review, 1 h in review; 10 of them are sent back once and spend
    # another 40 h in progress, 1 h awaiting review and 1 h in review before done.
    issues = []
    for n in range(1, 21):
        path = [("In Progress", 1), ("Awaiting Review", 2), ("In Review", 1)]
        if n <= 10:
            path += [("In Progress", 1), ("Awaiting Review", 40), ("In Review", 1)]
        issues.append(_item(n, path + [("Done", 1)], offset=n * 10))
    info = _dataset(store, tmp_path, issues)
    with open_flow(info, map_id=STAGES.version_id, filters=Filters(all_types=True)) as flow:
        changes = {c.lever: c for c in recommend_changes(flow)}
    rework = changes["requirements-definition"]
    assert rework.stage == "In Review"
    assert "10 of 20 delivered items (50%)" in rework.evidence
    # Lead times: 10 items of 5 h, 10 of 47 h (5 + 40 + 1 + 1). The replay removes half of the revisits
    # (40 + 1 + 1 = 42 h) from the 47 h items: 26 h. Median before (5 + 47) / 2 = 26, after (5 + 26) / 2 = 15.5:
    # 10.5 h saved = 0.4375 days. p85 before 47, after 26: 21 h = 0.875 days.
    assert rework.expected_days_saved_median == pytest.approx(10.5 / 24)
    assert rework.expected_days_saved_p85 == pytest.approx(21 / 24)


def test_cli_prints_the_documented_keys(store, tmp_path):
    info = _dataset(store, tmp_path, _queue_flow(12))
    store_dir = store.root
    ranking = json.loads(run_cli("bottlenecks", info.dataset, "--map", STAGES.version_id, "--all-types", "--json",
                                 store_dir=store_dir, check=True).stdout)
    assert {"rank", "stage", "statuses", "score", "days_of_lead_time", "ci_low_days", "ci_high_days", "why"} <= set(ranking[0])
    assert ranking[0]["statuses"] == ["Awaiting Review"]
    changes = json.loads(run_cli("changes", info.dataset, "--map", STAGES.version_id, "--all-types", "--json",
                                 store_dir=store_dir, check=True).stdout)
    assert {"rank", "stage", "lever", "title", "evidence", "replay_rule", "expected_days_saved_median",
            "expected_days_saved_p85", "effort", "confidence"} <= set(changes[0])
    assert all(c["lever"] in LEVERS and c["effort"] in ("low", "medium", "high")
               and c["confidence"] in ("low", "medium", "high") for c in changes)
    summary = json.loads(run_cli("bottlenecks", info.dataset, "--map", STAGES.version_id, "--all-types", "--json",
                                 "--summary", store_dir=store_dir, check=True).stdout)
    assert summary["healthy"] is False and summary["bottlenecks"][0]["stage"] == "Awaiting Review"


def test_work_started_faster_than_it_finishes_asks_for_a_wip_limit_first(store, tmp_path):
    # Item n arrives at 10n h and starts at once. Items 1-29 are done 20 h later; from item 30 on nothing finishes
    # before the as-of (900 h), so work in progress climbs from about 2 items to 60, and most of it grows old
    # (older than the 20 h at which every delivered item had left In Progress).
    issues = [_item(n, [("In Progress", 1), ("Done", 20 if n < 30 else 5000)], offset=10 * n, until=900)
              for n in range(1, 90)]
    info = _dataset(store, tmp_path, issues, as_of_hours=900)
    with open_flow(info, map_id=STAGES.version_id, filters=Filters(all_types=True)) as flow:
        changes = recommend_changes(flow)
    top = changes[0]
    assert (top.rank, top.lever) == (1, "wip-limit")
    # Every delivered item has a 20 h cycle: a 30% cut saves 6 h at the median and at the p85.
    assert top.expected_days_saved_median == pytest.approx(6 / 24)
    assert top.expected_days_saved_p85 == pytest.approx(6 / 24)


def test_a_chance_swing_of_work_in_process_is_not_a_wip_problem(store, tmp_path):
    # Work in process doubles (1 item to 2) but stays tiny and nothing grows old: no wip-limit.
    issues = [_item(n, [("In Progress", 1), ("Done", 10 if n < 20 else 20)], offset=10 * n, until=900)
              for n in range(1, 40)]
    info = _dataset(store, tmp_path, issues, as_of_hours=900)
    with open_flow(info, map_id=STAGES.version_id, filters=Filters(all_types=True)) as flow:
        assert "wip-limit" not in {c.lever for c in recommend_changes(flow)}
