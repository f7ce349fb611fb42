import streamlit as st

from vsm_app import data
from vsm_app.context import caption_for, computed_view
from vsm_app.display import plain
from vsm_app.viewstate import describe

view, state, query, result = computed_view("Stream map", data.stream_map)
figures = result["figures"]


def _days(value) -> str:
    return "n/a" if value is None else f"{value:.1f} d"


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.0%}"


st.title(plain(f"Value stream: lead time {_days(figures.lead_median_days)} at the median, "
               f"flow efficiency {_pct(figures.efficiency_of_sums)}"))
st.caption(f"{caption_for(view, result['clock'])} · {plain(describe(state).rsplit('; ', 1)[0])}")
cols = st.columns(6)
cols[0].metric("Delivered", f"{figures.delivered:,}", help=f"{figures.cancelled:,} cancelled, counted apart")
cols[1].metric("Lead time, median", _days(figures.lead_median_days), help=f"p85: {_days(figures.lead_p85_days)}")
cols[2].metric("Cycle time, median", _days(figures.cycle_median_days))
cols[3].metric("Flow efficiency", _pct(figures.efficiency_of_sums),
               help=f"Ratio of sums; the median item's is {_pct(figures.efficiency_median)}")
cols[4].metric("Activity ratio", _pct(figures.activity_ratio), help="Process time over lead time")
cols[5].metric("Rolled %C&A", _pct(figures.rolled_complete_accurate))

# Built by vsm_core.export with every name escaped, and a no-script Content-Security-Policy.
st.iframe(result["html"], height=640)

stages = result["stages"]
committed = list(stages.loc[stages["kind"].isin(["wait", "active"]), "stage"])
if committed:
    chosen = st.selectbox("Look into a stage", committed, index=committed.index(state.stage) if state.stage in committed else 0,
                          key="stage_choice")
    row = stages[stages["stage"] == chosen].iloc[0]
    st.subheader(plain(f"{chosen}: {row['items_now']:,} items there now"))
    cols = st.columns(4)
    cols[0].metric("Median time there", _days(None if row["median_hours"] != row["median_hours"] else row["median_hours"] / 24))
    cols[1].metric("p85 time there", _days(None if row["p85_hours"] != row["p85_hours"] else row["p85_hours"] / 24))
    cols[2].metric("Items that visited", f"{row['items']:,}")
    cols[3].metric("Days of lead time", _days(row["days_of_lead_time"]))
    ageing = result["ageing"]
    stuck = ageing[ageing["stage"] == chosen].sort_values("stage_age_hours", ascending=False)
    if len(stuck):
        base_url = view.meta.get("base_url")
        table = stuck[["key", "type", "stage_age_hours", "age_hours", "at_risk"]].copy()
        table["stage_age_hours"] /= 24
        table["age_hours"] /= 24
        column_config = {"key": "Item", "type": "Type",
                         "stage_age_hours": st.column_config.NumberColumn("Days in this stage", format="%.1f"),
                         "age_hours": st.column_config.NumberColumn("Days since started", format="%.1f"),
                         "at_risk": st.column_config.CheckboxColumn("Past the stage's p85")}
        if base_url:
            table["link"] = base_url.rstrip("/") + "/browse/" + table["key"]
            column_config["link"] = st.column_config.LinkColumn("In Jira", display_text="open")
        st.dataframe(table, hide_index=True, column_config=column_config)
    else:
        st.text("No item is in this stage now.")
