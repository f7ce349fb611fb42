"""Experiments: a change the team started on a date, and whether it worked (field guide
sections 1, 2a and 6).

An experiment (title, stage, lever, start date, settling days, note) is saved with its
dataset as ``<dataset>/experiments/<id>.json``, so it survives re-imports like stage maps do.
``evaluate`` reads it against a prepared flow. Rules (the README quotes them):

* **Grouping by stage entry** (guide 2a): an item belongs to the group of the date it first
  entered the affected stage (``measures.stage_entries``), never of its finish date (fast
  items finish first and fake an improvement). *Before*: it entered before the start day.
  *After*: it entered on or after the start day plus ``settle_days`` (the settling period,
  while the team adopts the change, is left out). Days are local days of the flow's clock.
* **Same length of time**: the after period runs from the end of the settling period to the
  as-of time; the before group only takes items that entered in the same length of time just
  before the start, so an old backlog cannot dominate the comparison.
* **Unfinished items count through their age so far**: their time in the stage so far and
  their age since creation stand in for stage time and lead time. Cancelled items are left
  out (their time is not delivery).
* **Figures**: for the stage time per item and for the lead time (or age), the median before
  and after, the difference of the medians (after minus before) in days, its bootstrap 90 %
  confidence interval (5th to 95th percentile of ``resamples`` differences, both groups
  resampled with replacement, drawn by ``whatif.resample_draws``) and the change in percent.
* **Verdict** on the stage time (the thresholds are the constants below):
  "too little data yet" when either group has fewer than ``MIN_ITEMS`` items or fewer than
  ``MIN_FINISHED`` finished ones; "improved" when the whole interval of the difference lies
  below zero and the median fell by at least ``MIN_CHANGE``; "worse" when the whole interval
  lies above zero and the median rose by at least ``MIN_CHANGE`` (any rise from a median of
  zero counts); otherwise "no clear change". Lead time is reported beside it, not judged: the
  change targets one stage, and lead time moves for many reasons.
* **Percentiles** interpolate linearly between closest ranks, as everywhere in the product.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from vsm_core.decisions.levers import LEVERS
from vsm_core.decisions.whatif import resample_draws
from vsm_core.metrics import Flow, measures
from vsm_core.metrics.report import plain
from vsm_core.store import _write_json_atomic

EXPERIMENT_ID_RE = re.compile(r"^[0-9a-f]{12}$")
MAX_TITLE = 200
MAX_NOTE = 2000
MAX_SETTLE_DAYS = 60

MIN_ITEMS = 10  # per group, finished or not
MIN_FINISHED = 5  # finished items per group
MIN_CHANGE = 0.10  # the stage-time median must move by at least this share of its before value
_SAME = 1e-9  # a change within this of MIN_CHANGE counts as reaching it (hours are floats)
CONFIDENCE = 0.90  # of the bootstrap interval of the difference of medians
VERDICTS = ("improved", "no clear change", "worse", "too little data yet")


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """A change the team started on ``start`` in ``stage``, with the lever it pulls (None for
    any other change)."""

    experiment_id: str
    title: str
    stage: str
    lever: str | None
    start: date
    settle_days: int = 7
    created_at: str
    note: str | None = None

    def to_dict(self) -> dict:
        return {"experiment_id": self.experiment_id, "title": self.title, "stage": self.stage, "lever": self.lever,
                "start": self.start.isoformat(), "settle_days": self.settle_days, "created_at": self.created_at,
                "note": self.note}

    @classmethod
    def from_dict(cls, data: dict) -> Experiment:
        fields = _checked_fields(title=data["title"], stage=data["stage"], lever=data.get("lever"),
                                 start=data["start"], settle_days=data.get("settle_days", 7), note=data.get("note"))
        experiment_id = str(data["experiment_id"])
        if not EXPERIMENT_ID_RE.fullmatch(experiment_id):
            raise ValueError(f"{experiment_id!r} is not an experiment id.")
        return cls(experiment_id=experiment_id, created_at=str(data["created_at"]), **fields)


# -- saving with the dataset -------------------------------------------------------------------

def add_experiment(dataset_dir: Path, *, title: str, stage: str, lever: str | None, start: date | str,
                   settle_days: int = 7, note: str | None = None) -> Experiment:
    """Record an experiment with its dataset (written atomically) and return it. ValueError
    (one sentence) on a bad field; the stage name is checked against the map by ``evaluate``."""
    fields = _checked_fields(title=title, stage=stage, lever=lever, start=start, settle_days=settle_days, note=note)
    created_at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    experiment = Experiment(experiment_id=secrets.token_hex(6), created_at=created_at, **fields)
    folder = _experiments_dir(dataset_dir)
    folder.mkdir(parents=True, exist_ok=True)
    _write_json_atomic(folder / f"{experiment.experiment_id}.json", experiment.to_dict())
    return experiment


def list_experiments(dataset_dir: Path) -> list[Experiment]:
    """The dataset's experiments, newest first; a file that cannot be read is skipped."""
    folder = _experiments_dir(dataset_dir)
    found = []
    for path in folder.glob("*.json") if folder.is_dir() else ():
        if not EXPERIMENT_ID_RE.fullmatch(path.stem):
            continue
        try:
            found.append(_read(path))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    found.sort(key=lambda e: (e.created_at, e.experiment_id), reverse=True)
    return found


