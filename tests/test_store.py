"""The dataset store: persistence, atomic imports, ids, versions, migrations."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO, jira_issue, run_cli, write_search
from vsm_core.ingest import SourceFile, import_files
from vsm_core.problems import ImportProblem
from vsm_core.store import STORE_FORMAT, StoreError, open_store


def _export(tmp_path, n=3, name="e.json"):
    issues = [jira_issue(f"S-{i}", "2025-01-01T00:00:00.000+0000", "Open", [
        ("2025-01-02T00:00:00.000+0000", "New", "Open")]) for i in range(1, n + 1)]
    return write_search(tmp_path / name, issues)


def _snapshot(root):
    """Every file under the store's datasets with its bytes, to prove nothing changed."""
    out = {}
    for path in sorted((root / "datasets").rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def test_dataset_persists_across_reopen_with_an_unguessable_id(store, tmp_path):
    result = import_files(store, [SourceFile(_export(tmp_path), "e.json")], name="Team A")
    raw = base64.urlsafe_b64decode(result.dataset + "==")
    assert len(raw) * 8 >= 128
    reopened = open_store(store.root)
    info = reopened.get(result.dataset)
    assert info.name == "Team A"
    assert info.meta()["counts"]["issues"] == 3
    assert json.loads((store.root / "store.json").read_text())["format"] == STORE_FORMAT


def test_failed_import_leaves_no_trace_and_keeps_other_datasets(store, tmp_path):
    import_files(store, [SourceFile(_export(tmp_path), "e.json")], name="kept")
    before = _snapshot(store.root)
    bad = tmp_path / "bad.json"
    bad.write_text('{"issues": [{"key": "X-1", "fields": {"created": "2025-01-01T00:00:00.000+0000"}}, {"key": ')
    with pytest.raises(ImportProblem) as problem:
        import_files(store, [SourceFile(bad, "bad.json")])
    assert "bad.json" in str(problem.value)
    assert _snapshot(store.root) == before
    assert list((store.root / "staging").iterdir()) == []


def _dead_pid() -> int:
    """The id of a process that has ended."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(finished.stdout)


def test_command_line_import_sweeps_what_dead_processes_left(store, tmp_path):
    """A killed import, a killed dashboard's upload copy and a killed view-cache save leave
    folders behind; the next import, from the command line too, erases them, and leaves
    alone those of a process still running (this one)."""
    kept = import_files(store, [SourceFile(_export(tmp_path), "e.json")], name="kept")
    dead, alive = _dead_pid(), os.getpid()
    derived = store.get(kept.dataset).path / "derived" / "v1"
    left = [store.root / "staging" / f"1700000000-{dead}-0a1b2c3d4e5f",
            store.root / "staging" / f"1700000000-{dead}-upload.0a1b2c3d4e5f",
            derived / f".abc-123.{dead}.0a1b2c3d"]
    running = [store.root / "staging" / f"1700000000-{alive}-upload.0a1b2c3d4e5f", derived / f".abc-123.{alive}.0a1b2c3d"]
    for folder in left + running:
        folder.mkdir(parents=True)
        (folder / "export.json").write_text("{}")
    run_cli("import", _export(tmp_path, 2, "g.json"), "--name", "next", store_dir=store.root, check=True)
    assert [folder for folder in left if folder.exists()] == []
    assert all(folder.exists() for folder in running)
    assert [info.name for info in open_store(store.root).datasets()] == ["next", "kept"]


def test_new_version_keeps_the_old_one_readable(store, tmp_path):
    first = import_files(store, [SourceFile(_export(tmp_path, 2), "e.json")])
    second = import_files(store, [SourceFile(_export(tmp_path, 5, "f.json"), "f.json")], into=first.dataset)
    assert second.dataset == first.dataset and second.version == 2
    info = store.get(first.dataset)
    assert info.versions == (1, 2)
    assert info.meta(1)["counts"]["issues"] == 2
    assert info.meta(2)["counts"]["issues"] == 5


def test_rename_and_delete_remove_every_file(store, tmp_path):
    result = import_files(store, [SourceFile(_export(tmp_path), "e.json")], name="old")
    assert store.rename(result.dataset, "new").name == "new"
    path = store.get(result.dataset).path
    store.delete(result.dataset)
    assert not path.exists()
    with pytest.raises(StoreError):
        store.get(result.dataset)
    assert list((store.root / "staging").iterdir()) == []


def test_store_written_in_format_1_opens_after_migration(tmp_path):
    """Format 1 kept one version's Parquet files directly in datasets/<id>/."""
    current = open_store(tmp_path / "new")
    result = import_files(current, [SourceFile(_export(tmp_path), "e.json")], name="legacy")
    legacy = tmp_path / "legacy"
    dataset_dir = legacy / "datasets" / result.dataset
    dataset_dir.mkdir(parents=True)
    for file in current.get(result.dataset).version_path().iterdir():
        shutil.copy(file, dataset_dir / file.name)
    meta = json.loads((dataset_dir / "meta.json").read_text())
    meta.pop("version"), meta.pop("format")
    meta["name"] = "legacy"
    (dataset_dir / "meta.json").write_text(json.dumps(meta))

    migrated = open_store(legacy)
    info = migrated.get(result.dataset)
    assert info.name == "legacy" and info.versions == (1,)
    assert json.loads((legacy / "store.json").read_text())["format"] == STORE_FORMAT
    rows = json.loads(run_cli("issues", result.dataset, "--json", store_dir=legacy, check=True).stdout)
    assert sorted(r["key"] for r in rows) == ["S-1", "S-2", "S-3"]


def test_store_from_a_newer_version_is_refused_clearly(tmp_path):
    root = tmp_path / "future"
    root.mkdir()
    (root / "store.json").write_text(json.dumps({"format": STORE_FORMAT + 1}))
    with pytest.raises(StoreError, match="newer version"):
        open_store(root)


# -- a store the importing user cannot write, and a full disk -------------------------------
#
# Root ignores directory permissions, so as root the command runs as the unprivileged user
# "nobody" (setpriv or runuser) on a store root owns; as any other user the store's folders
# lose their write permission. A full disk is a real small file system (a tmpfs in a private
# mount namespace, made with unshare) and, where none can be mounted, a fault injection.

NOBODY = 65534


def _as_reader() -> list[str]:
    """The command prefix that runs a program as a user who may read the store but not write it."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    pytest.skip("running as root and neither setpriv nor runuser is here to drop privileges")


@pytest.fixture
def shared_dir():
    """A folder everyone may read (pytest's tmp_path is private to its owner), and in it a
    home the reader may write (the store stays the only thing it cannot write)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="vsm-readonly-"))
    try:
        path.chmod(0o755)
        home = path / "home"
        home.mkdir()
        if os.geteuid() == 0:
            os.chown(home, NOBODY, NOBODY)
        yield path
    finally:
        for folder in path.rglob("*"):
            if folder.is_dir():
                folder.chmod(0o755)
        shutil.rmtree(path)


