"""Errors and data-quality findings as values the dashboard and the command line can show."""

from __future__ import annotations

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