def load_experiment(dataset_dir: Path, experiment_id: str) -> Experiment:
    """The experiment ``experiment_id`` of the dataset; ValueError when there is none."""
    path = _path_of(dataset_dir, experiment_id)
    try:
        return _read(path)
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError(f"The experiment {experiment_id!r} cannot be read (it may have been deleted or damaged); "
                         "pick one from the list of experiments.") from None


def delete_experiment(dataset_dir: Path, experiment_id: str) -> None:
    """Remove the experiment ``experiment_id`` from the dataset; ValueError when there is none."""
    path = _path_of(dataset_dir, experiment_id)
    try:
        path.unlink()
    except FileNotFoundError:
        raise ValueError(f"This dataset has no experiment {experiment_id!r}; pick one from the list of "
                         "experiments.") from None


def _experiments_dir(dataset_dir: Path) -> Path:
    return Path(dataset_dir) / "experiments"


def _path_of(dataset_dir: Path, experiment_id: str) -> Path:
    """The file of ``experiment_id``, only once the id is known to be 12 hex characters."""
    if not isinstance(experiment_id, str) or not EXPERIMENT_ID_RE.fullmatch(experiment_id):
        raise ValueError(f"{experiment_id!r} is not an experiment id; ids are 12 characters of 0-9 and a-f.")
    return _experiments_dir(dataset_dir) / f"{experiment_id}.json"


def _read(path: Path) -> Experiment:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or data.get("experiment_id") != path.stem:
        raise ValueError(f"{path.name} is not this experiment's file.")
    return Experiment.from_dict(data)


def _checked_fields(*, title, stage, lever, start, settle_days, note) -> dict:
    """The experiment's fields, checked; ValueError with one sentence on the first bad one."""
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > MAX_TITLE:
        raise ValueError(f"Give the experiment a title of 1 to {MAX_TITLE} characters.")
    if not isinstance(stage, str) or not stage.strip() or len(stage.strip()) > MAX_TITLE:
        raise ValueError("Name the stage the change affects, as it is called in the stage map.")
    if lever is not None and lever not in LEVERS:
        raise ValueError(f"{lever!r} is not a lever; use one of {', '.join(LEVERS)}, or none for another change.")
    if isinstance(settle_days, bool) or not isinstance(settle_days, int) or not 0 <= settle_days <= MAX_SETTLE_DAYS:
        raise ValueError(f"The settling period is {settle_days!r} days; give a whole number from 0 to "
                         f"{MAX_SETTLE_DAYS}.")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise ValueError(f"Keep the note to text of at most {MAX_NOTE} characters.")
    return {"title": title.strip(), "stage": stage.strip(), "lever": lever, "start": _start_date(start),
            "settle_days": settle_days, "note": note or None}


def _start_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"The start date {value!r} is not a date; write it as YYYY-MM-DD.") from None


