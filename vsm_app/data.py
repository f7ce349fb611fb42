"""Cached reads for the pages. A data version never changes once stored, so a result keyed
by (dataset id, version) is valid for as long as the server runs."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pandas as pd
import streamlit as st

from vsm_app.context import get_store
from vsm_core import queries


@st.cache_data(max_entries=64, show_spinner=False)
def status_summary(dataset: str, version: int) -> pd.DataFrame:
    return queries.status_summary(get_store().get(dataset), version)


@st.cache_data(max_entries=64, show_spinner=False)
def findings(dataset: str, version: int) -> pd.DataFrame:
    return queries.table(get_store().get(dataset), version, "findings")


@st.cache_data(max_entries=32, show_spinner="Ranking the stages and replaying the changes...")
def decisions(dataset: str, version: int, query: tuple[tuple[str, tuple[str, ...]], ...]) -> dict:
    """The bottleneck ranking and the recommended changes of one view, as plain values. Keyed
    by the view's query parameters (as a sorted tuple), so a link always gets the same answer."""
    from vsm_core.decisions.bottlenecks import rank_bottlenecks
    from vsm_core.decisions.levers import recommend_changes
    from vsm_core.export.html_report import key_figures

    with _view(dataset, version, query) as prepared:
        flow, inputs = prepared.flow, prepared.inputs
        report = rank_bottlenecks(flow, inputs=inputs)
        changes = recommend_changes(flow, inputs=inputs)
        # The key figures come from the same prepared view: the Overview needs no second one.
        return {"report": report.to_dict(), "changes": [c.to_dict() for c in changes], "figures": key_figures(flow, inputs),
                "stage_map": flow.stage_map.version_id, "clock": flow.clock.label}


class PreparedView:
    """One prepared view (its DuckDB tables) shared by the cached computations of that view, so
    a page that shows the ranking, the map and a drill-down prepares the view once. DuckDB runs
    one statement at a time per connection, so users of the same view take turns (``lock``);
    the decision inputs are kept with it for the same reason."""

    def __init__(self, flow):
        self.flow = flow
        self.lock = threading.RLock()
        self.closed = False
        self._inputs = None

    @property
    def inputs(self):
        from vsm_core.decisions.inputs import DecisionInputs

        if self._inputs is None:
            self._inputs = DecisionInputs(self.flow)
        return self._inputs

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.flow.close()


def _open(dataset: str, version: int, query: tuple):
    from vsm_app.viewstate import from_query_params
    from vsm_core.metrics import open_flow

    state, _ = from_query_params({k: list(v) for k, v in query})
    return open_flow(get_store().get(dataset), version, map_id=state.map_id, filters=state.filters, clock=state.clock)


# At most 4 views stay prepared (a few hundred MB on 100,000 issues); the oldest is closed.
@st.cache_resource(max_entries=4, on_release=PreparedView.close, show_spinner=False)
def _prepared(dataset: str, version: int, query: tuple) -> PreparedView:
    return PreparedView(_open(dataset, version, query))


@contextmanager
def _view(dataset: str, version: int, query: tuple):
    """The prepared view, held for the caller alone while in the ``with`` block."""
    prepared = _prepared(dataset, version, query)
    with prepared.lock:
        if not prepared.closed:
            yield prepared
            return
    with _open(dataset, version, query) as flow:  # released meanwhile: a private one
        yield PreparedView(flow)


@contextmanager
def _flow(dataset: str, version: int, query: tuple):
    with _view(dataset, version, query) as prepared:
        yield prepared.flow


@st.cache_data(max_entries=32, show_spinner="Replaying history under the change...")
def what_if(dataset: str, version: int, query: tuple, targets: tuple[tuple[str, float, float, int | None], ...]) -> dict:
    """A what-if of one view, as plain values (``targets``: stage, wait %, active %, WIP limit)."""
    from vsm_core.decisions.whatif import StageTarget
    from vsm_core.decisions.whatif import what_if as project

    with _flow(dataset, version, query) as flow:
        return project(flow, [StageTarget(s, w, a, limit) for s, w, a, limit in targets]).to_dict()


