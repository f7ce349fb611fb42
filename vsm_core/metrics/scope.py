"""What a flow measure looks at (``Filters``) and how it counts time (``Clock``).

Both are frozen values, so a page, the command line and a share link can carry them and a
cache can key on them. ``issue_filter_sql`` turns the filters into a SQL condition on the
``issues`` table: every clause comes from a fixed allow-list and every value is a bound
parameter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

# Default scope (field guide, section 2a): epics and sub-tasks are left out unless chosen, so a
# sub-task and its parent do not count the same work twice. Jira's type names, also localised.
DEFAULT_EXCLUDED_TYPES = (
    "epic", "épica", "epico", "épico",
    "sub-task", "subtask", "sub task", "sub-tarea", "subtarea", "sub-tarefa", "subtarefa",
    "sous-tâche", "sous-tache", "unteraufgabe", "teilaufgabe",
)

# Each clause is fixed text with bound parameters; nothing from the user is pasted into SQL.
_CLAUSES = {
    "types": "list_contains($types, lower(coalesce(type, '')))",
    "default_types": "NOT list_contains($excluded_types, lower(coalesce(type, '')))",
    "projects": "list_contains($projects, project)",
    "labels": "list_has_any(coalesce(labels, []), $labels)",
    "components": "list_has_any(coalesce(components, []), $components)",
    "parents": "list_contains($parents, parent)",
}


@dataclass(frozen=True)
class Filters:
    """Which issues a measure covers.

    ``start``/``end`` is the date window (both days included, read in the clock's time zone):
    finished-item measures pick items that finished in it; WIP, ageing and the cumulative flow
    pick items whose life overlaps it. Empty tuples mean "no restriction", except
    ``issue_types``: empty means the default scope (every type but epics and sub-tasks), unless
    ``all_types`` is set.
    """

    start: date | None = None
    end: date | None = None
    issue_types: tuple[str, ...] = ()
    all_types: bool = False
    projects: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"The date window ends ({self.end}) before it starts ({self.start}); swap the dates.")


@dataclass(frozen=True)
class Clock:
    """How durations are counted.

    ``calendar`` (the default): every hour counts. ``working``: weekends (Saturday and Sunday)
    and the listed holidays are removed whole, as local days in ``timezone``; every other day
    counts all its 24 hours, so on both clocks a "day" is 24 hours of that clock (one working
    day on the working clock). Weeks and days (throughput, daily WIP) are local to
    ``timezone`` on both clocks.
    """

    kind: str = "calendar"
    timezone: str = "UTC"
    holidays: tuple[date, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in ("calendar", "working"):
            raise ValueError(f"The clock {self.kind!r} is not known; use calendar or working.")
        parse_zone(self.timezone)

    @property
    def label(self) -> str:
        if self.kind == "calendar":
            return "calendar time (every day counts)"
        extra = f", {len(self.holidays)} holiday{'s' if len(self.holidays) != 1 else ''}" if self.holidays else ""
        return f"working time (weekends{extra} removed, {self.timezone})"

    def day_start(self, day: date) -> datetime:
        """The UTC instant a local day starts at in this clock's time zone."""
        local = datetime.combine(day, time.min, tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(UTC)


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def parse_zone(name: str) -> str:
    """``name`` if it is a time zone this machine knows, else ValueError with one sentence."""
    if name not in _zones():
        raise ValueError(f"{name!r} is not a time zone name; use one like Europe/Madrid or UTC.")
    return name


def issue_filter_sql(filters: Filters) -> tuple[str, dict]:
    """A SQL condition over ``issues`` columns and its bound parameters."""
    clauses, params = [], {}
    if filters.issue_types:
        clauses.append(_CLAUSES["types"])
        params["types"] = [t.strip().lower() for t in filters.issue_types]
    elif not filters.all_types:
        clauses.append(_CLAUSES["default_types"])
        params["excluded_types"] = list(DEFAULT_EXCLUDED_TYPES)
    for name in ("projects", "labels", "components", "parents"):
        values = getattr(filters, name)
        if values:
            clauses.append(_CLAUSES[name])
            params[name] = list(values)
    return (" AND ".join(clauses) or "true"), params


def window_bounds(filters: Filters, clock: Clock) -> tuple[datetime | None, datetime | None]:
    """The window as UTC instants: [start of ``start``, start of the day after ``end``)."""
    lower = clock.day_start(filters.start) if filters.start else None
    upper = clock.day_start(filters.end + timedelta(days=1)) if filters.end else None
    return lower, upper
