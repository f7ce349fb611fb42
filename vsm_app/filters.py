"""The sidebar every page shares: the dataset in view, the filters, the clock and the link
that reproduces the view.

The filter widgets are bound to the URL (``bind="query-params"``), so a link restores them and
they keep the URL current as the user changes them. Their keys are the URL parameters of
``vsm_app.viewstate`` and their labels are the values themselves (a bound widget writes its
displayed label into the URL). Streamlit resets a bound widget to its default when a page
switch drops the query string, so each run first puts the session's last values back into the
widgets' state (``_restore``); a fresh session takes the link's values.

The dataset, its data version and the stage map are not widgets: they are written into the URL
on every run (``pin``), so a link names exactly what it shows even after a later import.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import lru_cache
from urllib.parse import urlencode
from zoneinfo import available_timezones

import streamlit as st

from vsm_app.viewstate import ViewState, from_query_params, to_query_params
from vsm_core.metrics.scope import Clock, Filters, parse_zone

FILTER_KEYS = ("from", "to", "type", "all_types", "project", "label", "component", "parent", "clock", "tz", "holiday")
_SAVED = "_view_filters"
CLOCKS = ("calendar", "working")
LIST_WIDGETS = (("type", "types", "Issue types", "Empty: every type but epics and sub-tasks."),
                ("project", "projects", "Projects", None), ("label", "labels", "Labels", None),
                ("component", "components", "Components", None), ("parent", "parents", "Epic or parent", None))


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    return ["UTC", *sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))]


def _restore() -> None:
    """Give each filter widget the session's last value unless this run already has one."""
    saved = st.session_state.setdefault(_SAVED, {})
    for key in FILTER_KEYS:
        if key in saved:
            st.session_state[key] = st.session_state[key] if key in st.session_state else saved[key]


def _remember() -> None:
    st.session_state[_SAVED] = {key: st.session_state[key] for key in FILTER_KEYS if key in st.session_state}


def _keep_known(key: str, options: list[str], problems: list[str], label: str) -> None:
    """Drop values the dataset does not have from a multiselect's state (a link made on another
    dataset, or a value that was removed), saying so once."""
    current = st.session_state.get(key)
    if not current:
        return
    known = [value for value in current if value in options]
    if len(known) != len(current):
        unknown = [value for value in current if value not in options]
        sentence = f"This dataset has no {label.lower()} {', '.join(str(v)[:40] for v in unknown[:5])}, so that filter was left out."
        if sentence not in problems:
            problems.append(sentence)
        st.session_state[key] = known


def _holidays(values: list[str], problems: list[str]) -> tuple[date, ...]:
    days = []
    for value in values:
        try:
            days.append(date.fromisoformat(str(value).strip()))
        except ValueError:
            problems.append(f"The holiday {str(value)[:40]!r} is not a date like 2025-12-25, so it was left out.")
    return tuple(sorted(set(days)))[:366]


def link_problems(raw: dict[str, list[str]], choices: dict[str, list[str]]) -> list[str]:
    """One sentence per value of the link's filters that the view cannot use. The bound widgets
    drop such values silently, so they are checked here, on the URL as it arrived."""
    _, problems = from_query_params({key: values for key, values in raw.items() if key in FILTER_KEYS})
    for key, name, label, _ in LIST_WIDGETS:
        unknown = [value for value in raw.get(key, []) if value not in choices.get(name, [])]
        if unknown:
            problems.append(f"This dataset has no {label.lower()} {', '.join(v[:40] for v in unknown[:5])}, "
                            "so that filter was left out.")
    return problems