# -- before and after ------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """One measure before and after (days): medians, their difference (after minus before),
    its bootstrap interval and the change in percent of the before median."""

    before_median_days: float | None
    after_median_days: float | None
    difference_days: float | None
    ci_low_days: float | None
    ci_high_days: float | None
    change_pct: float | None

    def to_dict(self) -> dict:
        return {name: plain(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Group:
    """The items of one side of the comparison: those that entered the stage in [start, end)."""

    entered_from: datetime
    entered_to: datetime
    items: int
    finished: int

    def to_dict(self) -> dict:
        return {"entered_from": plain(self.entered_from), "entered_to": plain(self.entered_to),
                "items": self.items, "finished": self.finished}


@dataclass(frozen=True)
class ExperimentResult:
    """The before/after read of one experiment, its verdict and a one-sentence summary."""

    experiment: Experiment
    stage: str
    stage_kind: str
    as_of: datetime
    before: Group
    after: Group
    stage_time: Comparison
    lead_time: Comparison
    verdict: str
    summary: str
    resamples: int
    seed: int

    def to_dict(self) -> dict:
        return {
            "experiment": self.experiment.to_dict(), "stage": self.stage, "stage_kind": self.stage_kind,
            "as_of": plain(self.as_of), "before": self.before.to_dict(), "after": self.after.to_dict(),
            "stage_time": self.stage_time.to_dict(), "lead_time": self.lead_time.to_dict(),
            "verdict": self.verdict, "summary": self.summary, "resamples": self.resamples, "seed": self.seed,
            "thresholds": {"min_items": MIN_ITEMS, "min_finished": MIN_FINISHED, "min_change": MIN_CHANGE,
                           "confidence": CONFIDENCE},
        }


def evaluate(flow: Flow, experiment: Experiment, *, resamples: int = 2000, seed: int = 0) -> ExperimentResult:
    """Compare the items that entered the experiment's stage before its start with those that
    entered after the settling period (rules in this module's docstring). ValueError (one
    sentence) when the map has no such stage or it is a done stage."""
    if isinstance(resamples, bool) or not isinstance(resamples, int) or not 100 <= resamples <= 100_000:
        raise ValueError(f"The number of resamples is {resamples!r}; use a whole number from 100 to 100,000.")
    stage = flow.stage_map.stages[flow.stage_id(experiment.stage)]
    if stage.kind == "done":
        raise ValueError(f"{stage.name!r} is a done stage, where nothing waits or is worked on; pick the stage "
                         "the change affects.")
    entries = measures.stage_entries(flow, stage.name)
    entries = entries[~entries["cancelled"].astype(bool)]
    before, after, before_rows, after_rows = _groups(flow, experiment, entries)
    rng = np.random.default_rng(seed)
    stage_time = _compare(entries["stage_hours"].to_numpy(dtype=float), before_rows, after_rows, resamples, rng)
    lead_time = _compare(entries["lead_or_age_hours"].to_numpy(dtype=float), before_rows, after_rows, resamples, rng)
    verdict = _verdict(before, after, stage_time)
    summary = _summary(experiment, stage.name, stage.kind, before, after, stage_time, lead_time, verdict)
    return ExperimentResult(experiment=experiment, stage=stage.name, stage_kind=stage.kind, as_of=flow.as_of,
                            before=before, after=after, stage_time=stage_time, lead_time=lead_time, verdict=verdict,
                            summary=summary, resamples=resamples, seed=seed)


def _groups(flow: Flow, experiment: Experiment, entries) -> tuple[Group, Group, np.ndarray, np.ndarray]:
    """The before and after groups: which rows of ``entries`` each holds (by first entry)."""
    start = flow.clock.day_start(experiment.start)
    after_from = flow.clock.day_start(experiment.start + timedelta(days=experiment.settle_days))
    as_of = flow.as_of
    length = max(as_of - after_from, timedelta(0))
    entered = entries["entered_at"]
    finished = entries["finished"].to_numpy(dtype=bool)
    before_rows = ((entered >= start - length) & (entered < start)).to_numpy(dtype=bool)
    after_rows = ((entered >= after_from) & (entered <= as_of)).to_numpy(dtype=bool)
    before = Group(start - length, start, int(before_rows.sum()), int((before_rows & finished).sum()))
    after = Group(after_from, max(as_of, after_from), int(after_rows.sum()), int((after_rows & finished).sum()))
    return before, after, before_rows, after_rows


def _compare(hours: np.ndarray, before_rows: np.ndarray, after_rows: np.ndarray, resamples: int,
             rng: np.random.Generator) -> Comparison:
    """Medians (days) of both groups, their difference and its bootstrap interval."""
    before, after = np.sort(hours[before_rows]) / 24, np.sort(hours[after_rows]) / 24
    if not len(before) or not len(after):
        return Comparison(_median(before), _median(after), None, None, None, None)
    before_runs = resample_draws(len(before), (0.5,), resamples, rng).quantiles(before)[:, 0]
    after_runs = resample_draws(len(after), (0.5,), resamples, rng).quantiles(after)[:, 0]
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(after_runs - before_runs, [tail, 100 - tail])
    before_median, after_median = _median(before), _median(after)
    change = (after_median - before_median) / before_median if before_median > 0 else None
    return Comparison(before_median, after_median, after_median - before_median, float(low), float(high), change)


def _median(values: np.ndarray) -> float | None:
    return float(np.quantile(values, 0.5)) if len(values) else None


def _verdict(before: Group, after: Group, stage_time: Comparison) -> str:
    if min(before.items, after.items) < MIN_ITEMS or min(before.finished, after.finished) < MIN_FINISHED:
        return "too little data yet"
    change = stage_time.change_pct
    if change is None:  # the before median is zero: any rise is a rise of more than MIN_CHANGE
        change = float("inf") if stage_time.difference_days > 0 else 0.0
    if stage_time.ci_high_days < 0 and change <= -MIN_CHANGE + _SAME:
        return "improved"
    if stage_time.ci_low_days > 0 and change >= MIN_CHANGE - _SAME:
        return "worse"
    return "no clear change"


# -- the sentence ----------------------------------------------------------------------------

def _summary(experiment: Experiment, stage: str, kind: str, before: Group, after: Group, stage_time: Comparison,
             lead_time: Comparison, verdict: str) -> str:
    since = _day(experiment.start)
    if verdict == "too little data yet":
        settling = (f" and its {experiment.settle_days}-day settling period" if experiment.settle_days else "")
        return (f"Too little data yet: {after.items} item{'s' if after.items != 1 else ''} entered {stage} after "
                f"{since}{settling} ({after.finished} finished) and {before.items} in the same length of time before; "
                f"a fair read needs at least {MIN_ITEMS} items on each side, {MIN_FINISHED} of them finished.")
    verb = "waited" if kind == "wait" else "spent"
    before_days, after_days = stage_time.before_median_days, stage_time.after_median_days
    trend = _trend(before_days, after_days, f"down from {_number(before_days)} days",
                   f"up from {_number(before_days)} days", "as before")
    lead = _trend(lead_time.before_median_days, lead_time.after_median_days,
                  f"fell from {_number(lead_time.before_median_days)} to {_number(lead_time.after_median_days)} days",
                  f"rose from {_number(lead_time.before_median_days)} to {_number(lead_time.after_median_days)} days",
                  f"stayed at {_number(lead_time.after_median_days)} days")
    return (f"Items that entered {stage} after {since} {verb} a median {_number(after_days)} days there, {trend} "
            f"({_interval(stage_time)}); lead time {lead}.")


def _trend(before: float, after: float, down: str, up: str, same: str) -> str:
    """Which words fit the change, as the figures are shown."""
    shown_before, shown_after = (float(_number(v).replace(",", "")) for v in (before, after))
    if shown_after < shown_before:
        return down
    return up if shown_after > shown_before else same


def _interval(comparison: Comparison) -> str:
    low, high = comparison.ci_low_days, comparison.ci_high_days
    share = f"{CONFIDENCE * 100:.0f} % interval"
    if high < 0:
        return f"{share} {_number(-high)} to {_number(-low)} days less"
    if low > 0:
        return f"{share} {_number(low)} to {_number(high)} days more"
    return f"{share} from {_number(-low)} days less to {_number(high)} days more"


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def _number(value: float) -> str:
    """Days as people read them: one decimal, two under a day (0.04 days is an hour, not zero)."""
    return f"{value:,.2f}" if abs(value) < 1 else f"{value:,.1f}"
