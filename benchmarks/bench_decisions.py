"""Decisions benchmark: how fast the bottleneck ranking, the recommended changes and a what-if
answer on about a million status changes.

Uses the same dataset as ``bench_metrics.py`` (the demo simulator's Jira export, 120,000 issues
by default, generated once into ``benchmarks/out/`` and imported with the real command line),
and the same timing (median of ``--repeat`` runs after one warm-up, ``time.perf_counter``):

1. ranking and changes together, as the bottlenecks and changes pages pay for them: a warm
   preparation (``metrics.open_flow``), one ``DecisionInputs``, ``rank_bottlenecks`` and
   ``recommend_changes`` (target: 2 s);
2. each of the two alone on a prepared flow (no target: where the time goes);
3. a what-if (one stage's wait halved) on a prepared flow, and with its warm preparation
   (target: 1 s).

Prints every figure against its target and exits 1 when one misses.

Usage: ``python benchmarks/bench_decisions.py [--issues N] [--seed S] [--repeat R] [--keep-store]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_metrics import (
    Figure,
    ensure_export,
    import_export,
    median_seconds,
    peak_rss_mb,
    print_figures,
)

from vsm_core.decisions.bottlenecks import rank_bottlenecks
from vsm_core.decisions.inputs import DecisionInputs
from vsm_core.decisions.levers import recommend_changes
from vsm_core.metrics import open_flow
from vsm_core.store import DatasetInfo

DECISIONS_TARGET_S = 2.0
WHATIF_TARGET_S = 1.0


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def decision_figures(info: DatasetInfo, repeat: int) -> list[Figure]:
    def both() -> None:
        with open_flow(info) as flow:
            inputs = DecisionInputs(flow)
            rank_bottlenecks(flow, inputs=inputs)
            recommend_changes(flow, inputs=inputs)

    with open_flow(info) as flow:  # also builds the base cache: every run after is warm
        ranking = median_seconds(lambda: rank_bottlenecks(flow), repeat)
        changes = median_seconds(lambda: recommend_changes(flow), repeat)
    return [
        Figure("ranking + changes (warm preparation included)", _ms(median_seconds(both, repeat)), "ms",
               _ms(DECISIONS_TARGET_S)),
        Figure("ranking alone, prepared flow", _ms(ranking), "ms"),
        Figure("changes alone, prepared flow", _ms(changes), "ms"),
    ]


def whatif_figures(info: DatasetInfo, repeat: int) -> list[Figure]:
    from vsm_core.decisions.whatif import StageTarget, what_if

    with open_flow(info) as flow:
        queue = next(s.name for s in flow.stage_map.stages if s.kind == "wait" and not s.side)
        targets = [StageTarget(queue, reduce_wait_pct=50)]
        alone = median_seconds(lambda: what_if(flow, targets), repeat)

    def prepared_and_run() -> None:
        with open_flow(info) as flow:
            what_if(flow, targets)

    return [
        Figure(f"what-if ({queue} wait -50%), prepared flow", _ms(alone), "ms"),
        Figure("what-if with its warm preparation", _ms(median_seconds(prepared_and_run, repeat)), "ms",
               _ms(WHATIF_TARGET_S)),
    ]


def run(args: argparse.Namespace) -> int:
    export = ensure_export(args.issues, args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="vsm-bench-decisions-"))
    try:
        info = import_export(export, scratch / "store")
        decisions = decision_figures(info, args.repeat)
        whatif = whatif_figures(info, args.repeat)
    finally:
        if args.keep_store:
            print(f"store kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"\nDecisions benchmark, {args.issues:,} issues, median of {args.repeat} runs, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print_figures("Bottlenecks and changes", decisions)
    print_figures("What-if", whatif)
    print(f"\npeak RSS: {peak_rss_mb():,.0f} MB")
    missed = [f for f in decisions + whatif if f.missed]
    for f in missed:
        print(f"MISSED: {f.name}")
    return 1 if missed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=120_000, help="issues in the export (default %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure; the median is reported")
    parser.add_argument("--keep-store", action="store_true", help="keep the temporary dataset store for a look")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
