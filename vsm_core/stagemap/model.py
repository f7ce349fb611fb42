"""Stage and StageMap: the value stream's stages as plain, frozen values with a stable id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

KINDS = ("backlog", "wait", "active", "done")


@dataclass(frozen=True)
class Stage:
    """One step of the value stream: statuses merged, with an order and a kind."""

    name: str
    statuses: tuple[str, ...]
    kind: str  # "backlog" | "wait" | "active" | "done"
    order: int
    side: bool = False  # a side state (Blocked, On hold): outside the linear order
    cancelled: bool = False  # done but not delivered
    wip_limit: int | None = None
    decided_by: str = "user"  # "board column", "status category", "name", "observed flow", "user"
    new: bool = False  # added by a refresh, for the user to confirm

    def to_dict(self) -> dict:
        data = asdict(self)
        data["statuses"] = list(self.statuses)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Stage:
        kind = str(data["kind"])
        if kind not in KINDS:
            raise ValueError(f"Stage {data.get('name')!r} has the kind {kind!r}; use one of {', '.join(KINDS)}.")
        wip = data.get("wip_limit")
        return cls(
            name=str(data["name"]), statuses=tuple(str(s) for s in data.get("statuses", ())), kind=kind,
            order=int(data["order"]), side=bool(data.get("side", False)), cancelled=bool(data.get("cancelled", False)),
            wip_limit=None if wip is None else int(wip), decided_by=str(data.get("decided_by", "user")),
            new=bool(data.get("new", False)),
        )


@dataclass(frozen=True)
class StageMap:
    """The stages of a value stream, sorted by order."""

    stages: tuple[Stage, ...]

    def stage_of(self, status: str | None) -> Stage | None:
        """The stage holding ``status`` (case-insensitive), or None when no stage holds it."""
        if status is None:
            return None
        wanted = status.strip().lower()
        for stage in self.stages:
            if any(s.lower() == wanted for s in stage.statuses):
                return stage
        return None

    def check(self) -> None:
        """Raise ValueError (one sentence) when the map cannot drive the measures: no stage, a
        stage without a name, two stages of one name, one status in two stages, no done
        stage, or side/cancelled flags on the wrong kind."""
        if not self.stages:
            raise ValueError("the map has no stage.")
        names, owner = set(), {}
        for stage in self.stages:
            name = stage.name.strip()
            if not name:
                raise ValueError(f"the stage in position {stage.order} has no name.")
            if name.lower() in names:
                raise ValueError(f"two stages are named {name!r}; merge them or rename one.")
            names.add(name.lower())
            if stage.side and stage.kind != "wait":
                raise ValueError(f"{name!r} is a side state, so its kind must be wait, not {stage.kind}.")
            if stage.cancelled and stage.kind != "done":
                raise ValueError(f"{name!r} is marked cancelled, so its kind must be done, not {stage.kind}.")
            for status in stage.statuses:
                if status.lower() in owner:
                    raise ValueError(f"the status {status!r} is in two stages ({owner[status.lower()]!r} and {name!r}); keep it in one.")
                owner[status.lower()] = name
        if not any(stage.kind == "done" for stage in self.stages):
            raise ValueError("the map has no done stage, so no item could ever finish; mark at least one stage done.")

    def statuses(self) -> set[str]:
        """Every status the map knows, lower-cased."""
        return {s.lower() for stage in self.stages for s in stage.statuses}

    def to_dict(self) -> dict:
        return {"version_id": self.version_id, "stages": [stage.to_dict() for stage in self.stages]}

    @classmethod
    def from_dict(cls, data: dict) -> StageMap:
        return cls(tuple(sorted((Stage.from_dict(s) for s in data["stages"]), key=lambda s: s.order)))

    @property
    def version_id(self) -> str:
        """First 16 hex digits of the SHA-256 of the stages' canonical JSON: the same map always
        has the same id, so a share link can name it."""
        canonical = json.dumps([s.to_dict() for s in self.stages], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
