"""Import Jira REST JSON (search responses with ``expand=changelog``, Perceval dumps...).

Each issue becomes one ``issues`` row; each changelog item about the status becomes a
``status_changes`` row, and items about the assignee, the Flagged field and the resolution
become ``field_changes`` rows. Everything else in the changelog (Rank, Sprint, Workflow,
descriptions, links...) is noise for flow metrics and is skipped.

Decisions:

* Histories are written in file order (real files come newest-first and oldest-first);
  the store orders them by time, then history id, then ``item_seq``. ``item_seq`` counts
  the change rows (status and field) of one issue in the order read.
* Flagged: the item's field is ``Flagged`` (any case), or a custom field whose name holds
  "flagged", "impediment" or "blocked", or is exactly "flag". A bare "flag" substring is
  not enough: "Feature flag" fields would otherwise count as blocked time.
* Custom fields are recognised by the search response's ``names`` map (field id -> name):
  "Story Points" / "Story point estimate" give ``story_points``, "Epic Link" gives the
  parent when the issue has no ``parent``. Jira writes ``names`` after the issues, so when
  a search response reaches its first issue without one, the map is looked up in the
  file's tail (``jsonstream.tail_member``). An issue's own ``names`` (single-issue GET)
  wins over the page's.
* An issue without ``fields`` or a readable ``fields.created`` is skipped with a finding;
  a history with an unreadable time is skipped with a finding (only when it held a change
  we would have used).
* ``has_history``: True when any issue of the file carries a ``changelog``; a file without
  any changelog sets it False unless an earlier file of the same import set it True.
* Values of the wrong JSON type (a number where Jira writes text) are turned into text or
  ignored, never allowed to fail the import later.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vsm_core.ingest.base import ReadOptions
from vsm_core.ingest.companions import companion_kind
from vsm_core.ingest.jsonstream import DEFAULT_CHUNK, JsonIssueStream, head_text, tail_member
from vsm_core.ingest.sink import CanonicalSink
from vsm_core.model import normalise_category
from vsm_core.problems import ImportProblem
from vsm_core.timeparse import UTC

FORMAT = "jira-json"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_fromisoformat = datetime.fromisoformat
_UNKNOWN = object()
_ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+")
_STORY_POINT_NAMES = frozenset({"story points", "story point estimate"})
_EPIC_LINK_NAMES = frozenset({"epic link"})
_PROGRESS_EVERY = 1000


# -- sniffing -------------------------------------------------------------------------------
def sniff(head: bytes) -> int:
    """How sure the first bytes are a Jira JSON export of issues (0 for companion files)."""
    text = head_text(head).lstrip()
    if not text or text[0] not in "[{" or companion_kind(head) is not None:
        return 0
    if '"fields"' in text or '"changelog"' in text:
        return 95
    if '"issues"' in text:
        return 90
    if '"backend_name"' in text and '"data"' in text:
        return 80
    if '"key"' in text:
        return 40
    return 0


# -- reading --------------------------------------------------------------------------------
def read(path: Path, sink: CanonicalSink, options: ReadOptions, *, chunk_size: int = DEFAULT_CHUNK) -> None:
    """Stream every issue of ``path`` into ``sink``; ``ImportProblem`` when that is impossible."""
    stream = JsonIssueStream(path, options.display_name, chunk_size=chunk_size)
    importer = _IssueImporter(sink, options, stream)
    for element in stream:
        if importer.tail_names is _UNKNOWN and stream.names is None:
            importer.tail_names = _names_after_issues(path, options, stream)
        importer.add(element)
    importer.finish()


def _names_after_issues(path: Path, options: ReadOptions, stream: JsonIssueStream) -> dict | None:
    """The ``names`` map Jira writes after a search response's issues (None elsewhere)."""
    if not stream.in_search_page:
        return None
    return tail_member(path, options.display_name, "names")


class _FieldIds:
    """Which custom fields hold story points and epic links, from one ``names`` map."""

    def __init__(self, names: dict | None):
        self.names = names
        self.story_points: tuple[str, ...] = ()
        self.epic_link: tuple[str, ...] = ()
        if names:
            lowered = [(field_id, str(name).strip().lower()) for field_id, name in names.items()]
            self.story_points = tuple(fid for fid, name in lowered if name in _STORY_POINT_NAMES)
            self.epic_link = tuple(fid for fid, name in lowered if name in _EPIC_LINK_NAMES)


def custom_fields_read(names: dict | None) -> tuple[str, ...]:
    """The custom field ids this importer reads, from a ``names`` map (field id -> name): a
    Jira pull asks for these fields only, not every custom field of the site."""
    ids = _FieldIds(names)
    return ids.story_points + ids.epic_link


