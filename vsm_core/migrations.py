"""Store migrations: each step upgrades the store from one format to the next, in place.

A step must be safe to re-run after an interruption (it may find half its work done).
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # pragma: no cover
    from vsm_core.store import Store


def _format1_to_2(store: "Store") -> None:
    """Format 1 kept one version's files directly in ``datasets/<id>/``: move them to ``versions/1``."""
    for entry in (store.root / "datasets").iterdir():
        already_migrated = (entry / "versions").exists() and not (entry / "meta.json").exists()
        if not entry.is_dir() or already_migrated:
            continue
        target = entry / "versions" / "1"
        target.mkdir(parents=True, exist_ok=True)
        meta = {}
        if (entry / "meta.json").exists():
            meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        for child in list(entry.iterdir()):
            if child.name.endswith(".parquet") or child.name == "meta.json":
                os.replace(child, target / child.name)
        doc_path = entry / "dataset.json"
        if not doc_path.exists():
            imported = meta.get("imported_at") or datetime.fromtimestamp(entry.stat().st_mtime, timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            doc = {"dataset": entry.name, "name": meta.get("name") or entry.name, "created_at": imported}
            tmp = entry / f".dataset.json.{secrets.token_hex(4)}"
            tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
            os.replace(tmp, doc_path)
        meta.setdefault("version", 1)
        meta.setdefault("format", 2)
        (target / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


STEPS: dict[int, Callable[["Store"], None]] = {1: _format1_to_2}


def migrate(store: "Store", from_format: int) -> None:
    """Run every step from ``from_format`` up to the current format."""
    from vsm_core.store import STORE_FORMAT

    for fmt in range(from_format, STORE_FORMAT):
        STEPS[fmt](store)
