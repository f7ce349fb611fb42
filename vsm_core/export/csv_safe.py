"""CSV a spreadsheet opens safely: text from Jira can never run as a formula.

Issue summaries, labels, status and stage names are typed by people, so a cell such as
``=HYPERLINK("http://x","y")`` or ``@SUM(A1)`` would run when a leader opens the download in
Excel, LibreOffice or Google Sheets (CSV injection). The rules, after OWASP's CSV injection
guidance:

* **Which cells.** A *text* cell (a ``str``) that starts with ``=``, ``+``, ``-``, ``@``, a tab
  (0x09) or a carriage return (0x0D) gets a leading apostrophe (``'=1+1``): spreadsheets show
  it as text and the apostrophe is visible, so nothing is hidden from the reader. A number
  stored as text (``"-5"``) is text and is neutralised too; real numbers (``-5``, ``-2.5``),
  booleans, dates and times are never touched, so sums and sorting still work on them; times
  with a zone are written in UTC as ``2025-03-03 09:00:00+00:00``.
* **Lists** (labels, components, example keys: Python lists, tuples or arrays in a cell) are
  joined as text with ``", "`` and the joined text is then neutralised like any other.
* **Column names** follow the same rule as text cells.
* **The index** is written as columns only when it carries information (anything but a
  default 0, 1, 2, ... index); reset it first to control the names.
* **Encoding.** UTF-8 with a byte order mark, so Excel reads accents and non-Latin names
  right; rows end with CRLF (RFC 4180); the csv module quotes cells holding commas, quotes or
  line breaks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = ", "


def neutralise_text(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _cell(value):
    """A cell as it should be written: text neutralised, lists joined, anything else as is."""
    if isinstance(value, str):
        return neutralise_text(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return neutralise_text(LIST_SEPARATOR.join("" if v is None else str(v) for v in value))
    return value


def _safe_column(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        # Written as UTC text in one vectorised pass (pandas would look up the zone per cell).
        return column.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S+00:00")
    if (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
            or pd.api.types.is_datetime64_any_dtype(column) or isinstance(column.dtype, pd.PeriodDtype)):
        return column
    if pd.api.types.is_string_dtype(column) and not pd.api.types.is_object_dtype(column):
        # A pure text column: one vectorised pass (missing cells stay missing).
        risky = column.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
        return column.where(~risky, "'" + column)
    return column.astype(object).map(_cell)


def safe_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name neutralised (see the module)."""
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        frame = frame.reset_index()
    safe = pd.DataFrame({i: _safe_column(frame.iloc[:, i]) for i in range(frame.shape[1])})
    safe.columns = [neutralise_text(str(name)) for name in frame.columns]
    return safe


def safe_csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV with a byte order mark, safe to open in a spreadsheet."""
    text = safe_csv_frame(frame).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")
