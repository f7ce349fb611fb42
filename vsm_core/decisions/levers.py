"""What to change first: the high-leverage changes, each with its evidence, its replay rule and
the days it would have saved (field guide section 6).

How a change is found and sized (the README quotes these rules):

* **Stage roles come from the flow, not from names.** The committed linear stages (wait and
  active, side states apart) are read in map order. A wait stage is the queue of the next active
  stage; the first active stage is the build step; a queue with no active stage after it is the
  release queue; the last active stage of three or more is the test step, any other active stage
  after the build is a review step. A stage name may confirm a role (review, peer, revisión; qa,
  test, prueba; approval, sign-off): names only ever break the tie between review and test when
  there are just two active stages, and mark approval steps (`local-decisions`), which have no
  shape of their own.
* **Signals** (each with a threshold below) fire a lever on a stage:
  - a queue costing at least ``QUEUE_MIN_DAYS`` days or ``QUEUE_MIN_SHARE`` of lead time:
    `review-sla` (queue of a review step), `automate-tests` (queue of the test step),
    `automate-deploy` (release queue; the evidence says when departures come in batches),
    `clarify-ownership` (queue of the build step when items change hands at least
    ``HANDOFFS_MIN`` times on median), `local-decisions` (queue of an approval step);
  - a step that sends at least ``REWORK_MIN_SHARE`` of the delivered items back upstream:
    `requirements-definition` (from a test or review step) and `pairing` (from a review step
    whose queue also costs time);
  - flagged time plus time in side states at least ``BLOCKED_MIN_SHARE`` of flow time:
    `unblock-dependencies`;
  - work in process growing by ``WIP_GROWTH`` or more and by at least ``WIP_MIN_GROWTH_ITEMS``
    items across the period (the last quarter of it against the first, after a tenth left out
    while the flow fills up), with at least ``WIP_AT_RISK`` of the items in flight older than
    their stage's p85 (work getting old, not a chance swing), unless one queue holds more than
    ``WIP_SPREAD`` of the growth (then that step lacks capacity and its queue lever speaks):
    `wip-limit`;
  - a cycle-time p95 at least ``SPREAD_MIN`` times its median: `slice-smaller`.
* **Replays** shorten the delivered items' stays as the change would and recompute each item's
  lead time; the saving is today's median (and p85) lead time minus the replayed one:
  - queue levers cap each stay in the queue at ``QUEUE_CAP_HOURS`` hours (one day of the clock
    in use: a working day on the working clock);
  - `requirements-definition` removes ``REWORK_CUT`` of the time items spend revisiting stages
    after being sent back from the step; `pairing` also caps the review queue;
  - `unblock-dependencies` removes ``BLOCKED_CUT`` of the flagged time in active stages and of
    the time in side states;
  - `wip-limit` follows Little's law: a WIP limit ``WIP_CUT`` below today's WIP cuts cycle time
    by the same share at the same throughput (time "in progress" shrinks too: with less work
    started, less of it sits idle between context switches);
  - `slice-smaller` caps each item's cycle time at today's p85 (big items split into parts
    that flow like typical ones).
* **Ranking**: score = (days saved at the median + days saved at the p85) / 2, divided by the
  effort weight (low 1, medium 1.5, high 2.5). When `wip-limit` fires it comes first: while work
  in flight grows, a queue-specific change only moves the queue (stop starting, start finishing).
  At most one change per lever and ``LIMIT`` changes in all; a change that saves less than
  ``MIN_SAVING_SHARE`` of the median lead time at both the median and the p85 is left out, so a
  healthy flow gets no big promises.
* **Confidence** from the items the change touches: high from ``HIGH_ITEMS`` delivered items,
  medium from ``MEDIUM_ITEMS``, else low.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from vsm_core.decisions.inputs import DecisionInputs
from vsm_core.metrics import Flow
from vsm_core.stagemap import Stage

LEVERS = ("review-sla", "pairing", "automate-tests", "automate-deploy", "wip-limit", "requirements-definition",
          "clarify-ownership", "unblock-dependencies", "slice-smaller", "local-decisions")
EFFORT = {"review-sla": "low", "pairing": "medium", "automate-tests": "high", "automate-deploy": "high",
          "wip-limit": "low", "requirements-definition": "medium", "clarify-ownership": "low",
          "unblock-dependencies": "medium", "slice-smaller": "medium", "local-decisions": "low"}
EFFORT_WEIGHT = {"low": 1.0, "medium": 1.5, "high": 2.5}

QUEUE_MIN_DAYS = 1.0
QUEUE_MIN_SHARE = 0.10
QUEUE_CAP_HOURS = 24.0
HANDOFFS_MIN = 2
REWORK_MIN_SHARE = 0.20
REWORK_CUT = 0.5
BLOCKED_MIN_SHARE = 0.10
BLOCKED_CUT = 0.5
WIP_GROWTH = 1.5
WIP_MIN_GROWTH_ITEMS = 10
WIP_AT_RISK = 0.3
WIP_SPREAD = 0.6
WIP_CUT = 0.3
SPREAD_MIN = 5.0
MIN_SAVING_SHARE = 0.03
HIGH_ITEMS = 100
MEDIUM_ITEMS = 30
LIMIT = 5

REVIEW_NAMES = re.compile(r"review|revis|peer|code.?check|pull.?request|merge.?request|revue|pr[üu]fung|gegenlesen", re.IGNORECASE)
TEST_NAMES = re.compile(r"\bqa\b|test|prueba|verif|quality|calidad|valid|\buat\b|accept", re.IGNORECASE)
APPROVAL_NAMES = re.compile(r"approv|sign.?off|aprob|freigabe|autoriz|authori|decision|decisi[oó]n|validaci[oó]n de negocio", re.IGNORECASE)


@dataclass(frozen=True)
class Change:
    rank: int
    stage: str
    lever: str
    title: str
    evidence: str
    evidence_items: tuple[str, ...]
    replay_rule: str
    expected_days_saved_median: float
    expected_days_saved_p85: float
    effort: str
    confidence: str
    score: float
    items_affected: int

    def to_dict(self) -> dict:
        data = asdict(self)
        data["evidence_items"] = list(self.evidence_items)
        return data


@dataclass
class _Candidate:
    stage: str
    lever: str
    title: str
    evidence: str
    replay_rule: str
    removed_hours: np.ndarray  # per delivered item, hours the change would have saved
    first: bool = False  # the wip-limit priority rule
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------ roles


def stage_roles(stages: tuple[Stage, ...]) -> dict[str, tuple[str, str | None]]:
    """Per committed linear stage name: (role, the active stage a queue serves). Roles: build,
    review, test, approval (active); queue (wait, serving the next active stage) or release."""
    linear = [s for s in stages if s.kind in ("wait", "active") and not s.side]
    actives = [s for s in linear if s.kind == "active"]
    roles: dict[str, tuple[str, str | None]] = {}
    for j, stage in enumerate(actives):
        roles[stage.name] = (_active_role(stage.name, j, len(actives)), None)
    for i, stage in enumerate(linear):
        if stage.kind != "wait":
            continue
        served = next((s for s in linear[i + 1:] if s.kind == "active"), None)
        roles[stage.name] = ("release", None) if served is None else ("queue", served.name)
    return roles


def _active_role(name: str, position: int, count: int) -> str:
    if APPROVAL_NAMES.search(name):
        return "approval"
    if position == 0:
        return "build"
    if count == 2:  # build + one more step: the name decides, review by default
        return "test" if TEST_NAMES.search(name) and not REVIEW_NAMES.search(name) else "review"
    if TEST_NAMES.search(name) and not REVIEW_NAMES.search(name):
        return "test"
    if REVIEW_NAMES.search(name):
        return "review"
    return "test" if position == count - 1 else "review"


# ------------------------------------------------------------------ replays


def _per_item(inputs: DecisionInputs, removed_per_stay: np.ndarray) -> np.ndarray:
    return np.bincount(inputs.stays["row"].to_numpy(), weights=removed_per_stay, minlength=len(inputs.items))


def _cap_queue(inputs: DecisionInputs, stage_id: int) -> np.ndarray:
    stays = inputs.stays
    hours = stays["hours"].to_numpy()
    removed = np.where(stays["stage_id"].to_numpy() == stage_id, np.maximum(hours - QUEUE_CAP_HOURS, 0.0), 0.0)
    return _per_item(inputs, removed)


def _cut_rework(inputs: DecisionInputs, stage_id: int) -> tuple[np.ndarray, int]:
    """REWORK_CUT of the revisit time of the items the step sent back; and how many items."""
    stays = inputs.stays
    sent_back = stays["sends_back"].to_numpy() & (stays["stage_id"].to_numpy() == stage_id)
    rows = np.unique(stays["row"].to_numpy()[sent_back])
    affected = np.isin(stays["row"].to_numpy(), rows)
    removed = np.where(affected & stays["revisit"].to_numpy(), REWORK_CUT * stays["hours"].to_numpy(), 0.0)
    return _per_item(inputs, removed), len(rows)


def _savings(lead_hours: np.ndarray, removed: np.ndarray) -> tuple[float, float]:
    """Days saved at the median and at the p85 of lead time (linear interpolation)."""
    after = np.maximum(lead_hours - removed, 0.0)
    median = (np.percentile(lead_hours, 50) - np.percentile(after, 50)) / 24.0
    p85 = (np.percentile(lead_hours, 85) - np.percentile(after, 85)) / 24.0
    return max(0.0, float(median)), max(0.0, float(p85))


# ------------------------------------------------------------------ signals


def _queue_candidates(flow: Flow, inputs: DecisionInputs, roles, stage_rows) -> list[_Candidate]:
    out = []
    handoffs_median = float(inputs.handoffs["handoffs"].median()) if len(inputs.handoffs) else 0.0
    for stage_id, stage in enumerate(flow.stage_map.stages):
        role, served = roles.get(stage.name, (None, None))
        if role not in ("queue", "release"):
            continue
        row = stage_rows[stage.name]
        days, share = float(row["days_of_lead_time"] or 0), float(row["share_of_lead_time"] or 0)
        if days < QUEUE_MIN_DAYS and share < QUEUE_MIN_SHARE:
            continue
        served_role = roles.get(served, (None,))[0] if served else None
        lever = _queue_lever(role, served_role, stage.name, handoffs_median)
        if lever is None:
            continue
        removed = _cap_queue(inputs, stage_id)
        waited_long = int((removed > 0).sum())
        median_days = (row["finished_median_hours"] or 0) / 24
        p85_days = (row["finished_p85_hours"] or 0) / 24
        evidence = (f"Delivered items wait {days:.1f} days on average in {stage.name} ({share:.0%} of lead time; "
                    f"median {median_days:.1f}, p85 {p85_days:.1f} days); {waited_long:,} of {len(inputs.items):,} waited "
                    f"more than a day there")
        evidence += _queue_detail(lever, inputs, stage.name, handoffs_median)
        out.append(_Candidate(stage.name, lever, _TITLES[lever].format(stage=stage.name, served=served or "release"),
                              evidence + ".", _RULES[lever].format(stage=stage.name, cap=QUEUE_CAP_HOURS / 24),
                              removed))
    return out


def _queue_lever(role: str, served_role: str | None, name: str, handoffs_median: float) -> str | None:
    if role == "release":
        return "automate-deploy"
    if APPROVAL_NAMES.search(name) or served_role == "approval":
        return "local-decisions"
    if served_role == "review":
        return "review-sla"
    if served_role == "test":
        return "automate-tests"
    if served_role == "build" and handoffs_median >= HANDOFFS_MIN:
        return "clarify-ownership"
    return None


def _queue_detail(lever: str, inputs: DecisionInputs, stage: str, handoffs_median: float) -> str:
    if lever == "automate-deploy":
        row = inputs.departures[inputs.departures["stage"] == stage]
        if len(row):
            r = row.iloc[0]
            span = max(1, (pd.Timestamp(r["last_day"]) - pd.Timestamp(r["first_day"])).days + 1)
            working_days = max(1, round(span * 5 / 7))
            return (f"; items leave it on {int(r['departure_days']):,} of about {working_days:,} working days, "
                    f"{r['departures'] / max(1, r['departure_days']):.1f} at a time")
    if lever == "clarify-ownership":
        return f"; items change hands a median {handoffs_median:.0f} times while in progress"
    return ""


def _rework_candidates(flow: Flow, inputs: DecisionInputs, roles, stage_rows) -> list[_Candidate]:
    out = []
    loops = inputs.loops
    delivered = len(inputs.items)
    if loops.empty or not delivered:
        return out
    for stage_id, stage in enumerate(flow.stage_map.stages):
        role = roles.get(stage.name, (None,))[0]
        if role not in ("review", "test"):
            continue
        moves = int(loops.loc[loops["from_stage"] == stage.name, "moves"].sum())
        removed, items = _cut_rework(inputs, stage_id)
        if items < REWORK_MIN_SHARE * delivered:
            continue
        targets = ", ".join(loops.loc[loops["from_stage"] == stage.name, "to_stage"].head(2))
        evidence = (f"{stage.name} sent {items:,} of {delivered:,} delivered items ({items / delivered:.0%}) back to "
                    f"{targets} ({moves:,} backward moves)")
        out.append(_Candidate(stage.name, "requirements-definition", _TITLES["requirements-definition"].format(stage=stage.name),
                              evidence + ".", _RULES["requirements-definition"].format(stage=stage.name, cut=REWORK_CUT), removed))
        if role == "review":
            queue = next((name for name, (r, served) in roles.items() if r == "queue" and served == stage.name), None)
            if queue is not None:
                queue_removed = _cap_queue(inputs, flow.stage_id(queue))
                queue_days = float(stage_rows[queue]["days_of_lead_time"] or 0)
                out.append(_Candidate(stage.name, "pairing", _TITLES["pairing"].format(stage=stage.name),
                                      f"{evidence}, and items wait {queue_days:.1f} days on average in {queue} first.",
                                      _RULES["pairing"].format(stage=stage.name, queue=queue, cut=REWORK_CUT),
                                      removed + queue_removed))
    return out


def _blocked_candidate(flow: Flow, inputs: DecisionInputs) -> list[_Candidate]:
    stays = inputs.stays
    if stays.empty:
        return []
    kind, side = stays["kind"].to_numpy(), stays["side"].to_numpy()
    flagged_active = np.where(kind == "active", stays["blocked_h"].to_numpy(), 0.0)
    side_hours = np.where(side, stays["hours"].to_numpy(), 0.0)
    flow_hours = float(inputs.items["flow_h"].sum())
    share = (flagged_active.sum() + side_hours.sum()) / flow_hours if flow_hours else 0.0
    if share < BLOCKED_MIN_SHARE:
        return []
    per_stage = pd.Series(flagged_active + side_hours).groupby(stays["stage_id"].to_numpy()).sum()
    stage = flow.stage_map.stages[int(per_stage.idxmax())].name
    blocked_items = int((_per_item(inputs, flagged_active + side_hours) > 0).sum())
    removed = _per_item(inputs, BLOCKED_CUT * (flagged_active + side_hours))
    evidence = (f"{share:.0%} of delivered items' flow time is flagged work or time in side states; "
                f"{blocked_items:,} of {len(inputs.items):,} items were blocked, most of it in {stage}")
    return [_Candidate(stage, "unblock-dependencies", _TITLES["unblock-dependencies"].format(stage=stage), evidence + ".",
                       _RULES["unblock-dependencies"].format(cut=BLOCKED_CUT), removed)]


def _wip_candidate(flow: Flow, inputs: DecisionInputs) -> list[_Candidate]:
    wip = inputs.wip
    if wip.empty or not len(inputs.items):
        return []
    committed = wip[wip["kind"].isin(["wait", "active"])]
    per_day = committed.groupby("day")["wip"].sum().sort_index()
    if len(per_day) < 28:
        return []
    start = len(per_day) // 10  # leave the first tenth out: the flow is still filling up
    quarter = max(7, (len(per_day) - start) // 4)
    early, late = per_day.iloc[start:start + quarter].mean(), per_day.iloc[-quarter:].mean()
    if early <= 0 or late / early < WIP_GROWTH or late - early < WIP_MIN_GROWTH_ITEMS:
        return []
    ageing = inputs.ageing
    at_risk = int(ageing["at_risk"].sum()) if len(ageing) else 0
    if at_risk < WIP_AT_RISK * max(1, len(ageing)):
        return []  # WIP moved, but the work in flight is not getting old: chance, not overload
    days = per_day.index
    by_stage = committed.pivot_table(index="day", columns="stage", values="wip", aggfunc="sum").reindex(days)
    growth = by_stage.iloc[-quarter:].mean() - by_stage.iloc[start:start + quarter].mean()
    total = growth.clip(lower=0).sum()
    top = str(growth.idxmax()) if total > 0 else None
    kinds = committed.drop_duplicates("stage").set_index("stage")["kind"]
    if top is None or (kinds.get(top) == "wait" and growth.max() / total > WIP_SPREAD):
        return []  # one queue holds the growth: that step lacks capacity (its queue lever says so)
    removed = WIP_CUT * inputs.items["cycle_h"].fillna(0).to_numpy()
    evidence = (f"Work in process grew from {early:.0f} to {late:.0f} items ({late / early:.1f}x) across "
                f"{int((growth > 0).sum())} stages; {at_risk:,} of {len(ageing):,} items in flight are older than their "
                f"stage's p85")
    return [_Candidate(top, "wip-limit", _TITLES["wip-limit"].format(stage=top), evidence + ".",
                       _RULES["wip-limit"].format(cut=WIP_CUT, late=late, limit=late * (1 - WIP_CUT)), removed, first=True)]


def _slice_candidate(flow: Flow, inputs: DecisionInputs) -> list[_Candidate]:
    cycle = inputs.items["cycle_h"].dropna()
    if len(cycle) < MEDIUM_ITEMS:
        return []
    p50, p85, p95 = np.percentile(cycle, [50, 85, 95])
    if p50 <= 0 or p95 / p50 < SPREAD_MIN:
        return []
    all_cycle = inputs.items["cycle_h"].fillna(0).to_numpy()
    removed = np.maximum(all_cycle - p85, 0.0)
    stage = str(inputs.stage_table.sort_values("days_of_lead_time", ascending=False).iloc[0]["stage"])
    evidence = (f"Cycle time is very spread: median {p50 / 24:.1f} days, p95 {p95 / 24:.1f} days ({p95 / p50:.0f} times "
                f"the median); the largest items hold the p85 up")
    return [_Candidate(stage, "slice-smaller", _TITLES["slice-smaller"].format(stage=stage), evidence + ".",
                       _RULES["slice-smaller"].format(p85=p85 / 24), removed)]


_TITLES = {
    "review-sla": "Set a review SLA for {stage} and review before starting new work",
    "pairing": "Pair or mob on the changes that {stage} keeps sending back",
    "automate-tests": "Automate the tests behind {stage} (test automation, ephemeral environments)",
    "automate-deploy": "Release continuously instead of in batches from {stage}",
    "wip-limit": "Limit work in process: stop starting, start finishing",
    "requirements-definition": "Agree acceptance criteria before work reaches {stage} (definition of ready, three amigos)",
    "clarify-ownership": "Name one owner per item and stage: {stage} waits for someone to pick work up",
    "unblock-dependencies": "Map dependencies and agree an escalation path for blocked work",
    "slice-smaller": "Split big items into thin vertical slices",
    "local-decisions": "Let the team decide what {stage} waits for (delegate the approval)",
}
_RULES = {
    "review-sla": "Cap every wait in {stage} at {cap:.0f} day and recompute each delivered item's lead time.",
    "automate-tests": "Cap every wait in {stage} at {cap:.0f} day and recompute each delivered item's lead time.",
    "automate-deploy": "Cap every wait in {stage} at {cap:.0f} day and recompute each delivered item's lead time.",
    "clarify-ownership": "Cap every wait in {stage} at {cap:.0f} day and recompute each delivered item's lead time.",
    "local-decisions": "Cap every wait in {stage} at {cap:.0f} day and recompute each delivered item's lead time.",
    "requirements-definition": ("Remove {cut:.0%} of the time items spend going round again after {stage} sends them "
                                "back, and recompute each delivered item's lead time."),
    "pairing": ("Cap every wait in {queue} at 1 day and remove {cut:.0%} of the time items spend going round again "
                "after {stage} sends them back; recompute each delivered item's lead time."),
    "unblock-dependencies": ("Remove {cut:.0%} of the flagged time in active stages and of the time in side states, and "
                             "recompute each delivered item's lead time."),
    "wip-limit": ("Little's law: a WIP limit {cut:.0%} below today's work in process (about {limit:.0f} items instead of "
                  "{late:.0f}) cuts each delivered item's cycle time by {cut:.0%} at the same throughput."),
    "slice-smaller": "Cap each delivered item's cycle time at today's p85 ({p85:.1f} days): big items split into parts that flow like typical ones.",
}


def recommend_changes(flow: Flow, *, inputs: DecisionInputs | None = None, limit: int = LIMIT) -> list[Change]:
    """The few changes worth making first, ranked (see the module docstring)."""
    inputs = inputs or DecisionInputs(flow)
    items = inputs.items
    if len(items) == 0:
        return []
    roles = stage_roles(flow.stage_map.stages)
    stage_rows = {row["stage"]: row for row in inputs.stage_table.to_dict("records")}
    candidates = (_wip_candidate(flow, inputs) + _queue_candidates(flow, inputs, roles, stage_rows)
                  + _rework_candidates(flow, inputs, roles, stage_rows) + _blocked_candidate(flow, inputs)
                  + _slice_candidate(flow, inputs))
    lead = items["lead_h"].to_numpy()
    median_lead_days = float(np.percentile(lead, 50)) / 24.0
    keys = items["key"].to_numpy()
    scored = []
    for c in candidates:
        saved_median, saved_p85 = _savings(lead, c.removed_hours)
        if max(saved_median, saved_p85) < MIN_SAVING_SHARE * median_lead_days:
            continue
        effort = EFFORT[c.lever]
        affected = int((c.removed_hours > 0).sum())
        score = (saved_median + saved_p85) / 2 / EFFORT_WEIGHT[effort]
        top = np.argsort(-c.removed_hours, kind="stable")[:5]
        examples = tuple(str(keys[i]) for i in top if c.removed_hours[i] > 0)
        scored.append((c, saved_median, saved_p85, effort, affected, score, examples))
    scored.sort(key=lambda t: (not t[0].first, -t[5], t[0].lever))
    changes, seen = [], set()
    for c, saved_median, saved_p85, effort, affected, score, examples in scored:
        if c.lever in seen:
            continue
        seen.add(c.lever)
        changes.append(Change(
            rank=len(changes) + 1, stage=c.stage, lever=c.lever, title=c.title, evidence=c.evidence,
            evidence_items=examples, replay_rule=c.replay_rule, expected_days_saved_median=round(saved_median, 4),
            expected_days_saved_p85=round(saved_p85, 4), effort=effort, confidence=_confidence(affected, len(items)),
            score=round(score, 4), items_affected=affected,
        ))
        if len(changes) == limit:
            break
    return changes


def _confidence(affected: int, delivered: int) -> str:
    if delivered < MEDIUM_ITEMS or affected < MEDIUM_ITEMS:
        return "low"
    return "high" if affected >= HIGH_ITEMS else "medium"
