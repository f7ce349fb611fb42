"""The Bottlenecks page in a real browser, on a team whose review queue is short of reviewers:
a deep link as the first request shows the planted queue first and the review SLA on top, and
a link with a filter shows the filter and survives a fresh browser context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_support import Server, wait_for_run
from conftest import ARTIFACTS, edit_key, run_cli

from vsm_core.demo.plants import (
    plant,
    plant_as_of,
    write_plant_export,
    write_plant_statuses,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def review_queue(tmp_path_factory):
    base = tmp_path_factory.mktemp("bottlenecks")
    team = plant("review-queue")
    export = write_plant_export(team, base / "review-queue.json", seed=7)
    statuses = write_plant_statuses(team, base / "statuses.json")
    as_of = plant_as_of(team).isoformat()
    out = json.loads(run_cli("import", export, statuses, "--name", "Review <b>queue</b> team", "--as-of", as_of, "--json",
                             store_dir=base / "store", check=True).stdout)
    server = Server(base / "store", base / "server.log")
    server.edit_key = edit_key(base / "store", out["dataset"])  # recording an experiment needs the edit link
    yield server, out["dataset"], team
    server.stop()


def test_deep_link_shows_the_planted_queue_first_and_the_review_sla(review_queue, page):
    server, dataset, team = review_queue
    page.goto(f"{server.url}/bottlenecks?dataset={dataset}&all_types=1")
    wait_for_run(page, timeout_ms=120_000)
    queue = team.expected_bottleneck_stage
    heading = page.get_by_test_id("stMain").get_by_role("heading", level=1)
    heading.wait_for(timeout=60_000)
    assert heading.inner_text().startswith(f"{queue} costs ")
    page.get_by_role("heading", name="What to change first").wait_for(timeout=30_000)
    first_change = page.get_by_test_id("stMain").get_by_role("heading", level=3).first.inner_text()
    assert first_change.startswith("1. Set a review SLA for " + queue)
    # The dataset name is shown as typed, never as markup.
    assert "Review <b>queue</b> team" in page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first.inner_text()
    assert "all issue types" in page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bottlenecks.png"), full_page=True)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Report for leaders (HTML)").click()
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert f"{queue} costs " in report and "<script" not in report
    assert "Review &lt;b&gt;queue&lt;/b&gt; team" in report


def test_a_bad_value_in_the_link_is_dropped_with_a_sentence(review_queue, page):
    server, dataset, _ = review_queue
    page.goto(f"{server.url}/bottlenecks?dataset={dataset}&clock=lunar")
    wait_for_run(page, timeout_ms=120_000)
    page.get_by_text("is not calendar or working, so the calendar clock is used").wait_for(timeout=60_000)


def test_changes_page_projects_the_queue_cut_and_records_an_experiment(review_queue, page):
    server, dataset, team = review_queue
    page.goto(f"{server.url}/changes?dataset={dataset}&all_types=1&edit={server.edit_key}")
    wait_for_run(page, timeout_ms=120_000)
    queue = team.expected_bottleneck_stage
    # The form opens on the top change's stage with its waiting time halved.
    projection = page.get_by_role("heading", name=f"{queue}: lead time", exact=False)
    projection.wait_for(timeout=60_000)
    assert "days shorter at the median" in projection.inner_text()
    page.get_by_text("No experiment yet").wait_for(timeout=30_000)
    page.get_by_label("What the team changed").fill("Review before starting new work")
    page.get_by_role("button", name="Record the experiment").click()
    wait_for_run(page)
    # Started today, long after this team's data ends: nothing entered the stage after it yet.
    page.get_by_role("heading", name="Review before starting new work (too little data yet)").wait_for(timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "changes.png"), full_page=True)


def test_flow_page_states_each_finding_and_draws_its_charts(review_queue, page):
    server, dataset, _ = review_queue
    page.goto(f"{server.url}/flow?dataset={dataset}&all_types=1")
    wait_for_run(page, timeout_ms=120_000)
    heading = page.get_by_test_id("stMain").get_by_role("heading", level=1)
    heading.wait_for(timeout=60_000)
    assert heading.inner_text().startswith("Half of the items are delivered within ")
    for section in ("Cumulative flow", "Throughput", "Cycle time", "Ageing work in progress", "Lead time"):
        page.get_by_role("heading", name=section, exact=True).wait_for(timeout=30_000)
    page.get_by_text("85% of items finished within").first.wait_for(timeout=30_000)
    assert page.get_by_test_id("stVegaLiteChart").count() == 5
    page.screenshot(path=str(ARTIFACTS / "flow.png"), full_page=True)


def test_stream_map_draws_the_stages_and_opens_a_drill_down(review_queue, page):
    server, dataset, team = review_queue
    queue = team.expected_bottleneck_stage
    page.goto(f"{server.url}/stream_map?dataset={dataset}&all_types=1")
    wait_for_run(page, timeout_ms=120_000)
    page.get_by_test_id("stMain").get_by_role("heading", level=1).wait_for(timeout=60_000)
    assert page.get_by_test_id("stMain").get_by_role("heading", level=1).inner_text().startswith("Value stream: lead time ")
    frame = page.frame_locator("iframe").first
    frame.locator("g.stage-shape").first.wait_for(timeout=30_000)
    shapes = frame.locator("g.stage-shape")
    names = [shapes.nth(i).get_attribute("data-stage") for i in range(shapes.count())]
    assert queue in names and len(names) == len(set(names)) >= 4
    assert frame.locator("g.stage-shape.worst").get_attribute("data-stage") == queue
    page.get_by_role("heading", name="there now", exact=False).wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "stream-map.png"), full_page=True)
