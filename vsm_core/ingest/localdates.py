"""Dates as Jira CSV exports write them, in the user's language, to microseconds UTC.

Jira formats dates in a CSV export with the exporting user's locale and its own date
pattern, so one real file may say ``22/Dec/25 2:38 PM``, another ``22/dic./25 2:38 p. m.``,
``05/févr./24 09:15`` or ``07.07.2025 20:38``, and another column of the same file
``2025-07-07 20:38:47.182``. This module reads all of these without ``strptime`` (which is
locale-bound and slow): ISO text goes through ``datetime.fromisoformat``; everything else
through two precompiled patterns and a month-name table for English, Spanish, Portuguese,
German and French.

Decisions (each one a policy the rest of the product relies on):

- Two-digit years: 00-68 mean 2000-2068 and 69-99 mean 1969-1999 (the POSIX ``%y`` rule).
- Numeric dates with the year last (``07/08/2025``) are ambiguous. A whole column is read
  one way: day-first when some value's first field is above 12, month-first when some
  value's second field is above 12 (and none's first is), day-first otherwise (Jira's
  default pattern is ``dd/MMM/yy``). See ``detect_day_order`` and ``parser_for_column``.
- Dotted numeric dates (``07.07.2025``) are always day-first: no locale writes them
  month-first.
- A year-first numeric date (``2025/07/07``) is always year-month-day.
- A time without an offset is read in the zone the caller gives (``default_tz``); a date
  without a time means midnight in that zone.
- ``12 AM`` is midnight and ``12 PM`` noon; an hour above 12 with an AM/PM marker is an
  error (it is not a time any locale writes).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, tzinfo
from typing import Callable, Iterable

from vsm_core.timeparse import UTC, to_micros

DAY_FIRST = "dmy"
MONTH_FIRST = "mdy"

DateParser = Callable[[str | None], int | None]

_CACHE_LIMIT = 20_000  # distinct strings remembered per parser; the cache is cleared when full

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    # English, Spanish, Portuguese, German, French: full names and the abbreviations Jira
    # and the CLDR locales use. Accents are added back below in their stripped form too.
    1: ("jan", "january", "ene", "enero", "janeiro", "jän", "januar", "jänner", "janv", "janvier"),
    2: ("feb", "february", "febrero", "fev", "fevereiro", "februar", "févr", "fevr", "fév", "février"),
    3: ("mar", "march", "marzo", "março", "mär", "mrz", "märz", "mars"),
    4: ("apr", "april", "abr", "abril", "avr", "avril"),
    5: ("may", "mayo", "mai", "maio"),
    6: ("jun", "june", "junio", "junho", "juni", "juin"),
    7: ("jul", "july", "julio", "julho", "juli", "juil", "juillet"),
    8: ("aug", "august", "ago", "agosto", "août", "aout"),
    9: ("sep", "sept", "september", "septiembre", "setiembre", "set", "setembro", "septembre"),
    10: ("oct", "october", "octubre", "out", "outubro", "okt", "oktober", "octobre"),
    11: ("nov", "november", "noviembre", "novembro", "novembre"),
    12: ("dec", "december", "dic", "diciembre", "dez", "dezembro", "dezember", "déc", "décembre"),
}


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _build_month_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for number, names in _MONTH_NAMES.items():
        for name in names:
            for form in (name, _strip_accents(name), unicodedata.normalize("NFC", name)):
                existing = table.setdefault(form, number)
                assert existing == number, f"month name {form!r} is ambiguous"
    return table


MONTHS: dict[str, int] = _build_month_table()

_TIME = (
    r"(?:[\sT,]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,6}))?)?"
    r"(?:\s*(?P<ampm>[aApP])\.?\s?[mM]\.?)?)?\s*$"
)
# 22/Dec/25 2:38 PM, 22/dic./25 2:38 p. m., 05-févr.-2024 09:15, 12 Mär 24
_ALPHA = re.compile(r"^\s*(?P<d>\d{1,2})[/\-. ]\s?(?P<mon>[^\W\d_]+)(?:\.?[/\-\s]\s?|\.\s?)(?P<y>\d{4}|\d{2})" + _TIME)
# 07/07/2025 20:38, 07.07.2025, 2025/07/07 8:38 PM, 7-8-25
_NUMERIC = re.compile(r"^\s*(?P<a>\d{1,4})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{4}|\d{2})" + _TIME)
# The vote needs only the leading date of a year-last slash or dash date.
_AMBIGUOUS = re.compile(r"^\s*(\d{1,2})([/\-])(\d{1,2})\2(?:\d{4}|\d{2})(?!\d)")


def _full_year(text: str) -> int:
    """Two-digit years: 00-68 -> 2000-2068, 69-99 -> 1969-1999 (POSIX ``%y``)."""
    year = int(text)
    if len(text) == 2:
        year += 2000 if year <= 68 else 1900
    return year


def _month_number(name: str) -> int:
    lowered = name.lower()
    number = MONTHS.get(lowered)
    if number is None:
        number = MONTHS.get(_strip_accents(lowered))
    if number is None:
        raise ValueError(f"unknown month name {name!r}")
    return number


def _clock(match: re.Match) -> tuple[int, int, int, int]:
    """Hour, minute, second and microsecond of the optional time part of a match."""
    hour_text = match.group("h")
    if hour_text is None:
        return 0, 0, 0, 0
    hour = int(hour_text)
    ampm = match.group("ampm")
    if ampm is not None:
        if hour > 12:
            raise ValueError(f"hour {hour} cannot carry an AM/PM marker")
        if ampm in "pP":
            hour = hour if hour == 12 else hour + 12
        elif hour == 12:
            hour = 0
    seconds = match.group("s")
    fraction = match.group("f")
    micro = int(fraction.ljust(6, "0")) if fraction else 0
    return hour, int(match.group("mi")), int(seconds) if seconds else 0, micro


def _parse_uncached(text: str, order: str, default_tz: tzinfo) -> int:
    """Parse one non-empty date string (no cache); raise ValueError when it is not a date."""
    if text[:4].isdigit():
        try:
            return to_micros(datetime.fromisoformat(text), default_tz)
        except ValueError:
            pass
    match = _ALPHA.match(text)
    if match is not None:
        day, month, year = int(match.group("d")), _month_number(match.group("mon")), _full_year(match.group("y"))
    else:
        match = _NUMERIC.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a date")
        day, month, year = _numeric_date(match.group("a"), match.group("b"), match.group("c"), match.group("sep"), order)
    hour, minute, second, micro = _clock(match)
    return to_micros(datetime(year, month, day, hour, minute, second, micro), default_tz)


def _numeric_date(a: str, b: str, c: str, sep: str, order: str) -> tuple[int, int, int]:
    """Day, month, year of an all-numbers date, by the column's field order."""
    if len(a) == 4:
        return int(c), int(b), int(a)  # year first: always y/m/d
    if len(a) == 3:
        raise ValueError(f"{a}{sep}{b}{sep}{c} is not a date")
    if order == MONTH_FIRST and sep != ".":
        return int(b), int(a), _full_year(c)
    return int(a), int(b), _full_year(c)


