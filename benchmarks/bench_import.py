"""Import benchmark: wall time and peak memory of importing 100,000-issue Jira exports.

Runs the real command line in fresh processes under ``/usr/bin/time -v`` so the numbers are
what a user sees (interpreter start-up included) and peak memory is the whole process's:

1. generates, once, a 100,000-issue JSON export (with changelog) and a 100,000-row
   issue-navigator CSV with ``vsm_core.demo`` (cached in ``benchmarks/out/``);
2. ``python -m vsm_core import FILE --store TMP --json`` for each file;
3. ``python -m vsm_core status-times DATASET --store TMP --json`` on the JSON dataset
   (output to /dev/null: the benchmark measures the query, not the terminal);
4. prints a table against the targets and exits 1 when a step misses one or fails.

Usage: ``python benchmarks/bench_import.py [--issues N] [--python PATH] [--keep-store]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
TIME = Path("/usr/bin/time")


@dataclass(frozen=True)
class Target:
    seconds: float
    peak_mb: float | None = None


TARGETS = {
    "import JSON": Target(20.0, 2048.0),
    "import CSV": Target(10.0),
    "status-times": Target(1.0),
}


@dataclass
class Measurement:
    step: str
    seconds: float | None
    peak_mb: float | None
    returncode: int
    stdout: str
    stderr_tail: str


def ensure_exports(n_issues: int, seed: int) -> tuple[Path, Path]:
    """The cached JSON and CSV exports, generated when missing (written to a temporary name
    first, so an interrupted run never leaves a half file that looks cached)."""
    sys.path.insert(0, str(REPO))
    from vsm_core import demo

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / ".gitignore").write_text("*\n", encoding="utf-8")
    json_path = OUT / f"jira-{n_issues}-seed{seed}.json"
    csv_path = OUT / f"jira-{n_issues}-seed{seed}.csv"
    for path, write in ((json_path, demo.write_jira_json), (csv_path, demo.write_jira_csv)):
        if path.exists():
            continue
        started = time.perf_counter()
        partial = path.with_suffix(path.suffix + ".partial")
        write(partial, n_issues, seed=seed)
        partial.replace(path)
        print(f"generated {path.relative_to(REPO)} ({path.stat().st_size / 1e6:,.0f} MB) "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
    return json_path, csv_path


def parse_elapsed(text: str) -> float | None:
    """Seconds from GNU time's ``Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.34``."""
    match = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\):\s*([\d:.]+)", text)
    if not match:
        return None
    seconds = 0.0
    for part in match.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def parse_peak_mb(text: str) -> float | None:
    """Peak memory in MB from ``Maximum resident set size (kbytes): 123456``."""
    match = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
    return int(match.group(1)) / 1024 if match else None


def measure(step: str, command: list[str], *, keep_stdout: bool) -> Measurement:
    """Run ``command`` under ``/usr/bin/time -v`` from the repository root."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    print(f"running {step}: {' '.join(command)}", flush=True)
    done = subprocess.run(
        [str(TIME), "-v", *command], cwd=REPO, env=env, text=True,
        stdout=subprocess.PIPE if keep_stdout else subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    report = done.stderr
    cut = report.rfind("\tCommand being timed:")
    own_stderr = report[:cut] if cut >= 0 else report
    own_stderr = re.sub(r"Command exited with non-zero status \d+\s*$", "", own_stderr.rstrip())
    return Measurement(step, parse_elapsed(report), parse_peak_mb(report), done.returncode,
                       done.stdout or "", own_stderr.strip()[-2000:])


def verdict(m: Measurement, target: Target) -> str:
    if m.returncode != 0 or m.seconds is None:
        return f"FAILED (exit {m.returncode})"
    over = m.seconds > target.seconds or (target.peak_mb is not None and (m.peak_mb or 0) > target.peak_mb)
    return "over target" if over else "ok"


def print_table(rows: list[tuple[Measurement, Target]], n_issues: int) -> None:
    print()
    print(f"Import benchmark, {n_issues:,} issues, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'step':<14} {'seconds':>8} {'target':>8} {'peak MB':>9} {'target':>9}  result")
    for m, target in rows:
        seconds = f"{m.seconds:.2f}" if m.seconds is not None else "-"
        peak = f"{m.peak_mb:,.0f}" if m.peak_mb is not None else "-"
        peak_target = f"<= {target.peak_mb:,.0f}" if target.peak_mb else "-"
        print(f"{m.step:<14} {seconds:>8} {'<= ' + format(target.seconds, 'g'):>8} {peak:>9} {peak_target:>9}  {verdict(m, target)}")


def run(args: argparse.Namespace) -> int:
    if not TIME.exists():
        print("/usr/bin/time is missing; install it with: apt-get install -y time", file=sys.stderr)
        return 2
    json_path, csv_path = ensure_exports(args.issues, args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="vsm-bench-"))
    python = args.python
    rows: list[tuple[Measurement, Target]] = []
    try:
        json_store, csv_store = scratch / "store-json", scratch / "store-csv"
        imported = measure("import JSON", [python, "-m", "vsm_core", "import", str(json_path), "--store", str(json_store), "--json"], keep_stdout=True)
        rows.append((imported, TARGETS["import JSON"]))
        dataset = _dataset_of(imported)
        csv_run = measure("import CSV", [python, "-m", "vsm_core", "import", str(csv_path), "--store", str(csv_store), "--json"], keep_stdout=True)
        rows.append((csv_run, TARGETS["import CSV"]))
        _dataset_of(csv_run)
        if dataset is not None:
            query = measure("status-times", [python, "-m", "vsm_core", "status-times", dataset, "--store", str(json_store), "--json"], keep_stdout=False)
        else:
            query = Measurement("status-times", None, None, -1, "", "skipped: the JSON import produced no dataset")
        rows.append((query, TARGETS["status-times"]))
    finally:
        if args.keep_store:
            print(f"stores kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    for m, _ in rows:
        if m.returncode != 0:
            print(f"\n{m.step} failed (exit {m.returncode}):\n{m.stderr_tail}", file=sys.stderr)
    print_table(rows, args.issues)
    return 0 if all(verdict(m, t) == "ok" for m, t in rows) else 1


def _dataset_of(m: Measurement) -> str | None:
    """The dataset id from an import's ``--json`` line; reports the counts on the way."""
    if m.returncode != 0:
        return None
    try:
        result = json.loads(m.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        m.returncode = m.returncode or -2
        m.stderr_tail = f"could not read the import's JSON output: {m.stdout[-500:]!r}"
        return None
    warnings = result.get("warnings") or []
    print(f"  {m.step}: dataset {result.get('dataset')}, {result.get('issues')} issues, "
          f"{result.get('status_changes')} status changes, {len(warnings)} warnings")
    for warning in warnings[:5]:
        print(f"    - {warning}")
    return result.get("dataset")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=100_000, help="issues in each export (default %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs vsm_core (default: this one)")
    parser.add_argument("--keep-store", action="store_true", help="keep the temporary dataset stores for a look")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
