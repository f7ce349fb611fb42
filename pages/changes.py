from datetime import date

import pandas as pd
import streamlit as st

from vsm_app import access, data
from vsm_app.context import caption_for, decisions_view
from vsm_app.display import plain
from vsm_app.viewstate import describe
from vsm_core import charts
from vsm_core.decisions import experiments
from vsm_core.decisions.levers import LEVERS

view, state, query, decided = decisions_view("Changes")
committed = [s["stage"] for s in decided["report"]["stages"]]

st.title("Future state and experiments")
st.caption(f"{caption_for(view, decided['clock'])} · {plain(describe(state).rsplit('; ', 1)[0])} · stage map {decided['stage_map']}")

st.header("What if a stage changed?")
if not committed:
    st.info("This dataset has no committed stage to change.")
else:
    top = decided["changes"][0]["stage"] if decided["changes"] and decided["changes"][0]["stage"] in committed else committed[0]
    # One row per committed stage; on a first visit the top change's stage has its wait halved.
    plan = pd.DataFrame({"stage": committed, "wait": [50 if s == top else 0 for s in committed],
                         "active": 0, "limit": 0})
    with st.form("whatif"):
        st.caption("Set a change for any stage (several at once if you like), then project.")
        edited = st.data_editor(
            plan, hide_index=True, width="stretch", key=f"whatif-{view.info.dataset}-{view.version}",
            disabled=["stage"],
            column_config={
                "stage": st.column_config.TextColumn("Stage"),
                "wait": st.column_config.NumberColumn("Cut waiting time by (%)", min_value=0, max_value=100, step=5),
                "active": st.column_config.NumberColumn("Cut working time by (%)", min_value=0, max_value=100, step=5),
                "limit": st.column_config.NumberColumn("WIP limit (0: none)", min_value=0, max_value=10_000, step=1),
            },
        )
        st.form_submit_button("Project lead time", type="primary")
    cells = edited[["wait", "active", "limit"]].apply(pd.to_numeric, errors="coerce").fillna(0)
    targets = tuple((stage, float(wait), float(active), int(limit) or None)
                    for stage, wait, active, limit in zip(edited["stage"], cells["wait"], cells["active"], cells["limit"])
                    if wait or active or limit)
    stage = targets[0][0] if len(targets) == 1 else f"{len(targets)} stages"
    result = None
    if not targets:
        st.info("Set a cut or a WIP limit for at least one stage, then project.")
    else:
        try:
            result = data.what_if(view.info.dataset, view.version, query, targets)
        except ValueError as exc:
            st.error(str(exc))
    if result is not None:
        today, projected = result["today"], result["projected"]
        saved = result["days_saved"]["median"] or 0.0
        title = (f"{stage}: lead time {saved:.1f} days shorter at the median" if saved > 0.05
                 else f"{stage}: no visible change in lead time")
        st.subheader(plain(title))
        cols = st.columns(4)
        for col, key, label in zip(cols, ("lead_time_median_days", "lead_time_p85_days", "flow_efficiency",
                                           "throughput_per_week"),
                                   ("Lead time, median (days)", "Lead time, p85 (days)", "Flow efficiency",
                                    "Throughput per week")):
            now, then = today.get(key), projected.get(key)
            if now is None or then is None:
                col.metric(label, "n/a")
                continue
            fmt = "{:.0%}" if key == "flow_efficiency" else "{:.1f}"
            col.metric(label, fmt.format(then), delta=fmt.format(then - now), delta_color="inverse"
                       if key.startswith("lead_time") else "normal", help=f"today: {fmt.format(now)}")
        st.altair_chart(charts.lead_time_today_vs_projected(result["histogram"]["bins"], title), width="stretch")
        with st.expander("Assumptions", expanded=True):
            for sentence in result["assumptions"]:
                st.text(sentence)

st.header("Experiments")
saved = experiments.list_experiments(view.info.path)
results = data.experiment_results(view.info.dataset, view.version, query, tuple(e.experiment_id for e in saved)) if saved else []
if not saved:
    st.info("No experiment yet. Record the change your team starts below; this page then tells you whether it worked.")
for result in results:
    with st.container(border=True):
        experiment = result["experiment"]
        if "error" in result:
            st.text(f"{experiment.get('experiment_id')}: {result['error']}")
            continue
        st.subheader(plain(f"{experiment['title']} ({result['verdict']})"))
        st.caption(plain(f"{experiment['stage']} · lever {experiment['lever'] or 'other'} · started {experiment['start']} "
                         f"· {experiment['settle_days']} settling days"))
        st.text(result["summary"])

if not access.may_edit(view.info):
    access.refuse("record an experiment", view.info)
else:
    with st.form("experiment", clear_on_submit=True):
        st.subheader("Record a change")
        title = st.text_input("What the team changed", max_chars=200)
        cols = st.columns(4)
        exp_stage = cols[0].selectbox("Stage it should improve", committed or ["-"], key="experiment_stage")
        lever = cols[1].selectbox("Lever", ["other", *LEVERS])
        start = cols[2].date_input("Started on", value=date.today(), format="YYYY-MM-DD")
        settle = cols[3].number_input("Settling days", min_value=0, max_value=60, value=7)
        note = st.text_input("Note (optional)", max_chars=2000)
        if st.form_submit_button("Record the experiment"):
            try:
                experiments.add_experiment(view.info.path, title=title, stage=exp_stage,
                                           lever=None if lever == "other" else lever, start=start,
                                           settle_days=int(settle), note=note or None)
            except ValueError as exc:
                st.error(str(exc))
            else:
                st.rerun()