@st.cache_data(max_entries=64, show_spinner="Reading the experiments...")
def experiment_results(dataset: str, version: int, query: tuple, experiments: tuple[str, ...]) -> list[dict]:
    """Before vs after for each saved experiment (by id) of one view; a failed read says why."""
    from vsm_core.decisions import experiments as saved

    info = get_store().get(dataset)
    results = []
    with _flow(dataset, version, query) as flow:
        for experiment_id in experiments:
            try:
                results.append(saved.evaluate(flow, saved.load_experiment(info.path, experiment_id)).to_dict())
            except ValueError as exc:
                results.append({"experiment": {"experiment_id": experiment_id}, "error": str(exc)})
    return results


@st.cache_data(max_entries=16, show_spinner="Writing the report...")
def leader_report(dataset: str, version: int, query: tuple) -> str:
    """The one-page HTML report for leaders of one view."""
    from vsm_core.export import leader_report_html

    info = get_store().get(dataset)
    with _flow(dataset, version, query) as flow:
        return leader_report_html(flow, dataset_name=info.name, dataset_id=dataset, version=version)


@st.cache_data(max_entries=32, show_spinner="Computing the flow...")
def flow_tables(dataset: str, version: int, query: tuple) -> dict:
    """The tables of the Flow page for one view."""
    from vsm_core.metrics import measures

    with _flow(dataset, version, query) as flow:
        return {"wip": measures.wip_daily(flow), "throughput": measures.throughput(flow),
                "finished": measures.finished_items(flow), "ageing": measures.ageing(flow), "clock": flow.clock.label}


@st.cache_data(max_entries=32, show_spinner="Drawing the value stream...")
def stream_map(dataset: str, version: int, query: tuple) -> dict:
    """The map of one view (a frame document whose stages link to their drill-down, and the
    frame's height), the stage and %C&A tables, the items in progress and the worst stage."""
    from vsm_core.export.html_report import value_stream_map

    decided = decisions(dataset, version, query)  # cached: the bootstrap runs once per view
    worst = next((s["stage"] for s in decided["report"]["stages"] if s["stands_out"]), None)
    figures = decided["figures"]
    with _view(dataset, version, query) as prepared:
        flow, inputs = prepared.flow, prepared.inputs
        document = value_stream_map(flow, inputs, worst=worst, figures=figures,
                                    stage_href=stage_link(dataset, version, query))
        return {"html": document.html, "height": document.height, "stages": inputs.stage_table, "ageing": inputs.ageing,
                "complete_accurate": inputs.complete_and_accurate, "worst": worst, "figures": figures,
                "clock": flow.clock.label}


def stage_link(dataset: str, version: int, query: tuple):
    """``href(stage)``: the Stream map page of this view (dataset, data version, stage map,
    filters, clock) opened on ``stage``, as a link relative to the page."""
    from dataclasses import replace
    from urllib.parse import urlencode

    from vsm_app.viewstate import from_query_params, to_query_params

    state, _ = from_query_params({k: list(v) for k, v in query})

    def href(stage: str) -> str:
        params = to_query_params(replace(state, dataset=dataset, version=version, stage=stage))
        return "stream_map?" + urlencode(params, doseq=True)

    return href


@st.cache_data(max_entries=64, show_spinner="Reading the times of the stage...")
def stage_distribution(dataset: str, version: int, query: tuple, stage: str) -> pd.DataFrame:
    """Per item of one view that entered ``stage``: its hours there (all visits together; so far,
    for one still there) and whether it is there now (the drill-down's time distribution)."""
    from vsm_core.metrics import measures

    with _flow(dataset, version, query) as flow:
        return measures.stage_entries(flow, stage)


@st.cache_data(max_entries=64, show_spinner=False)
def filter_choices(dataset: str, version: int) -> dict[str, list[str]]:
    return queries.filter_choices(get_store().get(dataset), version)


def current_map_id(dataset: str, version: int) -> str:
    """The stage map a view uses when its link names none (not cached: saving a map changes it,
    and it reads two small files)."""
    from vsm_core.metrics.flow import current_map_id as resolve

    return resolve(get_store().get(dataset), version)
