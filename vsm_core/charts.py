"""Altair chart builders: a DataFrame in, a chart out. They never query; their titles
state the finding.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# Okabe-Ito colours (colour-blind safe): one per stage kind, the same on every chart and on the
# value stream map. Each reads on a light and on a dark background; shapes or labels carry the
# same meaning wherever they are used, so colour is never the only cue.
KIND_COLOURS = {
    "backlog": "#56B4E9",  # sky blue: options, not work yet
    "wait": "#E69F00",  # orange: queues, nobody works on the item
    "active": "#0072B2",  # blue: someone works on the item
    "side": "#CC79A7",  # reddish purple: side states (blocked, on hold) off the line
    "done": "#009E73",  # bluish green: delivered
    "cancelled": "#999999",  # grey: finished without delivery
}
ALERT_COLOUR = "#D55E00"  # vermillion: the bottleneck, items at risk
NEUTRAL_COLOUR = "#767676"  # reference lines and their labels: 4.5:1 on white, 4:1 on the dark theme
# Text drawn on a kind-coloured fill: white on blue, black on the lighter colours.
TEXT_ON_KIND = {"backlog": "#000000", "wait": "#000000", "active": "#FFFFFF", "side": "#000000", "done": "#000000",
                "cancelled": "#000000"}


def _title(finding: str, subtitle: str) -> alt.Title:
    """A chart title: the finding, then what the chart shows. The subtitle gets its colour here:
    Streamlit's dark theme leaves it near black on a dark background."""
    return alt.Title(finding, subtitle=subtitle, subtitleColor=NEUTRAL_COLOUR)


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
        alt.Chart(data, title=_title(title, subtitle="Total days all issues spent in each status before done (calendar clock)"))
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
    base = alt.Chart(data, title=_title(summary_title, subtitle="Mean days per delivered item, with the 90% interval"))
    bars = base.mark_bar().encode(
        x=alt.X("days_of_lead_time:Q", title="days of lead time per delivered item"), y=y, color=colour,
        tooltip=[alt.Tooltip("stage:N"), alt.Tooltip("days_of_lead_time:Q", title="days", format=".2f"),
                 alt.Tooltip("ci_low_days:Q", title="90% low", format=".2f"),
                 alt.Tooltip("ci_high_days:Q", title="90% high", format=".2f"),
                 alt.Tooltip("share_of_lead_time:Q", title="share of lead time", format=".0%")],
    )
    interval = base.mark_rule(color=NEUTRAL_COLOUR, strokeWidth=2).encode(x="ci_low_days:Q", x2="ci_high_days:Q", y=y)
    return (bars + interval).properties(height=alt.Step(30))


def lead_time_today_vs_projected(bins: list[dict], title: str) -> alt.Chart:
    """Lead-time histogram of today's delivered items next to the projected one (the last bin
    holds everything longer)."""
    rows = [{"from_days": b["from_days"], "to_days": b["to_days"], "when": when, "items": b[key]}
            for b in bins for when, key in (("today", "today"), ("projected", "projected"))]
    data = pd.DataFrame(rows)
    return (
        alt.Chart(data, title=_title(title, subtitle="Delivered items by lead time (days); the last bar holds all longer ones"))
        .mark_bar(opacity=0.75)
        .encode(
            x=alt.X("from_days:Q", bin="binned", title="lead time (days)"), x2="to_days:Q",
            y=alt.Y("items:Q", title="items", stack=None),
            color=alt.Color("when:N", title=None, scale=alt.Scale(domain=["today", "projected"],
                                                                  range=[NEUTRAL_COLOUR, KIND_COLOURS["done"]])),
            tooltip=["when:N", alt.Tooltip("from_days:Q", title="from (days)", format=".1f"),
                     alt.Tooltip("to_days:Q", title="to (days)", format=".1f"), "items:Q"],
        )
        .properties(height=260)
    )


