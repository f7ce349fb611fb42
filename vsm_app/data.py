"""Cached reads for the pages. A data version never changes once stored, so a result keyed
by (dataset id, version) is valid for as long as the server runs."""

from __future__ import annotations

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
    from vsm_core.decisions.inputs import DecisionInputs
    from vsm_core.decisions.levers import recommend_changes

    with _flow(dataset, version, query) as flow:
        inputs = DecisionInputs(flow)
        report = rank_bottlenecks(flow, inputs=inputs)
        changes = recommend_changes(flow, inputs=inputs)
        return {"report": report.to_dict(), "changes": [c.to_dict() for c in changes],
                "stage_map": flow.stage_map.version_id, "clock": flow.clock.label}


def _flow(dataset: str, version: int, query: tuple):
    from vsm_app.viewstate import from_query_params
    from vsm_core.metrics import open_flow

    state, _ = from_query_params({k: list(v) for k, v in query})
    return open_flow(get_store().get(dataset), version, map_id=state.map_id, filters=state.filters, clock=state.clock)


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
    """The map section, the stage table and the items in progress of one view."""
    from vsm_core.decisions.inputs import DecisionInputs
    from vsm_core.export.html_report import key_figures, value_stream_map_html

    ranking = decisions(dataset, version, query)["report"]  # cached: the bootstrap runs once per view
    worst = next((s["stage"] for s in ranking["stages"] if s["stands_out"]), None)
    with _flow(dataset, version, query) as flow:
        inputs = DecisionInputs(flow)
        figures = key_figures(flow, inputs)
        return {"html": value_stream_map_html(flow, inputs, worst=worst), "stages": inputs.stage_table, "ageing": inputs.ageing,
                "figures": figures, "clock": flow.clock.label}