class _IssueImporter:
    """Turns issue dicts into sink rows, keeping the per-file facts (counts, base URL)."""

    def __init__(self, sink: CanonicalSink, options: ReadOptions, stream: JsonIssueStream):
        self.sink = sink
        self.options = options
        self.stream = stream
        self.tz = options.timezone
        self.tail_names: Any = _UNKNOWN
        self.field_ids = _FieldIds(None)
        self.kinds: dict[str, str | None] = {}  # changelog field name -> change kind
        self.issues = 0
        self.with_changelog = 0

    # -- one issue ----------------------------------------------------------------------
    def add(self, issue: Any) -> None:
        """Add one issue and its changes, or a finding saying why it was skipped."""
        usable = self._usable(issue)
        if usable is None:
            return
        key, fields, created = usable
        self._note_site(issue)
        changelog, histories, total = _changelog_parts(issue)
        seq = self.sink.add_issue(
            key=key, created=created, changelog_total=total,
            changelog_present=len(histories) if histories is not None else None,
            **self._issue_values(issue, fields),
        )
        self.issues += 1
        if changelog is not None:
            self.with_changelog += 1
        if histories:
            self._add_changes(seq, key, histories)
        if total is not None and histories is not None and total > len(histories):
            self.sink.add_finding(
                "changelog_truncated",
                f"{key}: the export holds {len(histories)} of {total} change records; the oldest are missing, "
                "so its first statuses and early times are unknown. Fetch its full changelog (see README).",
                key,
            )
        if self.issues % _PROGRESS_EVERY == 0 and self.options.progress is not None:
            self.options.progress(self.stream.position(), self.stream.total_bytes)

    def _usable(self, issue: Any) -> tuple[str, dict, int] | None:
        """(key, fields, created) of an issue we can import; otherwise a finding and None."""
        label = f"Element number {self.stream.issues_started}"
        if issue.__class__ is not dict:
            self.sink.add_finding("not_an_issue", f"{label} of the file is not a Jira issue; it was skipped.")
            return None
        key = _text(issue.get("key"))
        fields = issue.get("fields")
        if fields.__class__ is not dict:
            self._refuse_error_response(issue)
            self.sink.add_finding("issue_without_fields", f"{key or label} has no fields in the file; it was skipped.", key)
            return None
        created = self._time(fields.get("created"))
        if key is None:
            self.sink.add_finding("issue_without_key", f"{label} has no issue key; it was skipped.")
            return None
        if created is None:
            self.sink.add_finding("issue_without_created", f"{key} has no readable creation time; it was skipped.", key)
            return None
        return key, fields, created

    def _issue_values(self, issue: dict, fields: dict) -> dict:
        """The ``add_issue`` keyword values other than key, created and changelog counts."""
        status = fields.get("status")
        category = None
        if status.__class__ is dict:
            status_category = status.get("statusCategory")
            if status_category.__class__ is dict:
                category = normalise_category(_text(status_category.get("key"))) or normalise_category(
                    _text(status_category.get("name"))
                )
        field_ids = self._field_ids(issue)
        return dict(
            issue_id=_text(issue.get("id")),
            type=_name(fields.get("issuetype")),
            summary=_text(fields.get("summary")),
            project=_name(fields.get("project"), "key"),
            status=_name(status),
            status_category=category,
            updated=self._time(fields.get("updated")),
            resolved=self._time(fields.get("resolutiondate")),
            resolution=_name(fields.get("resolution")),
            assignee=_name(fields.get("assignee"), "displayName"),
            priority=_name(fields.get("priority")),
            labels=_texts(fields.get("labels")),
            components=[n for n in map(_name, _list(fields.get("components"))) if n is not None],
            parent=_parent(fields, field_ids),
            story_points=_story_points(fields, field_ids),
        )

    def _field_ids(self, issue: dict) -> _FieldIds:
        names = issue.get("names")
        if names.__class__ is not dict:
            names = self.stream.names
            if names is None and self.tail_names is not _UNKNOWN:
                names = self.tail_names
        if names is not self.field_ids.names:
            self.field_ids = _FieldIds(names)
        return self.field_ids

    # -- its changelog ------------------------------------------------------------------
    def _add_changes(self, seq: int, key: str, histories: list) -> None:
        """Write the status and field changes of one issue's histories.

        The hot loop of the import (a million changes in a large export): locals only,
        one dict lookup per item to classify its field, and a history's time, author and
        id are read only when it holds a change we keep.
        """
        add_status = self.sink.add_status_change
        add_field = self.sink.add_field_change
        kinds = self.kinds
        tz = self.tz
        item_seq = 0
        for history in histories:
            if history.__class__ is not dict:
                continue
            items = history.get("items")
            if items.__class__ is not list:
                continue
            time = None
            for item in items:
                if item.__class__ is not dict:
                    continue
                field = item.get("field")
                kind = kinds.get(field, _UNKNOWN) if field.__class__ is str else _field_kind(item)
                if kind is _UNKNOWN:
                    kind = kinds[field] = _field_kind(item)
                if kind is None:
                    continue
                if time is None:
                    created = history.get("created")
                    try:
                        dt = _fromisoformat(created)
                        if dt.tzinfo is None:
                            dt = dt.replace(tzinfo=tz)
                        time = (dt - _EPOCH) // _ONE_US
                    except (TypeError, ValueError, OverflowError):
                        self._bad_change_time(key, created)
                        break
                    author = history.get("author")
                    author = _text(author.get("displayName")) if author.__class__ is dict else None
                    history_id = _history_id(history.get("id"))
                old = item.get("fromString")
                new = item.get("toString")
                if old is not None and old.__class__ is not str:
                    old = _text(old)
                if new is not None and new.__class__ is not str:
                    new = _text(new)
                if kind == "status":
                    add_status(seq, key, time, old, new, author, history_id, item_seq)
                else:
                    add_field(seq, key, time, kind, old, new, author, history_id, item_seq)
                item_seq += 1

    def _bad_change_time(self, key: str, created: Any) -> None:
        self.sink.add_finding(
            "bad_change_time",
            f"{key}: a change record has an unreadable time ({str(created)[:40]!r}); it was skipped.",
            key,
        )

    # -- file-level facts ---------------------------------------------------------------
    def _time(self, text: Any) -> int | None:
        if text is None or text == "":
            return None
        try:
            dt = _fromisoformat(text)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=self.tz)
            return (dt - _EPOCH) // _ONE_US
        except (TypeError, ValueError, OverflowError):
            return None

    def _note_site(self, issue: dict) -> None:
        if self.sink.meta.get("base_url") is None:
            self.sink.meta["base_url"] = site_url(issue.get("self"))

    def _refuse_error_response(self, element: dict) -> None:
        """A saved Jira error (``{"errorMessages": [...]}``) is not an export: say so."""
        messages = element.get("errorMessages")
        if "key" not in element and isinstance(messages, list) and messages:
            said = "; ".join(str(m) for m in messages[:3])[:300]
            raise ImportProblem(
                f"{self.options.display_name} is an error message from Jira, not issues ({said}); "
                "fix the query and export again.",
                file=self.options.display_name,
            )

    def finish(self) -> None:
        """Record what the file held; refuse a file without any issue."""
        if self.issues == 0:
            raise ImportProblem(
                f"no issues found in {self.options.display_name}; check that it is a Jira export of issues "
                "(a search response, a list of issues or one issue) and export it again.",
                file=self.options.display_name,
            )
        meta = self.sink.meta
        meta.setdefault("formats", set()).add(FORMAT)
        self.sink.note_history(bool(self.with_changelog))