def make_parser(order: str = DAY_FIRST, default_tz: tzinfo = UTC) -> DateParser:
    """A parser for one column: text -> microseconds UTC, None for empty, ValueError for junk.

    ``order`` (``DAY_FIRST`` or ``MONTH_FIRST``) settles year-last numeric dates. The
    parser keeps a bounded cache, because export columns repeat the same strings a lot.
    """
    if order not in (DAY_FIRST, MONTH_FIRST):
        raise ValueError(f"unknown date order {order!r}")
    cache: dict[str, int] = {}

    def parse(text: str | None) -> int | None:
        if text is None:
            return None
        value = cache.get(text)
        if value is not None:
            return value
        stripped = text.strip()
        if not stripped:
            return None
        try:
            value = _parse_uncached(stripped, order, default_tz)
        except OverflowError as exc:  # a year the zone arithmetic cannot reach
            raise ValueError(f"{stripped!r} is out of range") from exc
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[text] = value
        return value

    return parse


_DEFAULT_PARSERS: dict[tzinfo, DateParser] = {}


def parse_local_datetime(text: str | None, default_tz: tzinfo = UTC) -> int | None:
    """Microseconds UTC for one date as Jira CSV exports write it (day-first when ambiguous).

    None for empty text; ValueError for text that is not a date. For a whole column use
    ``parser_for_column`` instead, which settles day/month order from all its values.
    """
    parser = _DEFAULT_PARSERS.get(default_tz)
    if parser is None:
        parser = _DEFAULT_PARSERS.setdefault(default_tz, make_parser(DAY_FIRST, default_tz))
    return parser(text)


class DayOrderVote:
    """Decides a column's day/month order from its values, fed one at a time.

    Day-first wins as soon as one value's first field is above 12; month-first needs a
    value whose second field is above 12 and no day-first evidence in the whole column;
    with no evidence either way the column is day-first.
    """

    __slots__ = ("day_first_seen", "month_first_seen")

    def __init__(self) -> None:
        self.day_first_seen = False
        self.month_first_seen = False

    def add(self, text: str) -> None:
        """Take one value into account (cheap; ignores values that are not d/m/y numbers)."""
        if self.day_first_seen or not text:
            return
        match = _AMBIGUOUS.match(text)
        if match is None:
            return
        if int(match.group(1)) > 12:
            self.day_first_seen = True
        elif int(match.group(3)) > 12:
            self.month_first_seen = True

    @property
    def order(self) -> str:
        if self.month_first_seen and not self.day_first_seen:
            return MONTH_FIRST
        return DAY_FIRST


def detect_day_order(values: Iterable[str | None]) -> str:
    """``DAY_FIRST`` or ``MONTH_FIRST`` for a column of date strings (see ``DayOrderVote``)."""
    vote = DayOrderVote()
    for value in values:
        if value:
            vote.add(value)
            if vote.day_first_seen:
                break
    return vote.order


def parser_for_column(values: Iterable[str | None], default_tz: tzinfo = UTC) -> DateParser:
    """The parser that reads every value of a column the same way (order from all values)."""
    return make_parser(detect_day_order(values), default_tz)
