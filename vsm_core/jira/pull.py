"""Pull a dataset straight from Jira's REST API, and refresh it incrementally.

What a pull fetches (``vsm_core.jira.client`` says how it talks to Jira):

1. ``/myself``: the account's time zone (Jira reads the dates in a JQL in it);
2. ``/field``: the custom fields this product reads (story points, epic link), so that the
   search asks for a short list of fields instead of all of them;
3. the status list (``/status``, with categories) and, when a board is named, the board's
   configuration (``/rest/agile/1.0/board/{id}/configuration``: columns and WIP limits);
4. the issues of the JQL with their changelogs: Jira Cloud's ``/rest/api/3/search/jql``
   paged with ``nextPageToken``, where the issues whose inline changelog is capped
   (``changelog.total`` above the histories present) get their whole history from the bulk
   changelog endpoint (``POST /rest/api/3/changelog/bulkfetch``, one request for a page of
   issues) or, on a site without it, paged through ``/rest/api/3/issue/{id}/changelog``,
   several issues at once; Jira Data Center's ``/rest/api/2/search`` paged with ``startAt``,
   whose inline changelog is complete.

Then the issues, status list and board go through ``import_files`` like an uploaded
export, so every rule of the importer holds.

Kept aside, never half a dataset: each finished search page (changelogs completed) is
written to ``STORE/pulls/<key>/`` as it arrives, with the cursor to the next page. An
interrupted pull (cancelled, network down, process killed) leaves that folder; the same pull
run again (same site, account, JQL, board and target dataset) resumes from the cursor; issues
are de-duplicated by id. No dataset appears until the import at the end succeeds; then the
folder is erased. A folder untouched for ``STALE_PULL_DAYS`` days is erased by the store's
sweep. The token is never written there.

Incremental refresh (``into`` a dataset made by a pull): the JQL becomes
``(JQL) AND updated >= "<last pull's start - 5 minutes>"``, that time written in the Jira
account's time zone as JQL requires; the fetched issues replace their older copies in the
previous version's download (kept with each version under ``source/``) and the whole is
imported as the next data version, atomically; older versions and the links naming them stay.
A refresh that finds nothing updated adds no version (it would hold the same data).
An incremental refresh cannot see issues deleted in Jira or moved out of the JQL's scope:
``full=True`` (``vsm pull --full``) fetches everything again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vsm_core.ingest import ImportResult, SourceFile, import_files
from vsm_core.ingest.jira_json import custom_fields_read
from vsm_core.ingest.jsonstream import JsonIssueStream
from vsm_core.jira.client import Credentials, JiraClient, NotFound, PullProblem
from vsm_core.store import DatasetInfo, Store, StoreError, require_writable

Progress = Callable[[str, float], None]

SEARCH_PAGE = 100  # issues asked for per search page (Jira may send fewer)
CHANGELOG_PAGE = 100  # histories asked for per changelog page
OVERLAP = timedelta(minutes=5)  # a refresh looks this far before the last pull's start
STALE_PULL_DAYS = 7
SOURCE_ISSUES = "jira-issues.json.gz"
SOURCE_RECORD = "pull.json"
BASE_FIELDS = ("summary", "status", "issuetype", "project", "created", "updated", "resolutiondate", "resolution",
               "assignee", "priority", "labels", "components", "parent", "fixVersions")
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


@dataclass(frozen=True)
class PullResult:
    """What a pull did: the import's result, how many issues came from Jira and, of those,
    how many are new or changed (a refresh looks a few minutes back, so it fetches some
    issues again unchanged)."""

    imported: ImportResult
    fetched: int
    incremental: bool
    since: str | None = None  # the JQL time of an incremental refresh, in Jira's time zone
    resumed: bool = False
    changed: int = 0  # fetched issues that are new or differ from the dataset's previous copy
    unchanged: bool = False  # a refresh that found nothing updated: no new version was added


def pull_record(info: DatasetInfo, version: int | None = None) -> dict | None:
    """How a data version was pulled from Jira (site, account e-mail, JQL, board, start time,
    the account's time zone), or None for a version imported from files."""
    path = info.version_path(version) / "source" / SOURCE_RECORD
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def pull(
    store: Store,
    credentials: Credentials,
    jql: str | None = None,
    *,
    board: int | None = None,
    into: str | None = None,
    name: str | None = None,
    as_of: datetime | None = None,
    full: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    concurrency: int = 4,
    client: JiraClient | None = None,
) -> PullResult:
    """Pull the issues of ``jql`` (with their whole history) from Jira into the store, as a
    new dataset or, with ``into``, as the next data version of that dataset (incremental
    when it was pulled before with the same site, account and JQL, unless ``full``).

    Raises ``PullProblem`` (an ``ImportProblem``: one sentence) when it cannot; no dataset
    or version is then stored, and what was downloaded stays aside for the next attempt.
    """
    shown = [0.0]  # the last fraction reported (a wait repeats it)

    def report(what: str, fraction: float | None = None) -> None:
        shown[0] = shown[0] if fraction is None else fraction
        if progress is not None:
            progress(what, shown[0])

    target, previous, record = _target(store, into)
    if jql is None:
        if record is None:
            raise PullProblem("no JQL given: say which issues to pull, for example: project = SHOP.")
        jql = record["jql"]
    jql = " ".join(jql.split())
    if board is None and record is not None and record.get("url") == credentials.url:
        board = record.get("board")
    incremental = (not full and record is not None and record.get("url") == credentials.url
                   and record.get("email") == credentials.email and record.get("jql") == jql
                   and previous is not None and previous.exists())
    require_writable(store)
    own_client = client is None
    client = client or JiraClient(credentials, concurrency=concurrency, cancel=cancel,
                                  on_wait=lambda why: report(why))
    try:
        report(f"Connecting to {credentials.host}", 0.0)
        api = credentials.api
        myself = client.get(f"/rest/api/{api}/myself", what="your account (/myself)")
        user_zone = _zone(myself.get("timeZone") if isinstance(myself, dict) else None)
        since_text = None
        if incremental:
            last = datetime.fromisoformat(record["pulled_at"]) - OVERLAP
            since_text = last.astimezone(user_zone).strftime("%Y/%m/%d %H:%M")
        search_jql = _with_since(jql, since_text) if since_text else jql
        folder = _folder(store, credentials, search_jql, board, target)
        state = _load_state(folder) or {
            "url": credentials.url, "email": credentials.email, "jql": jql, "search_jql": search_jql,
            "board": board, "into": target.dataset if target else None, "started_at": _now_iso(),
            "cursor": None, "pages": 0, "issues": 0, "complete": False, "user_timezone": str(user_zone),
        }
        resumed = state["pages"] > 0
        try:
            if credentials.flavour == "cloud" and state.get("total") is None:
                state["total"] = _approximate_count(client, search_jql)
            _save_state(folder, state)
            names = _field_names(client, api)
            _fetch_companions(client, api, board, folder)
            report("Fetching issues" + (f" (resuming after {state['issues']:,})" if resumed else ""), 0.05)
            _search(client, credentials, search_jql, names, folder, state, report, concurrency)
        except BaseException:
            if state["pages"] == 0:  # nothing worth keeping aside (a refusal, a wrong board)
                shutil.rmtree(folder, ignore_errors=True)
            raise
        report("Assembling the download", 0.78)
        issues_file = folder / SOURCE_ISSUES
        changed = _assemble(folder, state["pages"], names, previous if incremental else None, issues_file)
        if incremental and changed == 0:
            # Nothing was updated since the last pull: the same data would make the same
            # version again (the as-of is the latest change in the data, as for an import).
            shutil.rmtree(folder, ignore_errors=True)
            report("Nothing changed since the last pull", 1.0)
            return PullResult(_current(target), state["issues"], True, since_text, resumed, changed=0, unchanged=True)
        record_file = folder / SOURCE_RECORD
        record_file.write_text(json.dumps({
            "url": credentials.url, "email": credentials.email, "jql": jql, "board": board,
            "flavour": credentials.flavour, "pulled_at": state["started_at"], "user_timezone": str(user_zone),
            "incremental_since": since_text, "fetched": state["issues"],
        }, indent=1), encoding="utf-8")
        files = [SourceFile(issues_file, f"Jira {credentials.host}: {_short(jql)}"),
                 SourceFile(folder / "statuses.json", f"Jira {credentials.host}: status list")]
        if board is not None:
            files.append(SourceFile(folder / "board.json", f"Jira {credentials.host}: board {board}"))

        def import_progress(what: str, fraction: float) -> None:
            report(what, 0.8 + 0.2 * max(0.0, fraction))

        imported = import_files(
            store, files, name=name or (target.name if target else f"Jira {credentials.host}: {_short(jql)}"),
            as_of=as_of, into=target.dataset if target else None, progress=import_progress,
            keep={SOURCE_ISSUES: issues_file, SOURCE_RECORD: record_file},
            # Once the version is visible the partial download is done with: a pull stopped
            # after this point (a page cancelled while the view is prepared) must not import it again.
            published=lambda info: shutil.rmtree(folder, ignore_errors=True),
        )
    finally:
        if own_client:
            client.close()
    shutil.rmtree(folder, ignore_errors=True)
    return PullResult(imported, state["issues"], incremental, since_text, resumed, changed=changed)


# -- the parts ------------------------------------------------------------------------------
def _target(store: Store, into: str | None) -> tuple[DatasetInfo | None, Path | None, dict | None]:
    if into is None:
        return None, None, None
    try:
        info = store.get(into)
    except StoreError as exc:
        raise PullProblem(str(exc)) from exc
    return info, info.version_path() / "source" / SOURCE_ISSUES, pull_record(info)


def _current(info: DatasetInfo) -> ImportResult:
    """The dataset's latest version described as an import's result."""
    meta = info.meta()
    counts = meta.get("counts") or {}
    return ImportResult(dataset=info.dataset, version=info.latest, name=info.name, issues=counts.get("issues", 0),
                        status_changes=counts.get("status_changes", 0), warnings=[], as_of=meta.get("as_of"),
                        has_history=bool(meta.get("has_history")))


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _with_since(jql: str, since: str) -> str:
    """``(JQL) AND updated >= "since" ORDER BY ...``: the ORDER BY clause (outside quotes)
    stays last, as JQL requires."""
    order = ""
    for match in _ORDER_BY.finditer(jql):
        if jql[: match.start()].count('"') % 2 == 0 and jql[: match.start()].count("'") % 2 == 0:
            jql, order = jql[: match.start()].strip(), " " + jql[match.start():].strip()
            break
    condition = f'updated >= "{since}"'
    return (f"({jql}) AND {condition}" if jql.strip() else condition) + order


def _folder(store: Store, credentials: Credentials, jql: str, board: int | None, target: DatasetInfo | None) -> Path:
    """The partial download's folder: the same pull (site, account, JQL, board, target and
    its version) always finds the same one."""
    key = json.dumps([credentials.url, credentials.email, jql, board, target.dataset if target else None,
                      target.latest if target else None])
    folder = store.root / "pulls" / hashlib.sha256(key.encode()).hexdigest()[:24]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    except OSError as exc:
        raise PullProblem(f"the store at {store.root} cannot be written ({exc.strerror}); nothing was pulled.") from exc
    return folder


def _load_state(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _save_state(folder: Path, state: dict) -> None:
    _write_atomic(folder / "state.json", json.dumps(state).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _short(jql: str) -> str:
    return jql if len(jql) <= 80 else jql[:77] + "…"


def _field_names(client: JiraClient, api: str) -> dict[str, str] | None:
    """Field id -> name of the custom fields the importer reads, or None when Jira does not
    list its fields (then the search asks for every navigable field)."""
    try:
        listed = client.get(f"/rest/api/{api}/field", what="the field list")
    except NotFound:
        return None
    names = {str(f["id"]): str(f.get("name") or f["id"]) for f in listed if isinstance(f, dict) and f.get("id")}
    return {field_id: names[field_id] for field_id in custom_fields_read(names)}


def _fetch_companions(client: JiraClient, api: str, board: int | None, folder: Path) -> None:
    statuses = client.get(f"/rest/api/{api}/status", what="the status list")
    _write_atomic(folder / "statuses.json", json.dumps(statuses).encode())
    if board is not None:
        try:
            config = client.get(f"/rest/agile/1.0/board/{board}/configuration", what=f"board {board}")
        except NotFound:
            raise PullProblem(
                f"Jira at {client.credentials.host} has no board {board} this account can see; check the board's "
                "number (it is in the board's address: .../boards/NUMBER) or leave the board out."
            ) from None
        _write_atomic(folder / "board.json", json.dumps(config).encode())


def _approximate_count(client: JiraClient, jql: str) -> int | None:
    """How many issues a Cloud search will return (for the progress bar), or None when this
    Jira cannot say; a JQL it rejects is reported by the search itself."""
    try:
        answer = client.post("/rest/api/3/search/approximate-count", {"jql": jql}, what="the number of issues")
    except NotFound:
        return None
    except PullProblem as problem:
        if problem.status == 400:
            return None
        raise
    count = answer.get("count") if isinstance(answer, dict) else None
    return count if isinstance(count, int) and count >= 0 else None


def _search(client: JiraClient, credentials: Credentials, jql: str, names: dict | None, folder: Path, state: dict,
            report: Progress, concurrency: int) -> None:
    """Fetch the search's pages from the saved cursor on, each page's changelogs completed,
    and save each page and the cursor after it."""
    fields = list(BASE_FIELDS) + sorted(names) if names is not None else ["*navigable"]
    bulk = {"available": credentials.flavour == "cloud"}  # Cloud's bulk changelog, until it fails
    total = state.get("total")
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="jira-changelog") as pool:
        while not state["complete"]:
            try:
                page, cursor, total_now = _search_page(client, credentials, jql, fields, state["cursor"])
            except PullProblem as problem:
                if not (state["cursor"] and credentials.flavour == "cloud" and problem.status == 400):
                    raise
                # A resumed Cloud search whose page token expired: start the search again,
                # writing its pages over the saved ones.
                state.update(cursor=None, pages=0, issues=0)
                page, cursor, total_now = _search_page(client, credentials, jql, fields, None)
            total = total_now if total_now is not None else total
            issues = [issue for issue in page.get("issues") or [] if isinstance(issue, dict)]
            _complete_changelogs(client, [issue for issue in issues if _capped(issue)], pool, bulk)
            state["pages"] += 1
            _write_atomic(folder / f"page-{state['pages']:06d}.json.gz", gzip.compress(json.dumps(issues).encode(), 1))
            state.update(cursor=cursor, issues=state["issues"] + len(issues), complete=cursor is None or not issues,
                         total=total)
            _save_state(folder, state)
            fraction = state["issues"] / total if total else 1 - 1 / (1 + state["pages"] / 10)
            report(f"Fetched {state['issues']:,}" + (f" of about {total:,}" if total else "") + " issues",
                   0.05 + 0.7 * min(1.0, fraction))


def _search_page(client: JiraClient, credentials: Credentials, jql: str, fields: list[str],
                 cursor: Any) -> tuple[dict, Any, int | None]:
    """One page of the search, the cursor to the next (None after the last) and the total
    number of issues when Jira says it."""
    what = "the issues the JQL selects"
    try:
        if credentials.flavour == "cloud":
            body = {"jql": jql, "maxResults": SEARCH_PAGE, "fields": fields, "expand": "changelog"}
            if cursor:
                body["nextPageToken"] = cursor
            page = client.post("/rest/api/3/search/jql", body, what=what)
            token = page.get("nextPageToken")
            return page, (token if token and not page.get("isLast") else None), None
        start = int(cursor or 0)
        page = client.get("/rest/api/2/search", {
            "jql": jql, "startAt": start, "maxResults": SEARCH_PAGE, "fields": ",".join(fields), "expand": "changelog",
        }, what=what)
        got = len(page.get("issues") or [])
        total = page.get("total")
        more = got > 0 and (start + got < total if isinstance(total, int) else got >= SEARCH_PAGE)
        return page, (start + got if more else None), total if isinstance(total, int) else None
    except NotFound:
        raise PullProblem(
            f"Jira at {credentials.host} has no issue search at the address used; check the site address"
            + (" (for Jira Data Center, leave the e-mail address empty)." if credentials.email else
               " (for Jira Cloud, give your e-mail address).")
        ) from None
    except PullProblem as problem:
        if problem.status == 400:
            raise PullProblem(f"Jira at {credentials.host} rejected the JQL (HTTP 400)"
                              + (f": {problem.said}" if problem.said else "")
                              + "; correct the JQL (try it in Jira's issue search first).", status=400) from None
        raise


def _capped(issue: dict) -> bool:
    """Whether the issue's inline changelog lacks histories (``total`` above those present,
    or no changelog at all)."""
    changelog = issue.get("changelog")
    histories = changelog.get("histories") if isinstance(changelog, dict) else None
    total = changelog.get("total") if isinstance(changelog, dict) else None
    return not isinstance(histories, list) or (isinstance(total, int) and total > len(histories))


def _complete_changelogs(client: JiraClient, issues: list[dict], pool: ThreadPoolExecutor, bulk: dict) -> None:
    """Give each issue its whole history: through Cloud's bulk changelog endpoint (up to 1000
    issues per request) while the site offers it, else page by page per issue, several issues
    at once (each request waits for a free slot)."""
    if not issues:
        return
    if bulk["available"]:
        try:
            found = _bulk_histories(client, issues)
        except NotFound:
            bulk["available"] = False
        except PullProblem as problem:
            if problem.status not in (400, 405):
                raise
            bulk["available"] = False
        else:
            for issue in issues:
                _set_histories(issue, found.get(str(issue.get("id")), []))
            return
    list(pool.map(lambda issue: _set_histories(issue, _issue_histories(client, issue)), issues))


def _bulk_histories(client: JiraClient, issues: list[dict]) -> dict[str, list]:
    """Issue id -> every history, from ``POST /rest/api/3/changelog/bulkfetch`` (paged)."""
    body: dict[str, Any] = {"issueIdsOrKeys": [str(issue.get("id") or issue.get("key")) for issue in issues],
                            "maxResults": 1000}
    found: dict[str, list] = {}
    while True:
        page = client.post("/rest/api/3/changelog/bulkfetch", body, what="the issues' histories (bulk)")
        for entry in page.get("issueChangeLogs") or []:
            if isinstance(entry, dict):
                found.setdefault(str(entry.get("issueId")), []).extend(entry.get("changeHistories") or [])
        token = page.get("nextPageToken")
        if not token:
            return found
        body["nextPageToken"] = token


def _issue_histories(client: JiraClient, issue: dict) -> list:
    """Every history of one issue, paged through ``/issue/{id}/changelog``."""
    ident = issue.get("id") or issue.get("key")
    api = client.credentials.api
    collected: list = []
    start = 0
    while True:
        page = client.get(f"/rest/api/{api}/issue/{ident}/changelog", {"startAt": start, "maxResults": CHANGELOG_PAGE},
                          what=f"the history of {issue.get('key') or ident}")
        values = page.get("values") or []
        collected += values
        start += len(values)
        page_total = page.get("total")
        if not values or page.get("isLast") or (isinstance(page_total, int) and start >= page_total):
            return collected


def _set_histories(issue: dict, histories: list) -> None:
    """The issue's whole history, each history once (by id), newest first as Jira inlines it
    (ties by history id), whatever order the pages came in."""
    seen: set[str] = set()
    ordered = []
    for history in histories:
        if not isinstance(history, dict):
            continue
        if history.get("id") is not None:
            if str(history["id"]) in seen:
                continue
            seen.add(str(history["id"]))
        ordered.append(history)
    ordered.sort(key=_history_order, reverse=True)
    issue["changelog"] = {"startAt": 0, "maxResults": len(ordered), "total": len(ordered), "histories": ordered}


def _history_order(history: dict) -> tuple:
    created = history.get("created")
    try:
        when = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() if isinstance(created, str) else 0.0
    except ValueError:
        when = 0.0
    ident = str(history.get("id") or "")
    return when, int(ident) if ident.isdigit() else 0, ident


def _pages(folder: Path, count: int) -> Iterator[dict]:
    for number in range(1, count + 1):
        with gzip.open(folder / f"page-{number:06d}.json.gz", "rb") as handle:
            yield from json.load(handle)


def _assemble(folder: Path, pages: int, names: dict | None, previous: Path | None, target: Path) -> int:
    """One search response ``{"names": ..., "issues": [...]}`` (gzip) from the saved pages,
    each issue once (by id, else key; a later page's copy wins), followed by the previous
    version's issues that were not fetched again. Streams: memory holds one page.

    Returns how many fetched issues are new or differ from their previous copy (a refresh's
    overlap fetches some issues again unchanged; they do not count)."""
    fresh: dict[str, int] = {}
    for issue in _pages(folder, pages):
        fresh[_identity(issue)] = fresh.get(_identity(issue), 0) + 1
    digests: dict[str, str] = {}  # fetched issue -> digest of its content
    tmp = target.with_name(f".{target.name}.tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=5) as out:
        out.write('{"names": ' + json.dumps(names or {}) + ', "issues": [')
        first = True
        for issue in _pages(folder, pages):
            ident = _identity(issue)
            fresh[ident] -= 1
            if fresh[ident] > 0:  # a later page holds a newer copy (the issue changed during the pull)
                continue
            digests[ident] = _digest(issue)
            out.write(("" if first else ",\n") + json.dumps(issue))
            first = False
        if previous is not None:
            for issue in JsonIssueStream(previous, "the previous download"):
                if not isinstance(issue, dict):
                    continue
                ident = _identity(issue)
                if ident in digests:
                    if digests[ident] == _digest(issue):
                        digests[ident] = ""  # fetched again, unchanged
                    continue
                out.write(("" if first else ",\n") + json.dumps(issue))
                first = False
        out.write("]}")
    os.replace(tmp, target)
    return sum(1 for digest in digests.values() if digest)


def _digest(issue: dict) -> str:
    return hashlib.sha256(json.dumps(issue, sort_keys=True).encode()).hexdigest()


def _identity(issue: dict) -> str:
    return str(issue.get("id") or issue.get("key"))