# -- small value helpers ----------------------------------------------------------------------
def _changelog_parts(issue: dict) -> tuple[dict | None, list | None, int | None]:
    """The issue's changelog object, its histories and Jira's count of all its histories."""
    changelog = issue.get("changelog")
    if changelog.__class__ is not dict:
        return None, None, None
    histories = changelog.get("histories")
    total = changelog.get("total")
    return changelog, histories if histories.__class__ is list else None, total if total.__class__ is int else None


def _text(value: Any) -> str | None:
    """Text as Jira meant it: None stays None, numbers become their digits."""
    if value is None or value.__class__ is str:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _name(obj: Any, attribute: str = "name") -> str | None:
    """``obj[attribute]`` as text when ``obj`` is an object (Jira's {"name": ...} values)."""
    return _text(obj.get(attribute)) if obj.__class__ is dict else None


def _list(value: Any) -> list:
    return value if value.__class__ is list else []


def _texts(value: Any) -> list[str]:
    return [t for t in map(_text, _list(value)) if t is not None]


def _history_id(value: Any) -> int | None:
    """Jira's history id as a number (ties in time are ordered by it); None if not numeric."""
    if value.__class__ is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _field_kind(item: dict) -> str | None:
    """Which change a changelog item is: status, assignee, flagged, resolution or None."""
    name = item.get("field")
    lowered = name.strip().lower() if name.__class__ is str else ""
    if lowered in ("status", "assignee", "resolution", "flagged"):
        return lowered
    field_id = item.get("fieldId")
    if field_id in ("status", "assignee", "resolution"):
        return field_id
    custom = item.get("fieldtype") == "custom" or (field_id.__class__ is str and field_id.startswith("customfield_"))
    if custom and (lowered == "flag" or any(word in lowered for word in ("flagged", "impediment", "blocked"))):
        return "flagged"
    return None


def _parent(fields: dict, field_ids: _FieldIds) -> str | None:
    parent = _name(fields.get("parent"), "key")
    if parent:
        return parent
    for field_id in field_ids.epic_link:
        value = fields.get(field_id)
        if value.__class__ is str and _ISSUE_KEY.fullmatch(value.strip()):
            return value.strip()
    return None


def _story_points(fields: dict, field_ids: _FieldIds) -> float | None:
    candidates = [fields.get(field_id) for field_id in field_ids.story_points]
    if not field_ids.story_points:
        candidates.append(fields.get("story_points"))
    for value in candidates:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def site_url(self_url: Any) -> str | None:
    """The Jira site an issue's ``self`` URL belongs to (scheme, host and context path)."""
    if self_url.__class__ is not str or "/rest/" not in self_url or "://" not in self_url:
        return None
    return self_url.split("/rest/", 1)[0] or None

