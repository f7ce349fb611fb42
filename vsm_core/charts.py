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


# Okabe-Ito colours (colour-blind safe): one per stage kind, the same on every chart.
KIND_COLOURS = {"wait": "#E69F00", "active": "#0072B2", "side": "#CC79A7", "backlog": "#999999", "done": "#009E73"}


def bottleneck_ranking(ranking: pd.DataFrame, summary_title: str) -> alt.LayerChart:
    """Days of lead time per committed stage with its 90 % interval, the worst first; stages
    that stand out are marked in the legend and in the label, not by colour alone."""
    data = ranking.copy()
    data["what"] = data.apply(lambda r: "side state" if r["side"] else r["kind"], axis=1)
    data["label"] = data.apply(lambda r: f"{r['stage']}  (stands out)" if r["stands_out"] else r["stage"], axis=1)
    order = list(data.sort_values("days_of_lead_time", ascending=False)["label"])
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=260))
    colour = alt.Color("what:N", title="stage kind",
                       scale=alt.Scale(domain=["wait", "active", "side state"],
                                       range=[KIND_COLOURS["wait"], KIND_COLOURS["active"], KIND_COLOURS["side"]]))
    base = alt.Chart(data, title=alt.Title(summary_title, subtitle="Mean days per delivered item, with the 90% interval"))
    bars = base.mark_bar().encode(
        x=alt.X("days_of_lead_time:Q", title="days of lead time per delivered item"), y=y, color=colour,
        tooltip=[alt.Tooltip("stage:N"), alt.Tooltip("days_of_lead_time:Q", title="days", format=".2f"),
                 alt.Tooltip("ci_low_days:Q", title="90% low", format=".2f"),
                 alt.Tooltip("ci_high_days:Q", title="90% high", format=".2f"),
                 alt.Tooltip("share_of_lead_time:Q", title="share of lead time", format=".0%")],
    )
    interval = base.mark_rule(color="#222222").encode(x="ci_low_days:Q", x2="ci_high_days:Q", y=y)
    return (bars + interval).properties(height=alt.Step(30))


def lead_time_today_vs_projected(bins: list[dict], title: str) -> alt.Chart:
    """Lead-time histogram of today's delivered items next to the projected one (the last bin
    holds everything longer)."""
    rows = [{"from_days": b["from_days"], "to_days": b["to_days"], "when": when, "items": b[key]}
            for b in bins for when, key in (("today", "today"), ("projected", "projected"))]
    data = pd.DataFrame(rows)
    return (
        alt.Chart(data, title=alt.Title(title, subtitle="Delivered items by lead time (days); the last bar holds all longer ones"))
        .mark_bar(opacity=0.75)
        .encode(
            x=alt.X("from_days:Q", bin="binned", title="lead time (days)"), x2="to_days:Q",
            y=alt.Y("items:Q", title="items", stack=None),
            color=alt.Color("when:N", title=None, scale=alt.Scale(domain=["today", "projected"],
                                                                  range=[KIND_COLOURS["backlog"], KIND_COLOURS["active"]])),
            tooltip=["when:N", alt.Tooltip("from_days:Q", title="from (days)", format=".1f"),
                     alt.Tooltip("to_days:Q", title="to (days)", format=".1f"), "items:Q"],
        )
        .properties(height=260)
    )
