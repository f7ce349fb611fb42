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
