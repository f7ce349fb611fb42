import pandas as pd
import streamlit as st

from vsm_app import data
from vsm_app.context import caption_for, decisions_view
from vsm_app.display import plain
from vsm_app.viewstate import describe
from vsm_core import charts
from vsm_core.export import safe_csv_bytes

view, state, query, result = decisions_view("Bottlenecks")

report, changes = result["report"], result["changes"]
ranking = pd.DataFrame(report["stages"])
title = report["title"]
st.title(plain(title))
st.caption(f"{caption_for(view, result['clock'])} · {plain(describe(state).rsplit('; ', 1)[0])} · stage map {result['stage_map']}")
st.text(report["summary"])  # plain text: stage names come from Jira
downloads = st.columns([2, 1, 2])
downloads[0].download_button(
    "Report for leaders (HTML)", data=lambda: data.leader_report(view.info.dataset, view.version, query),
    file_name="value-stream-report.html", mime="text/html", icon=":material/description:",
    help="One self-contained page: the map, the top bottlenecks and changes, key figures, filters, as-of and clock.")

if len(ranking):
    st.altair_chart(charts.bottleneck_ranking(ranking, title), width="stretch")
    downloads[1].download_button(
        "Ranking (CSV)", data=safe_csv_bytes(ranking.drop(columns=["statuses"])), file_name="bottlenecks.csv",
        mime="text/csv", icon=":material/download:")
    ranking["share_pct"] = ranking["share_of_lead_time"] * 100
    st.dataframe(
        ranking[["rank", "stage", "days_of_lead_time", "ci_low_days", "ci_high_days", "share_pct",
                 "stands_out", "why"]],
        hide_index=True,
        column_config={
            "rank": "Rank", "stage": "Stage",
            "days_of_lead_time": st.column_config.NumberColumn("Days of lead time", format="%.1f"),
            "ci_low_days": st.column_config.NumberColumn("90% low", format="%.1f"),
            "ci_high_days": st.column_config.NumberColumn("90% high", format="%.1f"),
            "share_pct": st.column_config.NumberColumn("Share of lead time", format="%.0f%%"),
            "stands_out": st.column_config.CheckboxColumn("Stands out"),
            "why": st.column_config.TextColumn("Why", width="large"),
        },
    )
backlog = report["backlog"]
if backlog.get("median_days_before_start") is not None:
    st.text(f"Before anyone starts, items wait a median {backlog['median_days_before_start']:.1f} days in "
            f"{', '.join(backlog['stages']) or 'the backlog'} (not ranked: the backlog is options, not work in process).")

st.header("What to change first")
if not changes:
    st.success("No change stands out: no costly queue, rework, blocking, growing work in process or very uneven items.")
for change in changes:
    with st.container(border=True):
        st.subheader(plain(f"{change['rank']}. {change['title']}"))
        cols = st.columns(4)
        cols[0].metric("Days saved, median", f"{change['expected_days_saved_median']:.1f}")
        cols[1].metric("Days saved, p85", f"{change['expected_days_saved_p85']:.1f}")
        cols[2].metric("Effort", change["effort"])
        cols[3].metric("Confidence", change["confidence"])
        st.text(f"Evidence: {change['evidence']}")
        st.text(f"Replay rule: {change['replay_rule']}")
        if change["evidence_items"]:
            st.text("Items it would have helped most: " + ", ".join(change["evidence_items"]))
