"""``vsm pull`` as a user runs it, against the fake Jira on 127.0.0.1: ``vsm import``'s
conventions (``--json``, ``--as-of``, exit code 2 with one line), a process killed mid-pull
resumed by the same command, a refresh with ``--into``, and the token kept out of every
file, URL and output unless ``--save-token`` asks for it."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import pytest
from conftest import REPO, run_cli
from fake_jira import FakeJira

from vsm_core.store import open_store

TOKEN = "tok-5d1e2a9c7b3f4e60a8c1"
EMAIL = "lead@example.com"


@pytest.fixture
def jira(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)
    with FakeJira.demo(flavour="cloud", email=EMAIL, token=TOKEN, page_size=100, inline_changelog_cap=10) as fake:
        yield fake


def _pull(jira, store_dir, *extra, check=False):
    return run_cli("pull", "--url", jira.url, "--email", EMAIL, *extra, store_dir=store_dir, check=check)


def _token_anywhere(*roots: Path) -> list[str]:
    """Files under ``roots`` whose bytes (or, gzip-compressed, whose content) hold the token."""
    found = []
    for root in roots:
        for path in root.rglob("*") if root.exists() else []:
            if not path.is_file():
                continue
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            if TOKEN.encode() in data:
                found.append(str(path))
    return found


def test_pull_prints_the_import_json_and_keeps_the_token_out_of_everything(jira, tmp_path):
    store_dir = tmp_path / "store"
    imported = run_cli("import", REPO / "data" / "demo" / "demo-jira-export.json.gz", "--json", store_dir=store_dir,
                       check=True)
    result = _pull(jira, store_dir, "--jql", "project = SHOP", "--board", "1", "--as-of", "2026-11-01T00:00:00Z",
                   "--json", check=True)
    out = json.loads(result.stdout)
    assert set(out) == set(json.loads(imported.stdout))
    assert out["issues"] == 3000 and out["status_changes"] > 0
    info = open_store(store_dir).get(out["dataset"])
    assert info.meta()["as_of"].startswith("2026-11-01T00:00:00")
    assert TOKEN not in result.stdout + result.stderr
    assert _token_anywhere(store_dir, tmp_path / "config") == []
    assert not jira.token_in_url and all(TOKEN not in r.path + json.dumps(r.query) for r in jira.requests)


def test_failure_exits_2_with_one_line_and_stores_nothing(jira, tmp_path, monkeypatch):
    store_dir = tmp_path / "store"
    monkeypatch.setenv("JIRA_API_TOKEN", "wrong")
    result = _pull(jira, store_dir, "--jql", "project = SHOP", "--json")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vsm pull: Jira at 127.0.0.1:") and "HTTP 401" in lines[0]
    assert open_store(store_dir).datasets() == []
    bad = _pull(jira, store_dir, "--jql", "project = SHOP", "--token-env", "NO_SUCH_VARIABLE")
    assert bad.returncode == 2 and "no API token: put it in the environment variable NO_SUCH_VARIABLE" in bad.stderr


def test_killed_pull_is_resumed_by_the_same_command(jira, tmp_path):
    store_dir = tmp_path / "store"
    jira.delay = 0.01
    cmd = [sys.executable, "-m", "vsm_core", "pull", "--url", jira.url, "--email", EMAIL, "--jql", "project = SHOP",
           "--store", str(store_dir), "--json"]
    process = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list((store_dir / "pulls").glob("*/page-000005.json.gz")):
        assert time.monotonic() < deadline and process.poll() is None, "the pull never got to its fifth page"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert open_store(store_dir).datasets() == []
    jira.delay = 0
    before = len(jira.requests)
    resumed = _pull(jira, store_dir, "--jql", "project = SHOP", check=True)
    assert "(resumed)" in resumed.stdout and "Imported 3,000 issues" in resumed.stdout
    searched = [r for r in jira.requests[before:] if r.path == "/rest/api/3/search/jql"]
    assert 20 <= len(searched) <= 26  # what was left of 30 pages (5 or a few more were saved before the kill)
    assert [info.meta()["counts"]["issues"] for info in open_store(store_dir).datasets()] == [3000]


def test_refresh_with_into_and_a_saved_token(jira, tmp_path, monkeypatch):
    from datetime import datetime

    store_dir = tmp_path / "store"
    first = json.loads(_pull(jira, store_dir, "--jql", "project = SHOP", "--save-token", "--json", check=True).stdout)
    saved = tmp_path / "config" / "vsm-dashboard" / "jira-tokens.json"
    assert saved.stat().st_mode & 0o777 == 0o600 and saved.parent.stat().st_mode & 0o777 == 0o700
    assert _token_anywhere(store_dir) == [] and _token_anywhere(tmp_path / "config") == [str(saved)]
    monkeypatch.delenv("JIRA_API_TOKEN")
    jira.update_issue("SHOP-3", "Done", datetime.now(UTC))
    # Site, account and JQL come from the dataset; the token from the saved file.
    refreshed = run_cli("pull", "--into", first["dataset"], "--json", store_dir=store_dir, check=True)
    out = json.loads(refreshed.stdout)
    assert out["dataset"] == first["dataset"] and out["version"] == 2 and out["issues"] == 3000
    # Nothing updated since: no new version.
    text = run_cli("pull", "--into", first["dataset"], store_dir=store_dir, check=True).stdout
    assert text.startswith("Nothing in 127.0.0.1:") and "stays at data version 2." in text
    assert open_store(store_dir).get(first["dataset"]).versions == (1, 2)
