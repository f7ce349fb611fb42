"""Property-based tests: whatever bytes an importer is given, the outcome is a sound dataset
or one clear sentence, never a crash.

The product's rule: every malformed, truncated, empty, binary, wrong-format or hostile file
gets one sentence a manager understands, and nothing is stored. Here Hypothesis throws
random bytes at every importer and mutates real and generated exports structurally (cuts
them, drops and renames keys, changes value types, corrupts dates and encodings, shuffles
histories, edits CSV cells, rows, headers and delimiters). The only outcomes allowed:

* an ``ImportResult`` whose dataset passes ``assert_sound_dataset`` (at least one issue,
  every status time finite and not negative, the counts in ``meta.json`` equal to the
  Parquet row counts, findings that are sentences), or
* an ``ImportProblem`` / ``StoreError`` whose sentence is one line, names the file and is
  no exception dump (``assert_clear_sentence``).

Runs are derandomised, so a failure reproduces, and bounded: every test has an explicit
``max_examples`` and a 30 s deadline per example (an example that hangs fails instead of
stalling CI), and the module a 300 s limit per test. The whole module takes 45 s of CPU
time: about a minute on the 2-core machine, 2.5 minutes when other work shares it. A long search with fresh random seeds (how the bugs fixed alongside
these tests were found) is::

    VSM_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/test_fuzz_importers.py --timeout=0

Two more properties hold the limits' own machinery: Parquet read in bounded slices gives
every row once, and CSV lines past ``MAX_LINE_CHARS`` are refused exactly when one is there.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import os
import random
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from vsm_core import limits, queries
from vsm_core.ingest import FORMATS, ImportResult, SourceFile, import_files
from vsm_core.ingest import companions, csvfiles, event_log, item_dates, jira_csv, jira_json, tabular, time_in_status
from vsm_core.ingest.base import ReadOptions
from vsm_core.ingest.sink import CanonicalSink
from vsm_core.problems import ImportProblem
from vsm_core.store import Store, StoreError, open_store

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_DEEP = int(os.environ.get("VSM_FUZZ_EXAMPLES", "0"))
# Each test's wall-clock limit (pytest-timeout); a long search sets its own with --timeout.
pytestmark = pytest.mark.timeout(0 if _DEEP else 300)


def _settings(examples: int) -> settings:
    """Derandomised and quick by default; ``VSM_FUZZ_EXAMPLES`` turns on a long random search."""
    return settings(
        max_examples=_DEEP or examples,
        deadline=timedelta(seconds=30),  # far above the slowest example (about 2 s on a loaded machine)
        derandomize=not _DEEP,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


# -- the allowed outcomes ------------------------------------------------------------------

# A Python exception's name as the explanation ("KeyError: 'x'", "TypeError(...)"), a
# traceback, or the command line's last-resort wording: none of these is for a manager.
_DUMP = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(?:Error|Exception)\b\s*[:(]|unexpected error")
_FINDING_LIMIT = 1_000  # characters (finalize cuts longer messages)
_WINDOW = ("1900-01-01", "2200-01-01")  # finalize.TIME_WINDOW, as dates


def assert_clear_sentence(sentence: str, display_name: str) -> None:
    """One non-empty line that names the file and is no exception dump."""
    assert sentence.strip(), "an empty problem sentence"
    assert "\n" not in sentence and "\r" not in sentence, f"more than one line: {sentence[:300]!r}"
    assert not _DUMP.search(sentence), f"an exception dump, not a sentence: {sentence[:300]!r}"
    assert display_name in sentence, f"the sentence does not name {display_name}: {sentence[:300]!r}"


def assert_sound_dataset(store: Store, result: ImportResult) -> None:
    """The invariants every imported dataset keeps, whatever file it came from."""
    info = store.get(result.dataset)
    folder = info.version_path(result.version)
    meta = info.meta(result.version)
    assert result.issues >= 1
    for table in ("issues", "status_changes", "field_changes"):
        assert meta["counts"][table] == pq.ParquetFile(folder / f"{table}.parquet").metadata.num_rows, table
    assert meta["counts"]["issues"] == result.issues
    assert meta["counts"]["status_changes"] == result.status_changes
    issues = pq.read_table(folder / "issues.parquet", columns=["key", "created"]).to_pylist()
    assert all(row["key"] for row in issues), "an issue without a key"
    for row in issues:
        created = row["created"]
        assert created is None or _WINDOW[0] <= created.strftime("%Y-%m-%d") < _WINDOW[1], row
    times = queries.table(info, result.version, "status_times")
    assert all(math.isfinite(h) and h >= 0 for h in times["hours"].tolist()), times[times["hours"] < 0]
    for message in pq.read_table(folder / "findings.parquet", columns=["message"]).column(0).to_pylist():
        assert isinstance(message, str) and message.strip(), "an empty finding"
        assert len(message) <= _FINDING_LIMIT and not _DUMP.search(message), message[:300]
    for warning in result.warnings:
        assert warning.strip() and not _DUMP.search(warning), warning[:300]


def stored_bytes(store: Store) -> dict[str, bytes]:
    """Every file of every dataset in the store, with its bytes."""
    base = store.root / "datasets"
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def import_outcome(store: Store, path: Path, display_name: str, fmt: str = "auto") -> ImportResult | None:
    """Import one file and check the outcome is allowed; the dataset is removed afterwards.

    The store holds one earlier dataset (see ``fuzz_store``): after a refusal the store is
    byte for byte what it was, and ``staging/`` is empty either way.
    """
    before = stored_bytes(store)
    try:
        result = import_files(store, [SourceFile(path, display_name)], fmt=fmt)
    except (ImportProblem, StoreError) as problem:
        assert_clear_sentence(str(problem), display_name)
        assert stored_bytes(store) == before, "a refused import changed the store"
        assert not any((store.root / "staging").iterdir()), "a refused import left files in staging/"
        return None
    try:
        assert not any((store.root / "staging").iterdir()), "an import left files in staging/"
        assert_sound_dataset(store, result)
    finally:
        store.delete(result.dataset)
    assert stored_bytes(store) == before, "an import changed the datasets stored before it"
    return result


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory) -> Store:
    """A store that already holds one good dataset, which no example may change."""
    folder = tmp_path_factory.mktemp("fuzz")
    store = open_store(folder / "store")
    export = folder / "earlier-export.json"
    export.write_text(json.dumps(JSON_SEEDS["generated-search"]))
    import_files(store, [SourceFile(export, "earlier-export.json")])
    return store


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """Where each example writes its file (overwritten by the next example)."""
    return tmp_path_factory.mktemp("inputs")


# -- seeds: real and generated exports -------------------------------------------------------


def _generated_search() -> dict:
    from vsm_core.demo import generate_issues

    issues = list(generate_issues(30))
    return {"startAt": 0, "maxResults": len(issues), "total": len(issues), "issues": issues}


def _generated_csv() -> str:
    from vsm_core.demo import CSV_HEADER, csv_row, generate_issues

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_row(issue) for issue in generate_issues(30))
    return out.getvalue()


def _json_seeds() -> dict[str, Any]:
    seeds = {"generated-search": _generated_search()}
    for name in ("jirametrics_sample_search_6issues.json", "puppet_public_perceval_5issues.json"):
        if (REAL / name).exists():
            seeds[name] = json.loads((REAL / name).read_text(encoding="utf-8"))
    return seeds


def _csv_seeds() -> dict[str, str]:
    seeds = {"generated-jira.csv": _generated_csv()}
    for folder in ("jira_csv", "tabular"):
        for path in sorted((FIXTURES / folder).iterdir()):
            seeds[path.name] = path.read_bytes().decode("utf-8-sig")
    real = REAL / "rueedlinger_agile_project_4123tasks.csv"
    if real.exists():  # 4,123 rows; the first 150 keep each example fast
        seeds[real.name] = "".join(real.read_text(encoding="utf-8").splitlines(keepends=True)[:150])
    return seeds


JSON_SEEDS = _json_seeds()
# One drawn number seeds each example's choices: hundreds of small draws from Hypothesis's
# own Random would overrun its buffer on the bigger exports; the failing seed is reported.
class SeededRandom(random.Random):
    """A Random that shows its seed in a failing example, so the failure can be replayed."""

    def __init__(self, seed: int):
        super().__init__(seed)
        self.first_seed = seed

    def __repr__(self) -> str:
        return f"SeededRandom({self.first_seed})"


RANDOMS = st.integers(0, 2**32 - 1).map(SeededRandom)
CSV_SEEDS = _csv_seeds()

# -- byte-level changes -----------------------------------------------------------------------

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252")


def encode(text: str, encoding: str) -> bytes:
    """Text as a file in ``encoding``; characters cp1252 lacks become '?' (as Excel does)."""
    return text.encode(encoding, errors="replace")


@st.composite
def byte_changes(draw, data: bytes) -> bytes:
    """Maybe cut the bytes at a random offset, flip a few bytes, gzip (whole or cut)."""
    if data and draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if data and draw(st.integers(0, 4)) == 0:
        mutable = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            mutable[draw(st.integers(0, len(mutable) - 1))] = draw(st.integers(0, 255))
        data = bytes(mutable)
    if draw(st.integers(0, 5)) == 0:
        data = gzip.compress(data, compresslevel=1)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
    return data


# -- (a) random bytes into every importer ----------------------------------------------------

# Beginnings that get random bytes past the sniffers into each importer's read().
PREFIXES = (
    b"",
    b'{"issues": [',
    b'[{"key": "A-1", "fields": {"created": ',
    b'{"key": "A-1", "fields": ',
    b"[",
    b"Issue key,Status,Created,Summary\n",
    b"Issue key;Status;Created\nA-1;Done;",
    b"ID,Link,Name,To Do,In Progress,Done\nA-1,,x,2024-01-01,",
    b"key,status,time\nA-1,Open,",
    b"Key,Created,To Do (h),In Progress (h)\nA-1,2024-01-01,",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\x1f\x8b",
    b"PAR1",
)
TEXTISH = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(list(',;\t"\n\r:{}[]-/.0123456789')), max_size=400)
PAYLOADS = st.one_of(
    st.binary(max_size=2048),
    st.tuples(st.sampled_from(PREFIXES), st.binary(max_size=1024)).map(b"".join),
    st.tuples(st.sampled_from(PREFIXES), TEXTISH.map(lambda t: t.encode("utf-8"))).map(b"".join),
)


@_settings(150)
@given(payload=PAYLOADS, fmt=st.sampled_from(("auto",) + FORMATS))
def test_random_bytes_into_every_format_give_a_dataset_or_one_clear_sentence(fuzz_store, work, payload, fmt):
    path = work / "random-input.dat"
    path.write_bytes(payload)
    import_outcome(fuzz_store, path, "random-input.dat", fmt)


# -- (b) structural mutations of real and generated JSON exports ------------------------------

STRUCTURAL_KEYS = frozenset({
    "issues", "key", "id", "fields", "created", "updated", "resolutiondate", "status", "statusCategory",
    "changelog", "histories", "items", "field", "fieldId", "fromString", "toString", "total", "data",
    "names", "issuetype", "project", "name", "labels", "components", "parent", "author",
})
ODD_VALUES = (
    None, 0, -1, 2**63, 1.5e308, "", "x", "2025-01-01", [], {}, [1, 2], {"a": None}, True, False,
    "A" * 10_000, "Done'; DROP TABLE issues; --", "<script>alert(1)</script>", "=cmd|' /C calc'!A0",
)
ODD_DATES = (
    "", "not a date", "0001-01-01T00:00:00.000+0100", "9999-12-31T23:59:59.999-1400", "2025-13-45T99:99:99.000+0000",
    "2025-02-30T00:00:00.000+0000", "1969-12-31T23:59:59.999+0000", "1899-12-31T23:00:00.000+0000",
    "2025-01-01T00:00:00.000+2500", "2025-01-01", "2025-01-01T00:00:00", "20250101T000000Z", "2025-01-0",
    "1e10", "２０２５-01-01T00:00:00.000+0000",
)
_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _nodes(node: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    found = [(path, node)]
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found.extend(_nodes(child, path + (key,)))
    return found


def _parent_of(doc: Any, path: tuple) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


def _pick(rng: random.Random, nodes: list, accept: Callable[[tuple, Any], bool]) -> tuple | None:
    """A random node path; half the time among the keys importers care about."""
    chosen = [(p, n) for p, n in nodes if p and accept(p, n)]
    structural = [(p, n) for p, n in chosen if isinstance(p[-1], str) and p[-1] in STRUCTURAL_KEYS]
    pool = structural if structural and rng.random() < 0.5 else chosen
    return rng.choice(pool)[0] if pool else None


def mutate_json(doc: Any, rng: random.Random, kind: str) -> str:
    """Apply one structural change of ``kind`` to ``doc`` (in place); returns what was done."""
    nodes = _nodes(doc)
    path = None
    if kind in ("drop-key", "rename-key"):
        path = _pick(rng, nodes, lambda p, n: isinstance(p[-1], str))
        if path and kind == "drop-key":
            del _parent_of(doc, path)[path[-1]]
        elif path:
            parent = _parent_of(doc, path)
            parent[rng.choice(["KEY", "", path[-1].upper(), path[-1] + " ", "fields", "key"])] = parent.pop(path[-1])
    elif kind == "swap-type":
        path = _pick(rng, nodes, lambda p, n: True)
        if path:
            _parent_of(doc, path)[path[-1]] = rng.choice(ODD_VALUES)
    elif kind == "corrupt-date":
        path = _pick(rng, nodes, lambda p, n: isinstance(n, str) and _ISO_LIKE.match(n) is not None)
        if path:
            _parent_of(doc, path)[path[-1]] = rng.choice(ODD_DATES)
    elif kind == "shuffle":
        for _, node in nodes:
            if isinstance(node, list) and rng.random() < 0.5:
                rng.shuffle(node)
    elif kind == "duplicate":
        path = _pick(rng, nodes, lambda p, n: isinstance(n, list) and bool(n))
        if path:
            target = _parent_of(doc, path)[path[-1]]
            copy = json.loads(json.dumps(rng.choice(target)))
            target.insert(rng.randrange(len(target) + 1), copy)
            if isinstance(copy, dict) and isinstance(copy.get("fields"), dict):
                copy["fields"]["summary"] = "a different copy"  # duplicates with different data
    return f"{kind} at {path}"


JSON_MUTATIONS = ("drop-key", "rename-key", "swap-type", "corrupt-date", "shuffle", "duplicate")


@st.composite
def mutated_json_files(draw) -> bytes:
    """A real or generated JSON export after 1-4 structural changes, re-encoded, maybe cut or gzipped."""
    doc = json.loads(json.dumps(JSON_SEEDS[draw(st.sampled_from(sorted(JSON_SEEDS)))]))
    rng = draw(RANDOMS)
    for kind in draw(st.lists(st.sampled_from(JSON_MUTATIONS), min_size=1, max_size=4)):
        note(mutate_json(doc, rng, kind))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    return draw(byte_changes(encode(text, draw(st.sampled_from(ENCODINGS)))))


@pytest.mark.slow
@_settings(150)
@given(raw=mutated_json_files())
def test_mutated_json_exports_give_a_dataset_or_one_clear_sentence(fuzz_store, work, raw):
    path = work / "mutated-export.json"
    path.write_bytes(raw)
    import_outcome(fuzz_store, path, "mutated-export.json")


def _companion_seeds() -> dict[str, Any]:
    from vsm_core.demo import board_configuration_json, statuses_json

    seeds = {"generated-statuses": statuses_json(), "generated-board": board_configuration_json()}
    for name in ("jirametrics_sample_statuses.json", "jirametrics_sample_board_configuration.json"):
        if (REAL / name).exists():
            seeds[name] = json.loads((REAL / name).read_text(encoding="utf-8"))
    return seeds


COMPANION_SEEDS = _companion_seeds()


@_settings(60)
@given(
    seed=st.sampled_from(sorted(COMPANION_SEEDS)),
    kinds=st.lists(st.sampled_from(JSON_MUTATIONS), min_size=1, max_size=4),
    rng=RANDOMS,
    data=st.data(),
)
def test_mutated_companions_beside_a_good_export_give_a_dataset_or_one_clear_sentence(fuzz_store, work, seed, kinds, rng, data):
    """The status list and board importers: a broken companion never breaks the import silently."""
    doc = json.loads(json.dumps(COMPANION_SEEDS[seed]))
    for kind in kinds:
        note(mutate_json(doc, rng, kind))
    companion = work / "companion.json"
    companion.write_bytes(data.draw(byte_changes(json.dumps(doc).encode("utf-8"))))
    export = work / "export.json"
    export.write_text(json.dumps(JSON_SEEDS["generated-search"]))
    try:
        result = import_files(fuzz_store, [SourceFile(export, "export.json"), SourceFile(companion, "companion.json")])
    except (ImportProblem, StoreError) as problem:
        assert_clear_sentence(str(problem), "companion.json")
        assert not any((fuzz_store.root / "staging").iterdir())
        return
    try:
        assert_sound_dataset(fuzz_store, result)
        assert result.issues >= 30  # (a mutation may turn the companion into issues)
    finally:
        fuzz_store.delete(result.dataset)


def _status_times(store: Store, path: Path, name: str) -> list[tuple]:
    result = import_files(store, [SourceFile(path, name)])
    info = store.get(result.dataset)
    frame = queries.table(info, result.version, "status_times")
    store.delete(result.dataset)
    return sorted(zip(frame["key"], frame["status"], frame["visits"], frame["hours"].round(6)))


@_settings(15)
@given(seed=st.sampled_from(sorted(JSON_SEEDS)), rng=RANDOMS)
def test_shuffled_issues_and_histories_give_the_same_status_times(fuzz_store, work, seed, rng):
    """File order never matters (guide, section 3.2): only times and history ids do."""
    original, shuffled = work / "in-order.json", work / "shuffled.json"
    doc = json.loads(json.dumps(JSON_SEEDS[seed]))
    original.write_text(json.dumps(doc))
    for _, node in _nodes(doc):
        if isinstance(node, dict) and isinstance(node.get("histories"), list):
            rng.shuffle(node["histories"])
        if isinstance(node, dict) and isinstance(node.get("issues"), list):
            rng.shuffle(node["issues"])
    if isinstance(doc, list):
        rng.shuffle(doc)
    shuffled.write_text(json.dumps(doc))
    assert _status_times(fuzz_store, shuffled, "shuffled.json") == _status_times(fuzz_store, original, "in-order.json")


# -- (b, c) structural mutations of CSV exports: cells, rows, headers, delimiters -------------

ODD_CELLS = (
    "", " ", "x", '"', '""', "a,b;c\td", "line\nbreak", "cr\rlf\r\n", "\x00", "=cmd|' /C calc'!A0", "@SUM(1+1)",
    "0001-01-01", "9999-12-31 23:59", "31/02/2025", "13/13/13", "99/Xyz/99 99:99 PM", "2025-01-01T00:00:00+25:00",
    "1e400", "-5", "NaN", "inf", "2d 3h", "99999999999999999999", "1w 99999999d", "99:99:99", "A" * 5_000,
    "Done'; DROP TABLE issues; --", "<script>alert(1)</script>", "# heading", "![x](http://example.com/x.png)",
    "\ufeff", "é", "日本語", "\U0001F600",
)
HEADER_NAMES = (
    "Issue key", "Status", "Created", "Updated", "Resolved", "Summary", "Issue id", "Parent", "Labels",
    "key", "status", "time", "from_status", "created", "ID", "Done", "In Progress (h)", "", "Clave de incidencia",
)
CSV_MUTATIONS = ("cell", "cell", "short-row", "long-row", "drop-row", "duplicate-row", "shuffle-rows",
                 "rename-header", "drop-column", "duplicate-column")


def mutate_rows(rows: list[list[str]], rng: random.Random, kind: str) -> str:
    """Apply one change of ``kind`` to a table of rows (header first), in place."""
    if not rows:
        return kind
    r = rng.randrange(len(rows))
    width = max(len(row) for row in rows) or 1
    c = rng.randrange(width)
    if kind == "cell" and c < len(rows[r]):
        rows[r][c] = rng.choice(ODD_CELLS)
    elif kind == "short-row":
        del rows[r][rng.randrange(len(rows[r]) + 1):]
    elif kind == "long-row":
        rows[r].extend(rng.choice(ODD_CELLS) for _ in range(rng.randint(1, 5)))
    elif kind == "drop-row":
        del rows[r]
    elif kind == "duplicate-row":
        rows.insert(rng.randrange(1, len(rows) + 1), list(rows[r]))
    elif kind == "shuffle-rows":
        body = rows[1:]
        rng.shuffle(body)
        rows[1:] = body
    elif kind == "rename-header" and c < len(rows[0]):
        rows[0][c] = rng.choice(HEADER_NAMES)
    elif kind == "drop-column":
        for row in rows:
            del row[c:c + 1]
    elif kind == "duplicate-column":
        for row in rows:
            if c < len(row):
                row.insert(c, row[c])
    return f"{kind} row {r} column {c}"


def write_rows(rows: list[list[str]], delimiter: str, terminator: str, quoting: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=terminator, quoting=quoting, escapechar="\\")
    writer.writerows(rows)
    return out.getvalue()


def _read_seed(text: str) -> list[list[str]]:
    delimiter = max((",", ";", "\t"), key=text.split("\n", 1)[0].count)
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


@st.composite
def mutated_csv_files(draw) -> bytes:
    """A real, fixture or generated CSV after 1-5 cell, row or header changes, written with a
    random delimiter, line ending, quoting and encoding, maybe cut or gzipped."""
    rows = _read_seed(CSV_SEEDS[draw(st.sampled_from(sorted(CSV_SEEDS)))])
    rng = draw(RANDOMS)
    for kind in draw(st.lists(st.sampled_from(CSV_MUTATIONS), min_size=1, max_size=5)):
        note(mutate_rows(rows, rng, kind))
    text = write_rows(
        rows,
        draw(st.sampled_from([",", ";", "\t", "|"])),
        draw(st.sampled_from(["\r\n", "\n", "\r"])),
        draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE])),
    )
    return draw(byte_changes(encode(text, draw(st.sampled_from(ENCODINGS)))))


@pytest.mark.slow
@_settings(150)
@given(raw=mutated_csv_files(), fmt=st.sampled_from(("auto", "auto", "auto") + FORMATS))
def test_mutated_csv_exports_give_a_dataset_or_one_clear_sentence(fuzz_store, work, raw, fmt):
    path = work / "mutated-export.csv"
    path.write_bytes(raw)
    import_outcome(fuzz_store, path, "mutated-export.csv", fmt)


@st.composite
def random_tables(draw) -> list[list[str]]:
    """A table with importer-shaped header names and random cells (ragged rows allowed)."""
    header = draw(st.lists(st.sampled_from(HEADER_NAMES) | st.text(max_size=12), min_size=1, max_size=8))
    cells = st.sampled_from(ODD_CELLS[:26]) | st.sampled_from(["A-1", "A-2", "B-7", "Open", "Done", "In Progress",
                                                               "2024-03-01", "2024-03-05 10:00", "01/Mar/24 9:15 AM",
                                                               "3", "2.5", "4h"])
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=len(header) + 2), max_size=12))
    return [header] + rows


@_settings(120)
@given(rows=random_tables(), delimiter=st.sampled_from([",", ";", "\t"]), fmt=st.sampled_from(("auto",) + FORMATS))
def test_random_tables_give_a_dataset_or_one_clear_sentence(fuzz_store, work, rows, delimiter, fmt):
    path = work / "random-table.csv"
    path.write_text(write_rows(rows, delimiter, "\n", csv.QUOTE_MINIMAL), encoding="utf-8")
    import_outcome(fuzz_store, path, "random-table.csv", fmt)


READERS: dict[str, Callable] = {
    "jira-json": jira_json.read,
    "jira-csv": jira_csv.read,
    "item-dates": item_dates.read,
    "event-log": event_log.read,
    "time-in-status": time_in_status.read,
    "companions": companions.read,
}


PARQUET_KINDS = ("text", "dictionary", "int", "float", "timestamp", "date", "bool", "null", "list")
# The columns each tabular format looks for, with the type a real file would give them.
PARQUET_SHAPES = (
    (("key", "text"), ("status", "text"), ("time", "timestamp"), ("created", "timestamp"), ("from_status", "text")),
    (("ID", "text"), ("To Do", "timestamp"), ("In Progress", "date"), ("Done", "timestamp"), ("Type", "text")),
    (("Key", "text"), ("Created", "timestamp"), ("To Do (h)", "float"), ("In Progress (h)", "int"), ("Status", "text")),
)


@st.composite
def random_parquet_columns(draw, rows: int, kind: str):
    """One Parquet column of ``kind``: text, numbers (NaN, infinities, int64 extremes), times of
    any unit, zone and range, dates, booleans, nulls or lists."""
    import pyarrow as pa

    def cells(values):
        return draw(st.lists(st.none() | values, min_size=rows, max_size=rows))

    if kind in ("text", "dictionary"):
        text = pa.array(cells(st.sampled_from(ODD_CELLS + ("A-1", "A-2", "Done", "In Progress", "2024-03-01", "4h"))), pa.string())
        return text.dictionary_encode() if kind == "dictionary" else text
    if kind == "int":
        return pa.array(cells(st.integers(-(2**63), 2**63 - 1) | st.integers(0, 100)), pa.int64())
    if kind == "float":
        return pa.array(cells(st.floats()), pa.float64())
    if kind == "timestamp":
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
        plausible = st.integers(1_500_000_000, 1_800_000_000).map(lambda second: second * per_second)
        extreme = (2**63 - 1) // (1000 if unit == "s" else 1)  # Parquet stores seconds as milliseconds
        return pa.array(cells(plausible | st.integers(-extreme, extreme)),
                        pa.timestamp(unit, tz=draw(st.sampled_from([None, "UTC", "Europe/Madrid", "+05:30"]))))
    if kind == "date":
        return pa.array(cells(st.dates()), pa.date32())
    if kind == "bool":
        return pa.array(cells(st.booleans()), pa.bool_())
    if kind == "null":
        return pa.nulls(rows)
    return pa.array(cells(st.lists(st.text(max_size=5), max_size=3)), pa.list_(pa.string()))


@st.composite
def random_parquet_tables(draw):
    """A table shaped like one of the tabular formats, each column of its natural type or any other."""
    import pyarrow as pa

    shape = draw(st.sampled_from(PARQUET_SHAPES))
    columns = draw(st.lists(st.sampled_from(shape), min_size=1, max_size=len(shape), unique=True))
    rows = draw(st.integers(0, 8))
    return pa.table({
        name: draw(random_parquet_columns(rows, natural if draw(st.booleans()) else draw(st.sampled_from(PARQUET_KINDS))))
        for name, natural in columns
    })


@_settings(120)
@given(table=random_parquet_tables(), fmt=st.sampled_from(("auto", "item-dates", "event-log", "time-in-status")))
def test_random_parquet_tables_give_a_dataset_or_one_clear_sentence(fuzz_store, work, table, fmt):
    """The tabular importers also read Parquet, whose cells arrive typed: any type, any range."""
    path = work / "random-table.parquet"
    pq.write_table(table, path)
    import_outcome(fuzz_store, path, "random-table.parquet", fmt)


# -- the limits' machinery ---------------------------------------------------------------------


def _decoded(table):
    """A table with its dictionary columns decoded, as the importers see text."""
    import pyarrow as pa

    return pa.table({name: column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column
                     for name, column in zip(table.column_names, table.columns)})


@_settings(80)
@given(table=random_parquet_tables(), budget=st.integers(1, 40), batch_rows=st.integers(1, 5))
def test_parquet_read_in_bounded_slices_gives_every_row_once(work, table, budget, batch_rows):
    """However small the text budget per slice, the slices are the file's rows, in order."""
    import pyarrow as pa

    path = work / "sliced.parquet"
    pq.write_table(table, path)
    with mock.patch.object(limits, "TEXT_BATCH_BYTES", budget):
        batches = [batch for batch, _ in tabular.parquet_batches(path, "sliced.parquet", batch_rows=batch_rows)]
    assert all(not pa.types.is_dictionary(column.type) for batch in batches for column in batch.columns)
    read = pa.Table.from_batches(batches, schema=batches[0].schema) if batches else None
    expected = _decoded(pq.read_table(path))
    assert (read.num_rows if read is not None else 0) == expected.num_rows
    if read is not None:
        assert read.equals(expected.cast(read.schema)), (read, expected)


