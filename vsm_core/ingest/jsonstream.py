"""Stream the issues of a Jira JSON export one at a time, in bounded memory.

A 600 MB search response cannot be ``json.load``-ed on a small machine, and a per-token
pure-Python parser is far too slow. So the file is read in binary chunks, decoded to a text
buffer, and each *issue* is decoded whole by the C scanner behind
``json.JSONDecoder.raw_decode``. Only the outer structure (the envelope: an array, a search
response object, concatenated objects) is walked in Python, one element at a time. Consumed
text is dropped when the next chunk is read, so memory holds about one chunk plus the
issue being decoded.

Envelopes understood (guide, section 8):

* a search response ``{"issues": [...], ...}`` with other members in any order
  (``names``, ``nextPageToken``, ``isLast``, ``total``...); the ``issues`` array is
  streamed, every other member is decoded whole and kept in :attr:`JsonIssueStream.envelope`;
* a plain array of issues, or of Perceval items ``{"data": issue, "backend_name": ...}``,
  or of search responses;
* a single issue object (``{"key": ..., "fields": ...}``);
* concatenated values: NDJSON (one issue, Perceval item or search page per line) and
  several search responses one after the other.

Decisions:

* An element that straddles a chunk boundary fails to decode; the reader then reads more
  (at least as much again as the element has so far, so big elements cost linear time)
  and decodes it again from its start. A decode error far from the end of the buffer
  is real invalid JSON and is reported at once with its line number, without reading on.
* A value that ends exactly at the end of the buffer may be an unfinished number
  (``12`` of ``1234``), so it is decoded again once more text is in.
* Text encodings: UTF-8 with or without BOM, UTF-16 with BOM (and without, recognised
  by its zero bytes). Anything else is not JSON as Jira writes it.
* Limits (``vsm_core.limits``): one element may not exceed ``MAX_JSON_ELEMENT_BYTES``;
  JSON nested deeper than Python's recursion limit (``MAX_JSON_DEPTH`` levels always pass)
  is refused rather than crashing. A position on line 1 also gives the character: Jira
  writes its JSON on one line.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from vsm_core import limits
from vsm_core.ingest.base import file_size, open_binary, read_head
from vsm_core.problems import ImportProblem

DEFAULT_CHUNK = 16 * 1024 * 1024
TAIL_BYTES = 8 * 1024 * 1024

_skip_ws = re.compile(r"[ \t\n\r]*").match
_raw_decode = json.JSONDecoder().raw_decode
# Members of a search response that describe the page rather than an issue.
_ENVELOPE_MEMBERS = frozenset(
    {"expand", "startAt", "maxResults", "total", "isLast", "nextPageToken", "names", "schema",
     "warningMessages", "errorMessages", "errors"}
)


def detect_codec(first_bytes: bytes) -> tuple[str, int]:
    """The text codec of a JSON file starting with ``first_bytes``, and its BOM length."""
    if first_bytes.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if first_bytes.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if first_bytes.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    if len(first_bytes) >= 2 and first_bytes[0] != 0 and first_bytes[1] == 0:
        return "utf-16-le", 0
    if len(first_bytes) >= 2 and first_bytes[0] == 0 and first_bytes[1] != 0:
        return "utf-16-be", 0
    return "utf-8", 0


def head_text(head: bytes) -> str:
    """The first bytes of a file as text (BOM removed, a cut character at the end ignored)."""
    codec, skip = detect_codec(head[:4])
    return head[skip:].decode(codec, errors="ignore")


class JsonIssueStream:
    """Iterate over the issue elements of one JSON file, whatever its envelope.

    Yields each issue as the ``dict`` Jira wrote (Perceval items are unwrapped; elements
    that are not objects are yielded as they are, for the caller to report). The latest
    ``names`` map of a search response is in :attr:`names`; other envelope members are in
    :attr:`envelope`. Raises ``ImportProblem`` for invalid, truncated or hostile files.
    """

    def __init__(
        self,
        path: Path,
        display_name: str,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        max_element: int | None = None,
    ):
        self.path = Path(path)
        self.display_name = display_name
        self.chunk_size = max(1, chunk_size)
        self.max_element = limits.MAX_JSON_ELEMENT_BYTES if max_element is None else max_element
        self.total_bytes = file_size(path)
        self.names: dict | None = None  # the latest search response's field id -> name map
        self.in_search_page = False  # True once an "issues" array of a search response is streamed
        self.envelope: dict[str, Any] = {}
        self.issues_started = 0  # issue elements begun so far (1-based number of the current one)
        self._handle: BinaryIO | None = None
        self._decoder: codecs.IncrementalDecoder | None = None
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._lines_dropped = 0  # newlines in text already dropped from the buffer
        self._chars_dropped = 0  # characters of text already dropped from the buffer
        self._bytes_in = 0
        self._in_issue = False
        self._current_issue = 0

    # -- public -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        try:
            self._handle = open_binary(self.path, self.display_name)
        except OSError as exc:
            raise self._problem(f"could not be opened ({exc.strerror or exc})", "check the file and try again")
        try:
            yield from self._top_level()
        except RecursionError:
            raise self._problem(
                f"nests JSON more deeply than any Jira export does (over {limits.MAX_JSON_DEPTH:,} levels, "
                f"in {self._element_text()} starting at {self._place(self._pos)})",
                "it cannot be read; export it again from Jira",
            ) from None
        except EOFError:
            raise self._problem("ends before its compressed data is complete", "the file was cut off: export it again") from None
        except (OSError, zlib.error) as exc:
            raise self._problem(f"could not be read to the end ({exc.__class__.__name__}: {exc})",
                                "the file may be damaged; export it again") from exc
        finally:
            self._handle.close()

    def position(self) -> int:
        """Bytes of the file on disk consumed so far (compressed bytes for a gzip file)."""
        inner = getattr(getattr(self._handle, "raw", None), "_inner", None)
        fileobj = getattr(inner, "fileobj", None)
        try:
            if fileobj is not None:
                return min(fileobj.tell(), self.total_bytes)
            return min(self._bytes_in, self.total_bytes)
        except (OSError, ValueError):
            return min(self._bytes_in, self.total_bytes)

    # -- the envelope -------------------------------------------------------------------
    def _top_level(self) -> Iterator[Any]:
        while True:
            char = self._next_char()
            if char == "":
                return
            if char == "[":
                yield from self._array(top_level=True)
            elif char == "{":
                yield from self._object()
            else:
                self._in_issue = False
                place = self._place(self._pos)
                if char == "\x00":  # what a copy cut short by a crash or a full disk leaves
                    after = "after its data " if self.issues_started else ""
                    raise self._problem(f"has NUL bytes {after}at {place}, the mark of a damaged or unfinished copy",
                                        "copy or export the file again")
                if self.issues_started:
                    raise self._problem(f"has {char!r} at {place} after the end of its JSON data",
                                        "check that the file was not edited or joined with another one, and export it again")
                raise self._problem(
                    f"does not hold JSON issues: it has {char!r} at {place} "
                    "where a list or an object should start",
                    "export the issues from Jira as JSON (see README)",
                )

    def _array(self, *, top_level: bool) -> Iterator[Any]:
        """Walk an array of issues (or, at the top level, of pages or Perceval items)."""
        self._pos += 1
        if self._next_char() == "]":
            self._pos += 1
            return
        while True:
            self.issues_started += 1
            self._current_issue = self.issues_started
            value = self._decode_in_issue()
            if top_level:
                yield from self._route(value)
            else:
                yield value
            char = self._next_char()
            if char == ",":
                self._pos += 1
            elif char == "]":
                self._pos += 1
                return
            elif char == "":
                self._cut_off()
            else:
                self._invalid(f"expected ',' or ']' after issue number {self.issues_started}")

    def _object(self) -> Iterator[Any]:
        """Walk a top-level object member by member, streaming an ``issues`` array.

        Members other than ``issues`` are decoded whole. If no ``issues`` array was
        streamed, the object itself is an element (an issue, a Perceval item).
        """
        self._pos += 1
        members: dict[str, Any] = {}
        streamed = False
        char = self._next_char()
        while char != "}":
            if char == "":
                self._cut_off()
            if char != '"':
                self._invalid("expected a quoted member name")
            name = self._decode()
            char = self._next_char()
            if char != ":":
                self._cut_off() if char == "" else self._invalid("expected ':'")
            self._pos += 1
            char = self._next_char()
            if name == "issues" and char == "[":
                if isinstance(members.get("names"), dict):
                    self.names = members["names"]
                self.in_search_page = True
                yield from self._array(top_level=False)
                streamed = True
            elif streamed or name in _ENVELOPE_MEMBERS:
                members[name] = self._decode()
            else:
                self._current_issue = self.issues_started + 1
                members[name] = self._decode_in_issue()
            char = self._next_char()
            if char == ",":
                self._pos += 1
                char = self._next_char()
            elif char not in ("}", ""):
                self._invalid("expected ',' or '}'")
        self._pos += 1
        if isinstance(members.get("names"), dict):
            self.names = members["names"]
        if streamed:
            self.envelope.update(members)
        else:
            self.issues_started += 1
            yield from self._route(members)

    def _route(self, value: Any) -> Iterator[Any]:
        """Unwrap one top-level element: a Perceval item, a search page, or an issue."""
        if isinstance(value, dict) and "fields" not in value:
            data = value.get("data")
            if isinstance(data, dict):
                yield data
                return
            issues = value.get("issues")
            if isinstance(issues, list):
                if isinstance(value.get("names"), dict):
                    self.names = value["names"]
                self.envelope.update((k, v) for k, v in value.items() if k != "issues")
                yield from issues
                return
        yield value

    # -- the buffer ---------------------------------------------------------------------
    def _next_char(self) -> str:
        """The next non-blank character (not consumed), or '' at the end of the file."""
        while True:
            pos = _skip_ws(self._buf, self._pos).end()
            self._pos = pos
            if pos < len(self._buf):
                return self._buf[pos]
            if not self._fill():
                return ""

    def _decode_in_issue(self) -> Any:
        """Decode a value that belongs to issue number ``_current_issue`` (for messages)."""
        self._in_issue = True
        value = self._decode()
        self._in_issue = False
        return value

    def _decode(self) -> Any:
        """Decode the JSON value at the cursor, reading more text while it is incomplete."""
        if self._next_char() == "":
            self._cut_off()
        while True:
            try:
                value, end = _raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof:
                    self._cut_off() if self._cut_here(exc) else self._invalid(exc.msg, exc.pos)
                if not self._ran_out(exc):
                    self._invalid(exc.msg, exc.pos)
                self._fill(grow=True)
                continue
            if end == len(self._buf) and not self._eof and self._fill():
                continue
            self._pos = end
            return value

    def _ran_out(self, exc: json.JSONDecodeError) -> bool:
        """Whether a decode error may come from the buffer ending: worth reading more."""
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(self._buf) - 16

    def _cut_here(self, exc: json.JSONDecodeError) -> bool:
        """At the end of the file: whether the value was cut off (rather than invalid).

        Cut-off text ends inside a string, or what follows the error is blank, the start
        of ``true``/``false``/``null``, the rest of a number, or a short escape.
        """
        if exc.msg.startswith("Unterminated string"):
            return True
        rest = self._buf[exc.pos:].strip()
        if not rest or rest.strip("0123456789.eE+-") == "":
            return True
        if any(literal.startswith(rest) for literal in ("true", "false", "null")):
            return True
        return exc.msg.startswith("Invalid \\") and len(rest) <= 6

    def _fill(self, grow: bool = False) -> bool:
        """Read the next chunk, dropping text before the cursor. False at end of file."""
        if self._eof:
            return False
        pending = len(self._buf) - self._pos
        if grow and pending > self.max_element:
            raise self._problem(
                f"holds an element larger than {limits.size_text(self.max_element)} "
                f"(issue number {self._current_issue}, starting at {self._place(self._pos)})",
                "no Jira issue is that large; check that the file is a Jira export",
            )
        size = max(self.chunk_size, pending) if grow else self.chunk_size
        if self._decoder is None:
            size = max(size, 4)  # the first read must see a whole byte-order mark
        data = self._handle.read(size)
        if self._decoder is None:
            codec, skip = detect_codec(data[:4])
            self._decoder = codecs.getincrementaldecoder(codec)("strict")
            self._bytes_in += skip
            data = data[skip:]
        self._bytes_in += len(data)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise self._problem(
                f"is not UTF-8 text (byte {self._bytes_in - len(data) + exc.start} cannot be read)",
                "export it again from Jira without converting it",
            ) from None
        if not data:
            self._eof = True
        if self._pos:
            self._lines_dropped += self._buf.count("\n", 0, self._pos)
            self._chars_dropped += self._pos
            self._buf = self._buf[self._pos:] + text
            self._pos = 0
        else:
            self._buf += text
        return bool(data) or bool(text)

    # -- problems -----------------------------------------------------------------------
    def _line_at(self, pos: int) -> int:
        return self._lines_dropped + self._buf.count("\n", 0, pos) + 1

    def _place(self, pos: int) -> str:
        """Where ``pos`` is, for a sentence: its line, and on line 1 (a file Jira wrote on one
        line) its character too."""
        line = self._line_at(pos)
        return f"line {line}" if line > 1 else f"line 1, character {self._chars_dropped + pos + 1:,}"

    def _element_text(self) -> str:
        return f"issue number {self._current_issue}" if self._current_issue else "the file's outer structure"

    def _problem(self, what: str, todo: str) -> ImportProblem:
        return ImportProblem(f"{self.display_name} {what}; {todo}.", file=self.display_name, where=None)

    def _cut_off(self) -> None:
        line = self._line_at(self._pos)
        if self._in_issue:
            what = f"ends in the middle of issue number {self._current_issue} (near {self._place(self._pos)})"
        else:
            what = f"ends before its JSON is complete (near {self._place(self._pos)})"
        raise ImportProblem(
            f"{self.display_name} {what}; the file was cut off: export it again.",
            file=self.display_name,
            where=f"line {line}",
        )

    def _invalid(self, message: str, pos: int | None = None) -> None:
        pos = self._pos if pos is None else pos
        line = self._line_at(pos)
        where = self._place(pos)
        if message.startswith("Invalid control character") and pos < len(self._buf):
            code = ord(self._buf[pos])
            message = "a NUL byte inside a text value" if code == 0 else f"control character U+{code:04X} inside a text value"
        if self._in_issue:
            where += f", issue number {self._current_issue}"
        raise ImportProblem(
            f"{self.display_name} is not valid JSON at {where} ({message}); export it again from Jira.",
            file=self.display_name,
            where=f"line {line}",
        )


def tail_member(path: Path, display_name: str, member: str, tail_bytes: int = TAIL_BYTES) -> dict | None:
    """The object value of the last ``"member": {...}`` in the last few megabytes of a file.

    Jira puts a search response's ``names`` map (field id -> field name) *after* the issues,
    but the importer needs it while streaming them. Reading the file's tail and decoding the
    object after the last ``"names":`` finds it without a second pass over a plain file (a
    gzip file is decompressed to its end, the only way to reach its tail). Returns None when
    nothing usable is there; never raises for content problems.
    """
    try:
        codec, skip = detect_codec(read_head(path, display_name, 4))
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            if not compressed:
                start = max(0, file_size(path) - tail_bytes)
                raw.seek(start)
                tail = raw.read()
        if compressed:
            tail, start = _tail_of_stream(path, display_name, tail_bytes)
    except (OSError, EOFError, ImportProblem):
        return None
    if start < skip:
        tail, start = tail[skip - start:], skip
    if codec != "utf-8" and (start - skip) % 2:
        tail = tail[1:]
    return _last_object_member(tail.decode(codec, errors="ignore"), member)


def _tail_of_stream(path: Path, display_name: str, tail_bytes: int) -> tuple[bytes, int]:
    """The last ``tail_bytes`` (or a little more) of a stream, and their offset."""
    pieces: list[bytes] = []
    kept = 0
    offset = 0
    with open_binary(path, display_name) as handle:
        while data := handle.read(4 * 1024 * 1024):
            pieces.append(data)
            kept += len(data)
            while len(pieces) > 1 and kept - len(pieces[0]) >= tail_bytes:
                dropped = pieces.pop(0)
                kept -= len(dropped)
                offset += len(dropped)
    return b"".join(pieces), offset


def _last_object_member(text: str, member: str) -> dict | None:
    needle = f'"{member}"'
    end = len(text)
    for _ in range(16):
        at = text.rfind(needle, 0, end)
        if at < 0:
            return None
        end = at
        if at and text[at - 1] == "\\":
            continue
        after = _skip_ws(text, at + len(needle)).end()
        if after >= len(text) or text[after] != ":":
            continue
        start = _skip_ws(text, after + 1).end()
        if start >= len(text) or text[start] != "{":
            continue
        try:
            value, _ = _raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return value
    return None
