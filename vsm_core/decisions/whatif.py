"""The future state: "if this wait halved, lead time would be..." (field guide sections 1 and 6).

The user sets, per stage, a cut of its waiting and/or working time, or a WIP limit; the
product replays the history of the delivered items under those changes and shows the
projected lead time (median, p85), cycle time, flow efficiency and throughput against today's.

The model (the README quotes it; every rule is also stated in ``WhatIf.assumptions``):

* **History**: the delivered items finished in the window (``measures.delivered_items``) and
  their non-done stays (``measures.delivered_stays``). Per item and stage, **wait hours** are
  the time in a `wait` stage plus the flagged hours in an `active` stage; **active hours** are an
  active stage's hours minus its flagged hours (blocked time is counted once, as waiting).
* **A cut** of ``reduce_wait_pct`` / ``reduce_active_pct`` scales that stage's wait / active
  hours of every item by ``1 - pct / 100``. A working-time cut on a wait stage changes nothing
  (a queue has no working time); it is allowed and said so.
* **A WIP limit** follows Little's law: at the same throughput, a stage's mean time falls in
  proportion to its WIP, so the factor is ``limit / today's average WIP`` in the stage (items
  there at each local day's end, ``measures.wip_daily`` over the window), applied only when
  today's average exceeds the limit, to the stage's whole time, as the `wip-limit` lever's
  replay does (time "in progress" shrinks too: with fewer items started, less of it sits idle
  between context switches). The model assumes the work held back is not started elsewhere
  (stop starting, start finishing), so the removed time does not reappear upstream. A cut and a
  limit on one stage multiply.
* **New times**: each item's lead time loses exactly the hours removed from its stays (every
  other hour, backlog and rework included, stays); so does its cycle time (removed hours all
  lie after commitment: wait and active stays start at or after it). Flow efficiency is the
  ratio of sums, process / (process + wait), over the committed items, today and projected.
* **Throughput** stays today's delivered items per week (the mean of the window's weeks,
  ``measures.throughput``). The WIP-limit rule holds throughput by construction, and by
  Little's law shorter times with WIP held would raise throughput only if the team had spare
  capacity, which the history cannot show: the product does not promise it.
* **Monte Carlo**: the point figures are those of the whole replayed history (so a change that
  only shortens stays can never lengthen a figure, and a change that removes nothing gives
  today's figures exactly). Their 90 % intervals come from ``runs`` resamples of the items
  with replacement: the 5th and 95th percentiles of the runs' medians and p85s, with the
  median of the runs beside them. Today's figures get intervals from the same resamples.
* **Resampling without an n x runs matrix**: a quantile of a resample only needs two order
  statistics of it, and the j-th smallest of n uniform draws is Beta(j, n + 1 - j) (the next
  one follows from the rest being uniform above it). Drawing those positions directly gives
  exactly the distribution of sorting n resampled values, at a cost of ``runs`` draws per
  order statistic instead of ``runs x n`` (80 million on 80,000 items):
  ``tests/test_whatif.py`` checks it against explicit resampling.
* **Percentiles** interpolate linearly between closest ranks (as everywhere in the product).
  Hours are the flow's clock hours; days divide them by 24.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from vsm_core.metrics import Flow, measures
from vsm_core.metrics.report import plain

QUANTILES = (0.5, 0.85)  # the lead-time median and p85
INTERVAL = (5.0, 95.0)  # percentiles of the runs: a 90 % interval
HISTOGRAM_BINS = 20
MAX_RUNS = 100_000


@dataclass(frozen=True)
class StageTarget:
    """The change asked for one stage: a cut of its waiting and/or working time (percent), or a
    WIP limit (items)."""

    stage: str
    reduce_wait_pct: float = 0
    reduce_active_pct: float = 0
    wip_limit: int | None = None

    def __post_init__(self) -> None:
        for label, value in (("waiting", self.reduce_wait_pct), ("working", self.reduce_active_pct)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 100:
                raise ValueError(f"The cut of {label} time in {self.stage!r} is {value!r} %; give a percentage "
                                 "from 0 to 100.")
        limit = self.wip_limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1):
            raise ValueError(f"The WIP limit for {self.stage!r} is {self.wip_limit!r}; give a whole number of "
                             "items, 1 or more.")
        if not self.reduce_wait_pct and not self.reduce_active_pct and self.wip_limit is None:
            raise ValueError(f"Nothing is asked of {self.stage!r}; set a cut of its waiting or working time, "
                             "or a WIP limit.")


@dataclass(frozen=True)
class LeadTimeHistogram:
    """Today's and the projected lead times in equal bins of days; the last bin also holds
    everything longer (the bins reach today's p95, so a long tail does not flatten the chart)."""

    edges_days: tuple[float, ...]
    today: tuple[int, ...]
    projected: tuple[int, ...]

    def to_dict(self) -> dict:
        bins = [{"from_days": plain(lo), "to_days": plain(hi), "today": t, "projected": p}
                for lo, hi, t, p in zip(self.edges_days, self.edges_days[1:], self.today, self.projected)]
        return {"bins": bins, "last_bin_includes_longer": True}


@dataclass(frozen=True)
class WhatIf:
    """Today's flow figures and the projected ones under ``targets``, with their 90 % intervals
    (``{figure: (low, median of runs, high)}``, for the lead-time median and p85)."""

    today: dict
    projected: dict
    today_intervals: dict
    projected_intervals: dict
    items: int
    runs: int
    seed: int
    targets: tuple[StageTarget, ...]
    assumptions: tuple[str, ...]
    histogram: LeadTimeHistogram

    @property
    def days_saved(self) -> dict:
        """Lead-time days saved at the median and at the p85 (today minus projected)."""
        return {name: _difference(self.today[f"lead_time_{name}_days"], self.projected[f"lead_time_{name}_days"])
                for name in ("median", "p85")}

    def to_dict(self) -> dict:
        return {
            "today": {k: plain(v) for k, v in self.today.items()},
            "projected": {k: plain(v) for k, v in self.projected.items()},
            "days_saved": {k: plain(v) for k, v in self.days_saved.items()},
            "today_intervals": _intervals_dict(self.today_intervals),
            "projected_intervals": _intervals_dict(self.projected_intervals),
            "items": self.items, "runs": self.runs, "seed": self.seed,
            "targets": [{k: plain(v) for k, v in asdict(t).items()} for t in self.targets],
            "assumptions": list(self.assumptions),
            "histogram": self.histogram.to_dict(),
        }


# -- resampling --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResampleDraws:
    """For each run (rows) and quantile (columns), the two sorted positions of the original
    values that the quantile of that run's resample interpolates between."""

    lower: np.ndarray
    upper: np.ndarray
    fraction: np.ndarray

    def quantiles(self, sorted_values: np.ndarray) -> np.ndarray:
        """The (runs, quantiles) table of the resamples' quantiles of ``sorted_values``."""
        low, high = sorted_values[self.lower], sorted_values[self.upper]
        return low + self.fraction * (high - low)


def resample_draws(n: int, quantiles: Sequence[float], runs: int, rng: np.random.Generator) -> ResampleDraws:
    """Draw, for ``runs`` resamples with replacement of ``n`` values, the sorted positions their
    ``quantiles`` fall on (linear interpolation), without drawing the n values of each run.

    A resample is ``values[floor(U_i * n)]`` for n uniform U_i; sorting commutes with that
    monotone map, so its j-th smallest value is ``sorted[floor(U_(j) * n)]``. U_(j) is
    Beta(j, n + 1 - j), and given U_(j), the r-th next order statistic is
    U_(j) + (1 - U_(j)) Beta(r, n + 1 - j - r): the needed ranks are drawn in increasing order,
    jointly, so every run is one consistent resample."""
    positions = [(n - 1) * q for q in quantiles]
    below = [math.floor(p) for p in positions]
    ranks = sorted({rank for k in below for rank in (k + 1, min(k + 2, n))})  # 1-based order statistics
    u, previous, at_rank = np.zeros(runs), 0, {}
    for rank in ranks:
        u = u + (1.0 - u) * rng.beta(rank - previous, n + 1 - rank, size=runs)
        at_rank[rank] = np.minimum(np.floor(u * n).astype(np.int64), n - 1)
        previous = rank
    lower = np.column_stack([at_rank[k + 1] for k in below])
    upper = np.column_stack([at_rank[min(k + 2, n)] for k in below])
    fraction = np.array([p - k for p, k in zip(positions, below)])
    return ResampleDraws(lower, upper, fraction)


# -- the replay ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _StagePlan:
    """One target resolved against the map: the share of wait / active hours kept."""

    target: StageTarget
    stage_id: int
    kind: str
    wait_kept: float
    active_kept: float
    average_wip: float | None


def what_if(flow: Flow, targets: list[StageTarget], *, runs: int = 1000, seed: int = 0) -> WhatIf:
    """Replay the delivered items of ``flow`` under ``targets`` and compare with today (the
    model is in this module's docstring). ValueError (one sentence) on a target the map cannot
    take or when no delivered item finished in the window."""
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= MAX_RUNS:
        raise ValueError(f"The number of Monte Carlo runs is {runs!r}; use a whole number from 1 to {MAX_RUNS:,}.")
    plans = _resolve(flow, targets)
    items = measures.delivered_items(flow)
    if items.empty:
        raise ValueError("No delivered item finished in the chosen window, so there is no history to project from; "
                         "widen the date window or import more history.")
    stays = measures.delivered_stays(flow)
    removed_wait, removed_active = _removed_hours(items, stays, plans, len(flow.stage_map.stages))
    lead, cycle, pt, wt = (items[name].to_numpy(dtype=float, na_value=np.nan)
                           for name in ("lead_h", "cycle_h", "pt_h", "wt_h"))
    removed = removed_wait + removed_active
    new_lead = np.maximum(lead - removed, 0.0)
    throughput = _throughput_per_week(flow)
    today = _figures(lead, cycle, pt, wt, throughput)
    projected = _figures(new_lead, np.maximum(cycle - removed, 0.0), np.maximum(pt - removed_active, 0.0),
                         np.maximum(wt - removed_wait, 0.0), throughput)
    today_intervals, projected_intervals = _monte_carlo(lead, new_lead, runs, seed)
    return WhatIf(today=today, projected=projected, today_intervals=today_intervals,
                  projected_intervals=projected_intervals, items=len(items), runs=runs, seed=seed,
                  targets=tuple(targets), assumptions=_assumptions(flow, plans, len(items), throughput, runs),
                  histogram=_histogram(lead, new_lead))


def _resolve(flow: Flow, targets: list[StageTarget]) -> list[_StagePlan]:
    """Check the targets against the map and turn each into the shares of hours it keeps."""
    if not targets:
        raise ValueError("No change is set; give at least one stage a cut of its waiting or working time, "
                         "or a WIP limit.")
    seen, plans = set(), []
    wip = _average_wip(flow) if any(t.wip_limit is not None for t in targets) else {}
    for target in targets:
        stage_id = flow.stage_id(target.stage)
        stage = flow.stage_map.stages[stage_id]
        if stage_id in seen:
            raise ValueError(f"{stage.name!r} has two targets; give each stage one target with all its changes.")
        seen.add(stage_id)
        if stage.kind not in ("wait", "active"):
            raise ValueError(f"{stage.name!r} is a {stage.kind} stage, not work in process; what-ifs change the "
                             "wait and active stages.")
        average = wip.get(stage_id)
        limit_factor = 1.0
        if target.wip_limit is not None and average and average > target.wip_limit:
            limit_factor = target.wip_limit / average
        plans.append(_StagePlan(target, stage_id, stage.kind, (1 - target.reduce_wait_pct / 100) * limit_factor,
                                (1 - target.reduce_active_pct / 100) * limit_factor, average))
    return plans


def _average_wip(flow: Flow) -> dict[int, float]:
    """Each stage's average number of items at a local day's end over the window."""
    daily = measures.wip_daily(flow)
    if daily.empty:
        return {}
    means = daily.groupby("stage", sort=False)["wip"].mean()
    return {flow.stage_id(name): float(value) for name, value in means.items()}


def _removed_hours(items: pd.DataFrame, stays: pd.DataFrame, plans: list[_StagePlan],
                   stage_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per item (in ``items`` order), the wait and active hours the targets remove."""
    wait_cut, active_cut = np.zeros(stage_count), np.zeros(stage_count)
    is_active = np.zeros(stage_count, dtype=bool)
    for plan in plans:
        wait_cut[plan.stage_id], active_cut[plan.stage_id] = 1 - plan.wait_kept, 1 - plan.active_kept
        is_active[plan.stage_id] = plan.kind == "active"
    stage_ids = stays["stage_id"].to_numpy()
    touched = np.isin(stage_ids, [plan.stage_id for plan in plans])
    stage_ids = stage_ids[touched]
    hours = stays["hours"].to_numpy(dtype=float)[touched]
    flagged = stays["blocked_h"].to_numpy(dtype=float)[touched]
    active = is_active[stage_ids]
    wait_h = np.where(active, flagged, hours)
    active_h = np.where(active, hours - flagged, 0.0)
    where = np.searchsorted(items["n"].to_numpy(), stays["n"].to_numpy()[touched])
    count = len(items)
    return (np.bincount(where, weights=wait_h * wait_cut[stage_ids], minlength=count),
            np.bincount(where, weights=active_h * active_cut[stage_ids], minlength=count))


def _figures(lead: np.ndarray, cycle: np.ndarray, pt: np.ndarray, wt: np.ndarray, throughput: float | None) -> dict:
    committed = ~np.isnan(cycle)
    process, wait = pt[committed].sum(), wt[committed].sum()
    return {
        "lead_time_median_days": float(np.quantile(lead, 0.5)) / 24,
        "lead_time_p85_days": float(np.quantile(lead, 0.85)) / 24,
        "cycle_time_median_days": float(np.quantile(cycle[committed], 0.5)) / 24 if committed.any() else None,
        "flow_efficiency": float(process / (process + wait)) if process + wait > 0 else None,
        "throughput_per_week": throughput,
    }


def _throughput_per_week(flow: Flow) -> float | None:
    weekly = measures.throughput(flow)
    return float(weekly["delivered"].mean()) if len(weekly) else None


def _monte_carlo(lead: np.ndarray, new_lead: np.ndarray, runs: int, seed: int) -> tuple[dict, dict]:
    """90 % intervals of the lead-time median and p85, today and projected, from the same
    resamples (common random numbers: in every run the projection is compared with today on
    the same items)."""
    draws = resample_draws(len(lead), QUANTILES, runs, np.random.default_rng(seed))
    result = []
    for values in (lead, new_lead):
        table = draws.quantiles(np.sort(values)) / 24
        low, mid, high = np.percentile(table, [INTERVAL[0], 50.0, INTERVAL[1]], axis=0)
        result.append({name: (float(low[i]), float(mid[i]), float(high[i]))
                       for i, name in enumerate(("lead_time_median_days", "lead_time_p85_days"))})
    return result[0], result[1]


def _histogram(lead: np.ndarray, new_lead: np.ndarray) -> LeadTimeHistogram:
    top = max(math.ceil(float(np.quantile(lead, 0.95)) / 24), 1)
    edges = np.linspace(0.0, float(top), HISTOGRAM_BINS + 1)
    counts = [np.histogram(np.minimum(values / 24, top), bins=edges)[0] for values in (lead, new_lead)]
    return LeadTimeHistogram(tuple(float(e) for e in edges), tuple(int(c) for c in counts[0]),
                             tuple(int(c) for c in counts[1]))


# -- the sentences ---------------------------------------------------------------------------

def _assumptions(flow: Flow, plans: list[_StagePlan], items: int, throughput: float | None,
                 runs: int) -> tuple[str, ...]:
    plural = "s" if items != 1 else ""
    sentences = [(f"The history replayed is the {items:,} delivered item{plural} that finished in the chosen "
                  f"window, each keeping its own path through the stages; times are counted in {flow.clock.label}.")]
    sentences += [sentence for plan in plans for sentence in _target_sentences(plan)]
    sentences += [
        ("Only the time removed from the stages named changes: every other hour of each item (backlog, other "
         "stages, rework) stays as it was, and no other stage absorbs the time freed."),
        ("Flagged time inside a working stage counts as waiting, so a cut of waiting time there shortens the "
         "flagged time, and a cut of working time shortens the rest."),
        (f"Throughput stays at today's {_number(throughput)} delivered items per week: by Little's law, shorter "
         "times with the same work in process would raise it only if the team had spare capacity, which the "
         "history cannot show, so the product does not promise it."),
        (f"The ranges are 90 % intervals from {runs:,} resamples of the items (Monte Carlo): they show how much "
         "the figures depend on which items happened to finish, not how sure the change is to work."),
    ]
    return tuple(sentences)


def _target_sentences(plan: _StagePlan) -> list[str]:
    target, name, sentences = plan.target, plan.target.stage, []
    if target.reduce_wait_pct:
        what = "waiting time" if plan.kind == "wait" else "flagged (blocked) time"
        sentences.append(f"Every item's {what} in {name} is cut by {_number(target.reduce_wait_pct)} %.")
    if target.reduce_active_pct:
        if plan.kind == "wait":
            sentences.append(f"{name} is a queue with no working time, so the cut of its working time changes nothing.")
        else:
            sentences.append(f"Every item's working time in {name} (flagged time left out) is cut by "
                             f"{_number(target.reduce_active_pct)} %.")
    if target.wip_limit is not None:
        sentences.append(_wip_sentence(plan))
    return sentences


def _wip_sentence(plan: _StagePlan) -> str:
    limit, name, average = plan.target.wip_limit, plan.target.stage, plan.average_wip
    if not average or average <= limit:
        return (f"A WIP limit of {limit} in {name} changes nothing: today's average there is "
                f"{_number(average or 0)} items at a day's end, already within the limit.")
    factor = limit / average
    return (f"A WIP limit of {limit} in {name}, against today's average of {_number(average)} items at a day's "
            f"end: by Little's law, at the same throughput, the time items spend there falls in proportion, to "
            f"{factor * 100:.0f} % of today's (idle time between context switches included), and the work held "
            "back is assumed not to be started elsewhere (stop starting, start finishing).")


def _number(value: float | None) -> str:
    if value is None:
        return "no"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _difference(today: float | None, projected: float | None) -> float | None:
    return None if today is None or projected is None else today - projected


def _intervals_dict(intervals: dict) -> dict:
    return {name: {"low": plain(low), "median_of_runs": plain(mid), "high": plain(high)}
            for name, (low, mid, high) in intervals.items()}
