"""Altair chart builders: a DataFrame in, a chart out. They never query; their titles
state the finding.
"""

from __future__ import annotations

import altair as alt
import pandas as pd


def time_by_status(summary: pd.DataFrame, top: int = 15) -> alt.Chart:
    """Bar chart of issue-days per status before done, the largest first, titled with its share.

    Time in done statuses is left out: it is not flow time, and it would dwarf the rest.
    """
    flow = summary[~summary["is_done"]] if "is_done" in summary else summary
    total = float(flow["total_days"].sum()) or 1.0
    data = flow.sort_values("total_days", ascending=False).head(top).copy()
    data["share"] = data["total_days"] / total
    if len(data):
        lead = data.iloc[0]
        title = f"Issues spend {lead['share']:.0%} of their time before done in {lead['status']}"
    else:
        title = "No time before done to show"
    return (
        alt.Chart(data, title=alt.Title(title, subtitle="Total days all issues spent in each status before done (calendar clock)"))
        .mark_bar(color="#1f6f8b")
        .encode(
            x=alt.X("total_days:Q", title="issue-days"),
            y=alt.Y("status:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=220)),
            tooltip=[
                alt.Tooltip("status:N", title="status"),
                alt.Tooltip("items:Q", title="issues that visited", format=","),
                alt.Tooltip("median_days:Q", title="median days", format=".1f"),
                alt.Tooltip("p85_days:Q", title="p85 days", format=".1f"),
                alt.Tooltip("share:Q", title="share of time before done", format=".0%"),
            ],
        )
        .properties(height=alt.Step(30))  # one 30-pixel band per status, whatever their number
    )
