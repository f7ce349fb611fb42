"""The base tables kept on disk per (data version, stage map, clock): reused, rebuilt when
damaged, never required (a read-only store still answers), and keyed by clock and map."""

from __future__ import annotations

import shutil

from datetime import UTC, datetime

import pytest
from conftest import jira_issue, write_search

from vsm_core.metrics import Clock, Filters, measures, open_flow

UTC = UTC


@pytest.fixture
def info(store, tmp_path):
    from vsm_core.ingest import SourceFile, import_files

    issues = [
        jira_issue(f"C-{n}", "2025-03-03T09:00:00.000+0000", "Done", [
            ("2025-03-04T09:00:00.000+0000", "To Do", "In Progress"),
            (f"2025-03-0{5 + n % 3}T09:00:00.000+0000", "In Progress", "Done"),
        ], category="done")
        for n in range(1, 7)
    ]
    path = write_search(tmp_path / "cache.json", issues)
    result = import_files(store, [SourceFile(path, path.name)], as_of=datetime(2025, 3, 12, tzinfo=UTC))
    return store.get(result.dataset)


def _entries(info):
    folder = info.path / "derived" / f"v{info.latest}"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []


def _stage_table(info, **kwargs):
    with open_flow(info, filters=Filters(all_types=True), **kwargs) as flow:
        return measures.stage_times(flow)


def test_base_tables_are_saved_once_and_read_back_with_the_same_figures(info):
    first = _stage_table(info)
    assert len(_entries(info)) == 1
    second = _stage_table(info)
    assert len(_entries(info)) == 1
    assert first.equals(second)


def test_each_clock_has_its_own_entry(info):
    calendar = _stage_table(info)
    working = _stage_table(info, clock=Clock("working"))
    assert len(_entries(info)) == 2
    done = lambda t: float(t.loc[t["stage"] == "Done", "total_hours"].iloc[0])
    assert done(working) == pytest.approx(done(calendar) - 6 * 48)  # each item sat in Done over 8 and 9 March


def test_a_damaged_entry_is_rebuilt(info):
    expected = _stage_table(info)
    entry = info.path / "derived" / f"v{info.latest}" / _entries(info)[0]
    (entry / "base_runs.parquet").write_bytes(b"not parquet")
    assert _stage_table(info).equals(expected)


def test_a_store_it_cannot_write_still_answers(info):
    """Saving is best effort: here the cache folder cannot be created (a file is in the way,
    which stops root too, unlike file permissions)."""
    shutil.rmtree(info.path / "derived", ignore_errors=True)  # the import prepared the default view
    (info.path / "derived").write_text("in the way")
    table = _stage_table(info)
    assert int(table.loc[table["stage"] == "In Progress", "items"].iloc[0]) == 6
    assert (info.path / "derived").read_text() == "in the way"


def test_at_most_six_entries_are_kept(info):
    for day in range(1, 9):
        _stage_table(info, clock=Clock("working", holidays=(datetime(2025, 1, day).date(),)))
    assert len(_entries(info)) == 6
