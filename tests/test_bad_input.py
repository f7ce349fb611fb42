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
README); large ones are written into ``tmp_path`` by the case itself. ``CATEGORIES`` sorts
the cases into the kinds of bad input the product promises to handle, and a test keeps the
README's "Limits" table equal to ``vsm_core.limits``. A refusal must say specifically what
is wrong and where: each case names the words its sentence must contain.
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


def _latin1(d: Dataset) -> None:
    """Bytes that are not UTF-8 in a CSV: read as Windows-1252, as Excel writes them."""
    assert [d.issue(k)["summary"] for k in ("ENC-1", "ENC-2")] == ["Café menu", "Naïve fix"]


def _far_future(d: Dataset) -> None:
    assert d.summary["as_of"] == "2025-01-05T09:00:00Z"  # the change in 2150 does not move the clock
    assert "change_after_as_of" in d.finding_codes("FUT-1")
    assert d.issue("FUT-3")["created"] is None and "time_out_of_range" in d.finding_codes("FUT-3")  # year 3024
    assert d.hours("FUT-1") == {"To Do": 24.0, "In Progress": 48.0, "Done": 0.0}  # Done starts after the as-of


def _event_log_old_and_future(d: Dataset) -> None:
    assert d.issue("OLD-1")["created"] == utc("1965-03-01T00:00:00")
    assert d.hours("OLD-1")["To Do"] == 24.0
    assert "time_out_of_range" in d.finding_codes("OLD-2")  # its event in 2999
    assert [c["to_status"] for c in d.rows("status_changes") if c["key"] == "OLD-2"] == ["In Progress"]


def _event_log_before_created(d: Dataset) -> None:
    assert "change_before_created" in d.finding_codes("EB-1")
    assert d.hours("EB-1") == {"To Do": 0.0, "In Progress": 48.0, "Done": 24.0}


def _duplicate_rows(d: Dataset) -> None:
    assert d.keys() == ["DR-1", "DR-2"]
    assert (d.issue("DR-1")["summary"], d.issue("DR-1")["status"]) == ("New copy", "Done")
    assert "duplicate_issue" in d.finding_codes("DR-1")


SQL_NAMES = {"summary": "x'); DROP TABLE issues; --", "status": 'Done"; DELETE FROM status_changes; --',
             "assignee": "Robert'); DROP TABLE Students;--", "type": "1 OR 1=1"}


def _sql_names(d: Dataset) -> None:
    assert {name: d.issue("SQ-1")[name] for name in SQL_NAMES} == SQL_NAMES
    assert d.hours("SQ-1") == {SQL_NAMES["status"]: 0.0}


HTML = ["<img src=x onerror=alert(1)>", "[click](javascript:alert(1))",
        '<iframe src="http://evil.example"></iframe> :red[alarm] $x^2$']
FORMULA_STATUS = '=HYPERLINK("http://evil.example","Done")'


def _formula_in_json(d: Dataset) -> None:
    assert (d.issue("FJ-1")["summary"], d.issue("FJ-1")["status"]) == ("=1+1", FORMULA_STATUS)
    assert d.hours("FJ-1") == {"To Do": 24.0, FORMULA_STATUS: 0.0}


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


def _search(issues: list[dict]) -> bytes:
    return json.dumps({"issues": issues}).encode()


def _with_changes(key: str, statuses: list[str]) -> dict:
    """An issue whose history walks through ``statuses``, one day apart."""
    issue = _issue(key)
    issue["changelog"] = {"histories": [
        {"id": str(n), "created": f"2025-01-{n + 3:02d}T09:00:00.000+0000",
         "items": [{"field": "status", "fromString": before, "toString": after}]}
        for n, (before, after) in enumerate(zip(statuses, statuses[1:]))]}
    return issue


def _nested_900() -> bytes:
    issue = _issue("DEEP-1")
    text = json.dumps({"issues": [issue]})
    deep = "[" * 900 + "]" * 900  # a custom field nested MAX_JSON_DEPTH levels deep
    return text.replace('"summary": "x"', f'"summary": "x", "customfield_10099": {deep}', 1).encode()


