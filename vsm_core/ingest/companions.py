"""Companion files that sharpen the default stage map: the status list and the board.

* The status list says which category (new | indeterminate | done) each status is in.
  Two shapes: ``/rest/api/2/status`` (an array of statuses) and
  ``/rest/api/2/project/{key}/statuses`` (an array of issue types, each with its
  ``statuses``). Statuses are de-duplicated by id, the first one read wins. The newer
  ``/rest/api/3/statuses/search`` page (``{"values": [...]}``, categories written
  ``TODO`` / ``IN_PROGRESS`` / ``DONE``) is read too.
* The agile board configuration (``/rest/agile/1.0/board/{id}/configuration``) gives the
  columns in order, the status ids in each, and column WIP limits. ``column_order``
  starts at 0. A column without statuses still gets one row (``status_id`` null) so the
  board's column order stays complete. ``status_name`` is left null: the store fills it
  from the status list.

Companions are small, so they are read whole (at most ``MAX_COMPANION_BYTES``); any
malformation becomes an ``ImportProblem``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from vsm_core import limits
from vsm_core.ingest.base import ReadOptions, one_line, open_binary, read_head
from vsm_core.ingest.jsonstream import detect_codec, head_text
from vsm_core.ingest.sink import CanonicalSink
from vsm_core.model import normalise_category
from vsm_core.problems import ImportProblem

STATUSES_FORMAT = "jira-statuses"
BOARD_FORMAT = "jira-board"
FORMATS = (STATUSES_FORMAT, BOARD_FORMAT)
MAX_COMPANION_BYTES = limits.MAX_COMPANION_BYTES  # a module name of its own, so a test can lower it here

_ISSUE_MARKERS = ('"fields"', '"changelog"', '"histories"', '"issues"')
# Status category spellings of the newer statuses API.
_API3_CATEGORIES = {"TODO": "new", "IN_PROGRESS": "indeterminate", "DONE": "done"}


# -- recognising ----------------------------------------------------------------------------
def companion_kind(head: bytes) -> str | None:
    """"jira-statuses", "jira-board" or None for the first bytes of a file."""
    text = head_text(head).lstrip()
    if not text or text[0] not in "[{":
        return None
    first = _first_element(text)
    if first is not None:
        return _kind_of(first)
    # The head was cut before the first element closed: fall back to telltale names.
    if any(marker in text for marker in _ISSUE_MARKERS):
        return None
    if text[0] == "{" and '"columnConfig"' in text:
        return BOARD_FORMAT
    if text[0] == "[" and '"statusCategory"' in text:
        return STATUSES_FORMAT
    return None


def _first_element(text: str) -> Any:
    """The top-level object, or the first element of a top-level array, if the head holds it."""
    decoder = json.JSONDecoder()
    try:
        if text[0] == "{":
            return decoder.raw_decode(text)[0]
        rest = text[1:].lstrip()
        return decoder.raw_decode(rest)[0] if rest and rest[0] == "{" else None
    except (ValueError, RecursionError):
        return None


def _kind_of(element: Any) -> str | None:
    if not isinstance(element, dict) or "fields" in element or "issues" in element:
        return None
    if isinstance(element.get("columnConfig"), dict):
        return BOARD_FORMAT
    if "statusCategory" in element and "name" in element:
        return STATUSES_FORMAT
    if isinstance(element.get("statuses"), list):  # a project's issue type with its statuses
        return STATUSES_FORMAT
    values = element.get("values")
    if isinstance(values, list) and values and isinstance(values[0], dict) and "statusCategory" in values[0]:
        return STATUSES_FORMAT
    return None


def sniff_statuses(head: bytes) -> int:
    """How sure the first bytes are a Jira status list."""
    return 95 if companion_kind(head) == STATUSES_FORMAT else 0


def sniff_board(head: bytes) -> int:
    """How sure the first bytes are an agile board configuration."""
    return 95 if companion_kind(head) == BOARD_FORMAT else 0


# -- reading --------------------------------------------------------------------------------
def read_statuses(path: Path, sink: CanonicalSink, options: ReadOptions) -> None:
    """Add the statuses of a status list to ``sink.statuses`` (ids already there are kept)."""
    document = _load(path, options.display_name)
    seen = {row["status_id"] for row in sink.statuses}
    added = 0
    for status in _status_objects(document):
        status_id = _id_text(status.get("id"))
        name = status.get("name")
        if status_id is None or not isinstance(name, str) or status_id in seen:
            continue
        _check_name(options.display_name, f"status {one_line(status_id, 20)}", name)
        seen.add(status_id)
        sink.statuses.append({"status_id": status_id, "name": name, "category": _category(status.get("statusCategory"))})
        added += 1
    if added == 0 and not any(True for _ in _status_objects(document)):
        raise ImportProblem(
            f"{options.display_name} holds no statuses; export it from /rest/api/2/status and try again.",
            file=options.display_name,
        )
    sink.meta.setdefault("formats", set()).add(STATUSES_FORMAT)


def read_board(path: Path, sink: CanonicalSink, options: ReadOptions) -> None:
    """Set ``sink.board_columns`` and ``sink.board_name`` from a board configuration."""
    document = _load(path, options.display_name)
    config = document.get("columnConfig") if isinstance(document, dict) else None
    columns = config.get("columns") if isinstance(config, dict) else None
    if not isinstance(columns, list) or not columns:
        raise ImportProblem(
            f"{options.display_name} has no board columns (columnConfig.columns); export it from "
            "/rest/agile/1.0/board/{id}/configuration and try again.",
            file=options.display_name,
        )
    rows: list[dict] = []
    for order, column in enumerate(columns):
        if not isinstance(column, dict):
            raise ImportProblem(
                f"{options.display_name}: board column number {order + 1} is not an object; export the board "
                "configuration again.",
                file=options.display_name,
                where=f"column {order + 1}",
            )
        rows.extend(_column_rows(order, column))
    for row in rows:
        _check_name(options.display_name, f"board column number {row['column_order'] + 1}", row["column"])
    sink.board_columns[:] = rows
    name = document.get("name")
    sink.board_name = name if isinstance(name, str) else None
    sink.meta.setdefault("formats", set()).add(BOARD_FORMAT)


@dataclass(frozen=True)
class CompanionImporter:
    """One companion format with the importer contract of ``base`` (FORMAT, sniff, read)."""

    FORMAT: str
    sniff: Callable[[bytes], int]
    read: Callable[[Path, CanonicalSink, ReadOptions], None]


STATUSES = CompanionImporter(STATUSES_FORMAT, sniff_statuses, read_statuses)
BOARD = CompanionImporter(BOARD_FORMAT, sniff_board, read_board)
IMPORTERS = (STATUSES, BOARD)


def read(path: Path, sink: CanonicalSink, options: ReadOptions) -> None:
    """Read either companion, whichever the content is."""
    kind = companion_kind(read_head(path, options.display_name))
    if kind == BOARD_FORMAT:
        read_board(path, sink, options)
    else:
        read_statuses(path, sink, options)


def _column_rows(order: int, column: dict) -> list[dict]:
    name = column.get("name")
    common = {
        "column_order": order,
        "column": name if isinstance(name, str) else None,
        "status_name": None,
        "wip_min": _limit(column.get("min")),
        "wip_max": _limit(column.get("max")),
    }
    statuses = column.get("statuses")
    ids = [_id_text(s.get("id")) for s in statuses if isinstance(s, dict)] if isinstance(statuses, list) else []
    ids = [i for i in ids if i is not None] or [None]
    return [{**common, "status_id": status_id} for status_id in ids]


# -- helpers --------------------------------------------------------------------------------
def _check_name(display_name: str, what: str, name: str | None) -> None:
    """A status or column name longer than ``limits.MAX_NAME_CHARS`` is no Jira name: refuse the file."""
    if name is not None and len(name) > limits.MAX_NAME_CHARS:
        raise ImportProblem(
            f"{display_name}: {what} has a name of {len(name):,} characters, more than the {limits.MAX_NAME_CHARS:,} "
            "a key or name may hold (Jira's hold at most 255); check that it is the right file.",
            file=display_name,
            where=what,
        )


def _load(path: Path, display_name: str) -> Any:
    """The whole JSON document, or an ``ImportProblem`` saying what is wrong with it."""
    try:
        with open_binary(path, display_name) as handle:
            data = handle.read(MAX_COMPANION_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise ImportProblem(
            f"{display_name} could not be read ({exc.__class__.__name__}); check the file and try again.", file=display_name
        ) from exc
    if len(data) > MAX_COMPANION_BYTES:
        raise ImportProblem(
            f"{display_name} is larger than {limits.size_text(MAX_COMPANION_BYTES)}, far more than a status list or "
            "board configuration; check that it is the right file.",
            file=display_name,
        )
    codec, skip = detect_codec(data[:4])
    try:
        return json.loads(data[skip:].decode(codec))
    except UnicodeDecodeError as exc:
        raise ImportProblem(f"{display_name} is not UTF-8 text (byte {exc.start}); export it again.", file=display_name) from None
    except json.JSONDecodeError as exc:
        raise ImportProblem(
            f"{display_name} is not valid JSON at line {exc.lineno} ({exc.msg}); export it again.",
            file=display_name,
            where=f"line {exc.lineno}",
        ) from None
    except RecursionError:
        raise ImportProblem(
            f"{display_name} nests JSON too deeply to be a Jira file; check the file.", file=display_name
        ) from None


def _status_objects(document: Any) -> Iterator[dict]:
    """Every status object in a status list, whatever its shape."""
    if isinstance(document, dict):
        document = document.get("values")
    if not isinstance(document, list):
        return
    for element in document:
        if not isinstance(element, dict):
            continue
        nested = element.get("statuses")
        if isinstance(nested, list) and "statusCategory" not in element:
            yield from (s for s in nested if isinstance(s, dict))
        else:
            yield element


def _category(value: Any) -> str | None:
    if isinstance(value, dict):
        return normalise_category(_str(value.get("key"))) or normalise_category(_str(value.get("name")))
    if isinstance(value, str):
        return _API3_CATEGORIES.get(value.strip().upper()) or normalise_category(value)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int)):
        text = str(value).strip()
        return text or None
    return None


def _limit(value: Any) -> int | None:
    """A column WIP limit as a whole number (Jira writes numbers; a few tools write text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
