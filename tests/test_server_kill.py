"""The dashboard killed (SIGKILL) while it imports an upload loses nothing: restarted on the
same store it sweeps what the dead import left, every earlier dataset is byte-identical and
opens in the dashboard, and the killed upload is absent or, if the kill came after its atomic
publish, complete.

Four rounds on one store: start the server, upload a 20,000-issue export through the file
picker, and kill the server a seeded-random time after its import began (one time in each
third of how long the command line takes to import the same file, and one around its end).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from browser_support import Server, wait_for_run
from conftest import run_cli, same_rows
from vsm_core.store import open_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ISSUES = 20_000


def _snapshot(root: Path) -> dict[str, str]:
    """Every stored file and its digest, except staging/ and the view caches (derived/)."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] != "staging" and not (len(rel.parts) > 2 and rel.parts[2] == "derived"):
            files[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def _view_caches_open(root: Path) -> None:
    """Every view-cache file a page can read opens (unfinished ``.``-folders are never read)."""
    for derived in root.glob("datasets/*/derived"):
        for path in derived.rglob("*.parquet"):
            if not any(part.startswith(".") for part in path.relative_to(derived).parts):
                pq.read_table(path)


def _staging_of(root: Path, pid: int, purpose: str = "") -> Path | None:
    """The staging folder of the import the process ``pid`` is running (or, with ``purpose``
    "upload", of its copy of the uploaded file), if any."""
    for entry in (root / "staging").iterdir():
        parts = entry.name.split("-")
        if parts[1:2] == [str(pid)] and parts[2].startswith(f"{purpose}.") == bool(purpose):
            return entry
    return None


def _phase_at_kill(root: Path, staging: Path | None, added: list[str]) -> str:
    """What the import was doing when it died, read from what it left."""
    if added:
        return "published"
    if staging is None or not staging.exists():
        return "not started"
    if (staging / "dataset").exists() or (staging / "version" / "meta.json").exists():
        return "publishing"
    if (staging / "version").exists():
        return "finalizing"
    return "reading"


def _opens_in_dashboard(page, server: Server, dataset: str, name: str) -> None:
    page.goto(f"{server.url}/overview?dataset={dataset}")
    wait_for_run(page, timeout_ms=120_000)
    page.get_by_role("heading", name=name, exact=True).wait_for(timeout=60_000)
    assert "Traceback" not in page.get_by_test_id("stMain").inner_text()


def test_dashboard_killed_while_importing_an_upload_loses_nothing(browser, tmp_path, monkeypatch):
    from vsm_core.demo import write_jira_json

    export = tmp_path / "team-export.json.gz"
    write_jira_json(export, ISSUES, seed=12, gzip_output=True)
    root = tmp_path / "store"
    started = time.monotonic()
    kept = json.loads(run_cli("import", export, "--name", "Kept by the command line", "--json",
                              store_dir=root, check=True).stdout)
    import_seconds = time.monotonic() - started
    reference = open_store(root).get(kept["dataset"]).version_path(1)
    uploads_tmp = tmp_path / "server-tmp"  # the server's temporary folder: an upload's copy must not go here
    uploads_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(uploads_tmp))
    rng = random.Random(20261125)
    rounds = []
    # One kill in each third of the import's time, and one around its end (publish, view cache).
    for n, (low, high) in enumerate([(0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1), (0.9, 1.3)]):
        offset = rng.uniform(low, high) * import_seconds
        server = Server(root, tmp_path / f"server-{n}.log")
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            page.goto(server.url + "/upload")
            wait_for_run(page, timeout_ms=120_000)
            # The restarted server swept what the killed import left, and shows every dataset.
            assert list((root / "staging").iterdir()) == []
            store = open_store(root)
            earlier = {info.dataset: info.name for info in store.datasets()}
            assert kept["dataset"] in earlier and len(earlier) == 2 + sum(r["phase"] == "published" for r in rounds)
            for dataset, name in earlier.items():
                _opens_in_dashboard(page, server, dataset, name)
            before = _snapshot(root)
            page.goto(server.url + "/upload")
            wait_for_run(page)
            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(export)])
            page.get_by_text(export.name).first.wait_for(timeout=60_000)
            page.get_by_label("Dataset name").fill(f"Upload {n}")
            page.get_by_role("button", name="Import").click()
            deadline = time.monotonic() + 120
            while (staging := _staging_of(root, server.process.pid)) is None:
                assert time.monotonic() < deadline, "the dashboard never started the import"
                time.sleep(0.01)
            upload_copy = _staging_of(root, server.process.pid, "upload")
            time.sleep(offset)  # the kill point itself
            os.kill(server.process.pid, signal.SIGKILL)
            assert server.process.wait(timeout=30) == -signal.SIGKILL
        finally:
            server.stop()
            context.close()
        added = sorted({p.name for p in (root / "datasets").iterdir()} - set(earlier))
        phase = _phase_at_kill(root, staging, added)
        left_staging = staging.exists()  # swept by the next start (checked there)
        # Nothing earlier changed, nothing half-done is listed, and a published upload is complete.
        assert {k: v for k, v in _snapshot(root).items() if k in before} == before
        listed = {info.dataset: info for info in open_store(root).datasets()}
        assert len(added) <= 1 and sorted(listed) == sorted([*earlier, *added])
        if added:
            info = listed[added[0]]
            assert info.name == f"Upload {n}" and info.versions == (1,)
            assert info.meta()["counts"] == json.loads((reference / "meta.json").read_text())["counts"]
            for name in ("issues", "status_changes", "field_changes", "visits"):
                assert same_rows(info.version_path() / f"{name}.parquet", reference / f"{name}.parquet"), name
        else:
            assert set(_snapshot(root)) == set(before)
        _view_caches_open(root)
        # The upload's copy was written in the store's staging (swept by the next start), never to TMPDIR.
        assert upload_copy is not None and not any(p.is_file() for p in uploads_tmp.rglob("*"))
        rounds.append({"offset": offset, "phase": phase, "outcome": "complete" if added else "absent",
                       "left staging": left_staging, "upload copy left": upload_copy.exists()})
    # A last restart: swept, and every dataset (the earlier ones, and any upload that completed) opens.
    server = Server(root, tmp_path / "server-last.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(server.url)
        wait_for_run(page, timeout_ms=120_000)
        assert list((root / "staging").iterdir()) == []
        for info in open_store(root).datasets():
            _opens_in_dashboard(page, server, info.dataset, info.name)
    finally:
        server.stop()
        context.close()
    print(f"\ncommand-line import of the upload: {import_seconds:.1f} s; whole test {time.monotonic() - started:.0f} s")
    for r in rounds:
        print(f"  killed {r['offset']:.2f} s into the import, while {r['phase']}: {r['outcome']}; left a staging "
              f"folder: {r['left staging']}; left the upload's copy (swept at restart): {r['upload copy left']}")
    assert any(r["phase"] in ("reading", "finalizing") for r in rounds)
