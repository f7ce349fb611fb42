"""The dashboard in a real Chromium: the demo on first visit, an upload, a bad file."""

from __future__ import annotations

import pytest
from browser_support import metric, upload_sample, wait_for_run
from conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def test_first_visit_shows_the_demo_dataset(dashboard, page):
    page.goto(dashboard.url)
    wait_for_run(page, timeout_ms=120_000)
    page.get_by_role("heading", name="Demo team (simulated)").wait_for(timeout=60_000)
    issues, changes = (int(metric(page, label).replace(",", "")) for label in ("Issues", "Status changes"))
    assert issues >= 1000 and changes > issues
    page.get_by_text("of their time before done in").first.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-demo.png"), full_page=True)


def test_upload_of_a_real_export_with_companions(dashboard, page, real):
    upload_sample(page, dashboard.url, real)
    assert "dataset=" in page.url
    page.get_by_role("link", name="Open the new dataset").click()
    wait_for_run(page)
    page.get_by_role("heading", name="Sample project").wait_for(timeout=30_000)
    # The bar chart gives each of the 4 statuses before done a readable band (a fixed pixel
    # height once collapsed them onto one line).
    labels = page.locator(".vega-embed").first.locator("g.role-axis-label text")
    labels.first.wait_for(timeout=30_000)
    placed = labels.evaluate_all("els => els.map(e => [e.textContent, e.getBoundingClientRect().top])")
    statuses = {"Backlog", "Selected for Development", "In Progress", "Review"}
    tops = sorted(top for text, top in placed if text in statuses)
    assert len(tops) == 4 and min(b - a for a, b in zip(tops, tops[1:])) >= 15, placed
    page.screenshot(path=str(ARTIFACTS / "overview-upload.png"), full_page=True)
    # The link is shareable: a fresh browser context opening it sees the same dataset.
    other = page.context.browser.new_context()
    try:
        fresh = other.new_page()
        fresh.goto(page.url)
        wait_for_run(fresh)
        fresh.get_by_role("heading", name="Sample project").wait_for(timeout=30_000)
    finally:
        other.close()


def test_bad_file_gets_one_sentence_and_nothing_is_stored(dashboard, page, tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": "world"}')
    datasets = dashboard.store_dir / "datasets"
    page.goto(dashboard.url)
    wait_for_run(page, timeout_ms=120_000)
    before = sorted(p.name for p in datasets.iterdir())
    page.goto(dashboard.url + "/upload")
    wait_for_run(page)
    page.get_by_text("Each file may be up to 200 MB").wait_for()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(bad)])
    page.get_by_role("button", name="Import").click()
    alert = page.get_by_test_id("stAlertContentError")
    alert.wait_for(timeout=30_000)
    text = alert.inner_text()
    assert "notes.json" in text and "Traceback" not in text
    page.get_by_text("Nothing was stored").wait_for()
    assert sorted(p.name for p in datasets.iterdir()) == before
    assert not any((dashboard.store_dir / "staging").iterdir())


def test_markdown_in_a_dataset_name_shows_as_typed(dashboard, page, real):
    name = "Team *bold* # [link](http://example.invalid) :red[x] -> <= >= -- (JQL: created >= -30d)"
    page.goto(dashboard.url + "/upload")
    wait_for_run(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(real / "puppet_public_perceval_5issues.json")])
    page.get_by_label("Dataset name").fill(name)
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported 5 issues").wait_for(timeout=60_000)
    page.get_by_role("link", name="Open the new dataset").click()
    wait_for_run(page)
    heading = page.get_by_test_id("stMain").get_by_test_id("stHeading").first
    heading.wait_for(timeout=30_000)
    assert heading.inner_text().replace("\u2060", "").strip() == name
    caption = page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first.inner_text().replace("\u2060", "")
    assert caption.startswith(name), caption  # no arrows, ≤, ≥ or dashes made of what was typed
    links = page.locator("a[href='http://example.invalid']")
    assert links.count() == 0, [links.nth(i).evaluate("e => e.parentElement.outerHTML.slice(0, 300)") for i in range(links.count())]
