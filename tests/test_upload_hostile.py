"""Hostile files through the dashboard's Upload page (AppTest): each one ends in one sentence
shown as an error, or in a clean import; never an exception, and the datasets stored before
are unchanged.

The store holds the demo (imported by the first page run) and one earlier export. Each case
uploads one file with the page's own form, the way a visitor does, and reads what the page
shows. The command-line corpus (tests/test_bad_input.py) checks the sentences of many more
files; here the point is the web path: Streamlit's upload, ``vsm_app.uploads`` and the page.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import streamlit as st
from app_support import run_page, unescaped
from conftest import REAL, jira_issue, write_search

from vsm_core import limits
from vsm_core.ingest import SourceFile, import_files
from vsm_core.store import open_store

BAD = Path(__file__).resolve().parent / "fixtures" / "bad"
HOSTILE_SUMMARY = "<script>alert(1)</script> ![x](http://e/x.png) **bold**"
# What would render if the page showed text from the file as Markdown or HTML (escaped, as
# ``\<img`` or ``\!\[x\]``, it shows as typed).
RENDERED = re.compile(r"!\[x\]\(|(?<!\\)<(?:script|img)|\*\*bold\*\*")


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    """A store named by $VSM_STORE holding the demo and one earlier export."""
    base = tmp_path_factory.mktemp("upload-hostile")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VSM_STORE", str(base / "store"))
        st.cache_data.clear()
        st.cache_resource.clear()
        store = open_store(base / "store")
        earlier = REAL / "jirametrics_sample_search_6issues.json"
        if not earlier.exists():
            earlier = write_search(base / "earlier.json", [
                jira_issue("E-1", "2025-01-02T09:00:00.000+0000", "Done",
                           [("2025-01-03T09:00:00.000+0000", "To Do", "Done")])])
        import_files(store, [SourceFile(earlier, earlier.name)], name="Earlier export")
        at = run_page("upload")  # the first run imports the demo
        assert not at.exception, [e.message for e in at.exception]
        yield store
    st.cache_data.clear()
    st.cache_resource.clear()


def stored(store) -> dict[str, bytes]:
    """The bytes of every stored dataset: records and data versions (view caches left out)."""
    base = store.root / "datasets"
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*"))
            if p.is_file() and "derived" not in p.relative_to(base).parts}


@dataclass
class Shown:
    errors: list[str]
    successes: list[str]
    markdown: list[str]  # every element that renders Markdown, as the page sent it


def upload(name: str, body: bytes, mime: str = "application/octet-stream") -> Shown:
    """Upload one file through the page's form and press Import."""
    at = run_page("upload")
    at.file_uploader(key="uploads").set_value([(name, body, mime)])
    next(b for b in at.button if b.label == "Import").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    markdown = [e.value for group in (at.error, at.success, at.warning, at.info, at.markdown, at.caption, at.title,
                                      at.header, at.subheader) for e in group]
    return Shown([e.value for e in at.error], [s.value for s in at.success], markdown)


# -- the files ----------------------------------------------------------------------------------------


