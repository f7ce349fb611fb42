"""Importing files into the store: choose an importer by content, stream the files into
canonical rows, finalize a dataset version, and publish it atomically.

``import_files`` is the one entry point the command line and the dashboard call.
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Callable, Mapping, Sequence

from vsm_core.finalize import finalize
from vsm_core.ingest.base import ReadOptions, file_size, read_head
from vsm_core.ingest.sink import CanonicalSink
from vsm_core.problems import ImportProblem, store_not_written
from vsm_core.store import Store, StoreError, require_writable
from vsm_core.timeparse import UTC, zone

# The data formats, in the order ties are broken when sniffing.
FORMATS = ("jira-json", "jira-csv", "item-dates", "event-log", "time-in-status")
_MODULES = {
    "jira-json": "vsm_core.ingest.jira_json",
    "jira-csv": "vsm_core.ingest.jira_csv",
    "item-dates": "vsm_core.ingest.item_dates",
    "event-log": "vsm_core.ingest.event_log",
    "time-in-status": "vsm_core.ingest.time_in_status",
}
_MIN_CONFIDENCE = 30
_FORMAT_NAMES = {
    "jira-json": "Jira JSON export",
    "jira-csv": "Jira CSV export",
    "item-dates": "item-dates file",
    "event-log": "event log",
    "time-in-status": "time-in-status export",
}

Progress = Callable[[str, float], None]  # (what is happening, fraction done 0..1)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    display_name: str  # what the user calls it (the upload's name, or the path given)


@dataclass
class ImportResult:
    dataset: str
    version: int
    name: str
    issues: int
    status_changes: int
    warnings: list[str] = field(default_factory=list)
    as_of: str | None = None
    has_history: bool = False


def importer(fmt: str) -> ModuleType:
    return importlib.import_module(_MODULES[fmt])


def detect(path: Path, display_name: str) -> str:
    """The format of one file, from its content: a data format or a companion kind."""
    from vsm_core.ingest.companions import companion_kind

    head = read_head(path, display_name)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        what = "the file holds only zero bytes (a damaged or unfinished copy)" if b"\x00" in head.strip(b" \t\r\n") else "the file is empty"
        raise ImportProblem(f"no issues found in {display_name}: {what}.", file=display_name)
    kind = companion_kind(head)
    if kind:
        return kind
    scores = {fmt: importer(fmt).sniff(head) for fmt in FORMATS}
    best = max(FORMATS, key=lambda f: scores[f])
    if scores[best] < _MIN_CONFIDENCE:
        raise ImportProblem(f"{display_name} {_describe_unknown(head)}", file=display_name)
    return best


# Files people upload by mistake, told by their first bytes.
_KNOWN_BINARIES = (
    (b"\x89PNG\r\n\x1a\n", "is a PNG image"),
    (b"\xff\xd8\xff", "is a JPEG image"),
    (b"GIF8", "is a GIF image"),
    (b"%PDF-", "is a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "is an old Excel or Office file (.xls)"),
    (b"BZh", "is compressed with bzip2"),
    (b"\xfd7zXZ\x00", "is compressed with xz"),
    (b"\x28\xb5\x2f\xfd", "is compressed with zstd"),
    (b"7z\xbc\xaf\x27\x1c", "is a 7-Zip archive"),
    (b"Rar!\x1a\x07", "is a RAR archive"),
)
_KNOWN_BINARY_ADVICE = {
    "is an old Excel or Office file (.xls)": "save the sheet as CSV and import that",
    "is compressed with bzip2": "uncompress it (gzip is the one compression this product reads) and import it",
    "is compressed with xz": "uncompress it (gzip is the one compression this product reads) and import it",
    "is compressed with zstd": "uncompress it (gzip is the one compression this product reads) and import it",
    "is a 7-Zip archive": "unpack it and import the file inside",
    "is a RAR archive": "unpack it and import the file inside",
}


def _describe_unknown(head: bytes) -> str:
    """What a file of no known format is, from its first bytes: one clause, then what to upload."""
    if head.startswith(b"PK\x03\x04"):
        return ("is a ZIP archive (an Excel workbook is one too), not a Jira export; unzip it, or save the sheet "
                "as CSV, and import the file inside.")
    if head.startswith(b"\x1f\x8b"):
        what = "is compressed twice (a gzip file inside a gzip file); uncompress it once more first, then import it"
        return f"{what}."
    for magic, kind in _KNOWN_BINARIES:
        if head.startswith(magic):
            return f"{kind}, not a Jira export; {_KNOWN_BINARY_ADVICE.get(kind, 'export the issues from Jira and import that file')}."
    markup = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:20].lower()
    if markup.startswith((b"<!doctype html", b"<html")):
        return ("is a web page (HTML), not an export: often Jira's login or error page saved in place of the "
                "download; sign in to Jira and export the issues again.")
    if markup.startswith((b"<?xml", b"<rss")):
        return ("is XML (perhaps Jira's XML export), which this product does not read; export the issues as JSON "
                "with changelog or as CSV instead.")
    if head.startswith(b"PAR1"):
        what = _describe_parquet(head)
    elif b"\x00" in head[:1024] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        what = "is a binary file, not a Jira export"
    elif head.lstrip()[:1] in (b"{", b"["):
        what = "is JSON but holds no Jira issues, status list or board configuration"
    else:
        what = _describe_text(head)
    return (
        f"{what}; upload a Jira JSON export with changelog, a Jira CSV export, an item-dates CSV, "
        "an event log (key, status, time) or a time-in-status export."
    )


def _describe_parquet(head: bytes) -> str:
    import io

    import pyarrow.parquet as pq

    from vsm_core.ingest.base import one_line
    from vsm_core.ingest.tabular import header_list

    try:
        names = pq.ParquetFile(io.BytesIO(head)).schema_arrow.names  # the footer only: nothing is expanded
    except Exception:  # noqa: BLE001 - any unreadable footer says the same
        return "is a Parquet file whose column list cannot be read (damaged or cut off)"
    return (f"is a Parquet file (columns: {header_list([one_line(n, 40) for n in names])}) whose columns and first "
            "rows fit none of the formats this product reads (an event log needs key, status and time)")


def _describe_text(head: bytes) -> str:
    import json

    from vsm_core.ingest.base import one_line
    from vsm_core.ingest.jsonstream import head_text
    from vsm_core.ingest.tabular import header_list, sample_head

    text = head_text(head).strip()
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = ...
    if value is None or isinstance(value, (bool, int, float, str)):
        return f"is a single JSON value ({one_line(json.dumps(value), 40)}), not a Jira export of issues"
    table = sample_head(head)
    if table is not None and len(table[0]) >= 2:
        header = [one_line(h, 40) for h in table[0]]
        return (f"is a table (header row: {header_list(header)}) whose columns and first rows fit none of the "
                "formats this product reads")
    first = text.splitlines()[0] if text else ""
    return f"is not a format this product reads (it starts with {one_line(first, 40)!r})"


def import_files(
    store: Store,
    files: Sequence[SourceFile],
    *,
    name: str | None = None,
    fmt: str = "auto",
    as_of: datetime | None = None,
    timezone_name: str | None = None,
    into: str | None = None,
    progress: Progress | None = None,
    keep: Mapping[str, Path] | None = None,
    published: Callable[[object], None] | None = None,
) -> ImportResult:
    """Import ``files`` as one dataset (or as a new version of ``into``); atomic.

    ``keep`` names files to store with the new data version, under ``source/`` (a Jira pull
    keeps what it downloaded there, for the next incremental refresh); they are moved, not
    copied, once the import has succeeded. ``published(info)`` is called as soon as the data
    is visible (before the view cache is prepared, which a cancelled page may interrupt).

    Raises ImportProblem (one sentence) on bad input; then nothing is stored.
    """
    try:
        return _import_files(store, files, name=name, fmt=fmt, as_of=as_of, timezone_name=timezone_name,
                             into=into, progress=progress, keep=keep or {}, published=published)
    except ImportProblem as problem:
        _to_one_line(problem)
        raise


_SENTENCE_LIMIT = 1_200  # characters; the start says what is wrong, the end what to do


def _to_one_line(problem: ImportProblem) -> None:
    """Make the problem's sentence one printable line of bounded length, in place.

    Sentences quote the files' own text (headers, Jira's error messages, cell values), and a
    hostile file can put newlines, control characters or megabytes there. The command line
    prints the sentence as one line on stderr and the dashboard shows it in one box, so
    this last guard holds for every importer, whichever text it quoted.
    """
    sentence = "".join(ch if ch.isprintable() else " " for ch in " ".join(problem.sentence.split()))
    if len(sentence) > _SENTENCE_LIMIT:
        sentence = sentence[: _SENTENCE_LIMIT - 300] + " … " + sentence[-297:]
    problem.sentence = sentence
    problem.args = (sentence,)


def _import_files(
    store: Store,
    files: Sequence[SourceFile],
    *,
    name: str | None,
    fmt: str,
    as_of: datetime | None,
    timezone_name: str | None,
    into: str | None,
    progress: Progress | None,
    keep: Mapping[str, Path],
    published: Callable[[object], None] | None,
) -> ImportResult:
    if not files:
        raise ImportProblem("no file given: name at least one Jira export to import.")
    try:
        tz = zone(timezone_name)
    except ValueError as exc:
        raise ImportProblem(f"--timezone: {exc}.") from exc
    for source in files:
        if not Path(source.path).is_file():
            raise ImportProblem(f"{source.display_name} does not exist or is not a file.", file=source.display_name)
    if fmt != "auto" and fmt not in FORMATS:
        raise ImportProblem(f"unknown format {fmt!r}; use one of: auto, {', '.join(FORMATS)}.")
    if into is not None:
        try:
            store.get(into)
        except StoreError as exc:
            raise ImportProblem(str(exc)) from exc
    require_writable(store)
    store.sweep_staging()  # what killed imports and uploads left, whichever process ran them
    plan = [(source, _choose_format(source, fmt)) for source in files]
    if all(kind.startswith("jira-statuses") or kind == "jira-board" for _, kind in plan):
        names = ", ".join(source.display_name for source in files)
        raise ImportProblem(
            f"{names}: only companion files were given (status list or board configuration), no issues; "
            "add the issues export they describe.",
            file=files[0].display_name,
        )
    total_bytes = sum(file_size(s.path) for s in files) or 1
    done_bytes = 0
    import_time = datetime.now(timezone.utc)
    staging = store.staging()
    try:
        sink = CanonicalSink(staging.work_dir / "raw")
        sources_meta = []
        for source, kind in plan:
            sink.current_file = source.display_name
            size = file_size(source.path)

            def report(read: int, total: int, _base=done_bytes, _size=size, _name=source.display_name) -> None:
                # Importers count in bytes or rows; either way read/total is this file's share done.
                if progress and total:
                    fraction = (_base + _size * min(1.0, read / total)) / total_bytes
                    progress(f"Reading {_name}", 0.9 * fraction)

            options = ReadOptions(display_name=source.display_name, timezone=tz, progress=report)
            _read_one(source, kind, sink, options)
            sources_meta.append({"name": source.display_name, "bytes": size, "format": kind})
            done_bytes += size
        if sink.issue_count == 0:
            names = ", ".join(s.display_name for s, k in plan if k in FORMATS)
            raise ImportProblem(f"no issues found in {names}.")
        sink.close()
        if progress:
            progress("Building timelines and checking data quality", 0.92)
        sink.meta.update(source_files=sources_meta, timezone=timezone_name or "UTC", board_name=sink.board_name)
        result = _finalize_or_explain(
            staging.work_dir / "raw",
            staging.data_dir,
            sink_meta=sink.meta,
            statuses=sink.statuses,
            board_columns=sink.board_columns,
            as_of=as_of.astimezone(UTC) if as_of else None,
            import_time=import_time,
            temp_dir=staging.work_dir,
        )
        shutil.rmtree(staging.work_dir, ignore_errors=True)
        try:
            if keep:
                (staging.data_dir / "source").mkdir()
                for kept_name, path in keep.items():
                    shutil.move(path, staging.data_dir / "source" / kept_name)
            if into is not None:
                info = store.publish_version(staging, into)
            else:
                info = store.publish_new(staging, name or _default_name(files))
        except StoreError as exc:
            raise ImportProblem(f"{exc} Nothing was imported.") from exc
        except OSError as exc:
            raise store_not_written(exc) from exc
    except BaseException:
        staging.discard()
        raise
    if published is not None:
        published(info)
    _prepare_default_view(info, progress)
    if progress:
        progress("Done", 1.0)
    meta = info.meta()
    return ImportResult(
        dataset=info.dataset,
        version=info.latest,
        name=info.name,
        issues=result.issues,
        status_changes=result.status_changes,
        warnings=result.warnings,
        as_of=meta.get("as_of"),
        has_history=bool(meta.get("has_history")),
    )


def _prepare_default_view(info, progress: Progress | None) -> None:
    """Build the base tables of the new version's default view (the stage map it uses now, the
    calendar clock) into its view cache, so the dashboard's first page after an import skips
    that step (about a second on 100,000 issues). Best effort: the data is already stored,
    and if this fails the first page builds the tables itself."""
    from vsm_core.metrics import open_flow

    if progress:
        progress("Preparing the dashboard's views", 0.97)
    try:
        with open_flow(info, info.latest):
            pass
    except Exception:  # noqa: BLE001 - an optimisation only; the import has succeeded
        pass


def _finalize_or_explain(*args, **kwargs):
    """Run ``finalize``; a failed write (disk full, permissions) becomes one sentence."""
    import duckdb

    try:
        return finalize(*args, **kwargs)
    except (OSError, duckdb.IOException, duckdb.OutOfMemoryException) as exc:
        raise store_not_written(exc) from exc


def _choose_format(source: SourceFile, fmt: str) -> str:
    detected = detect(source.path, source.display_name)
    if detected in ("jira-statuses", "jira-board") or fmt == "auto":
        return detected
    return fmt


def _read_one(source: SourceFile, kind: str, sink: CanonicalSink, options: ReadOptions) -> None:
    if kind in ("jira-statuses", "jira-board"):
        from vsm_core.ingest import companions

        companions.read(Path(source.path), sink, options)
        return
    module = importer(kind)
    try:
        module.read(Path(source.path), sink, options)
    except ImportProblem:
        raise
    except RecursionError as exc:
        raise ImportProblem(f"{source.display_name} is nested too deeply to be a Jira export; check the file.", file=source.display_name) from exc
    except MemoryError as exc:
        raise ImportProblem(f"{source.display_name} is too large to import in memory; split it into smaller files.", file=source.display_name) from exc
    except OSError as exc:
        raise ImportProblem(
            f"{source.display_name} could not be read ({exc.strerror or 'a read error'}); check the file and try again.",
            file=source.display_name,
        ) from exc
    except (UnicodeError, ValueError, KeyError, TypeError, IndexError, AttributeError, ArithmeticError) as exc:
        # The last guard: an importer met content it did not expect. Say so plainly; the
        # exception stays chained for a developer, it is no explanation for a user.
        raise ImportProblem(
            f"{source.display_name} has content this product cannot read as a {_FORMAT_NAMES[kind]}; check that the "
            "file is a complete, unedited export of that kind, or choose the format explicitly.",
            file=source.display_name,
        ) from exc


def _default_name(files: Sequence[SourceFile]) -> str:
    first = Path(files[0].display_name).name
    for suffix in (".gz", ".json", ".csv", ".ndjson", ".parquet", ".tsv", ".txt"):
        first = first.removesuffix(suffix)
    return first if len(files) == 1 else f"{first} and {len(files) - 1} more"
