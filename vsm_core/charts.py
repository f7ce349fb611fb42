"""Altair chart builders: a DataFrame in, a chart out. They never query; their titles
state the finding.
"""

from __future__ import annotations

import altair as alt
import pandas as pd


def time_by_status(summary: pd.DataFrame, top: int = 15) -> alt.Chart:
    """Bar chart of issue-days per status, the largest first, titled with the largest share."""
    data = summary.head(top).copy()
    total = float(summary["total_days"].sum()) or 1.0
    data["share"] = data["total_days"] / total
    lead = data.iloc[0] if len(data) else None
    title = (
        f"{lead['status']} holds {lead['share']:.0%} of all issue-days in this dataset"
        if lead is not None
        else "No status time to show"
    )
    return (
        alt.Chart(data, title=alt.Title(title, subtitle="Total days all issues spent in each status (calendar clock)"))
        .mark_bar(color="#1f6f8b")
        .encode(
            x=alt.X("total_days:Q", title="issue-days"),
            y=alt.Y("status:N", sort="-x", title=None),
            tooltip=[
                alt.Tooltip("status:N", title="status"),
                alt.Tooltip("items:Q", title="issues that visited", format=","),
                alt.Tooltip("median_days:Q", title="median days", format=".1f"),
                alt.Tooltip("p85_days:Q", title="p85 days", format=".1f"),
                alt.Tooltip("share:Q", title="share of all time", format=".0%"),
            ],
        )
        .properties(height=max(120, 26 * len(data)))
    )
