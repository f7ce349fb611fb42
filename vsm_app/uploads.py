"""Bridge from Streamlit's uploaded files to ``vsm_core.ingest``: files on disk, progress."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

from vsm_core import limits
from vsm_core.ingest import ImportResult, SourceFile, import_files
from vsm_core.problems import ImportProblem
from vsm_core.store import Store, StoreError


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
    """Write each uploaded file to a private folder under the store's ``staging/`` and import
    them as one dataset (or as a new data version of ``into``).

    The folder is the store's, not ``$TMPDIR``'s: it is removed when the import ends and, if
    the server is killed mid-import, by the next sweep (it names the server's process), so a
    company's export never outlives its import on disk.

    The browser refuses a file over ``server.maxUploadSize``; a file over
    ``limits.MAX_UPLOAD_BYTES`` that reaches the server anyway is refused here, before
    anything is read from it.
    """
    try:
        folder = store.staging("upload")
    except StoreError as exc:
        raise ImportProblem(f"{exc} Nothing was imported.") from exc
    with folder:
        files = []
        try:
            for index, upload in enumerate(uploads):
                path = folder.path / _safe_name(upload.name, index)
                written = 0
                with open(path, "wb") as handle:
                    for chunk in iter(lambda: upload.read(1 << 20), b""):
                        written += len(chunk)
                        if written > limits.MAX_UPLOAD_BYTES:
                            raise _too_large(upload.name)
                        handle.write(chunk)
                files.append(SourceFile(path, upload.name))
        except OSError as exc:
            raise ImportProblem(
                f"the uploaded file {upload.name} could not be stored ({exc.strerror or 'a write failed'}); "
                "nothing was imported. Free disk space in the store directory and upload it again.",
                file=upload.name,
            ) from exc
        return import_files(store, files, name=name or None, fmt=fmt, timezone_name=timezone_name, progress=progress,
                            into=into)


def _too_large(name: str) -> ImportProblem:
    size = limits.size_text(limits.MAX_UPLOAD_BYTES)
    return ImportProblem(
        f"{name} is larger than the {size} the dashboard accepts per file; import it with the command line "
        "(vsm import FILE --name NAME), which writes to the same store.",
        file=name,
    )
