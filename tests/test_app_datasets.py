"""The Datasets page manages the stored datasets: sizes and versions listed, rename (shown as
typed, a bad name refused with a sentence), delete (only when confirmed; every file goes)."""

from __future__ import annotations

import pytest
from conftest import REPO, jira_issue, write_search
from streamlit.testing.v1 import AppTest


@pytest.fixture
def two(tmp_path, monkeypatch):
    import streamlit as st

    from vsm_core.ingest import SourceFile, import_files
    from vsm_core.store import open_store

    store = open_store(tmp_path / "store")
    ids = []
    for name, count in (("Keep me", 2), ("Remove me", 3)):
        path = write_search(tmp_path / f"{count}.json", [
            jira_issue(f"K{count}-{n}", "2025-01-06T09:00:00.000+0000", "In Progress",
                       [("2025-01-06T10:00:00.000+0000", "To Do", "In Progress")]) for n in range(count)])
        ids.append(import_files(store, [SourceFile(path, path.name)], name=name).dataset)
    monkeypatch.setenv("VSM_STORE", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield store, ids
    st.cache_resource.clear()


def _page(dataset: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.query_params["dataset"] = dataset
    at.run()
    at.switch_page("pages/datasets.py").run()
    assert not at.exception, at.exception
    return at


def test_the_list_shows_counts_versions_and_sizes(two):
    store, (keep, remove) = two
    listed = _page(keep).dataframe[0].value
    rows = {row["name"]: row for row in listed.to_dict("records")}
    assert rows["Keep me"]["issues"] == 2 and rows["Remove me"]["issues"] == 3
    assert rows["Keep me"]["versions"] == "1"
    on_disk = sum(p.stat().st_size for p in store.get(keep).path.rglob("*") if p.is_file())
    assert rows["Keep me"]["size_mb"] == pytest.approx(on_disk / 1e6, rel=0.2)  # the page reads before any view is cached


def test_rename_shows_the_name_as_typed_and_refuses_an_empty_one(two):
    store, (keep, _) = two
    at = _page(keep)
    at.text_input[0].set_value("Team *one* <b>")
    at.button[0].click().run()
    assert store.get(keep).name == "Team *one* <b>"
    at.text_input[0].set_value("   ")
    at.button[0].click().run()
    assert "A dataset name needs 1 to 200 characters" in at.error[0].value
    assert store.get(keep).name == "Team *one* <b>"


def test_delete_needs_the_confirmation_and_removes_every_file(two):
    store, (keep, remove) = two
    path = store.get(remove).path
    at = _page(remove)
    delete = next(b for b in at.button if b.label == "Delete the dataset")
    delete.click().run()
    assert "Tick the box first" in at.error[0].value and path.exists()
    box = next(c for c in at.checkbox if c.label.startswith("I understand"))
    box.check()
    next(b for b in at.button if b.label == "Delete the dataset").click().run()
    assert not path.exists()
    left = [d.dataset for d in store.datasets()]
    assert keep in left and remove not in left  # the demo, imported on the app's first run, stays too
    assert not at.exception
