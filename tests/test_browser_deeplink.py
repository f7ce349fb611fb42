"""A shared link is the very first request a fresh server gets: it must show that dataset."""

from __future__ import annotations

import json

import pytest

from browser_support import metric, Server, wait_for_run
from conftest import ARTIFACTS, run_cli

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    base = tmp_path_factory.mktemp("deeplink")
    real = __import__("conftest").REAL
    if not real.exists():
        pytest.skip("the shared real exports are not beside this checkout")
    out = json.loads(run_cli("import", real / "puppet_public_perceval_5issues.json", "--name", "Puppet sample",
                             "--json", store_dir=base / "store", check=True).stdout)
    server = Server(base / "store", base / "server.log")
    yield server, out["dataset"]
    server.stop()


def test_deep_link_as_first_request_shows_the_named_dataset(seeded, page):
    server, dataset = seeded
    page.goto(f"{server.url}/datasets?dataset={dataset}")
    wait_for_run(page, timeout_ms=120_000)
    page.get_by_role("heading", name="Data-quality findings: Puppet sample").wait_for(timeout=60_000)
    # The app's own navigation ran (titled pages), not the bare folder router.
    nav = page.get_by_test_id("stSidebarNav").inner_text()
    assert "Upload" in nav and "Datasets" in nav and "app" not in nav.split()
    page.get_by_role("link", name="Overview").click()
    wait_for_run(page)
    page.get_by_role("heading", name="Puppet sample").wait_for(timeout=30_000)
    assert f"dataset={dataset}" in page.url
    assert (metric(page, "Issues"), metric(page, "Status changes")) == ("5", "16")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-deeplink.png"), full_page=True)


def test_unknown_dataset_in_a_link_says_so(seeded, page):
    server, _ = seeded
    page.goto(f"{server.url}/overview?dataset=AAAAAAAAAAAAAAAAAAAAAAAA")
    wait_for_run(page, timeout_ms=120_000)
    page.get_by_text("The dataset in this link does not exist").wait_for(timeout=30_000)
