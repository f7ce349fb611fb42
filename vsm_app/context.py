"""Page set-up shared by every page: the store, the demo dataset, the dataset in the URL."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from vsm_app.display import plain
from vsm_app.navigation import ensure_navigation
from vsm_core.ingest import SourceFile, import_files
from vsm_core.store import DatasetInfo, Store, StoreError, open_store

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "data" / "demo"
DEMO_NAME = "Demo team (simulated)"
DEMO_FILES = ("demo-jira-export.json.gz", "demo-statuses.json", "demo-board-configuration.json")


@st.cache_resource(show_spinner=False)
def get_store() -> Store:
    """The store this server uses (``$VSM_STORE`` or the default); the demo is imported once."""
    store = open_store(os.environ.get("VSM_STORE"))
    store.sweep_staging()
    ensure_demo(store)
    return store


def ensure_demo(store: Store) -> DatasetInfo | None:
    for info in store.datasets():
        if info.demo:
            return info
    files = [DEMO_DIR / name for name in DEMO_FILES if (DEMO_DIR / name).exists()]
    if not files:
        return None
    result = import_files(store, [SourceFile(p, p.name) for p in files], name=DEMO_NAME)
    info = store.get(result.dataset)
    store.mark_demo(info.dataset)
    return store.get(result.dataset)


@dataclass(frozen=True)
class View:
    info: DatasetInfo
    version: int
    meta: dict


def current_view(store: Store) -> View | None:
    """The dataset and version named in the URL, else the demo (or newest) dataset."""
    # Streamlit drops query parameters on a page switch: the session remembers the dataset.
    wanted = st.query_params.get("dataset") or st.session_state.get("dataset")
    info = None
    if wanted:
        try:
            info = store.get(wanted)
        except StoreError:
            st.error("The dataset in this link does not exist (it may have been deleted). Showing the demo dataset instead.")
    if info is None:
        datasets = store.datasets()
        demo = [d for d in datasets if d.demo]
        info = (demo or datasets or [None])[0]
    if info is None:
        return None
    version = info.latest
    raw_version = st.query_params.get("v")
    if raw_version and raw_version.isdigit() and int(raw_version) in info.versions:
        version = int(raw_version)
    st.query_params["dataset"] = info.dataset
    st.session_state["dataset"] = info.dataset
    return View(info=info, version=version, meta=info.meta(version))


def page_setup(title: str) -> tuple[Store, View | None]:
    """The one idempotent set-up call every page starts with."""
    ensure_navigation()
    store = get_store()
    view = current_view(store)
    return store, view


def caption_for(view: View, clock: str = "calendar clock") -> str:
    """Dataset, data version, as-of time and the clock in use: shown on every page."""
    return f"{plain(view.info.name)} · data version {view.version} · as of {view.meta.get('as_of')} (UTC) · {plain(clock)}"


def view_from_url():
    """The view the URL names (filters, clock, stage map, selection) and its query parameters
    as a sorted tuple (a cache key); a value the product cannot use is dropped with a warning."""
    from vsm_app.viewstate import from_query_params

    params = {key: st.query_params.get_all(key) for key in st.query_params}
    state, problems = from_query_params(params)
    for problem in problems:
        st.warning(problem)
    return state, tuple(sorted((key, tuple(values)) for key, values in params.items()))


def computed_view(title: str, compute):
    """Set-up of a page that shows a computed view: the dataset, the view the URL names and
    ``compute(dataset, version, query)`` (a cached function of ``vsm_app.data``). Stops the page
    with one sentence when there is no dataset or the view cannot be computed (a stage map id
    the dataset does not have...)."""
    _, view = page_setup(title)
    if view is None:
        st.title(title)
        st.info("No dataset yet. Upload a Jira export on the Upload page to begin.")
        st.stop()
    state, query = view_from_url()
    try:
        result = compute(view.info.dataset, view.version, query)
    except ValueError as exc:
        st.error(str(exc))
        st.stop()
    return view, state, query, result


def decisions_view(title: str):
    """``computed_view`` with the bottleneck ranking and the changes of the view."""
    from vsm_app import data

    return computed_view(title, data.decisions)


def choose_stage_map(map_id: str | None) -> None:
    """Show the current dataset under stage map ``map_id`` from the next run on (None: the
    dataset's latest saved map); the URL names it, so the link reproduces the view."""
    if map_id:
        st.session_state["view_map"] = map_id
        st.query_params["map"] = map_id
    else:
        st.session_state.pop("view_map", None)
        st.query_params.pop("map", None)
