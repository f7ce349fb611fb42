"""The committed demo data set and the command line that writes simulated exports
(``python -m vsm_core.demo`` or ``vsm demo``)."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Iterable

from vsm_core.demo.clock import DEMO_END, TEAM_ZONE
from vsm_core.demo.jira_csv import write_jira_csv
from vsm_core.demo.jira_json import write_jira_json
from vsm_core.demo.workflow import write_board_configuration, write_statuses

DEMO_ISSUES = 3000
DEMO_FILES = ("demo-jira-export.json.gz", "demo-statuses.json", "demo-board-configuration.json")


def write_demo_files(directory: Path | str, n_issues: int = DEMO_ISSUES, seed: int = 7) -> list[Path]:
    """Write the dashboard's demo data set (export, status list, board) into ``directory``."""
    directory = Path(directory)
    paths = [directory / name for name in DEMO_FILES]
    write_jira_json(paths[0], n_issues, seed=seed, end=DEMO_END, gzip_output=True)
    write_statuses(paths[1])
    write_board_configuration(paths[2])
    return paths


def _parse_end(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=TEAM_ZONE)


def build_parser() -> argparse.ArgumentParser:
    """The ``vsm demo`` options."""
    parser = argparse.ArgumentParser(prog="vsm demo", description="Write a simulated Jira export for demos and benchmarks.")
    parser.add_argument("--issues", type=int, default=DEMO_ISSUES, help="how many issues (default %(default)s)")
    parser.add_argument("--out", type=Path, help="the export file to write")
    parser.add_argument("--csv", action="store_true", help="write the issue navigator's CSV instead of JSON")
    parser.add_argument("--gzip", action="store_true", help="gzip the JSON export")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=_parse_end, default=DEMO_END, help="as-of time, ISO 8601 (default %(default)s)")
    parser.add_argument("--statuses", type=Path, help="also write the status list here")
    parser.add_argument("--board", type=Path, help="also write the board configuration here")
    parser.add_argument("--demo-dir", type=Path, help="write the committed demo data set into this folder")
    return parser


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m vsm_core.demo --issues N --out FILE [--csv] [--gzip] [--seed S]``."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.demo_dir:
        for written in write_demo_files(args.demo_dir, args.issues, args.seed):
            print(written)
    if args.out:
        if args.csv:
            write_jira_csv(args.out, args.issues, args.seed, args.end)
        else:
            write_jira_json(args.out, args.issues, args.seed, args.end, gzip_output=args.gzip)
        print(args.out)
    if args.statuses:
        write_statuses(args.statuses)
    if args.board:
        write_board_configuration(args.board)
    if not (args.out or args.demo_dir or args.statuses or args.board):
        parser.error("say where to write: --out FILE (or --demo-dir DIR)")
    return 0
