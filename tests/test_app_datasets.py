"""The Datasets page manages the datasets this browser may edit: sizes and versions listed,
rename (shown as typed, a bad name refused with a sentence), delete (only when confirmed; every
file goes); a view link lists nothing and can change nothing."""

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


def _page(dataset: str, key: str | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.query_params["dataset"] = dataset
    if key:
        at.query_params["edit"] = key
    at.run()
    at.switch_page("pages/datasets.py").run()
    assert not at.exception, at.exception
    return at


def test_the_list_shows_counts_versions_and_sizes(two):
    store, (keep, remove) = two
    listed = _page(keep, store.new_edit_key(keep)).dataframe[0].value
    rows = {row["name"]: row for row in listed.to_dict("records")}
    assert rows["Keep me"]["issues"] == 2 and rows["Keep me"]["versions"] == "1"
    assert "Remove me" not in rows  # this browser holds no edit key for it
    on_disk = sum(p.stat().st_size for p in store.get(keep).path.rglob("*") if p.is_file())
    assert rows["Keep me"]["size_mb"] == pytest.approx(on_disk / 1e6, rel=0.2)  # the page reads before any view is cached


def test_rename_shows_the_name_as_typed_and_refuses_an_empty_one(two):
    store, (keep, _) = two
    at = _page(keep, store.new_edit_key(keep))
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
    at = _page(remove, store.new_edit_key(remove))
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


def test_a_view_link_lists_nothing_and_cannot_rename_or_delete(two):
    store, (keep, remove) = two
    store.new_edit_key(keep)
    at = _page(keep)  # the view link: no edit key
    listed = at.dataframe[0].value
    assert keep not in " ".join(map(str, listed.to_dict("records")))  # ids are listed only to editors
    assert not [b for b in at.button if b.label in ("Rename", "Delete the dataset")]
    assert any("open this dataset's edit link" in c.value for c in at.caption)
    wrong = _page(keep, "A" * 32)  # a made-up key gives no rights either
    assert not [b for b in wrong.button if b.label in ("Rename", "Delete the dataset")]
    assert store.get(keep).name == "Keep me" and store.get(remove).path.exists()


def test_the_edit_key_leaves_the_address_bar(two):
    store, (keep, _) = two
    at = _page(keep, store.new_edit_key(keep))
    assert "edit" not in at.query_params
    assert [b for b in at.button if b.label == "Rename"]
