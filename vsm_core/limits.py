"""The limits that keep a hostile or broken file from exhausting the machine, in one place.

Every importer reads them from here at the moment it checks (``limits.MAX_ISSUES``, not a
copy taken at import time), so an operator's environment variable or a test's monkeypatch
applies everywhere. Each limit, when reached, ends the import with one sentence naming the
file, what is too large and where; nothing is stored. The README's "Limits" section states
them; ``tests/test_bad_input.py`` checks that it and this module agree.

The sizes are far above anything a Jira export holds (Jira caps a summary at 255
characters and a text field at 32,767 by default) and low enough that a file at every limit
at once still imports in bounded memory on a 2-core machine with 4 GB.
"""

from __future__ import annotations

import os

MiB = 1024**2
GiB = 1024**3


def _from_environment(name: str, default: int) -> int:
    """A limit an operator may change with an environment variable (a positive whole number)."""
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else default


# -- sizes of a whole file ----------------------------------------------------------------
# One file uploaded through the dashboard. Streamlit enforces it in the browser from
# server.maxUploadSize (.streamlit/config.toml, in MB), which must say the same;
# vsm_app.uploads checks it again on the server. Larger files go through `vsm import`.
MAX_UPLOAD_BYTES = 200 * MiB
# What a compressed file may expand to: a gzip file's content, or a Parquet file's text once
# its compression and dictionaries are undone (decompression bombs).
MAX_EXPANDED_BYTES = _from_environment("VSM_MAX_EXPANDED_BYTES", 8 * GiB)
# A status list or board configuration is read whole.
MAX_COMPANION_BYTES = 64 * MiB

# -- rows ------------------------------------------------------------------------------------
# Issues in one import (all its files together). 1,000,000 issues with 10,000,000 status
# changes import in 2 min 40 s with a 1.8 GB peak on the 2-core machine (2026-11-25).
MAX_ISSUES = _from_environment("VSM_MAX_ISSUES", 1_000_000)
# Status and field changes in one import (an event log's rows are status changes).
MAX_CHANGES = _from_environment("VSM_MAX_CHANGES", 10_000_000)
# An event log is sorted in memory: 3,000,000 rows peak at 1.4 GB.
MAX_EVENT_LOG_ROWS = _from_environment("VSM_MAX_EVENT_LOG_ROWS", 3_000_000)
# ...and the text of its key, status and other columns it uses is held in memory too.
MAX_EVENT_LOG_TEXT_BYTES = 512 * MiB

# -- the shape of a table ------------------------------------------------------------------
# Columns of a CSV header or a Parquet schema, and cells in one CSV row.
MAX_COLUMNS = 5_000
# One line of a CSV file, or one row whose quoted cells span several lines; one row of a
# Parquet file (its text cells together). No line is read further than this.
MAX_LINE_CHARS = 32 * MiB
# One text value: a CSV cell, a Parquet text cell, or an issue's summary.
MAX_CELL_CHARS = 32 * MiB
# A key or a name the product keeps: an issue key, a status, type, project, person, priority,
# resolution, label or component, and the old and new values of a change. Jira caps them at
# 255 characters. (Names are repeated on every change row and every stage, so a long one
# would be multiplied: a 30 MB key on 1,000 changes is 30 GB of rows.)
MAX_NAME_CHARS = 1_000

# -- JSON ------------------------------------------------------------------------------------
# One element of a JSON export (an issue with its changelog) is decoded whole; the stream
# around it is read in 16 MiB pieces, so a file on one line is no problem.
MAX_JSON_ELEMENT_BYTES = 256 * MiB
# Nesting: Python's JSON decoder stops at the interpreter's recursion limit (1,000 frames:
# about 990 levels from the command line, a few dozen fewer inside the dashboard), and the
# importer turns that into one sentence. Files nested up to this depth always import; Jira
# nests about ten levels.
MAX_JSON_DEPTH = 900

# Memory, not a limit on input: a buffer of rows waiting for Parquet is written out once its
# text reaches this, whatever its row count, and Parquet text is decoded in slices this size.
TEXT_BATCH_BYTES = 64 * MiB


def size_text(size: int) -> str:
    """A byte or character count as people read it: ``8 GiB``, ``32 MB``, ``512 bytes``."""
    if size >= GiB and size % GiB == 0:
        return f"{size // GiB} GiB"
    if size >= MiB:
        return f"{size / MiB:,.0f} MB"
    return f"{size:,} bytes"
