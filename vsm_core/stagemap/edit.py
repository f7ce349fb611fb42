"""Editing a stage map: merge, split, rename, reorder and re-kind stages.

Each function returns a new, checked ``StageMap`` (maps are frozen values) or raises
ValueError with one sentence; an edited stage is marked ``decided_by="user"`` and loses its
``new`` flag, since the user has now confirmed it. Orders are renumbered 0..n-1.
"""

from __future__ import annotations

from dataclasses import replace

from vsm_core.stagemap.model import KINDS, Stage, StageMap


def _stage(stage_map: StageMap, name: str) -> Stage:
    for stage in stage_map.stages:
        if stage.name.lower() == name.strip().lower():
            return stage
    raise ValueError(f"The map has no stage named {name!r}.")


def _finish(stages: list[Stage]) -> StageMap:
    result = StageMap(tuple(replace(stage, order=n) for n, stage in enumerate(stages)))
    result.check()
    return result


def _confirmed(stage: Stage, **changes) -> Stage:
    return replace(stage, **changes, decided_by="user", new=False)


def merge_stages(stage_map: StageMap, names: list[str], new_name: str | None = None) -> StageMap:
    """One stage holding the statuses of ``names``, where the first of them stood, with its kind
    and flags and the largest WIP limit among them (the limits are per stage, not per status)."""
    if len(names) < 2:
        raise ValueError("Pick at least two stages to merge.")
    chosen = [_stage(stage_map, name) for name in names]
    first = min(chosen, key=lambda s: s.order)
    limits = [s.wip_limit for s in chosen if s.wip_limit is not None]
    merged = _confirmed(first, name=(new_name or first.name).strip(),
                        statuses=tuple(status for stage in sorted(chosen, key=lambda s: s.order) for status in stage.statuses),
                        wip_limit=max(limits) if limits else None)
    stages = []
    for stage in stage_map.stages:
        if stage is first:
            stages.append(merged)
        elif stage not in chosen:
            stages.append(stage)
    return _finish(stages)


def split_status(stage_map: StageMap, status: str, new_name: str | None = None) -> StageMap:
    """Take ``status`` out of its stage into a stage of its own, right after it, of the same kind."""
    owner = stage_map.stage_of(status)
    if owner is None:
        raise ValueError(f"No stage holds the status {status!r}.")
    if len(owner.statuses) == 1:
        raise ValueError(f"{status!r} is already the only status of {owner.name!r}.")
    kept = tuple(s for s in owner.statuses if s.lower() != status.strip().lower())
    moved = next(s for s in owner.statuses if s.lower() == status.strip().lower())
    stages = []
    for stage in stage_map.stages:
        if stage is owner:
            stages += [_confirmed(owner, statuses=kept),
                       _confirmed(owner, name=(new_name or moved).strip(), statuses=(moved,), wip_limit=None)]
        else:
            stages.append(stage)
    return _finish(stages)


def rename_stage(stage_map: StageMap, name: str, new_name: str) -> StageMap:
    target = _stage(stage_map, name)
    return _finish([_confirmed(s, name=new_name.strip()) if s is target else s for s in stage_map.stages])


def set_kind(stage_map: StageMap, name: str, kind: str, *, side: bool = False, cancelled: bool = False,
             wip_limit: int | None = None) -> StageMap:
    """Confirm or change a stage's kind (and whether it is a side state or cancelled)."""
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a stage kind; use one of {', '.join(KINDS)}.")
    if wip_limit is not None and wip_limit < 1:
        raise ValueError("A WIP limit is a whole number of items, at least 1.")
    target = _stage(stage_map, name)
    return _finish([_confirmed(s, kind=kind, side=side, cancelled=cancelled, wip_limit=wip_limit) if s is target else s
                    for s in stage_map.stages])


def reorder(stage_map: StageMap, names: list[str]) -> StageMap:
    """The stages in the order of ``names``, which must name every stage once."""
    chosen = [_stage(stage_map, name) for name in names]
    if len({s.name for s in chosen}) != len(stage_map.stages) or len(chosen) != len(stage_map.stages):
        raise ValueError("Give every stage exactly once to reorder the map.")
    return _finish(chosen)
