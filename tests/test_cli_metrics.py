"""`vsm stages`, `vsm flow` and `vsm stagemap` as a user runs them: real processes, a real
store, JSON on stdout, one sentence and exit code 2 on a bad option."""

from __future__ import annotations

import json

import pytest
from conftest import jira_issue, run_cli, write_search

STAGE_KEYS = {"stage", "statuses", "kind", "order", "items", "median_hours", "p85_hours", "total_hours", "share_of_lead_time"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Three stories: two delivered (one of them through a review loop), one in flight."""
    base = tmp_path_factory.mktemp("cli-metrics")
    issues = [
        # Mon 3 Mar 09:00 created; 1 day To Do, 1 day In Progress, 2 days Ready for Review, 1 day In Review -> Done.
        jira_issue("S-1", "2025-03-03T09:00:00.000+0000", "Done", [
            ("2025-03-04T09:00:00.000+0000", "To Do", "In Progress"),
            ("2025-03-05T09:00:00.000+0000", "In Progress", "Ready for Review"),
            ("2025-03-07T09:00:00.000+0000", "Ready for Review", "In Review"),
            ("2025-03-08T09:00:00.000+0000", "In Review", "Done"),
        ], category="done"),
        # 1 day To Do, 2 days In Progress, 1 day Ready for Review, 1 day In Review, back 1 day In Progress, 1 day In Review -> Done.
        jira_issue("S-2", "2025-03-03T09:00:00.000+0000", "Done", [
            ("2025-03-04T09:00:00.000+0000", "To Do", "In Progress"),
            ("2025-03-06T09:00:00.000+0000", "In Progress", "Ready for Review"),
            ("2025-03-07T09:00:00.000+0000", "Ready for Review", "In Review"),
            ("2025-03-08T09:00:00.000+0000", "In Review", "In Progress"),
            ("2025-03-09T09:00:00.000+0000", "In Progress", "In Review"),
            ("2025-03-10T09:00:00.000+0000", "In Review", "Done"),
        ], category="done"),
        jira_issue("S-3", "2025-03-05T09:00:00.000+0000", "In Progress", [
            ("2025-03-06T09:00:00.000+0000", "To Do", "In Progress"),
        ]),
    ]
    path = write_search(base / "three.json", issues)
    store = base / "store"
    result = run_cli("import", path, "--json", "--as-of", "2025-03-12T09:00:00Z", store_dir=store, check=True)
    return json.loads(result.stdout)["dataset"], store


def test_stages_json_has_the_documented_keys_and_hand_checked_values(dataset):
    dataset_id, store = dataset
    rows = json.loads(run_cli("stages", dataset_id, "--json", store_dir=store, check=True).stdout)
    assert all(STAGE_KEYS <= set(row) for row in rows)
    by_stage = {row["stage"]: row for row in rows}
    assert by_stage["In Progress"]["statuses"] == ["In Progress"]
    # In Progress per item: S-1 24 h, S-2 48 + 24 = 72 h, S-3 in flight 6 Mar 09:00 -> 12 Mar 09:00 = 144 h.
    assert by_stage["In Progress"]["items"] == 3
    assert by_stage["In Progress"]["median_hours"] == pytest.approx(72)
    assert by_stage["In Progress"]["p85_hours"] == pytest.approx(72 + 0.7 * (144 - 72))
    assert by_stage["In Progress"]["total_hours"] == pytest.approx(240)
    # Delivered flow time: S-1 5 days, S-2 7 days = 288 h; In Progress holds 24 + 72 = 96 h of it.
    assert by_stage["In Progress"]["share_of_lead_time"] == pytest.approx(96 / 288)
    shares = [row["share_of_lead_time"] for row in rows if row["kind"] != "done"]
    assert sum(shares) == pytest.approx(1.0)


def test_flow_json_carries_every_measure(dataset):
    dataset_id, store = dataset
    report = json.loads(run_cli("flow", dataset_id, "--json", "--items", store_dir=store, check=True).stdout)
    for key in ("lead_time", "cycle_time", "reopened_time", "throughput", "net_flow", "flow_efficiency",
                "complete_and_accurate", "rework_loops", "handoffs", "wip_daily", "ageing", "littles_law", "items",
                "as_of", "clock", "filters", "stage_map"):
        assert key in report, key
    # Lead times 5 and 7 days: median 6 days.
    assert report["lead_time"]["median_hours"] == pytest.approx(144)
    assert report["rework_loops"] == [{"from_stage": "In Review", "to_stage": "In Progress", "moves": 1, "items": 1, "example_keys": ["S-2"]}]
    assert [item["key"] for item in report["ageing"]] == ["S-3"]
    assert report["as_of"] == "2025-03-12T09:00:00Z"


def test_working_clock_removes_the_weekend(dataset):
    dataset_id, store = dataset
    rows = json.loads(run_cli("stages", dataset_id, "--json", "--clock", "working", store_dir=store, check=True).stdout)
    by_stage = {row["stage"]: row for row in rows}
    # S-3 In Progress from Thu 6 Mar 09:00 to Wed 12 Mar 09:00: 144 calendar hours less Sat 8 and Sun 9 = 96.
    # S-2's second In Progress stay is Sat 8 -> Sun 9 09:00: 0 working hours, so S-2 has 48; S-1 24.
    assert by_stage["In Progress"]["total_hours"] == pytest.approx(24 + 48 + 96)


def test_a_saved_stage_map_merges_statuses_and_is_named_by_its_id(dataset, tmp_path):
    dataset_id, store = dataset
    current = json.loads(run_cli("stagemap", dataset_id, "--json", store_dir=store, check=True).stdout)
    stages = current["stages"]
    review = [s for s in stages if s["name"] in ("Ready for Review", "In Review")]
    merged = dict(review[1], name="Review", statuses=["Ready for Review", "In Review"], kind="active", decided_by="user")
    edited = [s for s in stages if s["name"] not in ("Ready for Review", "In Review")] + [merged]
    (tmp_path / "map.json").write_text(json.dumps({"stages": edited}))
    saved = json.loads(run_cli("stagemap", dataset_id, "--save", tmp_path / "map.json", "--json", store_dir=store, check=True).stdout)
    rows = json.loads(run_cli("stages", dataset_id, "--map", saved["map"], "--json", store_dir=store, check=True).stdout)
    review_row = next(row for row in rows if row["stage"] == "Review")
    assert review_row["statuses"] == ["Ready for Review", "In Review"]
    # S-1: 2 days + 1 day; S-2: 1 + 1 day (one stay) + 1 day (second stay) = 3 days each.
    assert review_row["total_hours"] == pytest.approx(6 * 24)
    listed = json.loads(run_cli("stagemap", dataset_id, "--list", "--json", store_dir=store, check=True).stdout)
    assert saved["map"] in [row["map"] for row in listed]


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        pytest.param(["stages", "{id}", "--from", "March"], "--from 'March' is not a date", id="bad-date"),
        pytest.param(["stages", "{id}", "--from", "2025-03-09", "--to", "2025-03-01"], "before it starts", id="reversed-window"),
        pytest.param(["flow", "{id}", "--clock", "working", "--timezone", "Mars/Base"], "not a time zone", id="bad-zone"),
        pytest.param(["stages", "{id}", "--map", "0123456789abcdef"], "no saved stage map", id="unknown-map"),
        pytest.param(["stages", "no-such-dataset"], "no-such-dataset", id="unknown-dataset"),
        pytest.param(["stagemap", "{id}", "--save", "{bad_map}"], "in two stages", id="status-in-two-stages"),
    ],
)
def test_bad_options_get_one_sentence_and_exit_2(dataset, tmp_path, args, sentence):
    dataset_id, store = dataset
    bad_map = tmp_path / "bad.json"
    bad_map.write_text(json.dumps({"stages": [
        {"name": "A", "statuses": ["To Do"], "kind": "backlog", "order": 0},
        {"name": "B", "statuses": ["To Do", "Done"], "kind": "done", "order": 1},
    ]}))
    argv = [a.format(id=dataset_id, bad_map=bad_map) for a in args]
    result = run_cli(*argv, store_dir=store)
    assert result.returncode == 2
    assert sentence in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