def _bomb() -> bytes:
    """300 MB of blanks inside an issues array, gzipped to about 300 KB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b'{"issues": [')]
    block = b" " * (1024 * 1024)
    parts += [packer.compress(block) for _ in range(300)]
    parts.append(packer.flush())
    return b"".join(parts)


def _parquet_bomb() -> bytes:
    """20,000 events whose status is one 1 MiB text: about 20 KB on disk, 20 GiB of text."""
    rows = 20_000
    table = pa.table({
        "key": pa.array([f"A-{n % 100}" for n in range(rows)]),
        "status": pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["s" * 1024 * 1024])),
        "time": pa.array(["2025-01-01T00:00:00Z"] * rows),
    })
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def _wide_csv() -> bytes:
    return ("Issue key,Status,Created," + ",".join(f"Custom field (F{n})" for n in range(10_000)) + "\n"
            + "A-1,Open,2025-01-02" + "," * 10_000 + "\n").encode()


REFUSALS = [
    pytest.param("random-bytes.bin", lambda: (BAD / "random-bytes.bin").read_bytes(), None,
                 "random-bytes.bin is a binary file, not a Jira export", id="binary"),
    pytest.param("spaces-300mb.json.gz", _bomb, 64 * 1024**2,
                 "spaces-300mb.json.gz expands to more than 64 MB when uncompressed", id="gzip-bomb"),
    pytest.param("events.parquet", _parquet_bomb, None,
                 "events.parquet expands to more than 8 GiB when uncompressed", id="parquet-bomb"),
    pytest.param("wide.csv", _wide_csv, None,
                 "wide.csv has 10,003 columns in its header row, more than the 5,000 this product reads", id="10000-columns"),
    pytest.param("cut.json", lambda: (BAD / "truncated-mid-issue.json").read_bytes(), None,
                 "cut.json ends in the middle of issue number 2", id="truncated"),
]


@pytest.mark.parametrize(("name", "make", "expanded_cap", "sentence"), REFUSALS)
def test_a_hostile_upload_gets_one_sentence_and_nothing_is_stored(hostile_store, monkeypatch, name, make,
                                                                  expanded_cap, sentence):
    if expanded_cap:  # the cap the server is started with (VSM_MAX_EXPANDED_BYTES), lowered to keep the test quick
        monkeypatch.setattr(limits, "MAX_EXPANDED_BYTES", expanded_cap)
    before = stored(hostile_store)
    datasets = {d.dataset for d in hostile_store.datasets()}

    shown = upload(name, make())

    [error] = shown.errors
    assert unescaped(error).startswith(sentence), error
    assert "\n" not in error and not re.search(r"Traceback|Error\b|Exception", error), error
    assert not shown.successes
    assert stored(hostile_store) == before, "a refused upload changed a stored dataset"
    assert {d.dataset for d in hostile_store.datasets()} == datasets
    assert not any((hostile_store.root / "staging").iterdir())


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(hostile_store, monkeypatch):
    """The browser enforces server.maxUploadSize; the server checks limits.MAX_UPLOAD_BYTES again."""
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 1024 * 1024)
    before = stored(hostile_store)

    shown = upload("big.json", b" " * (2 * 1024 * 1024))

    assert [unescaped(e) for e in shown.errors] == [(
        "big.json is larger than the 1 MB the dashboard accepts per file; import it with the command line "
        "(vsm import FILE --name NAME), which writes to the same store.")]
    assert stored(hostile_store) == before


def test_a_summary_with_script_and_image_imports_as_plain_text(hostile_store):
    issue = jira_issue("MD-1", "2025-01-02T09:00:00.000+0000", "Done",
                       [("2025-01-03T09:00:00.000+0000", "To Do", "Done")])
    issue["fields"]["summary"] = HOSTILE_SUMMARY
    before = stored(hostile_store)
    name = "<img src=x onerror=alert(1)> ![x](e.png) **bold**.json"  # the dataset is named after the file

    shown = upload(name, json.dumps({"issues": [issue]}).encode(), "application/json")

    assert not shown.errors
    assert unescaped(shown.successes[0]).startswith(
        "Imported 1 issues and 1 status changes as “<img src=x onerror=alert(1)> ![x](e.png) **bold**”")
    assert not any(RENDERED.search(text) for text in shown.markdown), [t for t in shown.markdown if RENDERED.search(t)]
    [new] = [d for d in hostile_store.datasets() if d.name.startswith("<img")]
    kept = pq.read_table(new.version_path(new.latest) / "issues.parquet").to_pylist()
    assert [row["summary"] for row in kept] == [HOSTILE_SUMMARY]
    after = stored(hostile_store)
    assert {key: after[key] for key in before} == before, "an import changed an earlier dataset"


def test_a_refusal_quoting_the_files_text_shows_it_as_plain_text(hostile_store):
    header = "![x](http://e/x.png),<script>alert(1)</script>,**bold**"

    shown = upload("table.csv", f"{header}\n1,2,3\n".encode(), "text/csv")

    [error] = shown.errors
    assert "table.csv is a table (header row: " in unescaped(error)
    assert not RENDERED.search(error), error


def test_a_gzipped_export_still_imports(hostile_store):
    """The bomb cap leaves ordinary gzip uploads alone."""
    issue = jira_issue("GZ-1", "2025-01-02T09:00:00.000+0000", "Done",
                       [("2025-01-03T09:00:00.000+0000", "To Do", "Done")])
    shown = upload("export.json.gz", gzip.compress(json.dumps({"issues": [issue]}).encode()), "application/gzip")
    assert not shown.errors
    assert unescaped(shown.successes[0]).startswith("Imported 1 issues and 1 status changes")


def test_json_nested_to_the_stated_depth_imports_in_the_dashboard_too(hostile_store):
    """The README promises limits.MAX_JSON_DEPTH levels; the dashboard decodes on a deeper stack
    than the command line, so the promise is checked here as well."""
    issue = jira_issue("DEEP-1", "2025-01-02T09:00:00.000+0000", "Done",
                       [("2025-01-03T09:00:00.000+0000", "To Do", "Done")])
    text = json.dumps({"issues": [issue]})
    deep = "[" * limits.MAX_JSON_DEPTH + "]" * limits.MAX_JSON_DEPTH
    body = text.replace('"fields": {', f'"fields": {{"customfield_10099": {deep}, ', 1).encode()

    shown = upload("deep.json", body, "application/json")

    assert not shown.errors, shown.errors
    assert unescaped(shown.successes[0]).startswith("Imported 1 issues and 1 status changes")
