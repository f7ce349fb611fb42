"""The command line: ``vsm`` (or ``python -m vsm_core``).

Every command that takes ``--json`` prints machine-readable output on stdout. On bad
input a command prints one sentence on stderr and exits with code 2; nothing is stored.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Sequence

from vsm_core import queries
from vsm_core.problems import ImportProblem
from vsm_core.store import StoreError, open_store

EXIT_BAD_INPUT = 2


class _ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, what: str, fraction: float) -> None:
        if not self.enabled or (time.monotonic() - self.last < 0.1 and fraction < 1.0):
            return
        self.last = time.monotonic()
        width = 30
        filled = int(width * max(0.0, min(1.0, fraction)))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} {what[:60]:<60}")
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _parse_as_of(text: str | None, timezone_name: str | None) -> datetime | None:
    if text is None:
        return None
    from vsm_core.timeparse import from_micros, parse_iso, zone

    try:
        return from_micros(parse_iso(text, zone(timezone_name)))
    except (ValueError, TypeError, OverflowError) as exc:
        raise ImportProblem(f"--as-of {text!r} is not a time this product can use; write it in ISO 8601 like 2025-06-30T17:00:00Z.") from exc


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="the dataset store directory (default: $VSM_STORE or ~/.local/share/vsm-dashboard)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vsm", description="Value stream mapping for software delivery, from a Jira export.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("import", help="import one or several export files as a dataset")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--name", help="the dataset's name (default: the first file's name)")
    p.add_argument("--format", default="auto", choices=["auto", "jira-json", "jira-csv", "item-dates", "event-log", "time-in-status"])
    p.add_argument("--as-of", help="the time 'now' means for this dataset (ISO 8601; default: the latest change in the data)")
    p.add_argument("--timezone", help="how to read times that carry no offset (default: UTC), e.g. Europe/Madrid")
    p.add_argument("--into", metavar="DATASET", help="add the files as a new data version of this dataset")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_store(p)

    p = commands.add_parser("datasets", help="list the datasets in the store")
    p.add_argument("--json", action="store_true")
    _add_store(p)

    for command, text in (("issues", "one row per issue"), ("status-times", "time per issue and status, under the timeline rules")):
        p = commands.add_parser(command, help=text)
        p.add_argument("dataset", metavar="DATASET", help="dataset id (or unique name)")
        p.add_argument("--version", type=int, help="data version (default: the latest)")
        p.add_argument("--json", action="store_true")
        _add_store(p)

    p = commands.add_parser("findings", help="the dataset's data-quality findings")
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("--version", type=int)
    p.add_argument("--json", action="store_true")
    _add_store(p)

    p = commands.add_parser("demo", help="write a simulated team's Jira export (for trying the product and benchmarks)")
    p.add_argument("--issues", type=int, default=3000)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--csv", action="store_true", help="write an issue-navigator CSV export instead of JSON")
    p.add_argument("--gzip", action="store_true")
    return parser


def _cmd_import(args: argparse.Namespace) -> int:
    from vsm_core.ingest import SourceFile, import_files

    store = open_store(args.store)
    result = import_files(
        store,
        [SourceFile(Path(p), p) for p in args.paths],
        name=args.name,
        fmt=args.format,
        as_of=_parse_as_of(args.as_of, args.timezone),
        timezone_name=args.timezone,
        into=args.into,
        progress=_ProgressBar(),
    )
    if args.json:
        print(json.dumps({
            "dataset": result.dataset, "issues": result.issues, "status_changes": result.status_changes,
            "warnings": result.warnings, "version": result.version, "name": result.name, "as_of": result.as_of,
            "has_history": result.has_history,
        }, ensure_ascii=False))
    else:
        print(f"Imported {result.issues:,} issues and {result.status_changes:,} status changes as {result.name!r}")
        print(f"dataset: {result.dataset} (version {result.version}), as of {result.as_of}")
        if not result.has_history:
            print("This export has no status history: lead time, throughput and WIP by current status work; stage times need a JSON export with changelog.")
        for warning in result.warnings:
            print(f"- {warning}")
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    rows = queries.list_datasets(open_store(args.store))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            print(f"{row['dataset']}  {row['name']!s:<30} {row['issues']:>8,} issues {row['status_changes']:>9,} changes  {row['imported_at']}")
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    info = store.get(args.dataset)
    version = args.version or info.latest
    if version not in info.versions:
        raise StoreError(f"dataset {info.dataset} has no version {version}; it has {', '.join(map(str, info.versions))}.")
    kind = {"issues": "issues", "status-times": "status_times", "findings": "findings"}[args.command]
    if args.json:
        sys.stdout.flush()
        queries.write_json(info, version, kind, sys.stdout.fileno())
    else:
        frame = queries.table(info, version, kind)
        print(frame.to_string(index=False, max_rows=200))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from vsm_core import demo

    argv = ["--issues", str(args.issues), "--out", args.out, "--seed", str(args.seed)]
    argv += ["--csv"] if args.csv else []
    argv += ["--gzip"] if args.gzip else []
    return demo.main(argv) or 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"import": _cmd_import, "datasets": _cmd_datasets, "issues": _cmd_table,
                "status-times": _cmd_table, "findings": _cmd_table, "demo": _cmd_demo}
    try:
        return handlers[args.command](args)
    except (ImportProblem, StoreError) as exc:
        print(f"vsm {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"vsm {args.command}: interrupted; nothing was stored.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last guard: never show a traceback to a user
        where = f" while reading {', '.join(getattr(args, 'paths', []) or [])}" if args.command == "import" else ""
        print(f"vsm {args.command}: unexpected error{where} ({exc.__class__.__name__}: {str(exc)[:200]}); nothing was stored. "
              "Please report it with the file if you can share it.", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