@_settings(150)
@given(rows=st.lists(st.lists(st.sampled_from(ODD_CELLS[:26]), min_size=1, max_size=6), min_size=1, max_size=10),
       limit=st.integers(1, 300))
def test_csv_lines_past_the_limit_are_refused_exactly_when_one_is_there(work, rows, limit):
    """A row (its lines together) longer than MAX_LINE_CHARS is refused, naming the line it
    starts on; otherwise every row is read as the csv module reads it."""
    header = ["Issue key", "Status", "Created"]
    records = [write_rows([row], ",", "\n", csv.QUOTE_MINIMAL) for row in [header] + rows]
    path = work / "lines.csv"
    path.write_text("".join(records), encoding="utf-8")
    expected = [row for row in csv.reader(io.StringIO("".join(records[1:]))) if row and not (len(row) == 1 and not row[0].strip())]
    too_long = [n for n, record in enumerate(records) if len(record) > limit]
    with mock.patch.object(limits, "MAX_LINE_CHARS", limit):
        try:
            _, read = csvfiles.read_rows(path, "lines.csv", csvfiles.CsvDialect("utf-8", ","))
            read = list(read)
        except ImportProblem as problem:
            assert too_long, f"refused without a long row: {problem}"
            # Lines as the reader counts them: a lone CR ends one too (universal newlines).
            first = 1 + len(io.StringIO("".join(records[: too_long[0]]), newline="").readlines())
            assert_clear_sentence(str(problem), "lines.csv")
            assert f"longer than {limits.size_text(limit)} (line {first:,}" in str(problem) \
                or f"(lines {first:,} to" in str(problem), (str(problem), first)
            return
    assert not too_long, "a row past the limit was read"
    assert read == expected


