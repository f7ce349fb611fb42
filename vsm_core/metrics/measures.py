"""The flow measures: each reads a prepared ``Flow`` and returns a small table.

Hours are hours of the flow's clock; "days" divide them by 24 (one working day on the
working clock). Percentiles interpolate linearly between closest ranks.
"""

from __future__ import annotations

import math

import pandas as pd

from vsm_core.metrics import sql
from vsm_core.metrics.flow import Flow

LITTLES_LAW_TOLERANCE = 0.2  # |WIP - throughput x cycle time| / WIP at most this: consistent


def stage_times(flow: Flow) -> pd.DataFrame:
    """Per stage, in map order: items that visited (finished or not, in the window), visits,
    median / p85 / p95 / total hours per item, share_of_lead_time and days_of_lead_time (over
    delivered items finished in the window; null for done stages), their per-stage median and
    p85, wait / active hours (null for backlog stages, whose time is options, not waiting, and
    for done stages), blocked hours (null for done stages: a flag left on after the finish is
    not flow), and the items there now with their time in the stage."""
    return flow.query(sql.STAGES)


def finished_items(flow: Flow) -> pd.DataFrame:
    """One row per item finished in the window (delivered or cancelled): lead, cycle, flow,
    reopened, process, wait and blocked hours, and its flow efficiency."""
    return flow.query(sql.FINISHED_ITEMS)


def distributions(flow: Flow) -> pd.DataFrame:
    """Lead, cycle, reopened and backlog time of delivered items finished in the window:
    count, mean, median, p85, p95, max. Reopened time covers reopened items only."""
    return flow.query(sql.DISTRIBUTIONS)


def throughput(flow: Flow) -> pd.DataFrame:
    """Items finished per local week (weeks start on Monday): delivered, and cancelled apart.
    Weeks with nothing finished are listed with zeros."""
    return flow.query(sql.THROUGHPUT_WEEKLY)


def net_flow(flow: Flow) -> pd.DataFrame:
    """Arrivals into and departures from each stage per local week, and their difference."""
    return flow.query(sql.NET_FLOW_WEEKLY)


def flow_efficiency(flow: Flow) -> dict:
    """Flow efficiency of delivered items finished in the window, over their cycle: the ratio
    of sums (system view) and the median of per-item ratios (item view), and the lean activity
    ratio (process time over lead time)."""
    row = flow.query(sql.FLOW_EFFICIENCY).iloc[0].to_dict()
    return {key: _plain(value) for key, value in row.items()}


def complete_and_accurate(flow: Flow) -> tuple[pd.DataFrame, float | None]:
    """%C&A per linear, non-done stage and rolled %C&A (the product over active stages that
    had forward departures; None when none had)."""
    table = flow.query(sql.COMPLETE_AND_ACCURATE)
    active = table[(table["kind"] == "active") & table["pct_complete_accurate"].notna()]
    rolled = float(active["pct_complete_accurate"].prod()) if len(active) else None
    return table, rolled


def rework_loops(flow: Flow) -> pd.DataFrame:
    """Backward moves along the linear path: (from stage, to stage), moves, items, examples.
    Returns from side states are not rework; a move out of done back into work is."""
    return flow.query(sql.REWORK_LOOPS)


def handoffs_by_stage(flow: Flow) -> pd.DataFrame:
    """Assignee handoffs per committed stage (where the item was when the assignee changed)."""
    return flow.query(sql.HANDOFFS_BY_STAGE)


def handoffs_per_item(flow: Flow) -> pd.DataFrame:
    """Handoffs per committed item in the window (zero included), most first."""
    return flow.query(sql.HANDOFFS_PER_ITEM)


def wip_daily(flow: Flow) -> pd.DataFrame:
    """Items in each stage at the end of each local day (the cumulative flow diagram), with
    the stage's WIP limit from the board when known."""
    return flow.query(sql.WIP_DAILY)


def ageing(flow: Flow) -> pd.DataFrame:
    """Unfinished committed items, oldest first: age since commitment, time in the current
    stage, and the age at which finished items last left that stage (p50, p85, p95); an item
    past the p85 is at risk."""
    return flow.query(sql.AGEING)


def truncated_history(flow: Flow) -> dict:
    """How many items in the window have a changelog the export cut short, with examples."""
    row = flow.query(sql.TRUNCATED_HISTORY).iloc[0]
    return {"items": int(row["items"]), "example_keys": [str(k) for k in row["example_keys"]]}


def littles_law(flow: Flow) -> dict:
    """Little's law over the window (calendar clock): average WIP against throughput per day x
    mean cycle time, the relative gap, and whether it is within ``LITTLES_LAW_TOLERANCE``."""
    row = {key: _plain(value) for key, value in flow.query(sql.LITTLES_LAW).iloc[0].to_dict().items()}
    wip, rate, days = row["average_wip"], row["throughput_per_day"], row["mean_cycle_time_days"]
    predicted = rate * days if rate is not None and days is not None else None
    gap = abs(wip - predicted) / wip if wip and predicted is not None else None
    row.update(predicted_wip=predicted, relative_gap=gap, tolerance=LITTLES_LAW_TOLERANCE,
               consistent=None if gap is None else gap <= LITTLES_LAW_TOLERANCE)
    return row


def delivered_stays(flow: Flow) -> pd.DataFrame:
    """Every non-done stay of the delivered items finished in the window, by item number ``n``
    (the input of the change replays and the what-if; no particular row order)."""
    return flow.query(sql.DELIVERED_STAYS)


def delivered_items(flow: Flow) -> pd.DataFrame:
    """The delivered items finished in the window, by number ``n``: key and per-item times."""
    return flow.query(sql.DELIVERED_ITEMS)


def stage_entries(flow: Flow, stage: str) -> pd.DataFrame:
    """Per item in the window that entered ``stage``: first entry, time there, lead time or age
    (the input of experiments). ValueError when the map has no such stage."""
    stage_id = flow.stage_id(stage)
    return flow.con.execute(sql.STAGE_ENTRIES, {"stage_id": stage_id}).df()


def departure_days(flow: Flow) -> pd.DataFrame:
    """Per wait stage: departures in the window and the number of distinct local days they
    happened on, with the first and last such day (batching shows as few, crowded days)."""
    return flow.query(sql.DEPARTURE_DAYS)


def _plain(value):
    """A JSON-friendly Python value from a pandas cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
