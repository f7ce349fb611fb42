"""Bridge from Streamlit's uploaded files to ``vsm_core.ingest``: files on disk, progress."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from vsm_core.ingest import ImportResult, SourceFile, import_files
from vsm_core.store import Store


def _safe_name(name: str, index: int) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._ -]", "_", Path(name).name)[:120] or "upload"
    return f"{index:02d}-{cleaned}"


def import_uploads(
    store: Store,
    uploads: Sequence,
    *,
    name: str | None,
    fmt: str,
    timezone_name: str | None,
    progress: Callable[[str, float], None],
    into: str | None = None,
) -> ImportResult:
    """Write each uploaded file to a private temporary directory and import them as one dataset
    (or as a new data version of ``into``)."""
    with tempfile.TemporaryDirectory(prefix="vsm-upload-") as tmp:
        files = []
        for index, upload in enumerate(uploads):
            path = Path(tmp) / _safe_name(upload.name, index)
            with open(path, "wb") as handle:
                for chunk in iter(lambda: upload.read(1 << 20), b""):
                    handle.write(chunk)
            files.append(SourceFile(path, upload.name))
        return import_files(store, files, name=name or None, fmt=fmt, timezone_name=timezone_name, progress=progress,
                            into=into)
