"""The dataset store: datasets persist as immutable Parquet files under one directory.

Layout (format 2)::

    STORE/store.json                      {"format": 2}
    STORE/datasets/<id>/dataset.json      {"dataset", "name", "created_at"}
    STORE/datasets/<id>/versions/<n>/     issues.parquet, status_changes.parquet,
                                          field_changes.parquet, findings.parquet,
                                          statuses.parquet, board_columns.parquet, meta.json
    STORE/staging/<time>-<pid>-<random>/  imports and uploads under way (never read as datasets)

Why this shape: every write builds a complete directory under ``staging/`` and then makes
it visible with one ``rename`` (atomic on one file system). A killed or failed import leaves
only a staging directory, which is swept later; readers never see half a dataset. Data
versions are never modified, so the dashboard and a command-line import in another
process can use the store at the same time without locks, and a link naming an older
version keeps working.

Format 1 (the first layout) kept one data version per dataset, with the Parquet files
directly in ``datasets/<id>/``; ``open_store`` migrates it in place.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from vsm_core.problems import ImportProblem

STORE_FORMAT = 2
DATA_FILES = (
    "issues.parquet",
    "status_changes.parquet",
    "field_changes.parquet",
    "findings.parquet",
    "statuses.parquet",
    "board_columns.parquet",
    "visits.parquet",  # the status timelines, materialised at import (the as-of is fixed per version)
)
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_STALE_STAGING_SECONDS = 6 * 3600
_STALE_PULL_SECONDS = 7 * 86400  # vsm_core.jira.pull.STALE_PULL_DAYS


class StoreError(Exception):
    """The store cannot do what was asked; the message is one sentence for the user."""


def default_store_path() -> Path:
    """``$VSM_STORE``, else ``$XDG_DATA_HOME/vsm-dashboard``, else ``~/.local/share/vsm-dashboard``."""
    if os.environ.get("VSM_STORE"):
        return Path(os.environ["VSM_STORE"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "vsm-dashboard"


def new_dataset_id() -> str:
    """An unguessable id: 144 random bits, URL-safe, starting with a letter or digit (an id
    starting with "-" would read as an option on a command line)."""
    while True:
        dataset = secrets.token_urlsafe(18)
        if dataset[0].isalnum():
            return dataset


def _utc_now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _fsync_tree(path: Path) -> None:
    """Flush a freshly written directory tree to disk before it is made visible."""
    for root, dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class DatasetInfo:
    dataset: str
    name: str
    created_at: str
    versions: tuple[int, ...]
    path: Path
    demo: bool = False
    access: dict = field(default_factory=dict, compare=False)  # see vsm_core.access

    @property
    def latest(self) -> int:
        return self.versions[-1]

    def version_path(self, version: int | None = None) -> Path:
        return self.path / "versions" / str(version if version is not None else self.latest)

    def meta(self, version: int | None = None) -> dict:
        with open(self.version_path(version) / "meta.json", encoding="utf-8") as handle:
            return json.load(handle)


class Staging:
    """A directory under ``staging/`` for one import; removed unless published."""

    def __init__(self, store: "Store", purpose: str = ""):
        self.store = store
        # <time>-<pid>-<random>: a sweep erases it once its process is gone; ``purpose`` (a
        # word such as "upload") is put before the random part, to tell folders apart.
        tag = f"{purpose}." if purpose else ""
        self.path = store.root / "staging" / f"{int(time.time())}-{os.getpid()}-{tag}{secrets.token_hex(6)}"
        self.path.mkdir(parents=True)

    @property
    def data_dir(self) -> Path:
        """Where the finished tables of the new data version go."""
        path = self.path / "version"
        path.mkdir(exist_ok=True)
        return path

    @property
    def work_dir(self) -> Path:
        """Scratch space (raw importer output, database spill files)."""
        path = self.path / "work"
        path.mkdir(exist_ok=True)
        return path

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class Store:
    """Datasets under ``root``. Open with ``open_store``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    # -- reading ------------------------------------------------------------------------
    def datasets(self) -> list[DatasetInfo]:
        """Every complete dataset, newest first."""
        found = []
        base = self.root / "datasets"
        for entry in sorted(base.iterdir()) if base.exists() else []:
            info = self._read_info(entry)
            if info is not None:
                found.append(info)
        return sorted(found, key=lambda d: d.created_at, reverse=True)

    def _read_info(self, path: Path) -> DatasetInfo | None:
        try:
            with open(path / "dataset.json", encoding="utf-8") as handle:
                doc = json.load(handle)
            versions = sorted(int(p.name) for p in (path / "versions").iterdir() if p.name.isdigit())
        except (OSError, ValueError):
            return None
        if not versions:
            return None
        return DatasetInfo(
            dataset=doc["dataset"], name=doc.get("name") or doc["dataset"],
            created_at=doc.get("created_at", ""), versions=tuple(versions), path=path,
            demo=bool(doc.get("demo")), access=dict(doc.get("access") or {}),
        )

    def get(self, dataset: str) -> DatasetInfo:
        """A dataset by id (or, for the command line, by its unique name)."""
        if _ID_RE.match(dataset):
            info = self._read_info(self.root / "datasets" / dataset)
            if info is not None:
                return info
        matches = [d for d in self.datasets() if d.name == dataset]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise StoreError(f"several datasets are named {dataset!r}; use the dataset id instead (see `vsm datasets`).")
        raise StoreError(f"no dataset {dataset!r} in the store at {self.root}; list them with `vsm datasets`.")

    # -- writing ------------------------------------------------------------------------
    def staging(self, purpose: str = "") -> Staging:
        """A new folder under ``staging/`` for one import (or, with ``purpose``, other work
        that must not outlive its process, such as an upload's copy)."""
        try:
            return Staging(self, purpose)
        except OSError as exc:
            raise StoreError(f"the store at {self.root} cannot be written ({exc.strerror}); check its permissions and free space.") from exc

    def publish_new(self, staging: Staging, name: str) -> DatasetInfo:
        """Make the staged data version visible as a new dataset (version 1)."""
        dataset = new_dataset_id()
        root = staging.path / "dataset"
        (root / "versions").mkdir(parents=True)
        os.rename(staging.data_dir, root / "versions" / "1")
        self._stamp_version(root / "versions" / "1", 1)
        _write_json_atomic(root / "dataset.json", {"dataset": dataset, "name": name, "created_at": _utc_now_iso()})
        _fsync_tree(root)
        os.rename(root, self.root / "datasets" / dataset)
        staging.discard()
        return self.get(dataset)

    def publish_version(self, staging: Staging, dataset: str) -> DatasetInfo:
        """Add the staged data as the next version of an existing dataset.

        Another import may take the next number first (the rename then finds the folder
        there); only then is the next number tried. Any other failure (the dataset's folder
        cannot be written, the disk is full) is raised: the version was not published.
        """
        info = self.get(dataset)
        source = staging.data_dir
        for _ in range(100):
            version = self.get(info.dataset).latest + 1
            self._stamp_version(source, version)
            _fsync_tree(source)
            target = info.path / "versions" / str(version)
            try:
                os.rename(source, target)
                break
            except OSError:
                if not target.exists():
                    raise
        else:
            raise StoreError(f"dataset {info.dataset} takes new versions too fast to add one; try again.")
        staging.discard()
        return self.get(info.dataset)

    @staticmethod
    def _stamp_version(path: Path, version: int) -> None:
        meta_path = path / "meta.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        meta["version"] = version
        _write_json_atomic(meta_path, meta)

    def _update_doc(self, dataset: str, **changes) -> DatasetInfo:
        info = self.get(dataset)
        doc = json.loads((info.path / "dataset.json").read_text(encoding="utf-8"))
        doc.update(changes)
        _write_json_atomic(info.path / "dataset.json", doc)
        return self.get(info.dataset)

    MAX_NAME = 200

    def rename(self, dataset: str, name: str) -> DatasetInfo:
        """Give the dataset a new name (shown as typed; 1 to ``MAX_NAME`` characters)."""
        cleaned = " ".join(str(name).split())
        if not cleaned or len(cleaned) > self.MAX_NAME:
            raise StoreError(f"A dataset name needs 1 to {self.MAX_NAME} characters; "
                             f"this one has {len(cleaned)}. Type a shorter name.")
        return self._update_doc(dataset, name=cleaned)

    def get_by_id(self, dataset: str) -> DatasetInfo:
        """A dataset by its id only (links name ids; a name could be guessed)."""
        info = self._read_info(self.root / "datasets" / dataset) if _ID_RE.match(str(dataset)) else None
        if info is None:
            raise StoreError(f"no dataset {str(dataset)[:40]!r} in the store.")
        return info

    def new_edit_key(self, dataset: str) -> str:
        """Make the dataset's edit key (voiding any earlier one) and return it; only its
        digest is stored (see ``vsm_core.access``)."""
        from vsm_core.access import key_digest, new_edit_key

        key = new_edit_key()
        info = self.get(dataset)
        self._update_doc(info.dataset, access={**info.access, "edit_key_sha256": key_digest(key)})
        return key

    def set_owner(self, dataset: str, email: str) -> DatasetInfo:
        from vsm_core.access import normal_email

        info = self.get(dataset)
        return self._update_doc(info.dataset, access={**info.access, "owner": normal_email(email)})

    def share(self, dataset: str, email: str) -> DatasetInfo:
        """Let the account ``email`` view the dataset (login mode)."""
        from vsm_core.access import normal_email

        info = self.get(dataset)
        viewers = sorted({*info.access.get("viewers", []), normal_email(email)})
        return self._update_doc(info.dataset, access={**info.access, "viewers": viewers})

    def unshare(self, dataset: str, email: str) -> DatasetInfo:
        info = self.get(dataset)
        viewers = [v for v in info.access.get("viewers", []) if v != str(email).strip().lower()]
        return self._update_doc(info.dataset, access={**info.access, "viewers": viewers})

    def mark_demo(self, dataset: str) -> DatasetInfo:
        """Flag the dataset the dashboard opens when a link names none."""
        return self._update_doc(dataset, demo=True)

    def delete(self, dataset: str) -> None:
        """Remove a dataset and all its files (hidden at once by a rename, then erased)."""
        info = self.get(dataset)
        trash = self.root / "staging" / f"deleted-{secrets.token_hex(8)}"
        os.rename(info.path, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def expire(self, days: float, now: datetime | None = None) -> list[str]:
        """Delete every dataset (but the demo) whose newest data version was imported more than
        ``days`` days ago, with all its files; return their ids. The optional retention period
        (``VSM_RETENTION_DAYS`` for the dashboard, ``vsm expire --days N`` for a scheduled job)."""
        if days <= 0:
            raise StoreError("A retention period needs a positive number of days.")
        now = now or datetime.now(timezone.utc)
        removed = []
        for info in self.datasets():
            if info.demo:
                continue
            try:
                imported = datetime.strptime(info.meta().get("imported_at", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
            except (OSError, ValueError):
                continue  # unreadable: never delete what cannot be dated
            if (now - imported).total_seconds() > days * 86400:
                self.delete(info.dataset)
                removed.append(info.dataset)
        return removed

    def sweep_staging(self, older_than: float = _STALE_STAGING_SECONDS) -> int:
        """Erase what dead processes left: imports and uploads under ``staging/`` and unfinished
        view-cache entries under ``datasets/<id>/derived/`` (their process is gone or, for a
        folder that names no process, it is older than ``older_than`` seconds), and Jira pulls'
        partial downloads under ``pulls/`` untouched for 7 days."""
        removed = 0
        now = time.time()
        base = self.root / "staging"
        leftovers = [(entry, _staging_pid(entry.name)) for entry in (base.iterdir() if base.exists() else [])]
        # A view-cache entry is saved as derived/v<N>/.<entry>.<pid>.<random>/ and then renamed.
        leftovers += [(entry, _cache_staging_pid(entry.name))
                      for entry in (self.root / "datasets").glob("*/derived/*/.*") if entry.is_dir()]
        # A Jira pull's partial download (pulls/<key>/) waits for the same pull to resume it.
        leftovers += [(entry, None) for entry in (self.root / "pulls").glob("*") if entry.is_dir()]
        for entry, pid in leftovers:
            older_than_here = _STALE_PULL_SECONDS if entry.parent.name == "pulls" else older_than
            try:
                stale = now - entry.stat().st_mtime > older_than_here
            except OSError:
                continue
            if entry.name.startswith("deleted-") or (pid is None and stale) or (pid is not None and not _pid_alive(pid)):
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        return removed


def _cache_staging_pid(name: str) -> int | None:
    """The saving process's id from an unfinished view-cache entry ``.<entry>.<pid>.<random>``."""
    parts = name.split(".")
    if len(parts) == 4 and parts[2].isdigit():
        return int(parts[2])
    return None


def _staging_pid(name: str) -> int | None:
    """The importing process's id from a staging name ``<time>-<pid>-[<purpose>.]<random>``."""
    parts = name.split("-")
    if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[1])
    return None


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def open_store(root: Path | str | None = None) -> Store:
    """Open (creating if needed, migrating if older) the store at ``root``."""
    path = Path(root).expanduser() if root else default_store_path()
    try:
        (path / "datasets").mkdir(parents=True, exist_ok=True)
        (path / "staging").mkdir(exist_ok=True)
    except OSError as exc:
        raise StoreError(f"the store directory {path} cannot be created ({exc.strerror}); choose another with --store or VSM_STORE.") from exc
    marker = path / "store.json"
    fmt = 1 if any((path / "datasets").iterdir()) else STORE_FORMAT
    if marker.exists():
        try:
            fmt = int(json.loads(marker.read_text(encoding="utf-8"))["format"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{marker} is damaged; restore it from a backup or point --store at another directory.") from exc
    if fmt > STORE_FORMAT:
        raise StoreError(
            f"the store at {path} was written by a newer version of this product (format {fmt}); upgrade to open it."
        )
    store = Store(path)
    if fmt < STORE_FORMAT or not marker.exists():
        from vsm_core.migrations import migrate

        try:
            migrate(store, fmt)
            _write_json_atomic(marker, {"format": STORE_FORMAT})
        except OSError as exc:
            if fmt < STORE_FORMAT:
                raise StoreError(f"the store at {path} needs an upgrade but cannot be written ({exc.strerror}).") from exc
    return store


def require_writable(store: Store) -> None:
    """Fail early, with one sentence, when the store cannot take a new dataset."""
    probe = store.root / "staging" / f".probe-{secrets.token_hex(4)}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ImportProblem(
            f"the store at {store.root} cannot be written ({exc.strerror}); nothing was imported. "
            "Check its permissions and free disk space, or choose another with --store."
        ) from exc
