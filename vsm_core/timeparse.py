"""Timestamps as integer microseconds since the Unix epoch, UTC.

Every importer turns the text it reads into this one representation, so that times from
files that mix ``+0100`` and ``+0200`` (daylight saving) subtract correctly. A timestamp
without an offset is read in the zone the user gave (UTC by default).
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000


def zone(name: str | None) -> tzinfo:
    """The time zone named by the user (``UTC``, ``Europe/Madrid``, ``+01:00``)."""
    if not name or name.upper() in {"UTC", "Z", "GMT"}:
        return UTC
    if name[0] in "+-" and len(name) in (5, 6):
        sign = 1 if name[0] == "+" else -1
        digits = name[1:].replace(":", "")
        from datetime import timedelta

        return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}: use a name like Europe/Madrid or an offset like +01:00") from exc


def to_micros(dt: datetime, default_tz: tzinfo = UTC) -> int:
    """Microseconds since the epoch (UTC) for an aware or naive ``datetime``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=default_tz)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def parse_iso(text: str | None, default_tz: tzinfo = UTC) -> int | None:
    """Parse an ISO 8601 time as Jira writes it (``2014-11-24T08:13:13.390+0100``).

    Returns None for empty text; raises ValueError for text that is not a time.
    """
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    return to_micros(datetime.fromisoformat(text), default_tz)


def from_micros(us: int) -> datetime:
    """The aware UTC ``datetime`` for microseconds since the epoch."""
    from datetime import timedelta

    return _EPOCH + timedelta(microseconds=us)


def format_utc(us: int | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` (whole seconds, UTC), the form every JSON output uses."""
    if us is None:
        return None
    return from_micros(us).strftime("%Y-%m-%dT%H:%M:%SZ")
