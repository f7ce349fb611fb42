"""An import killed (SIGKILL) at any point loses nothing: the store opens, every earlier
dataset is byte-identical, and the killed import is either absent or, if the kill came after
its atomic publish, complete.

The import under test is the real command line (``vsm import FILE`` and ``vsm import FILE
--into DATASET``) on a 20,000-issue export that takes a few seconds. It runs through a small
driver that only adds marks on stderr when a phase starts (starting, reading, finalizing,
publishing, published, view cache, done), so that the test can aim its kills and tell, after
each kill, which phase the process died in. Kills are seeded-random points inside each phase;
publishing takes about 3 ms, too short to aim at from outside, so there the driver gives itself
the SIGKILL after a seeded-random number of its file-system steps (mkdir, rename, replace,
fsync), one kill exactly after the atomic rename included.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import REPO, run_cli
from vsm_core.store import DATA_FILES, open_store

pytestmark = pytest.mark.slow
DEMO = REPO / "data" / "demo"
ISSUES = 20_000  # about 3.5 s per import on 2 CPUs
PHASES = ("starting", "reading", "finalizing", "publishing", "published", "view-cache", "done")
BEFORE_PUBLISH = ("starting", "reading", "finalizing")

DRIVER = r'''
"""``vsm import`` with a mark on stderr as each phase starts; optionally it kills itself after
a given number of file-system steps of publishing."""
import os, signal, sys

from vsm_core import cli
from vsm_core.store import Store

KILL_AFTER_STEP = int(os.environ.get("VSM_KILL_AFTER_PUBLISH_STEP", "-1"))
steps = None  # file-system steps taken since publishing started (None outside publishing)


def mark(phase):
    os.write(2, f"@phase {phase} {steps or 0}\n".encode())


def counted(call):
    def step(*args, **kwargs):
        global steps
        result = call(*args, **kwargs)
        if steps is not None:
            steps += 1
            if steps == KILL_AFTER_STEP:
                os.kill(os.getpid(), signal.SIGKILL)
        return result
    return step


for name in ("mkdir", "rename", "replace", "fsync"):
    setattr(os, name, counted(getattr(os, name)))


def publishing(publish):
    def run(self, *args, **kwargs):
        global steps
        steps = 0
        mark("publishing")
        if KILL_AFTER_STEP == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        info = publish(self, *args, **kwargs)
        mark("published")
        steps = None
        return info
    return run


Store.publish_new = publishing(Store.publish_new)
Store.publish_version = publishing(Store.publish_version)


class Marks:
    """Stands in for the terminal progress bar: one mark per phase."""

    def __init__(self):
        self.phase = None

    def __call__(self, what, fraction):
        phase = {"Reading": "reading", "Building": "finalizing", "Preparing": "view-cache", "Done": "done"}.get(what.split(" ")[0], what)
        if phase != self.phase:
            self.phase = phase
            mark(phase)


cli._ProgressBar = Marks
mark("starting")
sys.exit(cli.main(sys.argv[1:]))
'''


@dataclass(frozen=True)
class Aim:
    """Where a kill is aimed: ``after`` seconds into ``phase``, or after ``step`` file-system
    steps of publishing (the process kills itself there)."""

    phase: str
    after: float = 0.0
    step: int | None = None

    def __str__(self) -> str:
        return f"{self.phase} step {self.step}" if self.step is not None else f"{self.phase} +{self.after:.3f} s"


@dataclass(frozen=True)
class Run:
    marks: tuple[tuple[str, float, int], ...]  # (phase, seconds since start when read, publishing steps)
    returncode: int
    stderr: str

    @property
    def died_in(self) -> str:
        """The phase the process was in when it died ("finished" when it was not killed)."""
        if self.returncode == 0:
            return "finished"
        return self.marks[-1][0] if self.marks else "starting"

    def duration(self, phase: str) -> float:
        """How long ``phase`` lasted (until the next mark); meaningful for an uninterrupted run."""
        names = [m[0] for m in self.marks]
        at = names.index(phase)
        return self.marks[at + 1][1] - self.marks[at][1]

    def steps(self, phase: str) -> int:
        return next(m[2] for m in self.marks if m[0] == phase)


def _import(driver: Path, args: list[str], aim: Aim | None = None) -> Run:
    """Run the driven ``vsm import``, reading its marks as they come; kill it as ``aim`` says
    (None: let it finish, and mark when it exits)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if aim is not None and aim.step is not None:
        env["VSM_KILL_AFTER_PUBLISH_STEP"] = str(aim.step)
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, str(driver), "import", *args, "--json"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marks, other = [], []

    def read(line: bytes) -> str | None:
        text = line.decode("utf-8", "replace")
        if not text.startswith("@phase "):
            other.append(text)
            return None
        _, phase, steps = text.split()
        marks.append((phase, time.monotonic() - started, int(steps)))
        return phase

    if aim is not None and aim.step is None:
        anchor = started
        if aim.phase != "starting":
            for line in process.stderr:  # each mark arrives as its phase starts
                if read(line) == aim.phase:
                    anchor = time.monotonic()
                    break
        time.sleep(max(0.0, anchor + aim.after - time.monotonic()))  # the kill point itself, not a wait for a result
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
    for line in process.stderr:
        read(line)
    returncode = process.wait(timeout=120)
    if aim is None:
        assert returncode == 0, "".join(other)
        marks.append(("exit", time.monotonic() - started, 0))
    return Run(tuple(marks), returncode, "".join(other))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(root: Path) -> dict[str, str]:
    """Every stored file with its digest, except ``staging/`` and the view caches
    (``datasets/*/derived/``), which may change; those are checked by ``_check_view_caches``."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] != "staging" and not (len(rel.parts) > 2 and rel.parts[2] == "derived"):
            files[str(rel)] = _digest(path)
    return files


def _check_view_caches(root: Path) -> int:
    """Every Parquet file a view can read under ``derived/`` opens; returns how many unfinished
    cache entries (``.<entry>.<pid>.<random>`` folders, never read) are lying there."""
    unfinished = 0
    for derived in root.glob("datasets/*/derived"):
        for path in derived.rglob("*.parquet"):
            if any(part.startswith(".") for part in path.relative_to(derived).parts):
                continue
            pq.read_table(path)  # raises on a half-written file
        unfinished += sum(1 for p in derived.glob("v*/.*") if p.is_dir())
    return unfinished


def _assert_same_version(candidate: Path, reference: Path, version: int) -> None:
    """A published version is complete: its files are byte-identical to an uninterrupted
    import of the same export (meta.json differs only in its import time and number)."""
    names = sorted(p.name for p in candidate.iterdir())
    assert names == sorted(p.name for p in reference.iterdir())
    assert set(DATA_FILES) <= set(names)
    for name in names:
        if name != "meta.json" and _digest(candidate / name) != _digest(reference / name):
            # The findings' row order may differ from one import to the next: compare rows.
            assert name.endswith(".parquet"), name
            rows = [f"SELECT * FROM read_parquet('{p / name}')" for p in (candidate, reference)]
            differ = duckdb.sql(f"SELECT count(*) FROM (({rows[0]} EXCEPT ALL {rows[1]}) UNION ALL "
                                f"({rows[1]} EXCEPT ALL {rows[0]}))").fetchall()[0][0]
            assert differ == 0, name
    meta, expected = (json.loads((p / "meta.json").read_text()) for p in (candidate, reference))
    assert meta["version"] == version and meta["counts"] == expected["counts"]
    for name in ("issues", "status_changes", "field_changes"):
        assert pq.read_metadata(candidate / f"{name}.parquet").num_rows == meta["counts"][name]


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("driver") / "vsm_import_marked.py"
    path.write_text(DRIVER)
    return path


@pytest.fixture(scope="module")
def big_export(tmp_path_factory) -> Path:
    from vsm_core.demo import write_jira_json

    path = tmp_path_factory.mktemp("export") / "team-export.json.gz"
    write_jira_json(path, ISSUES, seed=11, gzip_output=True)
    return path


@pytest.fixture(scope="module")
def earlier_store(tmp_path_factory, big_export) -> tuple[Path, str]:
    """A store with two earlier datasets: the big export ("base") and the demo with its
    status list and board ("demo")."""
    root = tmp_path_factory.mktemp("earlier") / "store"
    base = json.loads(run_cli("import", big_export, "--name", "base", "--json", store_dir=root, check=True).stdout)
    run_cli("import", DEMO / "demo-jira-export.json.gz", DEMO / "demo-statuses.json",
            DEMO / "demo-board-configuration.json", "--name", "demo", "--json", store_dir=root, check=True)
    return root, base["dataset"]


def _aims(rng: random.Random, reference: Run) -> list[Aim]:
    """Seeded kill points over the whole import: one while starting, three in each third of
    reading, finalizing and the view cache, one just around publishing from outside, and three
    publishing steps from inside (two random, one right after the atomic rename)."""
    aims = [Aim("starting", rng.uniform(0.05, 0.9) * reference.duration("starting"))]
    for phase in ("reading", "finalizing", "view-cache"):
        length = reference.duration(phase) * (0.9 if phase == "view-cache" else 1.0)
        aims += [Aim(phase, rng.uniform(third / 3, (third + 1) / 3) * length) for third in range(3)]
    aims.append(Aim("publishing", rng.uniform(0, 2 * reference.duration("publishing"))))
    steps = reference.steps("published")
    aims += [Aim("publishing", step=rng.randint(0, steps - 1)), Aim("publishing", step=rng.randint(0, steps)),
             Aim("publishing", step=steps)]
    rng.shuffle(aims)
    return aims


@pytest.mark.parametrize("mode", ["new dataset", "new version"])
def test_sigkill_at_random_points_loses_nothing(mode, driver, big_export, earlier_store, tmp_path):
    started = time.monotonic()
    root = tmp_path / "store"
    shutil.copytree(earlier_store[0], root)
    base_id = earlier_store[1]
    into = ["--into", base_id] if mode == "new version" else []
    args = [str(big_export), "--store", str(root), *into]
    reference = _import(driver, args + (["--name", "reference"] if not into else []))
    assert [m[0] for m in reference.marks] == [*PHASES, "exit"]
    reference_dir = (open_store(root).get(base_id).version_path(2) if into
                     else next(i for i in open_store(root).datasets() if i.name == "reference").version_path(1))
    rng = random.Random({"new dataset": 20261124, "new version": 20261125}[mode])
    kills, finished, unfinished_caches = [], 0, 0
    after = _snapshot(root)
    for aim in _aims(rng, reference):
        before = after
        ids_before = sorted(p.name for p in (root / "datasets").iterdir())
        versions_before = open_store(root).get(base_id).versions
        run = _import(driver, args + (["--name", "killed"] if not into else []), aim)
        assert run.returncode in (0, -signal.SIGKILL), run.stderr
        if run.returncode == 0:
            finished += 1
        # What the dead import left, before anything is swept.
        added = sorted({p.name for p in (root / "datasets").iterdir()} - set(ids_before))
        store = open_store(root)
        listed = {info.dataset: info for info in store.datasets()}
        if into:
            added_versions = [v for v in store.get(base_id).versions if v not in versions_before]
            assert added == [] and len(added_versions) <= 1
            outcome = "complete" if added_versions else "absent"
        else:
            assert len(added) <= 1
            outcome = "complete" if added else "absent"
        # Nothing earlier changed; nothing half-done is stored, listed or readable as a dataset.
        after = _snapshot(root)
        assert {k: v for k, v in after.items() if k in before} == before, f"earlier data changed after a kill at {aim}"
        if run.died_in in BEFORE_PUBLISH:
            assert outcome == "absent", f"a kill at {aim} (while {run.died_in}) left a dataset"
        elif run.died_in != "publishing":
            assert outcome == "complete", f"a kill at {aim} (while {run.died_in}) lost a published import"
        if outcome == "complete":
            if into:
                version = versions_before[-1] + 1
                assert listed[base_id].versions == (*versions_before, version)
                _assert_same_version(listed[base_id].version_path(version), reference_dir, version)
            else:
                assert added[0] in listed, f"a kill at {aim} left a dataset folder that is not a dataset"
                assert sorted(listed) == sorted(ids_before + added) and listed[added[0]].versions == (1,)
                assert listed[added[0]].name == "killed"
                _assert_same_version(listed[added[0]].version_path(1), reference_dir, 1)
        else:
            assert sorted(listed) == ids_before and listed[base_id].versions == versions_before
            assert set(after) == set(before)
        unfinished_caches = _check_view_caches(root)
        swept = store.sweep_staging()
        assert list((root / "staging").iterdir()) == [], f"staging not swept after a kill at {aim}"
        if run.returncode != 0:
            kills.append((aim, run.died_in, outcome, swept))
    # The store still serves every dataset to a new process.
    listed = json.loads(run_cli("datasets", "--json", store_dir=root, check=True).stdout)
    assert {"base", "demo"} <= {row["name"] for row in listed}
    rows = json.loads(run_cli("issues", base_id, "--json", store_dir=root, check=True).stdout)
    assert len(rows) == ISSUES
    by_phase = Counter(died for _, died, _, _ in kills)
    outcomes = Counter((died, outcome) for _, died, outcome, _ in kills)
    print(f"\n{mode}: {len(kills)} kills, {finished} runs finished before their kill point, "
          f"{time.monotonic() - started:.0f} s; reference phases (s): "
          + ", ".join(f"{p} {reference.duration(p):.3f}" for p in PHASES)
          + f"\n  died while: {dict(by_phase)}\n  outcome: {dict(outcomes)}"
          + f"\n  unfinished view-cache entries left under derived/: {unfinished_caches}")
    for aim, died, outcome, swept in kills:
        print(f"  aimed {aim!s:<26} died while {died:<11} -> {outcome}; staging folders swept: {swept}")
    assert len(kills) >= 10
    for phase in ("reading", "finalizing", "publishing", "view-cache"):
        assert by_phase[phase] >= 1, f"no kill landed while {phase}: {dict(by_phase)}"
    assert outcomes["publishing", "absent"] >= 1 and outcomes["publishing", "complete"] >= 1


def test_killed_view_cache_save_leaves_nothing_after_a_sweep(earlier_store, tmp_path):
    """The view cache is saved as a folder renamed into place: a process killed just before the
    rename leaves an unfinished entry that no view reads, and a sweep should erase it."""
    root = tmp_path / "store"
    shutil.copytree(earlier_store[0], root)
    info = open_store(root).get(earlier_store[1])
    shutil.rmtree(info.path / "derived")
    # Build the view, and die at the rename that would make its cache entry visible.
    script = (
        "import os, signal\n"
        "from vsm_core.metrics import open_flow\n"
        "from vsm_core.store import open_store\n"
        f"info = open_store({str(root)!r}).get({info.dataset!r})\n"
        "os.rename = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
        "open_flow(info, 1)\n"
    )
    died = subprocess.run([sys.executable, "-c", script], check=False, cwd=REPO, capture_output=True, timeout=120)
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert _check_view_caches(root) == 1  # the unfinished entry is never read
    assert open_store(root).sweep_staging() == 1
    assert _check_view_caches(root) == 0
