from functools import partial
from urllib.parse import quote

import pandas as pd
import streamlit as st

from vsm_app import data
from vsm_app.context import caption_for, computed_view
from vsm_app.display import plain
from vsm_app.viewstate import describe
from vsm_core import charts
from vsm_core.export.html_report import themed


def _without_stage(query: tuple) -> tuple:
    # Looking into a stage does not change the map: one cached map per view, whatever the stage.
    return tuple(item for item in query if item[0] != "stage")


def _stream_map(dataset: str, version: int, query: tuple) -> dict:
    return data.stream_map(dataset, version, _without_stage(query))


view, state, query, result = computed_view("Stream map", _stream_map)
figures = result["figures"]


def _days(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.1f} d"


def _pct(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.0%}"


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

def _map_theme() -> str | None:
    """The app's theme, for the map's frame. Streamlit reports the system's setting on a session's
    first run and the app's theme from then on, so the first run takes the configured theme."""
    first_run = not st.session_state.get("_map_theme_known")
    st.session_state["_map_theme_known"] = True
    configured = st.get_option("theme.base")
    return configured if first_run and configured in ("light", "dark") else st.context.theme.type


st.caption("Point at a stage, a loop or a step of the ladder to see its figures. "
           "Click a stage in the row under the map to look into it here; a click on the map opens it in a new tab.")
# Built by vsm_core.export with every name escaped, and a no-script Content-Security-Policy; its
# height is the drawing's, so the frame shows it whole.
st.iframe(themed(result["html"], _map_theme()), height=result["height"],
          alt="Value stream map: the stages in order with their times, the rework loops and the lead-time ladder")

stages = result["stages"]
committed_rows = stages[stages["kind"].isin(["wait", "active"])].sort_values(["side", "order"], kind="stable")
committed = list(committed_rows["stage"])
if not committed:
    st.info("This stage map has no committed stage (wait or active) to look into.")
    st.stop()


def _open_from_strip(strip_key: str) -> None:
    """A click on a stage in the strip chooses it in the list (and so in the URL)."""
    picked = st.session_state[strip_key].selection.get("stage_pick") or []
    stage = picked[0].get("stage") if picked else None
    if stage in committed:
        st.session_state["stage"] = stage


if st.session_state.get("stage") not in committed:  # a fresh page, or a stage this map does not have
    st.session_state["stage"] = state.stage if state.stage in committed else (result["worst"] or committed[0])
shown = st.session_state["stage"]
# A new key for each stage shown: the strip's selection starts empty, so any stage can be clicked next.
strip_key = f"stage_strip_{committed.index(shown)}"
st.altair_chart(charts.stage_strip(committed_rows, result["worst"], shown), width="stretch", key=strip_key,
                on_select=partial(_open_from_strip, strip_key), selection_mode="stage_pick",
                alt="The committed stages in map order; click one to look into it")
# Bound to the URL as stage=<name> (the labels are the names), so a link opens the same stage.
chosen = st.selectbox("Look into a stage", committed, index=None, key="stage", bind="query-params",
                      placeholder="Choose a stage") or shown

row = stages[stages["stage"] == chosen].iloc[0]
kind = "side" if row["side"] else row["kind"]
word = {"side": "side state", "wait": "queue", "active": "process step"}[kind]
st.subheader(plain(f"{chosen} ({word}): {row['items_now']:,} item{'' if row['items_now'] == 1 else 's'} there now"))
cols = st.columns(5)
cols[0].metric("Median time there", _days(row["median_hours"] / 24), help="Per item, all its visits together")
cols[1].metric("p85 time there", _days(row["p85_hours"] / 24), help="85% of the items spent less time there")
cols[2].metric("Items that visited", f"{row['items']:,}")
cols[3].metric("Share of lead time", _pct(row["share_of_lead_time"]),
               help=f"{_days(row['days_of_lead_time'])} per delivered item, on average")
if kind == "active":
    ca = result["complete_accurate"]
    value = ca.loc[ca["stage"] == chosen, "pct_complete_accurate"]
    cols[4].metric("%C&A", _pct(value.iloc[0] if len(value) else None),
                   help="Share of the items leaving forward that never come back to this stage or before it")
else:
    cols[4].metric("Oldest there now", _days(row["oldest_age_now_hours"] / 24))

entries = data.stage_distribution(view.info.dataset, view.version, _without_stage(query), chosen)
_, histogram = charts.stage_time_histogram(entries, chosen, kind)
st.altair_chart(histogram, width="stretch")

st.markdown("#### Items in this stage now, oldest first")
ageing = result["ageing"]
stuck = ageing[ageing["stage"] == chosen].sort_values("stage_age_hours", ascending=False)
if len(stuck):
    base_url = view.meta.get("base_url") or ""
    table = stuck[["key", "type", "stage_age_hours", "age_hours", "at_risk"]].copy()
    table["stage_age_hours"] /= 24
    table["age_hours"] /= 24
    column_config = {"key": "Item", "type": "Type",
                     "stage_age_hours": st.column_config.NumberColumn("Days in this stage", format="%.1f"),
                     "age_hours": st.column_config.NumberColumn("Days since started", format="%.1f"),
                     "at_risk": st.column_config.CheckboxColumn("Past the stage's p85")}
    if base_url.lower().startswith(("https://", "http://")):
        table["link"] = [f"{base_url.rstrip('/')}/browse/{quote(str(key))}" for key in table["key"]]
        column_config["link"] = st.column_config.LinkColumn("In Jira", display_text="open")
    st.dataframe(table, hide_index=True, column_config=column_config)
else:
    st.text("No item is in this stage now.")
