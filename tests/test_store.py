"""The dataset store: persistence, atomic imports, ids, versions, migrations."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys

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


def test_read_only_store_gives_one_sentence_and_no_damage(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    store = open_store(tmp_path / "ro")
    os.chmod(store.root / "staging", 0o500)
    try:
        result = run_cli("import", _export(tmp_path), store_dir=store.root)
    finally:
        os.chmod(store.root / "staging", 0o700)
    assert result.returncode == 2
    assert "cannot be written" in result.stderr and "Traceback" not in result.stderr


def test_full_store_disk_gives_one_sentence_and_no_damage(tmp_path):
    """A write that fails half-way (here: a file system with no space) stores nothing."""
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
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _snapshot(store.root) == before
    assert list((store.root / "staging").iterdir()) == []


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
