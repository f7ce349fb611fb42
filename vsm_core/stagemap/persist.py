"""Saving stage maps with their dataset: ``<dataset>/stagemaps/<version_id>.json``.

Maps belong to the dataset, not to a data version, so a map survives re-imports and a share
link naming a map keeps working.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from vsm_core.stagemap.model import StageMap
from vsm_core.store import _write_json_atomic

VERSION_ID_RE = re.compile(r"^[0-9a-f]{16}$")


def _stagemap_dir(dataset_dir: Path) -> Path:
    return Path(dataset_dir) / "stagemaps"


def save_stage_map(dataset_dir: Path, stage_map: StageMap, *, note: str | None = None) -> str:
    """Save ``stage_map`` with its dataset as ``stagemaps/<version_id>.json`` and return the id.

    Maps belong to the dataset, not to a data version, so a map survives re-imports. The file is
    written atomically (temporary file, then rename); saving a map that is already saved
    changes nothing (its first saved_at and note are kept)."""
    version_id = stage_map.version_id
    folder = _stagemap_dir(dataset_dir)
    target = folder / f"{version_id}.json"
    if target.exists():
        return version_id
    folder.mkdir(parents=True, exist_ok=True)
    saved_at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    payload = {**stage_map.to_dict(), "saved_at": saved_at, "note": note}
    _write_json_atomic(target, payload)  # temporary file, fsync, os.replace
    return version_id


def load_stage_map(dataset_dir: Path, version_id: str) -> StageMap:
    """The saved stage map ``version_id`` of the dataset; ValueError when there is none."""
    target = _stagemap_dir(dataset_dir) / f"{version_id}.json"
    if not VERSION_ID_RE.match(str(version_id)) or not target.exists():
        raise ValueError(
            f"This dataset has no saved stage map with the id {version_id!r}; "
            "pick one of its saved stage maps or infer a new one."
        )
    with open(target, encoding="utf-8") as handle:
        return StageMap.from_dict(json.load(handle))


def list_stage_maps(dataset_dir: Path) -> list[tuple[str, str, str | None]]:
    """(version_id, saved_at, note) of every saved stage map of the dataset, newest first."""
    found = []
    folder = _stagemap_dir(dataset_dir)
    for path in folder.glob("*.json") if folder.exists() else ():
        if not VERSION_ID_RE.match(path.stem):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        found.append((path.stem, str(data.get("saved_at", "")), data.get("note")))
    found.sort(key=lambda row: (row[1], row[0]), reverse=True)
    return found


INFERRED_FILE = "stagemap.json"


def write_inferred_stage_map(version_dir: Path) -> None:
    """Infer the default stage map of a data version being imported and store it beside its
    tables: inference reads the whole history (about a second on 100,000 issues), and a
    version's data never changes, so every view of it reuses the file."""
    from vsm_core.db import connect
    from vsm_core.stagemap.infer import infer_stage_map

    con = connect(version_dir)
    try:
        stage_map = infer_stage_map(con)
    finally:
        con.close()
    _write_json_atomic(Path(version_dir) / INFERRED_FILE, stage_map.to_dict())


def inferred_stage_map(version_dir: Path, con) -> StageMap:
    """The default stage map of a data version: the file written at import, or (for a version
    imported before the file existed) inferred now from ``con``."""
    from vsm_core.stagemap.infer import infer_stage_map

    target = Path(version_dir) / INFERRED_FILE
    if target.exists():
        try:
            with open(target, encoding="utf-8") as handle:
                return StageMap.from_dict(json.load(handle))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable: infer again
    stage_map = infer_stage_map(con)
    try:  # keep it for the next view (best effort: a read-only store still works)
        _write_json_atomic(target, stage_map.to_dict())
    except OSError:
        pass
    return stage_map
