"""The view a URL names: dataset, data version, stage map, filters, clock and selection.

One small, typed codec between query parameters and a frozen ``ViewState`` (and from it the
``Filters`` and ``Clock`` the measures take), so that a link pasted into a fresh browser shows
exactly the same view. Defaults are left out of the URL; dates are absolute ISO dates; lists
use repeated keys (``?type=Bug&type=Story``). A value the product cannot use is dropped with
one sentence saying so (the page shows it), never an error page. This module does not import
Streamlit: pages hand it ``st.query_params`` as a mapping of lists.

Parameters: ``dataset``, ``v`` (data version), ``map`` (stage map id), ``from``/``to`` (the date
window, both days included), ``type`` (repeated), ``all_types=true``, ``project``, ``label``,
``component``, ``parent`` (repeated), ``clock=working``, ``tz``, ``holiday`` (repeated), ``stage``
(the stage a drill-down shows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from vsm_core.metrics.scope import Clock, Filters, parse_zone

_DATASET_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_MAP_RE = re.compile(r"^[0-9a-f]{16}$")
MAX_TEXT = 200
MAX_VALUES = 50
LIST_PARAMS = {"type": "issue_types", "project": "projects", "label": "labels", "component": "components", "parent": "parents"}


@dataclass(frozen=True)
class ViewState:
    dataset: str | None = None
    version: int | None = None  # None: the latest data version
    map_id: str | None = None  # None: the dataset's latest saved map, else the inferred one
    filters: Filters = field(default_factory=Filters)
    clock: Clock = field(default_factory=Clock)
    stage: str | None = None


def _values(params: Mapping[str, Sequence[str] | str], name: str) -> list[str]:
    raw = params.get(name)
    if raw is None:
        return []
    values = [raw] if isinstance(raw, str) else list(raw)
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _one(params, name: str) -> str | None:
    values = _values(params, name)
    return values[-1] if values else None


def _day(text: str | None, name: str, problems: list[str]) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"The link's {name} date {text[:40]!r} is not a date like 2025-06-30, so it was left out.")
        return None


def _texts(params, name: str, problems: list[str]) -> tuple[str, ...]:
    values = [v for v in _values(params, name) if len(v) <= MAX_TEXT]
    if len(values) > MAX_VALUES:
        problems.append(f"The link names more than {MAX_VALUES} values for {name}; the first {MAX_VALUES} were kept.")
        values = values[:MAX_VALUES]
    return tuple(dict.fromkeys(values))  # repeated values once, order kept


def from_query_params(params: Mapping[str, Sequence[str] | str]) -> tuple[ViewState, list[str]]:
    """The view the parameters name, and one sentence per value that was left out."""
    problems: list[str] = []
    dataset = _one(params, "dataset")
    if dataset is not None and not _DATASET_RE.match(dataset):
        problems.append("The link's dataset id is not one this product makes, so it was left out.")
        dataset = None
    version = _one(params, "v")
    if version is not None:
        version = int(version) if version.isdigit() and 0 < int(version) < 10**6 else None
        if version is None:
            problems.append("The link's data version is not a whole number, so the latest version is shown.")
    map_id = _one(params, "map")
    if map_id is not None and not _MAP_RE.match(map_id):
        problems.append("The link's stage map id is not one this product makes, so the dataset's current map is shown.")
        map_id = None
    filters = _filters(params, problems)
    clock = _clock(params, problems)
    stage = _one(params, "stage")
    if stage is not None and len(stage) > MAX_TEXT:
        stage = None
    return ViewState(dataset, version, map_id, filters, clock, stage), problems


def _filters(params, problems: list[str]) -> Filters:
    start, end = _day(_one(params, "from"), "start", problems), _day(_one(params, "to"), "end", problems)
    if start and end and end < start:
        problems.append("The link's date window ends before it starts, so the dates were swapped.")
        start, end = end, start
    lists = {attr: _texts(params, name, problems) for name, attr in LIST_PARAMS.items()}
    return Filters(start=start, end=end, all_types=(_one(params, "all_types") or "").lower() in ("1", "true"), **lists)


def _clock(params, problems: list[str]) -> Clock:
    kind = _one(params, "clock") or "calendar"
    if kind not in ("calendar", "working"):
        problems.append(f"The link's clock {kind[:40]!r} is not calendar or working, so the calendar clock is used.")
        kind = "calendar"
    zone = _one(params, "tz") or "UTC"
    try:
        parse_zone(zone)
    except ValueError:
        problems.append(f"The link's time zone {zone[:60]!r} is not known here, so UTC is used.")
        zone = "UTC"
    holidays = tuple(sorted({d for d in (_day(h, "holiday", problems) for h in _values(params, "holiday")) if d}))
    return Clock(kind, zone, holidays[:366])


def to_query_params(state: ViewState) -> dict[str, list[str]]:
    """The parameters that name ``state``, defaults left out, in a stable order."""
    f, c = state.filters, state.clock
    params: dict[str, list[str]] = {}

    def put(name: str, values) -> None:
        values = [str(v) for v in values if v not in (None, "", False)]
        if values:
            params[name] = values

    put("dataset", [state.dataset])
    put("v", [state.version])
    put("map", [state.map_id])
    put("from", [f.start.isoformat() if f.start else None])
    put("to", [f.end.isoformat() if f.end else None])
    for name, attr in LIST_PARAMS.items():
        put(name, getattr(f, attr))
    put("all_types", ["true" if f.all_types else None])  # as the bound checkbox writes it
    put("clock", ["working" if c.kind == "working" else None])
    put("tz", [c.timezone if c.timezone != "UTC" else None])
    put("holiday", [d.isoformat() for d in c.holidays])
    put("stage", [state.stage])
    return params


def describe(state: ViewState) -> str:
    """The view in words, for the caption of every page and report."""
    f = state.filters
    parts = []
    if f.start or f.end:
        parts.append(f"{f.start.isoformat() if f.start else 'the start'} to {f.end.isoformat() if f.end else 'the as-of day'}")
    if f.issue_types:
        parts.append("types " + ", ".join(f.issue_types))
    elif f.all_types:
        parts.append("all issue types")
    else:
        parts.append("all issue types but epics and sub-tasks")
    for label, values in (("project", f.projects), ("label", f.labels), ("component", f.components), ("parent", f.parents)):
        if values:
            parts.append(f"{label}{'s' if len(values) > 1 else ''} {', '.join(values)}")
    parts.append(state.clock.label)
    return "; ".join(parts)