def filter_sidebar(choices: dict[str, list[str]], first_day: date | None, last_day: date | None,
                   raw: dict[str, list[str]] | None = None) -> tuple[Filters, Clock, list[str]]:
    """Draw the filters in the sidebar and return the filters and clock they name, with one
    sentence per value that was left out (``raw``: the query parameters as they arrived)."""
    problems: list[str] = link_problems(raw or {}, choices)
    _restore()
    if (raw or {}).get("all_types") == ["1"]:
        st.session_state["all_types"] = True  # links written before the checkbox was bound said 1
    for key, name, label, _ in LIST_WIDGETS:
        _keep_known(key, choices.get(name, []), problems, label)
    if st.session_state.get("clock") not in (None, *CLOCKS):
        st.session_state["clock"] = "calendar"
    if st.session_state.get("tz") not in (None, *time_zones()):
        problems.append(f"The time zone {str(st.session_state['tz'])[:60]!r} is not known here, so UTC is used.")
        st.session_state["tz"] = "UTC"
    with st.sidebar:
        st.subheader("Filters")
        start = st.date_input("From", value=None, key="from", bind="query-params", format="YYYY-MM-DD",
                                min_value=first_day, max_value=last_day, help="First day of the window (local time).")
        end = st.date_input("To", value=None, key="to", bind="query-params", format="YYYY-MM-DD",
                               min_value=first_day, max_value=last_day, help="Last day of the window, included.")
        lists = {}
        for key, name, label, help_text in LIST_WIDGETS:
            options = choices.get(name, [])
            if options or key == "type":
                lists[name] = tuple(st.multiselect(label, options, key=key, bind="query-params", help=help_text,
                                                   placeholder="All"))
        all_types = st.checkbox("Include epics and sub-tasks", key="all_types", bind="query-params",
                                help="Off: epics and sub-tasks are left out, so work is not counted twice.")
        st.button("Clear the filters", on_click=reset_filters, icon=":material/filter_alt_off:")
        st.subheader("Clock")
        kind = st.radio("Count time in", CLOCKS, key="clock", bind="query-params", horizontal=True,
                        help="working: weekends and the holidays below are removed.") or "calendar"
        zone = st.selectbox("Team time zone", time_zones(), key="tz", bind="query-params",
                            help="Days, weeks and weekends are read in this zone.") or "UTC"
        holidays = ()
        if kind == "working":
            holidays = _holidays(st.multiselect("Holidays", [], key="holiday", bind="query-params", accept_new_options=True,
                                                placeholder="Type a date like 2025-12-25"), problems)
    _remember()
    if start and end and end < start:
        if not any("ends before it starts" in problem for problem in problems):
            problems.append("The date window ends before it starts, so the dates were swapped.")
        start, end = end, start
    try:
        parse_zone(zone)
    except ValueError:
        zone = "UTC"
    filters = Filters(start=start, end=end, all_types=bool(all_types), issue_types=lists.get("types", ()),
                      projects=lists.get("projects", ()), labels=lists.get("labels", ()),
                      components=lists.get("components", ()), parents=lists.get("parents", ()))
    return filters, Clock(kind, zone, holidays), problems


def reset_filters() -> None:
    """Back to the whole dataset (the clock is kept)."""
    defaults = {"from": None, "to": None, "all_types": False, **{key: [] for key, *_ in LIST_WIDGETS}}
    for key, value in defaults.items():
        st.session_state[key] = value
    st.session_state[_SAVED] = {**st.session_state.get(_SAVED, {}), **defaults}


def cache_key(state: ViewState) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The part of a view that changes what is computed (map, filters, clock), as a sorted tuple:
    the key of the cached computations. The selection is left out: choosing a stage to look
    into does not recompute the view."""
    params = to_query_params(replace(state, dataset=None, version=None, stage=None))
    return tuple(sorted((key, tuple(values)) for key, values in params.items()))


def view_link(page_url: str | None, state: ViewState) -> str:
    """The read-only link that reproduces ``state`` on the page at ``page_url``."""
    query = urlencode([(key, value) for key, values in to_query_params(state).items() for value in values])
    base = (page_url or "").split("?", 1)[0]
    return f"{base}?{query}" if query else base
