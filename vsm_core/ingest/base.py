"""What every importer shares: read options, opening files, and the importer contract.

An importer is a module with::

    FORMAT: str                       # the --format name, e.g. "jira-json"
    def sniff(head: bytes) -> int     # 0..100: how sure the first bytes are this format
    def read(path: Path, sink: CanonicalSink, options: ReadOptions) -> None

``read`` streams the file into the sink and raises ``ImportProblem`` (one sentence naming
``options.display_name``) when it cannot go on. It never prints and never touches the
store.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import BinaryIO, Callable

from vsm_core import limits
from vsm_core.problems import ImportProblem
from vsm_core.timeparse import UTC

HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class ReadOptions:
    display_name: str  # the file's name as the user knows it (upload name or path)
    timezone: tzinfo = UTC  # how to read times that carry no offset
    progress: Callable[[int, int], None] | None = None  # (done, total) in bytes or rows
    columns: dict[str, str] = field(default_factory=dict)  # explicit column choices (event log)


class _CappedReader(io.RawIOBase):
    """A gzip stream that refuses to expand past ``limits.MAX_EXPANDED_BYTES`` (decompression bombs)."""

    def __init__(self, inner: BinaryIO, limit: int, name: str):
        self._inner = inner
        self._limit = limit
        self._seen = 0
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._read(len(buffer))
        self._seen += len(data)
        if self._seen > self._limit:
            raise ImportProblem(
                f"{self._name} expands to more than {size_text(self._limit)} when uncompressed; "
                "import it uncompressed through the command line or split it.",
                file=self._name,
            )
        buffer[: len(data)] = data
        return len(data)

    def _read(self, size: int) -> bytes:
        """Decompress the next bytes; a cut-off or damaged gzip stream becomes one sentence.

        Every importer reads gzip files through here, so no importer has to know the
        errors ``gzip`` and ``zlib`` raise (``EOFError``, ``BadGzipFile``, ``zlib.error``).
        """
        try:
            return self._inner.read(size)
        except EOFError:
            raise ImportProblem(
                f"{self._name} ends before its compressed data is complete (the download or copy was cut off); "
                "download or export it again.",
                file=self._name,
            ) from None
        except (OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise ImportProblem(
                f"{self._name} is a damaged gzip file ({str(exc)[:100]}); download or export it again.",
                file=self._name,
            ) from None

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_binary(path: Path, display_name: str) -> BinaryIO:
    """Open a file for reading, un-gzipping it transparently (by content, not name)."""
    raw = open(path, "rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return io.BufferedReader(_CappedReader(gzip.GzipFile(fileobj=raw), limits.MAX_EXPANDED_BYTES, display_name), 1 << 20)
    return raw


def read_head(path: Path, display_name: str, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of a file's content (after un-gzipping).

    A Parquet file keeps its column names in its footer, so its head is a small Parquet file
    holding its first rows (read within ``vsm_core.limits``: a few kilobytes of Parquet may
    expand to gigabytes): sniffers see names and values.
    """
    try:
        with open_binary(path, display_name) as handle:
            head = handle.read(n)
        if head.startswith(b"PAR1") and n >= HEAD_BYTES:
            return _parquet_sample(path, display_name) or head
        return head
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)[:100] or "it ends too early"
        raise ImportProblem(f"{display_name} could not be read ({reason}); check the file and try again.", file=display_name) from exc


def file_size(path: Path) -> int:
    return Path(path).stat().st_size


def size_text(size: int) -> str:
    """A byte count as people read it: ``8 GiB``, ``64 MB``, ``512 bytes``."""
    return limits.size_text(size)


def one_line(text: str, limit: int = 80) -> str:
    """A value from a file made safe to quote in a sentence: one line, at most ``limit`` characters.

    Cells and headers of hostile files may hold newlines, control characters or megabytes;
    quoting them whole would break the one-line message a user reads.
    """
    text = str(text)
    flat = " ".join(text[: limit * 4].split())  # a bounded slice: the value may be megabytes
    flat = "".join(ch if ch.isprintable() else "?" for ch in flat)
    if len(flat) > limit or len(text) > limit * 4:
        return flat[: limit - 1] + "…"
    return flat


def _parquet_sample(path: Path, display_name: str, rows: int = 50) -> bytes | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vsm_core.ingest.tabular import parquet_batches

    try:
        batches = [batch for batch, _ in parquet_batches(path, display_name, batch_rows=rows, max_rows=rows)]
        table = pa.Table.from_batches(batches) if batches else pq.ParquetFile(path).schema_arrow.empty_table()
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    except ImportProblem:  # past the limits already in its first rows: say so now
        raise
    except Exception:  # an unreadable Parquet file: the importer reports it properly
        return None
