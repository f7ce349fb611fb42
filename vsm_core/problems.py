"""Errors and data-quality findings as values the dashboard and the command line can show."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass


class ImportProblem(Exception):
    """An import that cannot go on: one sentence a manager understands.

    The sentence names the file, says what is wrong and where, and what to do.
    Raising it aborts the import; nothing is stored.
    """

    def __init__(self, sentence: str, *, file: str | None = None, where: str | None = None):
        super().__init__(sentence)
        self.sentence = sentence
        self.file = file
        self.where = where

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.sentence


# DuckDB reports a failed write as JSON text with the staging file's path; the sentence
# names the cause in the operating system's words instead, as ``require_writable`` does.
_WRITE_TEXTS = (
    ("no space left", errno.ENOSPC), ("quota", errno.EDQUOT), ("permission denied", errno.EACCES),
    ("read-only file system", errno.EROFS), ("input/output error", errno.EIO),
)


def store_not_written(exc: BaseException) -> ImportProblem:
    """The store could not be written: one sentence naming the cause when it is known."""
    code = getattr(exc, "errno", None)
    if not code:
        text = str(exc).lower()
        code = next((c for phrase, c in _WRITE_TEXTS if phrase in text), None)
    if code:
        cause = os.strerror(code)
    elif "memory" in f"{type(exc).__name__} {exc}".lower():  # DuckDB's OutOfMemoryException too
        cause = "its temporary files fit neither on the disk nor in memory"
    else:
        cause = "a write failed"
    return ImportProblem(
        f"the store cannot be written ({cause}); nothing was imported. "
        "Free disk space, check the store directory's permissions, or choose another store directory."
    )


@dataclass(frozen=True)
class Finding:
    """A data-quality observation kept with the dataset (never a silent drop).

    ``code`` is a stable identifier (e.g. ``change_before_created``) so findings can be
    grouped; ``message`` is a sentence about this one case; ``key`` names the issue when
    the finding is about one.
    """

    code: str
    message: str
    key: str | None = None
    file: str | None = None
    severity: str = "warning"  # "warning" | "info"
