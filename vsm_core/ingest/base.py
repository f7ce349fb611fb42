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
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import BinaryIO, Callable

from vsm_core.problems import ImportProblem
from vsm_core.timeparse import UTC

HEAD_BYTES = 64 * 1024

# Limits that keep a hostile file from exhausting the machine (stated in the README).
MAX_EXPANDED_BYTES = 8 * 1024**3  # a gzip file may expand to at most 8 GiB
MAX_CSV_COLUMNS = 5_000
MAX_CELL_BYTES = 32 * 1024**2
MAX_JSON_ELEMENT_BYTES = 256 * 1024**2  # one issue in a JSON export


@dataclass(frozen=True)
class ReadOptions:
    display_name: str  # the file's name as the user knows it (upload name or path)
    timezone: tzinfo = UTC  # how to read times that carry no offset
    progress: Callable[[int, int], None] | None = None  # (done, total) in bytes or rows
    columns: dict[str, str] = field(default_factory=dict)  # explicit column choices (event log)


class _CappedReader(io.RawIOBase):
    """A gzip stream that refuses to expand past a limit (decompression bombs)."""

    def __init__(self, inner: BinaryIO, limit: int, name: str):
        self._inner = inner
        self._limit = limit
        self._seen = 0
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._inner.read(len(buffer))
        self._seen += len(data)
        if self._seen > self._limit:
            raise ImportProblem(
                f"{self._name} expands to more than {self._limit // 1024**3} GiB when uncompressed; "
                "import it uncompressed through the command line or split it.",
                file=self._name,
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_binary(path: Path, display_name: str) -> BinaryIO:
    """Open a file for reading, un-gzipping it transparently (by content, not name)."""
    raw = open(path, "rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return io.BufferedReader(_CappedReader(gzip.GzipFile(fileobj=raw), MAX_EXPANDED_BYTES, display_name), 1 << 20)
    return raw


def read_head(path: Path, display_name: str, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of a file's content (after un-gzipping).

    A Parquet file keeps its column names in its footer, so for one larger than ``n`` the
    head is a small Parquet file holding its first rows: sniffers see names and values.
    """
    try:
        with open_binary(path, display_name) as handle:
            head = handle.read(n)
            more = bool(handle.read(1))
        if head.startswith(b"PAR1") and more:
            return _parquet_sample(path) or head
        return head
    except (OSError, EOFError) as exc:
        raise ImportProblem(f"{display_name} could not be read ({exc.__class__.__name__}: {exc}); check the file and try again.", file=display_name) from exc


def file_size(path: Path) -> int:
    return Path(path).stat().st_size


def _parquet_sample(path: Path, rows: int = 50) -> bytes | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        batch = next(parquet.iter_batches(batch_size=rows), None)
        table = pa.Table.from_batches([batch]) if batch is not None else parquet.schema_arrow.empty_table()
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    except Exception:  # an unreadable Parquet file: the importer reports it properly
        return None
