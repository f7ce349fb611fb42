"""Shared fixtures: paths to the real exports, a fresh store, and JSON export builders."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real"


@pytest.fixture
def real() -> Path:
    if not REAL.exists():
        pytest.skip("the shared real exports are not beside this checkout")
    return REAL


@pytest.fixture
def store(tmp_path):
    from vsm_core.store import open_store

    return open_store(tmp_path / "store")


def jira_issue(key, created, status, changes=(), *, issue_id=None, updated=None, category=None, total=None, fields=None):
    """A Jira REST issue with a changelog; ``changes`` are (time, from, to[, history id])."""
    histories = []
    for n, change in enumerate(changes):
        time, from_status, to_status = change[:3]
        hid = change[3] if len(change) > 3 else 1000 + n
        histories.append({
            "id": str(hid), "created": time, "author": {"displayName": "Dev"},
            "items": [{"field": "status", "fieldtype": "jira", "fromString": from_status, "toString": to_status}],
        })
    body = {
        # A stable id per key: Python's str hash changes per process, and two keys sharing an
        # id would be de-duplicated into one issue by the importer.
        "id": str(issue_id or int(hashlib.sha256(key.encode()).hexdigest()[:12], 16)), "key": key,
        "self": "https://example.atlassian.net/rest/api/2/issue/1",
        "fields": {
            "created": created, "updated": updated or (changes[-1][0] if changes else created),
            "issuetype": {"name": "Story"}, "project": {"key": key.split("-")[0]},
            "summary": f"Summary of {key}",
            "status": {"name": status, "statusCategory": {"key": category or "indeterminate"}},
            **(fields or {}),
        },
        "changelog": {"startAt": 0, "maxResults": len(histories), "total": total if total is not None else len(histories),
                      "histories": list(reversed(histories))},
    }
    return body


def write_search(path: Path, issues) -> Path:
    path.write_text(json.dumps({"startAt": 0, "maxResults": 100, "total": len(issues), "issues": list(issues)}))
    return path


def run_cli(*args, store_dir=None, check=False):
    """Run ``python -m vsm_core`` as a user would; returns the CompletedProcess."""
    cmd = [sys.executable, "-m", "vsm_core", *map(str, args)]
    if store_dir is not None:
        cmd += ["--store", str(store_dir)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(result.stderr)
    return result


@pytest.fixture(scope="session")
def browser():
    from browser_support import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run `make test` (it installs Debian's chromium) or apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    from browser_support import Server

    base = tmp_path_factory.mktemp("dashboard")
    server = Server(base / "store", base / "server.log")
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


ARTIFACTS = REPO / "tests" / "artifacts"


def edit_key(store_dir: Path, dataset: str) -> str:
    """A new edit key for a dataset imported by a test (as `vsm links --new-edit-key` makes)."""
    from vsm_core.store import open_store

    return open_store(store_dir).new_edit_key(dataset)


def same_rows(candidate, reference) -> bool:
    """The two Parquet tables hold the same rows in any order, apart from the name their
    source file had (an upload's or a pull's name against the path the command line was given)."""
    import duckdb
    import pyarrow.parquet as pq

    tables = [f"(SELECT * EXCLUDE (source_file) FROM read_parquet('{p}'))"
              if "source_file" in pq.read_schema(p).names else f"read_parquet('{p}')" for p in (candidate, reference)]
    differ = duckdb.sql(f"SELECT count(*) FROM ((FROM {tables[0]} EXCEPT ALL FROM {tables[1]}) "
                        f"UNION ALL (FROM {tables[1]} EXCEPT ALL FROM {tables[0]}))").fetchall()[0][0]
    return differ == 0
