"""The Upload page's Connect to Jira, in Chromium against a real dashboard server and the
fake Jira on 127.0.0.1: pull the demo team, see it, cancel a pull and resume it, refresh a
pulled dataset as a new data version; the token never shows in a URL, the page or the store."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
from browser_support import Server, wait_for_run
from fake_jira import FakeJira

from vsm_core.store import open_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TOKEN = "tok-b4e7c2a9d1f35e8c60a7"
EMAIL = "lead@example.com"
ARTIFACTS = __import__("pathlib").Path(__file__).parent / "artifacts"


@pytest.fixture
def setup(browser, tmp_path):
    store_dir = tmp_path / "store"
    with FakeJira.demo(flavour="cloud", email=EMAIL, token=TOKEN, page_size=100, inline_changelog_cap=10) as jira:
        server = Server(store_dir, tmp_path / "server.log")
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        page = context.new_page()
        try:
            yield jira, server, page, store_dir
        finally:
            context.close()
            server.stop()


def _field(page, label: str):
    """The text field, text area or password field labelled ``label`` (not its help button)."""
    return page.locator(f"input[aria-label='{label}'], textarea[aria-label='{label}']")


def _open_jira_tab(page, url: str) -> None:
    page.goto(url)
    wait_for_run(page, timeout_ms=120_000)
    page.get_by_role("tab", name="Connect to Jira").click()
    _field(page, "Jira site").wait_for()


def _fill(page, jira: FakeJira, jql: str, name: str) -> None:
    _field(page, "Jira site").fill(jira.url)
    _field(page, "E-mail (Jira Cloud)").fill(EMAIL)
    _field(page, "API token").first.fill(TOKEN)
    _field(page, "JQL").fill(jql)
    _field(page, "Board number (optional)").fill("1")
    _field(page, "Name of the pulled dataset").fill(name)


def _no_token_shown(page) -> None:
    assert TOKEN not in page.url and TOKEN not in page.get_by_test_id("stMain").inner_text()


def _token_in_store(store_dir) -> list[str]:
    hits = []
    for path in store_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            hits += [str(path)] if TOKEN.encode() in data else []
    return hits


def test_pull_cancel_resume_and_refresh_in_the_browser(setup):
    jira, server, page, store_dir = setup
    # A pull cancelled while it fetches keeps its pages aside and stores no dataset.
    jira.delay = 0.03
    _open_jira_tab(page, server.url + "/upload")
    _fill(page, jira, "project = SHOP", "Webshop from Jira")
    page.get_by_role("button", name="Pull from Jira").click()
    page.get_by_text("Fetched ").first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "jira-pull-progress.png"))
    page.get_by_role("button", name="Cancel the pull").click()
    page.get_by_text("The pull was cancelled").wait_for(timeout=60_000)
    wait_for_run(page)
    assert open_store(store_dir).datasets() and [d.name for d in open_store(store_dir).datasets()] == [
        "Demo team (simulated)"]
    assert list(store_dir.glob("pulls/*/page-*.json.gz"))
    _no_token_shown(page)
    # Pulling again with the same settings resumes and imports the whole team once.
    jira.delay = 0
    page.get_by_role("tab", name="Connect to Jira").click()
    if not _field(page, "JQL").input_value():  # the form lost its values: type them again
        _fill(page, jira, "project = SHOP", "Webshop from Jira")
    _field(page, "API token").first.fill(TOKEN)
    page.get_by_role("button", name="Pull from Jira").click()
    page.get_by_text("resuming an interrupted pull. Imported 3,000 issues").wait_for(timeout=180_000)
    wait_for_run(page)
    page.screenshot(path=str(ARTIFACTS / "jira-pull-done.png"), full_page=True)
    assert page.get_by_role("button", name="Cancel the pull").count() == 0  # nothing left to cancel
    _no_token_shown(page)
    pulled = next(d for d in open_store(store_dir).datasets() if d.name == "Webshop from Jira")
    assert pulled.meta()["counts"]["issues"] == 3000 and list(store_dir.glob("pulls/*")) == []
    # Its edit link opens the Upload page with a refresh, which adds data version 2.
    edit_link = next(text for text in page.get_by_test_id("stCode").all_inner_texts() if "&edit=" in text)
    jira.update_issue("SHOP-5", "Done", datetime.now(UTC))
    _open_jira_tab(page, edit_link.strip().replace("/?dataset=", "/upload?dataset="))
    page.get_by_text("was pulled from Jira").wait_for()
    _field(page, "API token").first.fill(TOKEN)
    page.screenshot(path=str(ARTIFACTS / "jira-refresh.png"), full_page=True)
    page.get_by_role("button", name="Refresh from Jira").click()
    page.get_by_text("Pulled 1 issue from Jira updated since").wait_for(timeout=120_000)
    assert "data version 2." in page.get_by_test_id("stAlert").first.inner_text()
    wait_for_run(page)
    assert open_store(store_dir).get(pulled.dataset).versions == (1, 2)
    _no_token_shown(page)
    assert _token_in_store(store_dir) == []
    # A wrong token is one sentence, and nothing new is stored.
    _open_jira_tab(page, server.url + "/upload")
    _fill(page, jira, "project = SHOP", "Wrong token")
    _field(page, "API token").first.fill("not-the-token")
    page.get_by_role("button", name="Pull from Jira").click()
    page.get_by_text("refused the sign-in (HTTP 401)").wait_for(timeout=60_000)
    assert "Wrong token" not in [d.name for d in open_store(store_dir).datasets()]