def _shade(colour: str, amount: float) -> str:
    """``colour`` mixed towards white (amount > 0) or black (amount < 0)."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    target = 255 if amount > 0 else 0
    return "#" + "".join(f"{round(c + (target - c) * abs(amount)):02X}" for c in rgb)


_SHADES = (0.0, 0.45, -0.35, 0.7, -0.55, 0.25, -0.2, 0.6)


def stage_colours(stages: list[tuple[str, str]]) -> list[str]:
    """One colour per (stage, kind) in map order: the kind's colour, in a lighter or darker
    shade for each further stage of the same kind, so neighbouring bands stay apart."""
    seen: dict[str, int] = {}
    colours = []
    for _, kind in stages:
        n = seen.get(kind, 0)
        seen[kind] = n + 1
        colours.append(_shade(KIND_COLOURS.get(kind, KIND_COLOURS["cancelled"]), _SHADES[n % len(_SHADES)]))
    return colours


def _days(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column] / 24.0


def cumulative_flow(wip: pd.DataFrame) -> tuple[str, alt.Chart]:
    """The cumulative flow diagram: items in each stage at each day's end, stacked in map order
    (done at the bottom, backlog on top), and a sentence on how work in process moved."""
    data = wip.copy()
    data["day"] = pd.to_datetime(data["day"])
    committed = data[data["kind"].isin(["wait", "active"])].groupby("day")["wip"].sum()
    if len(committed):
        first, last = float(committed.iloc[0]), float(committed.iloc[-1])
        finding = (f"Work in process went from {first:.0f} to {last:.0f} items over the period"
                   if abs(last - first) >= max(3, 0.2 * max(first, 1)) else f"Work in process held at about {last:.0f} items")
    else:
        finding = "No work in process in this period"
    stages = data.sort_values("order").drop_duplicates("stage")
    order = list(stages["stage"])
    colours = stage_colours(list(zip(stages["stage"], stages["kind"])))
    chart = (
        alt.Chart(data, title=_title(finding, subtitle="Items in each stage at each day's end (cumulative flow); "
                                                          "orange: queues, blue: work, green: done"))
        .mark_area()
        .encode(
            x=alt.X("day:T", title=None),
            y=alt.Y("wip:Q", stack="zero", title="items"),
            color=alt.Color("stage:N", sort=list(reversed(order)), title="stage",
                            scale=alt.Scale(domain=list(reversed(order)), range=list(reversed(colours)))),
            order=alt.Order("order:Q", sort="descending"),
            tooltip=[alt.Tooltip("day:T"), "stage:N", alt.Tooltip("wip:Q", title="items")],
        )
        .properties(height=320)
    )
    return finding, chart


def weekly_throughput(throughput: pd.DataFrame) -> tuple[str, alt.Chart]:
    """Items delivered per week, with cancelled ones apart."""
    data = throughput.melt(id_vars="week", value_vars=["delivered", "cancelled"], var_name="what", value_name="items")
    data["week"] = pd.to_datetime(data["week"])
    median = float(throughput["delivered"].median()) if len(throughput) else 0.0
    cancelled = int(throughput["cancelled"].sum()) if len(throughput) else 0
    finding = f"A median {median:.0f} items delivered a week; {cancelled:,} cancelled in all"
    chart = (
        alt.Chart(data, title=_title(finding, subtitle="Items finished per week (weeks start on Monday)"))
        .mark_bar()
        .encode(
            x=alt.X("week:T", title=None), y=alt.Y("items:Q", title="items"),
            color=alt.Color("what:N", title=None, scale=alt.Scale(domain=["delivered", "cancelled"],
                                                                  range=[KIND_COLOURS["done"], KIND_COLOURS["cancelled"]])),
            tooltip=[alt.Tooltip("week:T"), "what:N", "items:Q"],
        )
        .properties(height=220)
    )
    return finding, chart


def cycle_time_scatter(finished: pd.DataFrame, limit: int = 5000) -> tuple[str, alt.LayerChart]:
    """Cycle time of each delivered item by finish date, with the 50th, 85th and 95th percentile
    lines (computed over every delivered item; only the latest ``limit`` points are drawn)."""
    delivered = finished[~finished["cancelled"] & finished["cycle_hours"].notna()].copy()
    delivered["cycle_days"] = _days(delivered, "cycle_hours")
    delivered["done_at"] = pd.to_datetime(delivered["done_at"], utc=True)
    lines = pd.DataFrame({"percentile": ["50th", "85th", "95th"],
                          "days": [delivered["cycle_days"].quantile(q) if len(delivered) else 0.0 for q in (0.5, 0.85, 0.95)]})
    finding = (f"85% of items finished within {lines['days'][1]:.1f} days of starting" if len(delivered)
               else "No delivered item in this period")
    shown = delivered.sort_values("done_at").tail(limit)
    note = f"the latest {limit:,} of {len(delivered):,} items drawn" if len(delivered) > limit else f"{len(delivered):,} items"
    base = alt.Chart(shown, title=_title(finding, subtitle=f"Cycle time by finish date; {note}; lines over all items"))
    points = base.mark_circle(size=18, opacity=0.5, color=KIND_COLOURS["active"]).encode(
        x=alt.X("done_at:T", title=None), y=alt.Y("cycle_days:Q", title="cycle time (days)"),
        tooltip=["key:N", alt.Tooltip("done_at:T", title="done"), alt.Tooltip("cycle_days:Q", title="days", format=".1f")])
    rules = alt.Chart(lines).mark_rule(strokeDash=[4, 3], color=NEUTRAL_COLOUR).encode(y="days:Q", tooltip=["percentile:N", alt.Tooltip("days:Q", format=".1f")])
    labels = alt.Chart(lines).mark_text(align="left", dx=4, dy=-6, color=NEUTRAL_COLOUR).encode(
        y="days:Q", x=alt.value(0), text=alt.Text("percentile:N"))
    return finding, (points + rules + labels).properties(height=300)


def ageing_work(ageing: pd.DataFrame) -> tuple[str, alt.LayerChart]:
    """Age of each item in progress by its current stage, against the age at which delivered
    items left that stage (50th, 85th and 95th percentile ticks)."""
    data = ageing.copy()
    data["age_days"] = _days(data, "age_hours")
    at_risk = int(data["at_risk"].sum()) if len(data) else 0
    finding = (f"{at_risk:,} of {len(data):,} items in progress are older than their stage's p85" if len(data)
               else "No item in progress")
    order = list(data.sort_values("order")["stage"].drop_duplicates())
    data["status"] = data["at_risk"].map({True: "at risk", False: "on track"})
    base = alt.Chart(data, title=_title(finding, subtitle="Age since commitment of each item in progress; ticks: age at which delivered items left the stage (p50, p85, p95)"))
    points = base.mark_circle(size=40, opacity=0.7).encode(
        x=alt.X("stage:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelLimit=140)),
        y=alt.Y("age_days:Q", title="age (days)"), xOffset=alt.XOffset("jitter:Q"),
        color=alt.Color("status:N", title=None, scale=alt.Scale(domain=["on track", "at risk"],
                                                                range=[KIND_COLOURS["active"], ALERT_COLOUR])),
        shape=alt.Shape("status:N", title=None),
        tooltip=["key:N", "stage:N", alt.Tooltip("age_days:Q", title="age (days)", format=".1f"), "status:N"],
    ).transform_calculate(jitter="random()")
    bands = data.drop_duplicates("stage").melt(id_vars=["stage"], value_vars=["stage_p50_hours", "stage_p85_hours", "stage_p95_hours"],
                                               var_name="percentile", value_name="hours").dropna()
    bands["days"] = bands["hours"] / 24.0
    bands["percentile"] = bands["percentile"].map({"stage_p50_hours": "p50", "stage_p85_hours": "p85", "stage_p95_hours": "p95"})
    ticks = alt.Chart(bands).mark_tick(thickness=2, size=40, color=NEUTRAL_COLOUR).encode(
        x=alt.X("stage:N", sort=order), y="days:Q", tooltip=["stage:N", "percentile:N", alt.Tooltip("days:Q", format=".1f")])
    return finding, (points + ticks).properties(height=300)


def lead_time_histogram(finished: pd.DataFrame, bins: int = 40) -> tuple[str, alt.Chart]:
    """Lead time of delivered items, in days, binned here (so 100,000 items do not travel to
    the browser); the last bin holds the longest 2 %."""
    import numpy as np

    lead = finished.loc[~finished["cancelled"], "lead_hours"].dropna().to_numpy() / 24.0
    if len(lead):
        p50, p85 = np.percentile(lead, [50, 85])
        finding = f"Half of the items are delivered within {p50:.1f} days of creation, 85% within {p85:.1f}"
        counts, edges = np.histogram(np.minimum(lead, np.percentile(lead, 98)), bins=bins)
    else:
        finding = "No delivered item in this period"
        counts, edges = np.zeros(0, dtype=int), np.zeros(1)
    data = pd.DataFrame({"from_days": edges[:-1], "to_days": edges[1:], "items": counts})
    chart = (
        alt.Chart(data, title=_title(finding, subtitle="Delivered items by lead time (days); the last bar holds the longest 2%"))
        .mark_bar(color=KIND_COLOURS["done"])
        .encode(x=alt.X("from_days:Q", bin="binned", title="lead time (days)"), x2="to_days:Q", y=alt.Y("items:Q", title="items"),
                tooltip=[alt.Tooltip("from_days:Q", title="from (days)", format=".1f"),
                         alt.Tooltip("to_days:Q", title="to (days)", format=".1f"), "items:Q"])
        .properties(height=220)
    )
    return finding, chart


STRIP_HEIGHT = 146  # the title (about 45 pixels: the chart is sized as a whole), the boxes (54), two lines under them


def _kind_of(row) -> str:
    return "side" if row["side"] else row["kind"]


def stage_strip(stages: pd.DataFrame, worst: str | None, chosen: str | None) -> alt.LayerChart:
    """The committed stages as the map draws them (the line, then side states), a row of boxes in
    their kind's colour to click: the chart carries the point selection ``stage_pick`` on the
    field ``stage``. The bottleneck has a thick vermillion outline and says so; the stage shown
    below is marked."""
    data = stages[stages["kind"].isin(["wait", "active"])].sort_values(["side", "order"], kind="stable")
    data = data[["stage", "kind", "side", "items_now"]].copy()
    data["what"] = data.apply(_kind_of, axis=1)
    data["word"] = data["what"].map({"wait": "queue", "active": "work", "side": "side state"})
    data["ink"] = data["what"].map(TEXT_ON_KIND)
    data["now"] = [f"{word} \u00b7 {int(n):,} there now" for word, n in zip(data["word"], data["items_now"])]
    data["flag"] = ["BOTTLENECK" if s == worst else "" for s in data["stage"]]
    data["shown"] = ["\u25b2 shown below" if s == chosen else "" for s in data["stage"]]
    data["outline"] = [4 if s == worst else 0 for s in data["stage"]]
    in_progress = int(data["items_now"].sum())
    if len(data) and in_progress:
        top = data.sort_values("items_now", ascending=False, kind="stable").iloc[0]
        finding = f"{top['stage']} holds the most of the {in_progress:,} items in progress ({int(top['items_now']):,})"
    else:
        finding = "No item is in progress now"
    pick = alt.selection_point(name="stage_pick", fields=["stage"], on="click", toggle=False)
    x = alt.X("stage:N", sort=list(data["stage"]), axis=None, scale=alt.Scale(paddingInner=0.06))
    base = alt.Chart(data, title=_title(finding, subtitle="Click a stage to look into it below (or choose it in the list)"))
    boxes = base.mark_rect(cornerRadius=4, cursor="pointer", stroke=ALERT_COLOUR).encode(
        x=x, y=alt.value(0), y2=alt.value(54),
        color=alt.Color("what:N", legend=None, scale=alt.Scale(domain=list(KIND_COLOURS), range=list(KIND_COLOURS.values()))),
        strokeWidth=alt.StrokeWidth("outline:Q", scale=None),
        tooltip=[alt.Tooltip("stage:N", title="stage"), alt.Tooltip("word:N", title="kind"),
                 alt.Tooltip("items_now:Q", title="items there now", format=",")],
    ).add_params(pick)
    names = base.mark_text(fontWeight="bold", fontSize=13, limit=150, cursor="pointer").encode(
        x=x, y=alt.value(20), text="stage:N", color=alt.Color("ink:N", scale=None))
    counts = base.mark_text(fontSize=12, cursor="pointer").encode(
        x=x, y=alt.value(39), text="now:N", color=alt.Color("ink:N", scale=None))
    flags = base.mark_text(fontSize=11, fontWeight="bold", color=ALERT_COLOUR).encode(x=x, y=alt.value(68), text="flag:N")
    shown = base.mark_text(fontSize=12, fontWeight="bold", color=NEUTRAL_COLOUR).encode(x=x, y=alt.value(84), text="shown:N")
    return (boxes + names + counts + flags + shown).properties(height=STRIP_HEIGHT)


def stage_time_histogram(entries: pd.DataFrame, stage: str, kind: str, bins: int = 30) -> tuple[str, alt.LayerChart]:
    """Days each item spent in ``stage`` (all its visits together; an item still there counts its
    time so far), binned here, with the median and p85 as lines; items still there are shown apart.
    The title states the median and the p85 in words; ``kind`` is wait, active or side."""
    import numpy as np

    days = entries["stage_hours"].to_numpy(dtype=float) / 24.0
    still_there = entries["in_stage_now"].to_numpy(dtype=bool)
    verb = "wait" if kind == "wait" else "spend"
    where = "" if kind == "wait" else " there"
    if len(days):
        p50, p85 = np.percentile(days, [50, 85])
        finding = (f"{stage}: half the items {verb} more than {p50:.1f} days{where}; "
                   f"15% more than {p85:.1f}")
        top = np.percentile(days, 98) if len(days) >= 50 else days.max()
        edges = np.histogram_bin_edges(np.minimum(days, top), bins=bins)
        rows = []
        for label, mask in (("left the stage", ~still_there), ("still there now", still_there)):
            counts, _ = np.histogram(np.minimum(days[mask], top), bins=edges)
            rows += [{"from_days": a, "to_days": b, "items": int(c), "items_are": label}
                     for a, b, c in zip(edges[:-1], edges[1:], counts)]
        lines = pd.DataFrame({"what": [f"median {p50:.1f} d", f"p85 {p85:.1f} d"], "days": [p50, p85], "at": [0, 16]})
    else:
        finding = f"{stage}: no item was in this stage in this view"
        rows, lines = [], pd.DataFrame({"what": [], "days": [], "at": []})
    data = pd.DataFrame(rows, columns=["from_days", "to_days", "items", "items_are"])
    note = "; the last bar holds the longest 2%" if len(days) >= 50 else ""
    colour = KIND_COLOURS.get(kind, NEUTRAL_COLOUR)
    bars = alt.Chart(data, title=_title(finding, subtitle=f"Days each item spent in the stage, all its visits together; "
                                                             f"items still there count their time so far{note}")).mark_bar().encode(
        x=alt.X("from_days:Q", bin="binned", title="days in the stage"), x2="to_days:Q",
        y=alt.Y("items:Q", title="items", stack="zero"),
        color=alt.Color("items_are:N", title=None, scale=alt.Scale(domain=["left the stage", "still there now"],
                                                                   range=[colour, NEUTRAL_COLOUR])),
        tooltip=[alt.Tooltip("from_days:Q", title="from (days)", format=".1f"),
                 alt.Tooltip("to_days:Q", title="to (days)", format=".1f"), "items_are:N", alt.Tooltip("items:Q", format=",")],
    )
    rules = alt.Chart(lines).mark_rule(strokeDash=[4, 3], strokeWidth=2, color=NEUTRAL_COLOUR).encode(
        x="days:Q", tooltip=["what:N"])
    labels = alt.Chart(lines).mark_text(align="left", dx=4, baseline="top", color=NEUTRAL_COLOUR, fontWeight="bold").encode(
        x="days:Q", y=alt.Y("at:Q", scale=None), text="what:N")
    return finding, (bars + rules + labels).properties(height=240)