def _nested(d: Dataset) -> None:
    assert d.keys() == ["DEEP-1"]


def _parquet(name: str, table: Callable[[], object], *, under_kb: int = 1024) -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        pq.write_table(table(), path, compression="zstd")
        assert path.stat().st_size < under_kb * 1024
        return path
    return make


def _dictionary_bomb():
    """20,000 events whose status is one 1 MiB text: 20 GiB of text once the dictionary is undone."""
    import pyarrow as pa

    rows = 20_000
    return pa.table({
        "key": pa.array([f"A-{n % 100}" for n in range(rows)]),
        "status": pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["s" * 1024 * 1024])),
        "time": pa.array(["2025-01-01T00:00:00Z"] * rows),
    })


def _parquet_long_cell():
    """An item-dates table whose second row has a 40 MiB summary."""
    import pyarrow as pa

    return pa.table({"ID": ["A-1", "A-2"], "Summary": ["short", "y" * 40 * 1024 * 1024],
                     "To Do": ["2025-01-02", "2025-01-02"], "Done": ["2025-01-03", "2025-01-04"]})


def _parquet_wide():
    import pyarrow as pa

    columns = {"key": ["A-1"], "status": ["Open"], "time": ["2025-01-01T00:00:00Z"]}
    columns.update({f"extra_{n}": [""] for n in range(10_000)})
    return pa.table(columns)


def _event_rows(rows: int) -> bytes:
    return ("key,status,time\n" + "".join(f"E-{n // 4},S{n % 4},2025-01-{n % 28 + 1:02d}T09:00:00Z\n"
                                          for n in range(rows))).encode()


SMALL_BOMB = {"VSM_MAX_EXPANDED_BYTES": str(64 * 1024**2)}

