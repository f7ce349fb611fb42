"""Bad input through the command line: a corpus of malformed and hostile files.

The rule: every malformed, truncated, empty, binary, wrong-format or hostile file gets one
sentence a manager understands (which file, what is wrong, where, what to do) and exit
code 2; nothing is stored and nothing already stored changes. A file that is odd but
readable (injection-looking text, dates before 1970, duplicates) imports, and its
dataset holds exactly what the file says.

Every case runs ``python -m vsm_core import FILE --store STORE --json`` against a store
that already holds one good dataset, with a 120 s time limit and a 3 GiB address-space
limit, and checks peak memory (under 2 GB), the exit code, stderr, the earlier dataset's
bytes and an empty ``staging/``. Small files live in ``tests/fixtures/bad/`` (see its
README); large ones are written into ``tmp_path`` by the case itself.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pyarrow.parquet as pq
import pytest

from vsm_core import queries
from vsm_core.store import open_store

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real"
BAD = REPO / "tests" / "fixtures" / "bad"

TIME_LIMIT_S = 120
ADDRESS_SPACE = 3 * 1024**3
PEAK_MEMORY_KB = 2 * 1024**2  # 2 GB, as ru_maxrss counts (kilobytes on Linux)
_DUMP = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(?:Error|Exception)\b\s*[:(]|unexpected error")


# -- running the command line as a user would -----------------------------------------------------


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_kb: int


def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_import(path: Path, store_dir: Path, tmp_path: Path, env: dict[str, str] | None = None,
               seconds: float = TIME_LIMIT_S) -> Run:
    """``vsm import PATH --store STORE --json`` with a time limit; reports the child's peak memory."""
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    cmd = [sys.executable, "-m", "vsm_core", "import", str(path), "--store", str(store_dir), "--json"]
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        child = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=REPO, env={**os.environ, **(env or {})},
                                 preexec_fn=_limit_memory)
        timer = threading.Timer(seconds, child.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)  # wait4: the rusage of this child alone
        finally:
            timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode == -9:
        pytest.fail(f"the import of {path.name} ran longer than {seconds} s")
    return Run(child.returncode, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"), usage.ru_maxrss)


def snapshot(store_dir: Path) -> dict[str, bytes]:
    """Every file of every stored dataset, with its bytes."""
    return {str(p.relative_to(store_dir)): p.read_bytes() for p in sorted((store_dir / "datasets").rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def template_store(tmp_path_factory) -> Path:
    """A store holding one good dataset (a real export), copied for each case."""
    base = tmp_path_factory.mktemp("template")
    export = REAL / "jirametrics_sample_search_6issues.json"
    if not export.exists():
        pytest.skip("the shared real exports are not beside this checkout")
    run = run_import(export, base / "store", base)
    assert run.returncode == 0, run.stderr
    return base / "store"


# -- reading an imported dataset ------------------------------------------------------------------


@dataclass
class Dataset:
    store_dir: Path
    summary: dict  # the command's --json output

    @property
    def folder(self) -> Path:
        return self.store_dir / "datasets" / self.summary["dataset"] / "versions" / str(self.summary["version"])

    def rows(self, table: str) -> list[dict]:
        return pq.read_table(self.folder / f"{table}.parquet").to_pylist()

    def issue(self, key: str) -> dict:
        [row] = [r for r in self.rows("issues") if r["key"] == key]
        return row

    def keys(self) -> list[str]:
        return sorted(r["key"] for r in self.rows("issues"))

    def finding_codes(self, key: str | None = None) -> set[str]:
        return {f["code"] for f in self.rows("findings") if key is None or f["key"] == key}

    def hours(self, key: str) -> dict[str, float]:
        """Hours per status of one issue, as ``vsm status-times`` reports them (the timeline rules)."""
        info = open_store(self.store_dir).get(self.summary["dataset"])
        frame = queries.table(info, info.latest, "status_times")
        return {status: hours for k, status, hours in zip(frame["key"], frame["status"], frame["hours"]) if k == key}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# -- the expected outcome of each case --------------------------------------------------------------

Check = Callable[[Dataset], None]


@dataclass(frozen=True)
class Case:
    """A file (from the corpus, or made in ``tmp_path``) and what must come of importing it."""

    file: str
    make: Callable[[Path], Path] | None = None  # writes a large file into tmp_path and returns it
    accepted: Check | None = None  # checks the dataset; None: the import must be refused
    says: str = ""  # what the refusal sentence must say (beside the file name)
    env: dict[str, str] = field(default_factory=dict)
    seconds: float = TIME_LIMIT_S  # the import's time limit

    def path(self, tmp_path: Path) -> Path:
        return self.make(tmp_path) if self.make else BAD / self.file


def refused(file: str, says: str, *, make: Callable[[Path], Path] | None = None, env: dict | None = None,
            slow: bool = False):
    """A case whose import must end with exit code 2 and a sentence containing ``says``."""
    return pytest.param(Case(file, make=make, says=says, env=env or {}), id=file, marks=[pytest.mark.slow] if slow else [])


def accepted(file: str, check: Check, *, make: Callable[[Path], Path] | None = None, slow: bool = False,
             seconds: float = TIME_LIMIT_S):
    """A case whose import must succeed with a dataset that passes ``check``."""
    return pytest.param(Case(file, make=make, accepted=check, seconds=seconds), id=file,
                        marks=[pytest.mark.slow] if slow else [])


# -- checks of the accepted cases -------------------------------------------------------------------


def _nul_kept(d: Dataset) -> None:
    assert d.keys() == ["NUL-1", "NUL-2"]
    assert d.issue("NUL-1")["summary"] == "Fix\x00login"


def _good_issue_only(skipped: str, code: str) -> Check:
    def check(d: Dataset) -> None:
        assert d.keys() == ["OK-1"] and d.summary["status_changes"] == 2
        assert code in d.finding_codes(skipped)
    return check


def _garbage_dates(d: Dataset) -> None:
    issue = d.issue("GAR-1")
    assert issue["created"] == utc("2025-01-01T09:00:00") and issue["updated"] is None and issue["resolved"] is None
    [change] = d.rows("status_changes")
    assert (change["from_status"], change["to_status"], change["time"]) == ("In Progress", "Done", utc("2025-01-06T09:00:00"))
    assert "bad_change_time" in d.finding_codes("GAR-1")


def _year_0001(d: Dataset) -> None:
    assert d.issue("OLD-1")["created"] == utc("2025-01-02T09:00:00")  # its first change
    assert {"time_out_of_range", "started_at_first_change"} <= d.finding_codes("OLD-1")
    assert d.hours("OLD-1") == {"To Do": 0.0, "In Progress": 24.0, "Done": 0.0}


def _year_9999(d: Dataset) -> None:
    issue = d.issue("FAR-1")
    assert issue["created"] == utc("2025-01-02T09:00:00") and issue["resolved"] is None
    assert "time_out_of_range" in d.finding_codes("FAR-1")


def _before_1970(d: Dataset) -> None:
    assert d.issue("RET-1")["created"] == utc("1965-03-01T00:00:00")
    assert d.hours("RET-1") == {"Open": 24.0, "Done": 0.0}


def _changes_before_created(d: Dataset) -> None:
    assert "change_before_created" in d.finding_codes("EARLY-1")
    assert d.hours("EARLY-1") == {"To Do": 0.0, "In Progress": 48.0, "Done": 0.0}


def _duplicates(d: Dataset) -> None:
    assert d.keys() == ["DUP-1"]
    assert (d.issue("DUP-1")["summary"], d.issue("DUP-1")["status"]) == ("New copy", "Done")
    assert "duplicate_issue" in d.finding_codes("DUP-1")


def _utf16(d: Dataset) -> None:
    assert d.keys() == ["OK-1", "OK-2"] and d.summary["status_changes"] == 3


FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", '@HYPERLINK("http://evil.example","x")']
MARKUP = ["<script>alert('x')</script>", "![x](http://evil.example/x.png)", "# heading\n\n**bold** [link](javascript:alert(1))"]
SQL_STATUS = "Done'; DROP TABLE issues; --"


def _verbatim(prefix: str, texts: list[str]) -> Check:
    def check(d: Dataset) -> None:
        assert [d.issue(f"{prefix}-{n}")["summary"] for n in range(1, len(texts) + 1)] == texts
    return check


def _sql_status(d: Dataset) -> None:
    assert d.issue("SQL-1")["status"] == SQL_STATUS
    assert d.hours("SQL-1") == {"To Do": 48.0, SQL_STATUS: 0.0}


def _event_log(d: Dataset) -> None:
    assert d.keys() == ["EV-1", "EV-2"]
    assert [c["to_status"] for c in d.rows("status_changes") if c["key"] == "EV-1"] == ["Review", "Done"]
    assert "unreadable_date" in d.finding_codes("EV-1")


def _absurd_duration(d: Dataset) -> None:
    assert len(d.keys()) == 5
    assert "unreadable_duration" in d.finding_codes("TIS-1")
    # In Progress is left out; Done lasts until the as-of, TIS-5's last change (2025-01-03 17:00).
    assert d.hours("TIS-1") == {"To Do": 5.0, "Done": 27.0}


# -- large files, made in tmp_path ------------------------------------------------------------------


def _issue(key: str, summary: str = "x") -> dict:
    return {"id": str(len(key) * 100_000 + int(key.rpartition("-")[2])), "key": key, "fields": {"created": "2025-01-02T09:00:00.000+0000", "summary": summary,
                                               "status": {"name": "Open"}}}


def _write(name: str, content: Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(content())
        return path
    return make


def _long_key(d: Dataset) -> None:
    [key] = d.keys()
    assert key == "K" * 10_000 + "-1"


def _big_summary(d: Dataset) -> None:
    assert len(d.issue("BIG-1")["summary"]) == 5 * 1024 * 1024


def _blank_header_cell(d: Dataset) -> None:
    """A header cell of 60,000 blanks took 25 s to sniff (a quadratic pattern); a larger one, minutes."""
    assert d.keys() == ["TIS-1", "TIS-2"]
    assert d.hours("TIS-1")["To Do"] == 1.0


def _gzip_stream(name: str, start: bytes, filler: bytes, megabytes: int) -> Callable[[Path], Path]:
    """A small gzip file that expands to ``megabytes`` MB: ``start`` then ``filler`` repeated."""
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        packer = zlib.compressobj(1, zlib.DEFLATED, 31)
        block = (filler * (1024 * 1024 // len(filler) + 1))[: 1024 * 1024]
        with open(path, "wb") as out:
            out.write(packer.compress(start))
            for _ in range(megabytes):
                out.write(packer.compress(block))
            out.write(packer.flush())
        assert path.stat().st_size < megabytes * 1024 * 1024 // 100  # a bomb: over 100 times smaller
        return path
    return make


def _fifty_mb_cell() -> bytes:
    return b"Issue key,Summary,Status,Created\nLONG-1," + b"y" * (50 * 1024 * 1024)  # no newline at all


def _one_line_json() -> bytes:
    issues = [_issue(f"ONE-{n}", "z" * 100_000) for n in range(1, 501)]
    return json.dumps({"issues": issues}, separators=(",", ":")).encode()  # 50 MB, one line


def _one_line(d: Dataset) -> None:
    assert d.summary["issues"] == 500 and d.keys()[0] == "ONE-1"


SMALL_BOMB = {"VSM_MAX_EXPANDED_BYTES": str(64 * 1024**2)}

CASES = [
    refused("empty.json", "the file is empty"),
    refused("whitespace-only.csv", "the file is empty"),
    refused("picture.png", "is a binary file"),
    refused("random-bytes.bin", "is a binary file"),
    refused("export.zip", "is a ZIP archive"),
    accepted("nul-in-cell.csv", _nul_kept),
    refused("truncated-at-start.json", "holds no Jira issues"),
    refused("truncated-mid-issue.json", "ends in the middle of issue number 2"),
    refused("truncated-in-string.json", "ends in the middle of issue number 2"),
    refused("truncated-before-close.json", "cut off"),
    refused("truncated.json.gz", "ends before its compressed data is complete"),
    refused("damaged-crc.json.gz", "is a damaged gzip file"),
    refused("number.json", "not a format this product reads"),
    refused("string.json", "not a format this product reads"),
    refused("hello-world.json", "holds no Jira issues"),
    refused("numbers.json", "holds no Jira issues"),
    refused("jira-error-response.json", "is an error message from Jira"),
    refused("fields-null.json", "no issues found"),
    accepted("fields-list.json", _good_issue_only("BAD-2", "issue_without_fields")),
    accepted("fields-string.json", _good_issue_only("BAD-3", "issue_without_fields")),
    accepted("created-number.json", _good_issue_only("BAD-4", "issue_without_created")),
    accepted("created-object.json", _good_issue_only("BAD-5", "issue_without_created")),
    accepted("dates-garbage.json", _garbage_dates),
    accepted("year-0001.json", _year_0001),
    accepted("year-9999.csv", _year_9999),
    accepted("before-1970.json", _before_1970),
    accepted("changes-before-created.json", _changes_before_created),
    accepted("duplicate-issues.json", _duplicates),
    refused("invalid-utf8.json", "is not UTF-8 text"),
    accepted("utf16-no-bom.json", _utf16),
    refused("utf16-bom-odd-bytes.csv", "not valid utf-16"),
    accepted("formula-injection.csv", _verbatim("INJ", FORMULAS)),
    accepted("markdown-html.json", _verbatim("MD", MARKUP)),
    accepted("sql-status.json", _sql_status),
    refused("statuses-alone.json", "only companion files were given"),
    refused("header-only.csv", "has a header row but no issue rows"),
    refused("key-but-no-status.csv", 'has no "Status" column'),
    refused("header-with-newline.csv", '"Sta tus"'),
    refused("parquet-junk.parquet", "cannot be read as Parquet"),
    accepted("event-log-bad-times.csv", _event_log),
    accepted("time-in-status-absurd.csv", _absurd_duration),
    # large and hostile, made in tmp_path
    accepted("key-10000-chars.json", _long_key,
             make=_write("key-10000-chars.json", lambda: json.dumps({"issues": [_issue("K" * 10_000 + "-1")]}).encode())),
    accepted("summary-5mb.json", _big_summary,
             make=_write("summary-5mb.json", lambda: json.dumps({"issues": [_issue("BIG-1", "s" * 5 * 1024 * 1024)]}).encode())),
    refused("header-10000-columns.csv", "has 10,003 columns",
            make=_write("header-10000-columns.csv", lambda: (
                "Issue key,Status,Created," + ",".join(f"Custom field (F{n})" for n in range(10_000)) + "\n"
                + "A-1,Open,2025-01-02" + "," * 10_000 + "\n").encode())),
    accepted("header-cell-60kb-blanks.csv", _blank_header_cell, seconds=10, make=_write("header-cell-60kb-blanks.csv", lambda: (
        "Key,Created,To Do (h),A" + " " * 60_000 + "B,In Progress (h)\n"
        "TIS-1,2025-01-02 09:00,1,x,2\nTIS-2,2025-01-03 09:00,4,y,8\n").encode())),
    refused("cell-50mb-no-newline.csv", "has a cell larger than 32 MB", make=_write("cell-50mb-no-newline.csv", _fifty_mb_cell),
            slow=True),
    accepted("json-one-line-50mb.json", _one_line, make=_write("json-one-line-50mb.json", _one_line_json), slow=True),
    refused("brackets-100000.json", "holds no Jira issues", make=_write("brackets-100000.json", lambda: b"[" * 100_000)),
    refused("issue-nested-100000.json", "nests JSON more deeply",
            make=_write("issue-nested-100000.json", lambda: b'{"issues": [' + b'{"fields": ' * 100_000 + b"1")),
    refused("zeros-1gb.json.gz", "holds only zero bytes", make=_gzip_stream("zeros-1gb.json.gz", b"", b"\x00", 1024),
            slow=True),
    # Under the default 8 GiB cap a 1 GiB bomb is streamed to its end in bounded memory...
    refused("spaces-1gb.json.gz", "ends in the middle of issue number 1",
            make=_gzip_stream("spaces-1gb.json.gz", b'{"issues": [', b" ", 1024), slow=True),
    # ...and VSM_MAX_EXPANDED_BYTES lowers the cap, which every importer honours.
    refused("spaces-300mb.json.gz", "expands to more than 64 MB", env=SMALL_BOMB,
            make=_gzip_stream("spaces-300mb.json.gz", b'{"issues": [', b" ", 300), slow=True),
    refused("rows-300mb.csv.gz", "expands to more than 64 MB", env=SMALL_BOMB,
            make=_gzip_stream("rows-300mb.csv.gz", b"Issue key,Status,Created\n", b"A-1,Open,2025-01-02 09:00\n", 300),
            slow=True),
]


@pytest.mark.parametrize("case", CASES)
def test_bad_file_gets_a_dataset_or_one_clear_sentence_and_the_store_is_intact(case: Case, template_store, tmp_path):
    store_dir = tmp_path / "store"
    shutil.copytree(template_store, store_dir)
    before = snapshot(store_dir)
    path = case.path(tmp_path)

    run = run_import(path, store_dir, tmp_path, case.env, case.seconds)

    assert run.peak_kb < PEAK_MEMORY_KB, f"peak memory {run.peak_kb / 1024:.0f} MB"
    assert not any((store_dir / "staging").iterdir()), "staging/ is not empty"
    after = snapshot(store_dir)
    assert {name: after[name] for name in before} == before, "the earlier dataset changed"
    if case.accepted is None:
        assert run.returncode == 2, f"expected a refusal, got exit {run.returncode}: {run.stdout[:300]}"
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, run.stderr[:2000]
        [sentence] = lines
        assert path.name in sentence and case.says in sentence, sentence
        assert not _DUMP.search(sentence), sentence
        assert after == before, "a refused import stored something"
        return
    assert run.returncode == 0, run.stderr[:2000]
    dataset = Dataset(store_dir, json.loads(run.stdout))
    new_files = {Path(name).parent for name in after if name not in before}
    assert new_files == {dataset.folder.relative_to(store_dir), dataset.folder.parents[1].relative_to(store_dir)}
    case.accepted(dataset)


def test_the_corpus_is_large_enough_and_every_file_is_a_case():
    named = {case.values[0].file for case in CASES}
    assert len(CASES) >= 30
    assert {p.name for p in BAD.iterdir() if p.name != "README.md"} <= named
