"""An import killed at a random point leaves no dataset behind and damages nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, run_cli
from vsm_core.store import open_store

pytestmark = pytest.mark.slow
DEMO = REPO / "data" / "demo" / "demo-jira-export.json.gz"


def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "datasets").rglob("*")) if p.is_file()}


def test_sigkill_during_import_leaves_store_intact(tmp_path):
    store_dir = tmp_path / "store"
    first = json.loads(run_cli("import", DEMO, "--json", "--name", "kept", store_dir=store_dir, check=True).stdout)
    before = _snapshot(store_dir)
    started = time.monotonic()
    full = subprocess.run([sys.executable, "-m", "vsm_core", "import", str(DEMO), "--store", str(tmp_path / "timing")],
                          cwd=REPO, capture_output=True, timeout=300)
    assert full.returncode == 0
    duration = time.monotonic() - started
    rng = random.Random(20261124)
    killed = 0
    for attempt in range(8):
        process = subprocess.Popen([sys.executable, "-m", "vsm_core", "import", str(DEMO), "--store", str(store_dir)],
                                   cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, duration * 0.95))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            killed += 1
        process.wait(timeout=60)
        store = open_store(store_dir)
        store.sweep_staging()
        names = [d.name for d in store.datasets()]
        assert "kept" in names
        # A killed import is absent; one that finished before the kill is complete.
        for info in store.datasets():
            if info.dataset != first["dataset"]:
                assert info.meta()["counts"]["issues"] == first["issues"]
                store.delete(info.dataset)
        assert _snapshot(store_dir) == before
        assert list((store_dir / "staging").iterdir()) == []
    assert killed >= 4
    rows = json.loads(run_cli("issues", first["dataset"], "--json", store_dir=store_dir, check=True).stdout)
    assert len(rows) == first["issues"]