CASES = [
    # empty, binary, wrong format
    refused("empty.json", "the file is empty"),
    refused("whitespace-only.csv", "the file is empty"),
    refused("bom-only.csv", "the file is empty"),
    refused("picture.png", "is a PNG image"),
    refused("random-bytes.bin", "is a binary file"),
    refused("export.zip", "is a ZIP archive"),
    refused("old-excel.xls", "is an old Excel or Office file (.xls)"),
    refused("export.json.bz2", "is compressed with bzip2"),
    refused("double-gzip.json.gz", "is compressed twice"),
    refused("login-page.json", "is a web page (HTML)"),
    # NUL bytes
    accepted("nul-in-cell.csv", _nul_kept),
    refused("nul-in-json.json", "is not valid JSON at line 11, issue number 1 (a NUL byte inside a text value)"),
    refused("nul-padded.json", "has NUL bytes after its data at line 61"),
    refused("truncated-at-start.json", "holds no Jira issues"),
    refused("truncated-mid-issue.json", "ends in the middle of issue number 2"),
    refused("truncated-in-string.json", "ends in the middle of issue number 2"),
    refused("truncated-before-close.json", "cut off"),
    refused("truncated.json.gz", "ends before its compressed data is complete"),
    refused("damaged-crc.json.gz", "is a damaged gzip file"),
    refused("number.json", "is a single JSON value (42)"),
    refused("string.json", 'is a single JSON value ("hello")'),
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
    accepted("far-future.json", _far_future),
    accepted("event-log-old-and-future.csv", _event_log_old_and_future),
    accepted("changes-before-created.json", _changes_before_created),
    accepted("event-log-before-created.csv", _event_log_before_created),
    accepted("duplicate-issues.json", _duplicates),
    accepted("duplicate-rows.csv", _duplicate_rows),
    refused("invalid-utf8.json", "is not UTF-8 text (byte 1319 cannot be read)"),
    accepted("latin1-in-csv.csv", _latin1),
    accepted("utf16-no-bom.json", _utf16),
    refused("utf16-bom-odd-bytes.csv", "not valid utf-16"),
    accepted("formula-injection.csv", _verbatim("INJ", FORMULAS)),
    accepted("markdown-html.json", _verbatim("MD", MARKUP)),
    accepted("html-in-csv.csv", _verbatim("HT", HTML)),
    accepted("formula-in-json.json", _formula_in_json),
    accepted("sql-status.json", _sql_status),
    accepted("sql-names.csv", _sql_names),
    refused("statuses-alone.json", "only companion files were given"),
    refused("header-only.csv", "has a header row but no issue rows"),
    refused("key-but-no-status.csv", 'has no "Status" column'),
    refused("header-with-newline.csv", '"Sta tus"'),
    refused("unclosed-quote.csv", "has a quote opened in the row on line 2 that is never closed"),
    refused("parquet-junk.parquet", "cannot be read as Parquet"),
    accepted("event-log-bad-times.csv", _event_log),
    accepted("time-in-status-absurd.csv", _absurd_duration),
    # strings of megabytes, huge lines, many columns (made in tmp_path)
    accepted("summary-5mb.json", _big_summary,
             make=_write("summary-5mb.json", lambda: _search([_issue("BIG-1", "s" * 5 * 1024 * 1024)]))),
    refused("summary-40mb.json", "issue BIG-1 has a summary of 41,943,040 characters, more than the 32 MB",
            make=_write("summary-40mb.json", lambda: _search([_issue("BIG-1", "s" * 40 * 1024 * 1024)]))),
    refused("key-10000-chars.json", "issue number 1 of the file has a key of 10,002 characters, more than the 1,000",
            make=_write("key-10000-chars.json", lambda: _search([_issue("K" * 10_000 + "-1")]))),
    refused("status-5000-chars.json", "issue LONG-1 has a status value in its history of 5,000 characters",
            make=_write("status-5000-chars.json", lambda: _search([_with_changes("LONG-1", ["To Do", "S" * 5_000])]))),
    refused("header-10000-columns.csv", "has 10,003 columns in its header row, more than the 5,000",
            make=_write("header-10000-columns.csv", lambda: (
                "Issue key,Status,Created," + ",".join(f"Custom field (F{n})" for n in range(10_000)) + "\n"
                + "A-1,Open,2025-01-02" + "," * 10_000 + "\n").encode())),
    refused("row-20000-cells.csv", "has 20,001 columns in the row on line 3, more than the 5,000",
            make=_write("row-20000-cells.csv", lambda: (
                "Issue key,Status,Created\nA-1,Open,2025-01-02 09:00\nA-2,Open,2025-01-02 09:00" + "," * 19_998 + "\n"
            ).encode())),
    refused("event-log-10000-columns.csv", "has 10,003 columns in its header row",
            make=_write("event-log-10000-columns.csv", lambda: (
                "key,status,time," + ",".join(f"x{n}" for n in range(10_000)) + "\nA-1,Open,2025-01-02T09:00:00Z\n"
            ).encode())),
    refused("parquet-10000-columns.parquet", "has 10,003 columns in its schema",
            make=_parquet("parquet-10000-columns.parquet", _parquet_wide, under_kb=8 * 1024)),
    accepted("header-cell-60kb-blanks.csv", _blank_header_cell, seconds=10, make=_write("header-cell-60kb-blanks.csv", lambda: (
        "Key,Created,To Do (h),A" + " " * 60_000 + "B,In Progress (h)\n"
        "TIS-1,2025-01-02 09:00,1,x,2\nTIS-2,2025-01-03 09:00,4,y,8\n").encode())),
    refused("cell-50mb-no-newline.csv", "has a line longer than 32 MB (line 2)",
            make=_write("cell-50mb-no-newline.csv", _fifty_mb_cell), slow=True),
    refused("row-40mb-of-commas.csv", "has a line longer than 32 MB (line 2)",
            make=_write("row-40mb-of-commas.csv", lambda: b"Issue key,Status,Created\n" + b"," * (40 * 1024 * 1024))),
    refused("unclosed-quote-40mb.csv", "has a row longer than 32 MB (lines 2 to ",
            make=_write("unclosed-quote-40mb.csv", lambda: b'Issue key,Summary,Status,Created\nA-1,"Fix,Open,2025-01-02\n'
                        + b"A-2,more,Open,2025-01-02\n" * (2 * 1024 * 1024))),
    refused("parquet-cell-40mb.parquet", "has a text value of 41,943,040 characters in column 'Summary', row 3",
            make=_parquet("parquet-cell-40mb.parquet", _parquet_long_cell)),
    accepted("json-one-line-50mb.json", _one_line, make=_write("json-one-line-50mb.json", _one_line_json), slow=True),
    # deeply nested JSON: MAX_JSON_DEPTH levels import, far deeper ones are refused
    accepted("json-nested-900.json", _nested, make=_write("json-nested-900.json", _nested_900)),
    refused("brackets-100000.json", "holds no Jira issues", make=_write("brackets-100000.json", lambda: b"[" * 100_000)),
    refused("issue-nested-100000.json", "nests JSON more deeply than any Jira export does (over 900 levels, in issue number 1",
            make=_write("issue-nested-100000.json", lambda: b'{"issues": [' + b'{"fields": ' * 100_000 + b"1")),
    # decompression bombs
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
    # Parquet compresses too: a 20 KB file whose dictionary repeats one 1 MiB status 20,000 times.
    refused("parquet-dictionary-bomb.parquet", "expands to more than 8 GiB when uncompressed",
            make=_parquet("parquet-dictionary-bomb.parquet", _dictionary_bomb)),
    # rows: the limits of one import, lowered through the environment to keep the files small
    refused("issues-over-limit.json", "brings the import to more than 100 issues", env={"VSM_MAX_ISSUES": "100"},
            make=_write("issues-over-limit.json", lambda: _search([_issue(f"A-{n}") for n in range(1, 102)]))),
    refused("changes-over-limit.json", "brings the import to more than 100 status and field changes",
            env={"VSM_MAX_CHANGES": "100"},
            make=_write("changes-over-limit.json", lambda: _search(
                [_with_changes(f"A-{n}", ["To Do", "In Progress", "Review", "Done"]) for n in range(1, 40)]))),
    refused("event-log-over-limit.csv", "has more than 1,000 rows, more than the 1,000 an event log may have",
            env={"VSM_MAX_EVENT_LOG_ROWS": "1000"}, make=_write("event-log-over-limit.csv", lambda: _event_rows(1_001))),
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
    # The new version's folder and its dataset record; derived/ holds the default view's
    # prepared tables, which an import builds so the dashboard's first page is quick.
    new_files = {Path(name).parent for name in after if name not in before and "/derived/" not in name}
    assert new_files == {dataset.folder.relative_to(store_dir), dataset.folder.parents[1].relative_to(store_dir)}
    case.accepted(dataset)


# The kinds of bad input the reliability requirement names (and a few more), with their cases.
CATEGORIES: dict[str, list[str]] = {
    "empty": ["empty.json", "whitespace-only.csv", "bom-only.csv"],
    "binary": ["picture.png", "random-bytes.bin", "old-excel.xls"],
    "truncated": ["truncated-at-start.json", "truncated-mid-issue.json", "truncated-in-string.json",
                  "truncated-before-close.json", "truncated.json.gz", "damaged-crc.json.gz", "unclosed-quote.csv"],
    "wrong format": ["export.zip", "export.json.bz2", "double-gzip.json.gz", "login-page.json", "number.json",
                     "string.json", "hello-world.json", "numbers.json", "jira-error-response.json", "fields-null.json",
                     "statuses-alone.json", "header-only.csv", "key-but-no-status.csv", "header-with-newline.csv",
                     "parquet-junk.parquet"],
    "huge line": ["cell-50mb-no-newline.csv", "row-40mb-of-commas.csv", "unclosed-quote-40mb.csv",
                  "json-one-line-50mb.json", "header-cell-60kb-blanks.csv"],
    "10,000 columns": ["header-10000-columns.csv", "row-20000-cells.csv", "event-log-10000-columns.csv",
                       "parquet-10000-columns.parquet"],
    "NUL bytes": ["nul-in-cell.csv", "nul-in-json.json", "nul-padded.json", "zeros-1gb.json.gz"],
    "deeply nested JSON": ["json-nested-900.json", "brackets-100000.json", "issue-nested-100000.json"],
    "decompression bomb": ["zeros-1gb.json.gz", "spaces-1gb.json.gz", "spaces-300mb.json.gz", "rows-300mb.csv.gz",
                           "parquet-dictionary-bomb.parquet"],
    "dates before 1970 or far in the future": ["before-1970.json", "year-0001.json", "year-9999.csv", "far-future.json",
                                               "event-log-old-and-future.csv", "dates-garbage.json"],
    "status changes before creation": ["changes-before-created.json", "event-log-before-created.csv"],
    "duplicated issues with different data": ["duplicate-issues.json", "duplicate-rows.csv"],
    "strings of megabytes": ["summary-5mb.json", "summary-40mb.json", "key-10000-chars.json", "status-5000-chars.json",
                             "parquet-cell-40mb.parquet", "cell-50mb-no-newline.csv"],
    "invalid UTF-8": ["invalid-utf8.json", "latin1-in-csv.csv", "utf16-no-bom.json", "utf16-bom-odd-bytes.csv"],
    "formula injection": ["formula-injection.csv", "formula-in-json.json"],
    "Markdown/HTML injection": ["markdown-html.json", "html-in-csv.csv"],
    "SQL-looking names": ["sql-status.json", "sql-names.csv"],
    "values of the wrong type": ["fields-list.json", "fields-string.json", "created-number.json", "created-object.json",
                                 "event-log-bad-times.csv", "time-in-status-absurd.csv"],
    "more rows than one import may have": ["issues-over-limit.json", "changes-over-limit.json",
                                           "event-log-over-limit.csv"],
}


def test_the_corpus_covers_every_kind_of_bad_input_and_every_file_is_a_case():
    named = [case.values[0].file for case in CASES]
    assert len(named) == len(set(named)), "a file is listed twice"
    assert len(named) >= 30
    fixtures = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert fixtures <= set(named), fixtures - set(named)
    categorised = {file for files in CATEGORIES.values() for file in files}
    assert categorised == set(named), (categorised ^ set(named))
    assert all(len(files) >= 1 for files in CATEGORIES.values())
    listed = (BAD / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in listed for name in fixtures), [n for n in fixtures if f"`{n}`" not in listed]


def test_the_readme_states_every_limit_as_the_code_has_it():
    """The README's "Limits" table, vsm_core.limits and Streamlit's upload cap say the same."""
    import tomllib

    from vsm_core import limits

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Limits\n"):readme.index("\n## ", readme.index("## Limits\n") + 1)]
    rows = {line.split("|")[3].strip(): line for line in section.splitlines() if line.startswith("| ") and "`" in line}

    def row(constant: str) -> str:
        [line] = [line for key, line in rows.items() if key.startswith(f"`{constant}`")]
        return line

    for constant in ("MAX_UPLOAD_BYTES", "MAX_EXPANDED_BYTES", "MAX_EVENT_LOG_TEXT_BYTES", "MAX_LINE_CHARS",
                     "MAX_CELL_CHARS", "MAX_JSON_ELEMENT_BYTES", "MAX_COMPANION_BYTES"):
        assert f"| {limits.size_text(getattr(limits, constant))} |" in row(constant), constant
    for constant in ("MAX_ISSUES", "MAX_CHANGES", "MAX_EVENT_LOG_ROWS", "MAX_COLUMNS"):
        assert f"| {getattr(limits, constant):,} |" in row(constant), constant
    for constant, variable in (("MAX_EXPANDED_BYTES", "VSM_MAX_EXPANDED_BYTES"), ("MAX_ISSUES", "VSM_MAX_ISSUES"),
                               ("MAX_CHANGES", "VSM_MAX_CHANGES"), ("MAX_EVENT_LOG_ROWS", "VSM_MAX_EVENT_LOG_ROWS")):
        assert f"(`{variable}`)" in row(constant), constant
    assert f"| {limits.MAX_NAME_CHARS:,} characters |" in row("MAX_NAME_CHARS")
    assert f"| {limits.MAX_JSON_DEPTH:,} levels always read" in row("MAX_JSON_DEPTH")
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] * 1024**2 == limits.MAX_UPLOAD_BYTES
