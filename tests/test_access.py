"""Who may see and change a dataset (vsm_core.access), the store's access records and
`vsm links`."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import jira_issue, run_cli, write_search

from vsm_core.access import Visitor, can_edit, can_list, can_view, key_digest, key_matches, normal_email
from vsm_core.store import StoreError


@pytest.fixture
def dataset(store, tmp_path):
    from vsm_core.ingest import SourceFile, import_files

    path = write_search(tmp_path / "one.json", [jira_issue("A-1", "2025-01-06T09:00:00.000+0000", "To Do")])
    return import_files(store, [SourceFile(path, path.name)], name="Team A").dataset


def test_only_the_digest_of_an_edit_key_is_stored(store, dataset):
    key = store.new_edit_key(dataset)
    stored = (store.get(dataset).path / "dataset.json").read_text()
    assert key not in stored and key_digest(key) in stored
    assert len(key) >= 32  # 24 random bytes, URL-safe


def test_a_new_edit_key_voids_the_old_one(store, dataset):
    old = store.new_edit_key(dataset)
    new = store.new_edit_key(dataset)
    access = store.get(dataset).access
    assert not can_edit(Visitor(edit_keys=((dataset, old),)), dataset, access)
    assert can_edit(Visitor(edit_keys=((dataset, new),)), dataset, access)


@pytest.mark.parametrize("key", [None, "", "short", "A" * 32, "x" * 200, "é" * 32])
def test_a_wrong_key_never_matches(key):
    assert not key_matches(key, key_digest("the-real-key-0123456789abcdef"))


def test_without_login_the_id_views_and_only_the_key_edits(store, dataset):
    key = store.new_edit_key(dataset)
    access = store.get(dataset).access
    stranger, holder = Visitor(), Visitor(edit_keys=((dataset, key),))
    other_dataset_key = Visitor(edit_keys=(("someOtherDatasetId000000", key),))
    assert can_view(stranger, access) and not can_edit(stranger, dataset, access) and not can_list(stranger, dataset, access)
    assert can_edit(holder, dataset, access) and can_list(holder, dataset, access)
    assert not can_edit(other_dataset_key, dataset, access)  # a key opens its own dataset only


def test_with_login_the_owner_edits_and_shared_accounts_view(store, dataset):
    store.set_owner(dataset, "Ana@Example.com ")
    store.share(dataset, "bo@example.com")
    key = store.new_edit_key(dataset)
    access = store.get(dataset).access
    ana, bo, cy = (Visitor(login=True, email=e) for e in ("ana@example.com", "bo@example.com", "cy@example.com"))
    assert can_edit(ana, dataset, access) and can_view(ana, access)
    assert can_view(bo, access) and not can_edit(bo, dataset, access) and can_list(bo, dataset, access)
    assert not can_view(cy, access) and not can_list(cy, dataset, access)
    # With login, links carry no rights: neither the id nor the edit key.
    assert not can_edit(Visitor(login=True, email="cy@example.com", edit_keys=((dataset, key),)), dataset, access)
    assert not can_view(Visitor(login=True), access)  # not logged in


def test_the_demo_is_public_and_read_only(store, dataset):
    access = {"edit_key_sha256": key_digest("k" * 32), "owner": "ana@example.com"}
    for visitor in (Visitor(), Visitor(login=True, email="x@example.com"),
                    Visitor(login=True, email="ana@example.com", edit_keys=((dataset, "k" * 32),))):
        assert can_view(visitor, access, demo=True) and can_list(visitor, dataset, access, demo=True)
        assert not can_edit(visitor, dataset, access, demo=True)


def test_links_name_ids_only(store, dataset):
    with pytest.raises(StoreError):
        store.get_by_id("Team A")  # the command line accepts names; links do not
    assert store.get_by_id(dataset).name == "Team A"


@pytest.mark.parametrize("text", ["", "ana", "a@b@c", "ana example.com", "x" * 300 + "@e.com"])
def test_e_mail_addresses_are_checked(text):
    with pytest.raises(ValueError, match="is not an e-mail address"):
        normal_email(text)


def test_cli_links_prints_the_view_link_and_a_working_edit_link(store, dataset):
    out = json.loads(run_cli("links", dataset, "--new-edit-key", "--base-url", "https://vsm.example.com/",
                             "--json", store_dir=store.root, check=True).stdout)
    assert out["view_link"] == f"https://vsm.example.com/?dataset={dataset}"
    edit = parse_qs(urlsplit(out["edit_link"]).query)
    assert edit["dataset"] == [dataset]
    assert key_matches(edit["edit"][0], store.get(dataset).access["edit_key_sha256"])
    bad = run_cli("links", dataset, "--share", "not-an-address", store_dir=store.root)
    assert bad.returncode == 2 and "is not an e-mail address" in bad.stderr and "Traceback" not in bad.stderr


def test_retention_deletes_old_datasets_with_every_file_and_keeps_the_demo(store, tmp_path):
    from datetime import UTC, datetime, timedelta

    from vsm_core.ingest import SourceFile, import_files

    ids = []
    for n in range(3):
        path = write_search(tmp_path / f"{n}.json", [jira_issue(f"R{n}-1", "2025-01-06T09:00:00.000+0000", "To Do")])
        ids.append(import_files(store, [SourceFile(path, path.name)], name=f"Team {n}").dataset)
    store.mark_demo(ids[2])
    now = datetime.now(UTC)
    assert store.expire(30, now=now + timedelta(days=29)) == []
    old_paths = [store.get(d).path for d in ids]
    removed = store.expire(30, now=now + timedelta(days=31))
    assert sorted(removed) == sorted(ids[:2])
    assert not old_paths[0].exists() and not old_paths[1].exists() and old_paths[2].exists()  # the demo stays
    assert not any((store.root / "staging").iterdir())  # deleted for good, nothing parked
    bad = run_cli("expire", "--days", "0", store_dir=store.root)
    assert bad.returncode == 2 and "positive number of days" in bad.stderr
