"""The whole path of a shared view in a real browser: upload a real export through the file
picker, see its stream map, change a filter and the clock, copy the view's link, and open it in
a new browser context on a freshly started server: the same view, with the same figures."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import Server, upload_sample, wait_for_run
from conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def main_metrics(page) -> dict[str, str]:
    """Every metric of the page's main area, label → value."""
    boxes = page.get_by_test_id("stMain").get_by_test_id("stMetric")
    return {boxes.nth(i).get_by_test_id("stMetricLabel").inner_text().strip():
            boxes.nth(i).get_by_test_id("stMetricValue").inner_text().strip() for i in range(boxes.count())}


def caption(page) -> str:
    return page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first.inner_text()


def test_a_copied_link_shows_the_same_view_on_a_fresh_server(browser, tmp_path, real):
    store = tmp_path / "store"
    first = Server(store, tmp_path / "first.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        upload_sample(page, first.url, real)
        page.get_by_role("link", name="Open the new dataset").click()
        wait_for_run(page)

        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Stream map").click()
        wait_for_run(page)
        # The board's columns are the map's stages.
        map_text = page.frame_locator("iframe").locator("svg").first.text_content(timeout=30_000)
        for stage in ("In Progress", "Review"):
            assert stage in map_text
        calendar = main_metrics(page)

        # Change the clock: the figures must change, and the URL must say so.
        page.get_by_role("radio", name="working").click(force=True)
        wait_for_run(page)
        page.get_by_text("working time (weekends removed, UTC)").first.wait_for(timeout=30_000)
        working = main_metrics(page)
        assert working["Delivered"] == calendar["Delivered"]
        assert working != calendar, "the working clock left every figure unchanged"
        assert "clock=working" in page.url
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "share-link-before.png"), full_page=True)

        # Copy the view's link with the copy button beside it.
        shown = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text().strip()
        page.get_by_test_id("stSidebar").get_by_test_id("stCode").hover()
        page.get_by_test_id("stSidebar").get_by_test_id("stCode").get_by_role("button").first.click()
        link = page.evaluate("navigator.clipboard.readText()").strip()
        assert link == shown
        params = parse_qs(urlsplit(link).query)
        assert params["clock"] == ["working"] and params["v"] == ["1"] and len(params["map"][0]) == 16
        assert urlsplit(link).path.endswith("/stream_map")
        before_caption = caption(page)
    finally:
        context.close()
        first.stop()

    second = Server(store, tmp_path / "second.log")
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = fresh.new_page()
        page.goto(second.url + urlsplit(link).path + "?" + urlsplit(link).query)
        wait_for_run(page, timeout_ms=120_000)
        page.get_by_text("working time (weekends removed, UTC)").first.wait_for(timeout=60_000)
        assert main_metrics(page) == working
        assert caption(page) == before_caption
        assert page.get_by_role("radio", name="working").is_checked()
        page.screenshot(path=str(ARTIFACTS / "share-link-after.png"), full_page=True)
    finally:
        fresh.close()
        second.stop()
