"""The Stream map page in a real browser, on a team whose peer-check queue is the bottleneck: the
map's stages carry their figures as tooltips, the frame is as tall as the drawing, a click on a
stage in the row under the map opens its drill-down in place (and names it in the URL), a click
on the map opens it in a new tab with the same view, and the map reads in the dark theme.
Screenshots go to tests/artifacts/stream-map-light.png and stream-map-dark.png."""

from __future__ import annotations

import json
import os
import shutil
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from browser_support import Server, wait_for_run
from conftest import ARTIFACTS, run_cli

from vsm_core.demo.plants import (
    plant,
    plant_as_of,
    write_plant_export,
    write_plant_statuses,
)

pytestmark = pytest.mark.browser

TARGET = "Peer Check"  # a process step right after the queue


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    base = tmp_path_factory.mktemp("stream-map")
    review_queue = plant("review-queue")
    export = write_plant_export(review_queue, base / "review-queue.json", seed=11)
    statuses = write_plant_statuses(review_queue, base / "statuses.json")
    out = json.loads(run_cli("import", export, statuses, "--name", "Peer check team", "--as-of",
                             plant_as_of(review_queue).isoformat(), "--json", store_dir=base / "store", check=True).stdout)
    shutil.copytree(base / "store", base / "store-dark")  # one store per server: each imports the demo on start
    return base, out["dataset"], review_queue.expected_bottleneck_stage


@pytest.fixture(scope="module")
def light(team):
    base, dataset, queue = team
    server = Server(base / "store", base / "server.log")
    yield server, dataset, queue
    server.stop()


@pytest.fixture
def tall_page(browser):
    # Streamlit scrolls inside its own container: a tall window shows the whole page in a screenshot.
    context = browser.new_context(viewport={"width": 1400, "height": 2300})
    yield context.new_page()
    context.close()


def _open(page, server, dataset: str, extra: str = ""):
    page.goto(f"{server.url}/stream_map?dataset={dataset}{extra}")
    wait_for_run(page, timeout_ms=180_000)
    page.get_by_test_id("stMain").get_by_role("heading", level=1).wait_for(timeout=60_000)
    frame = page.frame_locator("iframe").first
    frame.locator("g.stage-shape").first.wait_for(timeout=60_000)
    return frame


def test_the_map_shows_figures_on_hover_in_a_frame_as_tall_as_the_drawing(light, tall_page):
    server, dataset, queue = light
    frame = _open(tall_page, server, dataset)
    shapes = frame.locator("g.stage-shape")
    names = [shapes.nth(i).get_attribute("data-stage") for i in range(shapes.count())]
    assert queue in names and TARGET in names
    assert frame.locator("g.stage-shape.worst").get_attribute("data-stage") == queue
    tip = frame.locator(f'g.stage-shape[data-stage="{queue}"] > title').text_content()
    assert tip.startswith(f"{queue} (wait): ") and " there now; median " in tip and "of lead time; the bottleneck" in tip
    assert frame.locator("g.rework > title").first.text_content().startswith(f"{TARGET} sends work back to ")
    assert frame.locator("g.ladder-step > title").count() == len(names)
    # No scroll bar and no strip of empty frame: the frame is the drawing's height plus room for a
    # horizontal scroll bar.
    content = tall_page.locator("iframe").first.content_frame
    gap = content.locator("svg.vsm").evaluate("svg => window.innerHeight - svg.getBoundingClientRect().height")
    assert 0 <= gap <= 24
    assert content.locator("html").evaluate("html => html.scrollHeight <= window.innerHeight")