# -- the importer contract, without the entry point's guards ---------------------------------


@_settings(150)
@given(payload=st.one_of(PAYLOADS, mutated_csv_files(), mutated_json_files()), reader=st.sampled_from(sorted(READERS)))
def test_every_read_raises_only_import_problems(work, payload, reader):
    """The importer contract: ``read`` ends normally or raises ImportProblem, whatever the bytes."""
    path = work / "direct-input.dat"
    path.write_bytes(payload)
    sink_dir = work / "sink"
    shutil.rmtree(sink_dir, ignore_errors=True)
    sink = CanonicalSink(sink_dir)
    sink.current_file = "direct-input.dat"
    try:
        READERS[reader](path, sink, ReadOptions(display_name="direct-input.dat"))
    except ImportProblem as problem:
        # read() may quote a line break from the file; import_files makes every sentence one line.
        assert_clear_sentence(str(problem).replace("\n", " ").replace("\r", " "), "direct-input.dat")
        return
    sink.close()


def test_the_seeds_themselves_import(fuzz_store, work):
    """The unmutated seeds are good exports: a mutation test that never imports proves little."""
    for name, doc in JSON_SEEDS.items():
        path = work / "seed.json"
        path.write_text(json.dumps(doc))
        assert import_outcome(fuzz_store, path, "seed.json") is not None, name
    for name, text in CSV_SEEDS.items():
        if name in ("header_only.csv", "missing_status.csv"):
            continue  # the two fixtures that are bad on purpose
        path = work / "seed.csv"
        path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
        assert import_outcome(fuzz_store, path, "seed.csv") is not None, name
