"""Page set-up shared by every page: the store, the demo dataset, the dataset in the URL."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from vsm_app import access
from vsm_app.display import plain
from vsm_app.navigation import ensure_navigation
from vsm_app.viewstate import ViewState
from vsm_core.ingest import SourceFile, import_files
from vsm_core.stagemap import list_stage_maps
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


@st.cache_resource(ttl=3600, show_spinner=False)
def apply_retention() -> int:
    """With ``VSM_RETENTION_DAYS`` set, delete datasets older than that, at most once an hour
    (on the first page run of each hour); returns how many went."""
    raw = os.environ.get("VSM_RETENTION_DAYS", "").strip()
    try:
        days = float(raw) if raw else 0.0
    except ValueError:
        days = 0.0
    return len(get_store().expire(days)) if days > 0 else 0


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


def _wanted_version(info: DatasetInfo) -> int:
    """The data version the URL names, else the one this session last showed for the dataset,
    else the latest. A link keeps its version: a later import is offered, not swapped in."""
    raw = st.query_params.get("v")
    if raw and raw.isdigit() and int(raw) in info.versions:
        return int(raw)
    if raw:
        st.warning(f"This dataset has no data version {raw[:12]!r}; showing its latest version.")
    remembered = st.session_state.get("view_version")
    if remembered and remembered[0] == info.dataset and remembered[1] in info.versions:
        return remembered[1]
    return info.latest


def current_view(store: Store) -> View | None:
    """The dataset and version named in the URL (when this visitor may see it), else the demo.

    A dataset that does not exist and one the visitor may not see get the same sentence, so a
    link cannot be used to learn which ids exist. No other dataset is ever shown in their
    place: without a link, a visitor sees only the demo."""
    # Streamlit drops query parameters on a page switch: the session remembers the dataset.
    wanted = st.query_params.get("dataset") or st.session_state.get("dataset")
    info = None
    if wanted:
        try:
            info = store.get_by_id(wanted)
        except StoreError:
            info = None
        if info is not None and not access.may_view(info):
            info = None
        if info is None:
            st.session_state.pop("dataset", None)
            st.error("The dataset in this link does not exist or is not shared with you, so the demo dataset is shown.")
    if info is None:
        info = next((d for d in store.datasets() if d.demo), None)
    if info is None:
        return None
    if st.session_state.get("dataset") != info.dataset:
        st.session_state.pop("view_map", None)  # a stage map belongs to its dataset
    version = _wanted_version(info)
    st.query_params["dataset"] = info.dataset
    st.query_params["v"] = str(version)
    st.session_state["dataset"] = info.dataset
    st.session_state["view_version"] = (info.dataset, version)
    return View(info=info, version=version, meta=info.meta(version))


def page_setup(title: str) -> tuple[Store, View | None]:
    """The one idempotent set-up call every page starts with."""
    ensure_navigation()
    access.require_login()
    access.take_edit_key_from_url()
    store = get_store()
    apply_retention()
    view = current_view(store)
    return store, view


def caption_for(view: View, clock: str = "calendar time (every day counts)") -> str:
    """Dataset, data version, as-of time and the clock in use: shown on every page."""
    return f"{plain(view.info.name)} · data version {view.version} · as of {view.meta.get('as_of')} (UTC) · {plain(clock)}"


def _offer_newer_version(view: View) -> None:
    """A link pinned to an older data version keeps showing it, and says a newer one exists."""
    if view.version >= view.info.latest:
        return
    newer = view.info.meta(view.info.latest)
    with st.container(border=True):
        st.info(f"This link shows data version {view.version} (as of {view.meta.get('as_of')} UTC). "
                f"A newer version {view.info.latest} exists, as of {newer.get('as_of')} UTC.", icon=":material/update:")
        if st.button("Show the newest data", key="newest_version"):
            st.session_state["view_version"] = (view.info.dataset, view.info.latest)
            st.query_params["v"] = str(view.info.latest)
            # A saved stage map belongs to the dataset and stays; an inferred one belongs to its
            # data version, so the newer version's own is used.
            if st.session_state.get("view_map") not in {row[0] for row in list_stage_maps(view.info.path)}:
                choose_stage_map(None)
            st.rerun()


def _stage_map_id(view: View) -> str | None:
    """The stage map the URL names (kept for the session), else the one the dataset uses now,
    pinned into the URL so that saving a new map later does not change this link's view."""
    from vsm_app import data

    raw = st.query_params.get("map") or st.session_state.get("view_map")
    if raw and not re.fullmatch(r"[0-9a-f]{16}", raw):
        st.warning("The link's stage map id is not one this product makes, so the dataset's current map is shown.")
        raw = None
    map_id = raw or data.current_map_id(view.info.dataset, view.version)
    st.session_state["view_map"] = map_id
    st.query_params["map"] = map_id
    return map_id


def view_state(view: View) -> ViewState:
    """Draw the shared sidebar (filters, clock, share link) and return the view it names."""
    from vsm_app import data
    from vsm_app.filters import filter_sidebar

    choices = data.filter_choices(view.info.dataset, view.version)
    first = view.meta.get("first_created")
    last = view.meta.get("as_of")
    raw = {key: st.query_params.get_all(key) for key in st.query_params}
    filters, clock, problems = filter_sidebar(choices, _day(first), _day(last), raw)
    for problem in problems:
        st.warning(problem)
    stage = st.session_state.get("stage") or st.query_params.get("stage")
    return ViewState(view.info.dataset, view.version, _stage_map_id(view), filters, clock,
                     stage if isinstance(stage, str) and len(stage) <= 200 else None)


def _day(text: str | None):
    from datetime import date

    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def share_link(state: ViewState) -> None:
    """The read-only link of the view, in the sidebar, with a copy button."""
    from vsm_app.filters import view_link

    with st.sidebar:
        st.subheader("Share this view")
        st.code(view_link(st.context.url, state), language=None, wrap_lines=True)
        st.caption(f"Read-only link: this page, these filters and clock, data version {state.version}, "
                   f"stage map {state.map_id}. Copy it with the button at its right.")


def computed_view(title: str, compute):
    """Set-up of a page that shows a computed view: the dataset, the view the URL and the
    sidebar name, and ``compute(dataset, version, query)`` (a cached function of
    ``vsm_app.data``; ``query`` is ``filters.cache_key(state)``). Stops the page with one
    sentence when there is no dataset or the view cannot be computed (a stage map id the
    dataset does not have...)."""
    from vsm_app.filters import cache_key

    _, view = page_setup(title)
    if view is None:
        st.title(title)
        st.info("No dataset yet. Upload a Jira export on the Upload page to begin.")
        st.stop()
    state = view_state(view)
    share_link(state)
    _offer_newer_version(view)
    query = cache_key(state)
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