def test_a_click_on_a_stage_under_the_map_opens_its_drill_down(light, tall_page):
    server, dataset, queue = light
    frame = _open(tall_page, server, dataset)
    # The drill-down opens on the bottleneck.
    main = tall_page.get_by_test_id("stMain")
    assert main.get_by_role("heading", level=3).first.inner_text().startswith(f"{queue} (queue): ")
    names = [frame.locator("g.stage-shape").nth(i).get_attribute("data-stage") for i in range(frame.locator("g.stage-shape").count())]
    strip = tall_page.get_by_test_id("stVegaLiteChart").first
    strip.locator("g.mark-rect path").nth(names.index(TARGET)).click()
    wait_for_run(tall_page)
    heading = main.get_by_role("heading", level=3).first
    tall_page.wait_for_function(
        "name => [...document.querySelectorAll('[data-testid=stMain] h3')].some(h => h.innerText.startsWith(name))",
        arg=f"{TARGET} (process step): ", timeout=60_000)
    assert "there now" in heading.inner_text()
    assert f"stage={quote_plus(TARGET)}" in tall_page.url
    histogram = tall_page.get_by_test_id("stVegaLiteChart").nth(1)
    histogram.get_by_text(f"{TARGET}: half the items spend more than", exact=False).wait_for(timeout=30_000)
    main.get_by_text("Items in this stage now, oldest first").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    tall_page.screenshot(path=str(ARTIFACTS / "stream-map-light.png"), full_page=True)
    # A reload keeps the stage (it is in the URL).
    tall_page.reload()
    wait_for_run(tall_page, timeout_ms=120_000)
    tall_page.wait_for_function(
        "name => [...document.querySelectorAll('[data-testid=stMain] h3')].some(h => h.innerText.startsWith(name))",
        arg=f"{TARGET} (process step): ", timeout=60_000)


def test_a_click_on_the_map_opens_the_stage_in_a_new_tab_with_the_same_view(light, page):
    server, dataset, _ = light
    frame = _open(page, server, dataset, "&clock=working")
    with page.context.expect_page(timeout=30_000) as opened:
        frame.locator(f'g.stage-shape[data-stage="{TARGET}"] a').click()
    tab = opened.value
    wait_for_run(tab, timeout_ms=120_000)
    tab.wait_for_function(
        "name => [...document.querySelectorAll('[data-testid=stMain] h3')].some(h => h.innerText.startsWith(name))",
        arg=f"{TARGET} (process step): ", timeout=60_000)
    params = parse_qs(urlsplit(tab.url).query)
    assert params["dataset"] == [dataset] and params["clock"] == ["working"] and params["stage"] == [TARGET]
    assert params["v"] == ["1"]
    tab.close()


@pytest.fixture(scope="module")
def dark(team):
    base, dataset, queue = team
    saved = os.environ.get("STREAMLIT_THEME_BASE")
    os.environ["STREAMLIT_THEME_BASE"] = "dark"
    try:
        server = Server(base / "store-dark", base / "server-dark.log")
    finally:
        if saved is None:
            os.environ.pop("STREAMLIT_THEME_BASE")
        else:
            os.environ["STREAMLIT_THEME_BASE"] = saved
    yield server, dataset, queue
    server.stop()


def test_the_map_reads_in_the_dark_theme(dark, tall_page):
    server, dataset, queue = dark
    frame = _open(tall_page, server, dataset)
    content = tall_page.locator("iframe").first.content_frame
    assert content.locator("html").get_attribute("class") == "dark"
    # Light ink on a dark paper, the colour of the page around the frame.
    assert content.locator("g.stage-shape text.t-name").first.evaluate("t => getComputedStyle(t).fill") == "rgb(250, 250, 250)"
    paper = content.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    page_background = tall_page.get_by_test_id("stApp").evaluate("e => getComputedStyle(e).backgroundColor")
    assert paper == page_background == "rgb(23, 22, 20)"
    assert frame.locator("g.stage-shape.worst").get_attribute("data-stage") == queue
    tall_page.get_by_test_id("stVegaLiteChart").nth(1).wait_for(timeout=30_000)
    tall_page.wait_for_timeout(500)
    tall_page.screenshot(path=str(ARTIFACTS / "stream-map-dark.png"), full_page=True)