def _store_not_writable(root: Path, *, only: str | None = None) -> None:
    """Take away the importing user's write permission on the store (or on ``only`` inside it).
    As root the store is root's and the importer runs as nobody: 0o755 folders are enough."""
    folders = [root / only] if only else [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o755 if os.geteuid() == 0 else 0o555)
    if os.geteuid() == 0 and only:
        # Everything else stays writable for nobody.
        for folder in [root, *root.rglob("*")]:
            if folder.is_dir() and folder not in folders:
                folder.chmod(0o777)
            elif folder.is_file():
                folder.chmod(0o666)


def _run_as_reader(shared: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(shared / "home"), TMPDIR=str(shared / "home"), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([*_as_reader(), sys.executable, "-m", "vsm_core", *map(str, args)],
                          check=False, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)


def _one_store_sentence(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("vsm import: ") and "cannot be written" in lines[0], lines[0]
    assert "nothing was imported" in lines[0], lines[0]


def _readable_store(shared: Path, tmp_path) -> tuple[Path, str, Path]:
    """A store with one dataset, and a 2-issue export, in ``shared``."""
    root = shared / "store"
    kept = import_files(open_store(root), [SourceFile(_export(tmp_path), "e.json")], name="kept")
    export = shutil.copy(_export(tmp_path, 2, "g.json"), shared / "g.json")
    Path(export).chmod(0o644)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root, kept.dataset, Path(export)


@pytest.mark.parametrize("into", [False, True], ids=["new dataset", "new version"])
def test_read_only_store_gives_one_sentence_and_no_damage(shared_dir, tmp_path, into):
    root, kept, export = _readable_store(shared_dir, tmp_path)
    before = _snapshot(root)
    _store_not_writable(root)
    result = _run_as_reader(shared_dir, "import", export, "--store", root, *(["--into", kept] if into else []))
    _one_store_sentence(result)
    assert "Permission denied" in result.stderr
    assert _snapshot(root) == before and list((root / "staging").iterdir()) == []


def test_store_whose_datasets_folder_is_read_only_gives_one_sentence(shared_dir, tmp_path):
    """staging/ can be written but datasets/ cannot (another account owns it): the import
    fails at its last step, publishing, and must still say so in one sentence."""
    root, _, export = _readable_store(shared_dir, tmp_path)
    before = _snapshot(root)
    _store_not_writable(root, only="datasets")
    result = _run_as_reader(shared_dir, "import", export, "--store", root)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert _snapshot(root) == before and list((root / "staging").iterdir()) == []
    _one_store_sentence(result)


def test_new_version_into_a_read_only_dataset_is_not_reported_as_imported(shared_dir, tmp_path):
    """staging/ can be written but the dataset's folder cannot: the new version cannot be
    published, so the import must fail; it must never say "imported" while storing nothing."""
    root, kept, export = _readable_store(shared_dir, tmp_path)
    before = _snapshot(root)
    _store_not_writable(root, only=f"datasets/{kept}/versions")
    result = _run_as_reader(shared_dir, "import", export, "--store", root, "--into", kept, "--json")
    assert _snapshot(root) == before and list((root / "staging").iterdir()) == []
    _one_store_sentence(result)


def _private_mounts(probe: Path) -> list[str] | None:
    """A prefix that runs a command in a private mount namespace (mounts there are seen by
    nobody else and vanish with it), or None when this system allows none (no unshare, no
    privileges and no user namespaces). ``probe`` is an empty folder to try a mount on."""
    if not shutil.which("unshare"):
        return None
    probe.mkdir(exist_ok=True)
    for prefix in (["unshare", "--mount"], ["unshare", "--mount", "--map-root-user"]):
        mount = subprocess.run([*prefix, "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {probe} || exit 1"],
                               check=False, capture_output=True, timeout=30)
        if mount.returncode == 0:
            return prefix
    return None


def test_read_only_file_system_gives_one_sentence_and_no_damage(tmp_path):
    """The store on a read-only mount (a read-only bind mount in a private mount namespace)."""
    prefix = _private_mounts(tmp_path / "probe")
    if prefix is None:
        pytest.skip("no private mount namespace can be made here (unshare)")
    root = tmp_path / "store"
    kept = import_files(open_store(root), [SourceFile(_export(tmp_path), "e.json")], name="kept").dataset
    before = _snapshot(root)
    export = _export(tmp_path, 2, "g.json")
    cli = f"{sys.executable} -m vsm_core import {export} --store {root}"
    script = (f"mount --bind {root} {root} && mount -o remount,bind,ro {root} || exit 90\n"
              f"{cli}; echo \"rc=$?\" >&2\n{cli} --into {kept}; echo \"rc=$?\" >&2\n")
    result = subprocess.run([*prefix, "sh", "-c", script], check=False, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode != 90, result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("rc=")] == ["rc=2", "rc=2"], result.stderr
    sentences = [line for line in lines if not line.startswith("rc=")]
    assert len(sentences) == 2 and all("cannot be written (Read-only file system); nothing was imported" in s
                                       for s in sentences), result.stderr
    assert _snapshot(root) == before and list((root / "staging").iterdir()) == []


def test_full_store_disk_gives_one_sentence_and_no_damage(tmp_path):
    """A write that fails half-way stores nothing. Fault injection: every Parquet write of the
    importer raises ENOSPC (runs everywhere; the real small file system is the next test)."""
    store = open_store(tmp_path / "full")
    import_files(store, [SourceFile(_export(tmp_path), "e.json")], name="kept")
    before = _snapshot(store.root)
    env = dict(os.environ)
    script = (
        "import errno, builtins, sys\n"
        "import pyarrow.parquet as pq\n"
        "orig = pq.ParquetWriter.write_table\n"
        "def full(self, *a, **k):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "pq.ParquetWriter.write_table = full\n"
        "from vsm_core.cli import main\n"
        f"sys.exit(main(['import', {str(_export(tmp_path, 2, 'g.json'))!r}, '--store', {str(store.root)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, cwd=REPO,
                            env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _snapshot(store.root) == before
    assert list((store.root / "staging").iterdir()) == []


# Free space left on the small file system, in KiB: from nothing, through about half and most of
# what the demo export's import needs, to more than enough.
FREE_KIB = (0, 500, 1000, 1400, 1800, 8000)


@pytest.mark.parametrize("into", [False, True], ids=["new dataset", "new version"])
def test_real_full_disk_at_every_stage_of_an_import(tmp_path, into):
    """The store on a real tmpfs with only so much free space: the demo export (3,000 issues)
    then runs out of room while reading, while finalizing, while preparing the view cache, or
    not at all. Each run ends in one sentence and an unchanged store, or in a complete dataset
    (or version)."""
    prefix = _private_mounts(tmp_path / "probe")
    if prefix is None:
        pytest.skip("no private mount namespace can be made here (unshare) to mount a small tmpfs")
    prepared = tmp_path / "prepared"
    demo = REPO / "data" / "demo"
    kept = import_files(open_store(prepared), [SourceFile(demo / name, name) for name in
                                               ("demo-jira-export.json.gz", "demo-board-configuration.json")],
                        name="kept").dataset
    before = _snapshot(prepared)
    used_kib = sum(-(-p.stat().st_size // 4096) * 4 for p in prepared.rglob("*") if p.is_file())
    outcomes = {}
    for free in FREE_KIB:
        mount, after = tmp_path / f"mnt-{free}", tmp_path / f"after-{free}"
        mount.mkdir()
        cli = f"{sys.executable} -m vsm_core import {demo / 'demo-jira-export.json.gz'} --store {mount} --json"
        script = (f"mount -t tmpfs -o size={used_kib + free}k tmpfs {mount} && cp -a {prepared}/. {mount}/ || exit 90\n"
                  f"{cli}{f' --into {kept}' if into else ''}\nrc=$?; cp -a {mount}/. {after}/; exit $rc\n")
        result = subprocess.run([*prefix, "sh", "-c", script], check=False, capture_output=True, text=True, cwd=REPO,
                                timeout=120)
        assert result.returncode in (0, 2), f"{free} KiB free: {result.stderr}"
        assert list((after / "staging").iterdir()) == [], f"{free} KiB free: staging not cleaned"
        if result.returncode == 2:
            assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert "cannot be written" in result.stderr and "nothing was imported" in result.stderr, result.stderr
            assert _snapshot(after) == before, f"{free} KiB free: the store changed"
            outcomes[free] = result.stderr.strip()
        else:
            added = json.loads(result.stdout)
            info = open_store(after).get(added["dataset"])
            assert added["version"] == info.latest == (2 if into else 1)
            assert info.meta()["counts"]["issues"] == added["issues"] == 3000
            for name in ("issues", "status_changes", "visits", "findings"):
                pq.read_table(info.version_path() / f"{name}.parquet")
            caches = list((info.path / "derived" / f"v{info.latest}").rglob("*.parquet"))
            for cache in caches:
                pq.read_table(cache)  # a cache that did not fit is absent, never half-written
            assert {k: v for k, v in _snapshot(after).items() if k in before} == before
            outcomes[free] = "imported" + ("" if caches else " (no view cache)")
    print("\n" + "\n".join(f"  {free:>5} KiB free: {outcome}" for free, outcome in outcomes.items()))
    assert "imported" in outcomes[FREE_KIB[-1]] and outcomes[0].startswith("vsm import:")
    assert sum(outcome.startswith("vsm import:") for outcome in outcomes.values()) >= 3
    internals = [o for o in outcomes.values() if any(text in o for text in ("exception_type", "IO Error", "Detail:", "errno"))]
    assert not internals, f"DuckDB's own error text reached the sentence: {internals[0][:300]}"


def test_dashboard_reads_while_another_process_imports(store, tmp_path):
    """A reader process lists and reads datasets in a loop while this process imports."""
    first = import_files(store, [SourceFile(_export(tmp_path), "e.json")])
    reader = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from vsm_core.store import open_store\n"
         "from vsm_core import queries\n"
         f"s = open_store({str(store.root)!r})\n"
         "end = time.time() + 4\n"
         "n = 0\n"
         "while time.time() < end:\n"
         "    for info in s.datasets():\n"
         "        assert len(queries.table(info, info.latest, 'issues')) >= 1\n"
         "        n += 1\n"
         "print(n)\n"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for n in range(4):
        import_files(store, [SourceFile(_export(tmp_path, 2 + n, f"x{n}.json"), f"x{n}.json")])
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert int(out) > 0
    assert len(store.datasets()) == 5
    assert store.get(first.dataset).meta()["counts"]["issues"] == 3


def test_version_without_stored_visits_computes_the_same_status_times(store, tmp_path):
    """Versions imported before timelines were stored at import still answer status-times."""
    result = import_files(store, [SourceFile(_export(tmp_path), "e.json")])
    stored = json.loads(run_cli("status-times", result.dataset, "--json", store_dir=store.root, check=True).stdout)
    visits = store.get(result.dataset).version_path() / "visits.parquet"
    assert visits.exists()
    visits.unlink()
    computed = json.loads(run_cli("status-times", result.dataset, "--json", store_dir=store.root, check=True).stdout)
    assert computed == stored and len(stored) == 6


def test_json_with_history_and_csv_without_make_one_dataset_with_history(store, tmp_path):
    csv = tmp_path / "current.csv"
    csv.write_text("Summary,Issue key,Issue id,Issue Type,Status,Created,Updated\n"
                   "Later one,S-9,90009,Story,Open,02/Jan/25 9:00 AM,03/Jan/25 9:00 AM\n")
    for order in ((_export(tmp_path), csv), (csv, _export(tmp_path, name="g.json"))):
        result = import_files(store, [SourceFile(p, p.name) for p in order])
        assert result.has_history and result.issues == 4


def test_dataset_ids_never_start_like_a_command_line_option():
    from vsm_core.store import new_dataset_id

    ids = [new_dataset_id() for _ in range(2000)]
    assert all(i[0].isalnum() and len(i) == 24 for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("error, cause", [
    (OSError(28, "No space left on device"), "No space left on device"),
    ("IOException", "No space left on device"),
    (OSError("Error writing bytes to file. Detail: [errno 13] Permission denied"), "Permission denied"),
    (MemoryError("could not allocate block of size 256 KiB"), "its temporary files fit neither on the disk nor in memory"),
    (OSError("something else"), "a write failed"),
])
def test_a_failed_write_names_its_cause_without_the_internals(error, cause):
    import duckdb

    from vsm_core.problems import store_not_written

    if error == "IOException":  # DuckDB's text: JSON with the staging file's path
        error = duckdb.IOException('{"exception_type":"IO","exception_message":"Could not write file '
                                   '\\"/srv/store/staging/1-2-ab/work/duckdb.tmp\\": No space left on device"}')
    sentence = store_not_written(error).sentence
    assert sentence.startswith(f"the store cannot be written ({cause}); nothing was imported."), sentence
    assert "staging" not in sentence and "exception" not in sentence and "errno" not in sentence
