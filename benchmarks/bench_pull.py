"""Pull benchmark: how long a pull from Jira takes, and what the concurrency bound buys.

A fake Jira Cloud (the tests' ``tests/fake_jira.py``, on 127.0.0.1 in this process) serves the
demo simulator's issues with its inline changelog capped at 10 histories, so about a third of
the issues need the rest of their history fetched, as on a real Cloud site. Each request waits
``--latency`` seconds before it is answered, standing in for the network and Jira's own time.
The pull runs once with the bulk changelog endpoint (concurrency 4), then once per concurrency
in ``--concurrency`` on a site without it (histories paged per issue), each into a fresh store,
and once more as an incremental refresh with nothing changed.

Prints, per run: wall time, requests, issues per second. No target is set by the product; the
figures are for the README and for choosing the default concurrency.

Usage: ``python benchmarks/bench_pull.py [--issues N] [--latency S] [--concurrency 1 4 8]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from fake_jira import FakeJira  # noqa: E402
from vsm_core.demo import write_jira_json  # noqa: E402
from vsm_core.jira import Credentials, pull  # noqa: E402
from vsm_core.store import open_store  # noqa: E402

TOKEN = "benchmark-token-0123456789"
EMAIL = "bench@example.com"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds each request waits (default: 0.05)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vsm-bench-pull-") as tmp:
        export = Path(tmp) / "export.json.gz"
        write_jira_json(export, args.issues, seed=7, gzip_output=True)
        with gzip.open(export, "rb") as handle:
            search = json.load(handle)
        statuses = json.loads((REPO / "data" / "demo" / "demo-statuses.json").read_text())
        with FakeJira(search["issues"], statuses, {}, email=EMAIL, token=TOKEN, page_size=100,
                      inline_changelog_cap=10, field_names=search.get("names")) as jira:
            capped = sum(len(i["changelog"]["histories"]) > 10 for i in search["issues"])
            print(f"{args.issues:,} issues ({capped:,} with more than 10 histories), {args.latency * 1000:.0f} ms "
                  "per request, fake Jira Cloud on 127.0.0.1")
            print(f"{'run':<36} {'seconds':>8} {'requests':>9} {'issues/s':>9}")
            jira.delay = args.latency
            credentials = Credentials(jira.url, TOKEN, EMAIL)
            runs = [(True, 4)] + [(False, concurrency) for concurrency in args.concurrency]
            for bulk, concurrency in runs:
                jira.bulk_changelog = bulk
                store = open_store(Path(tmp) / f"store-{bulk}-{concurrency}")
                before = len(jira.requests)
                started = time.perf_counter()
                outcome = pull(store, credentials, "", concurrency=concurrency)  # empty JQL: every issue
                seconds = time.perf_counter() - started
                requests = len(jira.requests) - before
                label = f"{'bulk' if bulk else 'per-issue'} histories, concurrency {concurrency}"
                print(f"{label:<36} {seconds:>8.1f} {requests:>9,} {outcome.fetched / seconds:>9,.0f}")
            before = len(jira.requests)
            started = time.perf_counter()
            refreshed = pull(store, credentials, into=outcome.imported.dataset)
            seconds = time.perf_counter() - started
            print(f"{'refresh, nothing changed':<36} {seconds:>8.1f} {len(jira.requests) - before:>9,} "
                  f"{'-':>9}  (new version: {not refreshed.unchanged})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
