"""The team's clock: its time zone, its working hours, and time written the way Jira writes it.

Durations of work in the simulation are in working time (09:00-18:00 on working days in
Europe/Berlin), so work skips nights, weekends and public holidays; changelog times are
calendar times with the local offset, so the export crosses daylight saving like a real one.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

TEAM_ZONE = ZoneInfo("Europe/Berlin")
DEMO_END = datetime(2026, 11, 2, 17, 0, tzinfo=timezone(timedelta(hours=1)))

HOUR = 3600.0
WORK_DAY = 9 * HOUR  # 09:00-18:00 local
MINUTE = 60.0
HOLIDAYS = {(1, 1), (5, 1), (10, 3), (12, 24), (12, 25), (12, 26), (12, 31)}


class WorkCalendar:
    """Maps calendar time (epoch seconds) to working time (seconds of 09:00-18:00 on working
    days, in the team's zone) and back, so durations of work skip nights and weekends.

    Decision: the working window never contains a daylight-saving jump (those happen at
    night), so each working day is one contiguous block of 9 real hours.
    """

    def __init__(self, first_day: date):
        self._starts: list[float] = []
        self._next_day = first_day
        self._extend()

    def _extend(self, days: int = 400) -> None:
        added = 0
        while added < days:
            day = self._next_day
            self._next_day = day + timedelta(days=1)
            if day.weekday() < 5 and (day.month, day.day) not in HOLIDAYS:
                self._starts.append(datetime(day.year, day.month, day.day, 9, tzinfo=TEAM_ZONE).timestamp())
                added += 1

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and (day.month, day.day) not in HOLIDAYS

    def to_work(self, t: float) -> float:
        while t > self._starts[-1]:
            self._extend()
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            return 0.0
        return i * WORK_DAY + min(t - self._starts[i], WORK_DAY)

    def to_cal(self, w: float) -> float:
        i = int(w // WORK_DAY)
        while i >= len(self._starts):
            self._extend()
        return self._starts[i] + (w - i * WORK_DAY)

    def add(self, t: float, seconds: float) -> float:
        """The calendar time after ``seconds`` of working time from ``t``."""
        return self.to_cal(self.to_work(t) + seconds)


def local_at(day: date, hour: int, minute: int = 0) -> float:
    """Epoch seconds of ``hour:minute`` on ``day`` in the team's zone."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TEAM_ZONE).timestamp()


_OFFSETS: dict[int, str] = {}


def jira_time(t: float) -> str:
    """``2025-03-04T10:15:32.123+0100``: local team time with its offset, as Jira writes."""
    ms = int(round(t * 1000))
    sec, msec = divmod(ms, 1000)
    local = datetime.fromtimestamp(sec, TEAM_ZONE)
    offset = int(local.utcoffset().total_seconds())
    text = _OFFSETS.get(offset)
    if text is None:
        sign = "+" if offset >= 0 else "-"
        hours, rest = divmod(abs(offset), 3600)
        text = _OFFSETS[offset] = f"{sign}{hours:02d}{rest // 60:02d}"
    return f"{local:%Y-%m-%dT%H:%M:%S}.{msec:03d}{text}"
