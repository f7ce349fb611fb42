"""The flow measures as plain JSON-ready values: what ``vsm stages`` and ``vsm flow`` print.

Times are ISO 8601 in UTC (``2025-06-30T17:00:00Z``), days are ISO dates, hours keep four
decimals and ratios six; a figure that cannot be computed (no finished item) is null.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pandas as pd

from vsm_core.metrics import measures
from vsm_core.metrics.flow import Flow

STAGE_KEYS = (
    "stage", "statuses", "kind", "order", "side", "cancelled", "new", "wip_limit",
    "items", "visits", "median_hours", "p85_hours", "p95_hours", "total_hours",
    "share_of_lead_time", "days_of_lead_time", "finished_items", "finished_median_hours", "finished_p85_hours",
    "wait_hours", "active_hours", "blocked_hours", "items_now", "median_age_now_hours", "oldest_age_now_hours",
)


def plain(value):
    """A JSON value from a pandas/NumPy/DuckDB cell."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        utc = value.astimezone(UTC) if value.tzinfo else value
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 6 if abs(value) <= 1 else 4)
    return value


DAY_COLUMNS = ("day", "week")  # local calendar days: ISO dates, not instants


def records(frame: pd.DataFrame, keys: tuple[str, ...] | None = None) -> list[dict]:
    columns = [k for k in (keys or tuple(frame.columns)) if k in frame.columns]
    rows = []
    for row in frame[columns].itertuples(index=False, name=None):
        rows.append({k: (v.date().isoformat() if k in DAY_COLUMNS and isinstance(v, pd.Timestamp) else plain(v))
                     for k, v in zip(columns, row)})
    return rows


def view_description(flow: Flow, dataset: str, version: int) -> dict:
    """What the figures cover: dataset, version, as-of, stage map, clock and filters."""
    f = flow.filters
    return {
        "dataset": dataset, "version": version, "as_of": plain(flow.as_of), "stage_map": flow.stage_map.version_id,
        "clock": {"kind": flow.clock.kind, "timezone": flow.clock.timezone, "holidays": [d.isoformat() for d in flow.clock.holidays],
                  "label": flow.clock.label},
        "filters": {"start": plain(f.start), "end": plain(f.end), "issue_types": list(f.issue_types) or None,
                    "all_types": f.all_types, "projects": list(f.projects), "labels": list(f.labels),
                    "components": list(f.components), "parents": list(f.parents)},
    }


def stages_report(flow: Flow) -> list[dict]:
    return records(measures.stage_times(flow), STAGE_KEYS)


def _summary(values: pd.Series) -> dict:
    values = values.dropna()
    if values.empty:
        return {"items": 0, "mean": None, "median": None, "p85": None, "max": None}
    return {"items": len(values), "mean": plain(float(values.mean())), "median": plain(float(values.quantile(0.5))),
            "p85": plain(float(values.quantile(0.85))), "max": plain(float(values.max()))}


def flow_report(flow: Flow, *, with_items: bool = False) -> dict:
    """Every flow measure but the stage table (see ``vsm flow --json`` in the README)."""
    distributions = {row["measure"]: {k: v for k, v in row.items() if k != "measure"}
                     for row in records(measures.distributions(flow))}
    empty = {"items": 0, "mean_hours": None, "median_hours": None, "p85_hours": None, "p95_hours": None, "max_hours": None}
    candA, rolled = measures.complete_and_accurate(flow)
    per_item = measures.handoffs_per_item(flow)
    finished = measures.finished_items(flow)
    report = {
        "lead_time": distributions.get("lead_time", empty),
        "cycle_time": distributions.get("cycle_time", empty),
        "reopened_time": distributions.get("reopened_time", empty),
        "backlog_time": distributions.get("backlog_time", empty),
        "finished": {"delivered": int((~finished["cancelled"]).sum()), "cancelled": int(finished["cancelled"].sum())},
        "throughput": records(measures.throughput(flow)),
        "net_flow": records(measures.net_flow(flow)),
        "flow_efficiency": {k: plain(v) for k, v in measures.flow_efficiency(flow).items()},
        "complete_and_accurate": {"stages": records(candA), "rolled": plain(rolled)},
        "rework_loops": records(measures.rework_loops(flow)),
        "handoffs": {"by_stage": records(measures.handoffs_by_stage(flow)), "per_item": _summary(per_item["handoffs"])},
        "wip_daily": records(measures.wip_daily(flow)),
        "ageing": records(measures.ageing(flow)),
        "littles_law": {k: plain(v) for k, v in measures.littles_law(flow).items()},
        "history_truncated": plain(measures.truncated_history(flow)),
    }
    if with_items:
        handoffs = dict(zip(per_item["key"], per_item["handoffs"]))
        items = records(finished)
        for item in items:
            item["handoffs"] = int(handoffs.get(item["key"], 0))
        report["items"] = items
    return report
