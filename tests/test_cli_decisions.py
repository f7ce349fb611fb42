"""`vsm whatif` and `vsm experiment` as a user runs them: real processes on a real store."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from test_decisions_hand import STAGES, _dataset, _queue_flow


@pytest.fixture
def dataset(store, tmp_path):
    info = _dataset(store, tmp_path, _queue_flow(12))
    return info, store.root


def test_whatif_halving_the_review_queue_saves_half_of_its_days(dataset):
    info, store_dir = dataset
    result = json.loads(run_cli("whatif", info.dataset, "--map", STAGES.version_id, "--all-types", "--stage",
                                "Awaiting Review", "--reduce-wait", "50", "--json", store_dir=store_dir, check=True).stdout)
    # Every item: lead 123 h, of which 120 h in the queue; half of it removed leaves 63 h.
    assert result["today"]["lead_time_median_days"] == pytest.approx(123 / 24, abs=1e-3)
    assert result["projected"]["lead_time_median_days"] == pytest.approx(63 / 24, abs=1e-3)
    assert result["projected"]["throughput_per_week"] == result["today"]["throughput_per_week"]
    assert result["assumptions"] and result["stage_map"] == STAGES.version_id


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        pytest.param(["--stage", "Nowhere", "--reduce-wait", "50"], "no stage called 'Nowhere'", id="unknown-stage"),
        pytest.param(["--stage", "Awaiting Review", "--reduce-wait", "150"], "150", id="over-100-percent"),
        pytest.param(["--stage", "Awaiting Review"], "", id="nothing-asked"),
    ],
)
def test_whatif_bad_requests_get_one_sentence(dataset, args, sentence):
    info, store_dir = dataset
    result = run_cli("whatif", info.dataset, "--map", STAGES.version_id, "--all-types", *args, store_dir=store_dir)
    assert result.returncode == 2 and sentence in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_experiment_add_list_show_delete(dataset):
    info, store_dir = dataset
    added = json.loads(run_cli("experiment", "add", info.dataset, "--title", "Review first", "--stage", "Awaiting Review",
                               "--lever", "review-sla", "--start", "2025-03-10", "--json", store_dir=store_dir,
                               check=True).stdout)
    listed = json.loads(run_cli("experiment", "list", info.dataset, "--json", store_dir=store_dir, check=True).stdout)
    assert [e["experiment_id"] for e in listed] == [added["experiment_id"]]
    shown = json.loads(run_cli("experiment", "show", info.dataset, added["experiment_id"], "--map", STAGES.version_id,
                               "--all-types", "--json", store_dir=store_dir, check=True).stdout)
    # 12 items, all of which entered the queue before 10 March: nothing after the start yet.
    assert shown["verdict"] == "too little data yet"
    run_cli("experiment", "delete", info.dataset, added["experiment_id"], store_dir=store_dir, check=True)
    assert json.loads(run_cli("experiment", "list", info.dataset, "--json", store_dir=store_dir, check=True).stdout) == []


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        pytest.param(["--stage", "Nowhere", "--start", "2025-03-10"], "no stage called 'Nowhere'", id="unknown-stage"),
        pytest.param(["--stage", "Awaiting Review", "--start", "March"], "March", id="bad-date"),
        pytest.param(["--stage", "Awaiting Review", "--start", "2025-03-10", "--lever", "magic"], "is not a lever",
                     id="unknown-lever"),
    ],
)
def test_experiment_add_refuses_bad_fields_and_stores_nothing(dataset, args, sentence):
    info, store_dir = dataset
    result = run_cli("experiment", "add", info.dataset, "--title", "x", *args, store_dir=store_dir)
    assert result.returncode == 2 and sentence in result.stderr and "Traceback" not in result.stderr
    assert json.loads(run_cli("experiment", "list", info.dataset, "--json", store_dir=store_dir, check=True).stdout) == []


def test_report_writes_one_self_contained_page(dataset, tmp_path):
    info, store_dir = dataset
    out = tmp_path / "report.html"
    run_cli("report", info.dataset, "--map", STAGES.version_id, "--all-types", "-o", out, store_dir=store_dir, check=True)
    page = out.read_text(encoding="utf-8")
    assert "Awaiting Review costs" in page and "<svg" in page and "<script" not in page
    refused = run_cli("report", info.dataset, "-o", out, "--link", "javascript:alert(1)", store_dir=store_dir)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
