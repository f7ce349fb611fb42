"""A fake Jira REST server on 127.0.0.1 for the tests of the Jira pull client.

It serves issues with their changelogs the way Jira Cloud does (``flavour="cloud"``: the
token-paged ``/rest/api/3/search/jql``, inline changelogs cut to the newest few, the changelog
endpoint and the bulk changelog endpoint ``/changelog/bulkfetch`` for the rest, the approximate
count of a search) or Jira Data Center does (``flavour="datacenter"``: ``/rest/api/2/search``
paged by ``startAt`` with complete changelogs), checks credentials as each does, and reads a
small real subset of JQL in the user's time zone. A test can make it misbehave as Jira does in
the field: 429 with Retry-After, 5xx, dropped connections, slow answers, a forbidden account.
It never talks to anything but its own clients.

Choices the client's tests may rely on:

* Without ``ORDER BY`` issues come by key, project then number ascending (SHOP-2 before SHOP-10).
  ``ORDER BY`` takes key, created or updated, ASC (the default) or DESC, several separated by
  commas; ties keep the key order.
* Pagination is stable: the first page of a search (no ``nextPageToken`` on Cloud, ``startAt=0``
  on Data Center) snapshots the matching keys in order, and later pages walk that snapshot, so an
  issue changed between pages is neither served twice nor skipped (its content is current). A
  Data Center page with ``startAt > 0`` uses the latest snapshot of the same JQL.
* A page token is unpadded urlsafe base64 of ``{"s": snapshot id, "o": offset, "q": digest of
  the JQL}``; one that does not decode, names an unknown snapshot or another JQL is a 400.
* Inline changelog histories are listed newest first, as in the demo export; the changelog
  endpoint lists them oldest first. The order is the histories' time, then their numeric id.
* ``/changelog/bulkfetch`` (off with ``bulk_changelog=False``: a 404) pages by histories, at
  most ``bulk_page_size`` per page, so one issue's histories may be split over two pages.
* ``/field`` lists every field the issues carry, named from ``field_names`` (the demo's
  ``names`` map), so a client can find the story-point field as on a real site.
* Faults apply in this order: credentials in the URL (400), a dropped connection, a 5xx,
  a 429, then 401 and 403; each injected fault consumes one of its count.
"""

from __future__ import annotations

import base64
import binascii
import copy
import gzip
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"
CHANGELOG_PAGE_MAX = 100
DISPLAY_NAME = "Delivery Lead"

NOT_AUTHORIZED = {"errorMessages": ["You are not authorized to access this resource."], "errors": {}}
FORBIDDEN = {"errorMessages": ["You do not have permission to view these issues."], "errors": {}}
RATE_LIMITED = {"errorMessages": ["Rate limit exceeded."], "errors": {}}
BAD_PAGE_TOKEN = {"errorMessages": ["The provided next page token is invalid or expired."], "errors": {}}
SEARCH_REMOVED = {"errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."],
                  "errors": {}}
NO_ISSUE = {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}
NO_BOARD = {"errorMessages": [("The requested board cannot be viewed because it either does not exist or you do not "
                               "have permission to view it.")], "errors": {}}
CREDENTIALS_IN_URL = {"errorMessages": ["Credentials are not accepted in the URL; send them in the Authorization header."],
                      "errors": {}}


def _error(message: str) -> dict:
    return {"errorMessages": [message], "errors": {}}


# -- times ---------------------------------------------------------------------------------------
def jira_time(at: datetime) -> str:
    """``at`` as Jira writes a timestamp, in UTC: ``2025-01-02T03:04:05.000+0000``."""
    if at.tzinfo is None:
        raise ValueError("a Jira timestamp needs an aware datetime")
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_jira_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _history_order(history: dict) -> tuple:
    hid = str(history.get("id", ""))
    return parse_jira_time(history.get("created")), int(hid) if hid.isdigit() else 0


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return (project, int(number)) if number.isdigit() else (key, 0)


# -- JQL: a small real subset --------------------------------------------------------------------
class BadRequest(ValueError):
    """A request the server refuses with 400; the message is the one Jira would show."""


class JqlError(BadRequest):
    """A query outside the subset read here, or not JQL at all."""


JQL_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
JQL_FIELDS = {"project": "project", "key": "key", "issuekey": "key", "created": "created", "updated": "updated"}
JQL_OPERATORS = {"project": {"=", "in"}, "key": {"=", "in"},
                 "created": {">=", ">", "<=", "<"}, "updated": {">=", ">", "<=", "<"}}
JQL_KEYWORDS = {"and", "or", "not", "in", "is", "order", "by", "asc", "desc", "empty", "null"}
_JQL_TOKEN = re.compile(r"""\s*(?:(?P<op>>=|<=|!=|!~|=|>|<|~)|(?P<punct>[(),])|"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'"""
                        r"""|(?P<open>["'])|(?P<word>[^\s()=<>!~,"']+)|(?P<bad>\S))""")


@dataclass(frozen=True)
class JqlToken:
    kind: str  # op, punct, string, word
    text: str
    position: int  # 1-based character, as Jira counts in its messages


@dataclass(frozen=True)
class JqlClause:
    field: str
    operator: str
    values: tuple  # casefolded strings, or one aware datetime for created/updated

    def matches(self, key: str, fields: dict) -> bool:
        if self.field == "key":
            return key.casefold() in self.values
        if self.field == "project":
            project = fields.get("project") or {}
            names = {str(project.get(name, "")).casefold() for name in ("key", "id", "name")}
            return bool(names & set(self.values))
        at = parse_jira_time(fields.get(self.field))
        if at is None:
            return False
        bound = self.values[0]
        return {">=": at >= bound, ">": at > bound, "<=": at <= bound, "<": at < bound}[self.operator]


@dataclass(frozen=True)
class JqlQuery:
    clauses: tuple[JqlClause, ...] = ()
    order: tuple[tuple[str, bool], ...] = ()  # (field, descending)

    def matches(self, key: str, fields: dict) -> bool:
        return all(clause.matches(key, fields) for clause in self.clauses)

    def sorted_keys(self, issues: dict[str, dict]) -> list[str]:
        keys = sorted(issues, key=_key_order)
        for name, descending in reversed(self.order):
            if name == "key":
                keys.sort(key=_key_order, reverse=descending)
            else:  # sorts are stable, so ties keep the order of the keys after them
                keys.sort(key=lambda k: _date_sort_value(issues[k]["fields"].get(name)), reverse=descending)
        return keys


def _date_sort_value(text: str | None) -> tuple:
    at = parse_jira_time(text)
    return (0, 0.0) if at is None else (1, at.timestamp())


def tokenize_jql(jql: str) -> list[JqlToken]:
    tokens, position = [], 0
    while (match := _JQL_TOKEN.match(jql, position)) and match.end() > position:
        kind = match.lastgroup
        start = match.start(kind) + 1
        if kind == "open":
            raise JqlError(f"Error in the JQL Query: The quoted string has not been completed. "
                           f"(line 1, character {start})")
        if kind == "bad":
            raise JqlError(f"Error in the JQL Query: The character '{match.group(kind)}' is a reserved JQL character "
                           f"or is not allowed here. (line 1, character {start})")
        tokens.append(JqlToken("string" if kind in ("dq", "sq") else kind, match.group(kind), start))
        position = match.end()
    return tokens


class _JqlParser:
    """Recursive descent over ``clause (AND clause)*`` with parentheses, then ``ORDER BY``."""

    def __init__(self, jql: str, zone: ZoneInfo) -> None:
        self.tokens = tokenize_jql(jql)
        self.at = 0
        self.zone = zone
        self.length = len(jql)

    def peek(self) -> JqlToken | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.casefold() == word

    def is_punct(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "punct" and token.text == text

    def take(self) -> JqlToken:
        token = self.peek()
        if token is None:
            raise self.unexpected("more of the query")
        self.at += 1
        return token

    def unexpected(self, expecting: str) -> JqlError:
        token = self.peek()
        got, where = (f"'{token.text}'", token.position) if token else ("the end of the query", self.length + 1)
        return JqlError(f"Error in the JQL Query: Expecting {expecting} but got {got}. (line 1, character {where})")

    def query(self) -> JqlQuery:
        clauses: list[JqlClause] = []
        if self.peek() is not None and not self.is_word("order"):
            clauses = self.condition()
        order = self.order_by() if self.is_word("order") else ()
        if self.peek() is not None:
            raise self.unexpected("'AND' or 'ORDER BY'")
        return JqlQuery(tuple(clauses), order)

    def condition(self) -> list[JqlClause]:
        clauses = self.term()
        while self.is_word("and"):
            self.take()
            clauses += self.term()
        if self.is_word("or") or self.is_word("not"):
            raise self.unexpected("'AND' (the only join this server reads)")
        return clauses

    def term(self) -> list[JqlClause]:
        if self.is_punct("("):
            self.take()
            clauses = self.condition()
            if not self.is_punct(")"):
                raise self.unexpected("')'")
            self.take()
            return clauses
        return [self.clause()]

    def clause(self) -> JqlClause:
        token = self.peek()
        if token is None or token.kind not in ("word", "string") or token.text.casefold() in JQL_KEYWORDS:
            raise self.unexpected("a field name")
        self.take()
        name = JQL_FIELDS.get(token.text.casefold())
        if name is None:
            raise JqlError(f"Field '{token.text}' does not exist or you do not have permission to view it.")
        operator = self.operator()
        if operator not in JQL_OPERATORS[name]:
            raise JqlError(f"The operator '{operator}' is not supported by the '{token.text}' field.")
        texts = self.value_list() if operator == "in" else [self.value()]
        if name in ("created", "updated"):
            return JqlClause(name, operator, (self.date(name, texts[0]),))
        return JqlClause(name, operator, tuple(text.casefold() for text in texts))

    def operator(self) -> str:
        token = self.peek()
        if token is not None and token.kind == "op":
            return self.take().text
        if self.is_word("in"):
            return self.take().text.casefold()
        raise self.unexpected("operator")

    def value(self) -> str:
        token = self.peek()
        if token is None or token.kind not in ("word", "string") or (
                token.kind == "word" and token.text.casefold() in JQL_KEYWORDS):
            raise self.unexpected("either a value, an 'empty' constant or a function")
        return self.take().text

    def value_list(self) -> list[str]:
        if not self.is_punct("("):
            raise self.unexpected("'('")
        self.take()
        values = [self.value()]
        while self.is_punct(","):
            self.take()
            values.append(self.value())
        if not self.is_punct(")"):
            raise self.unexpected("')'")
        self.take()
        return values

    def date(self, name: str, text: str) -> datetime:
        for form in JQL_DATE_FORMATS:
            try:
                return datetime.strptime(text.strip(), form).replace(tzinfo=self.zone)
            except ValueError:
                continue
        raise JqlError(f"Date value '{text}' for field '{name}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
                       f"'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd'.")

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        self.take()
        if not self.is_word("by"):
            raise self.unexpected("'BY'")
        self.take()
        order = [self.sort_key()]
        while self.is_punct(","):
            self.take()
            order.append(self.sort_key())
        return tuple(order)

    def sort_key(self) -> tuple[str, bool]:
        token = self.take()
        name = JQL_FIELDS.get(token.text.casefold())
        if name not in ("key", "created", "updated"):
            raise JqlError(f"Field '{token.text}' does not exist or you do not have permission to view it.")
        descending = False
        if self.is_word("asc") or self.is_word("desc"):
            descending = self.take().text.casefold() == "desc"
        return name, descending


def parse_jql(jql: str, zone: ZoneInfo) -> JqlQuery:
    """The query, or a JqlError with Jira's kind of message; dates are read in ``zone``."""
    return _JqlParser(jql, zone).query()


# -- the served JSON -----------------------------------------------------------------------------
def _rebase(value: Any, old: str, new: str) -> Any:
    """A copy of ``value`` with every string that starts with ``old`` starting with ``new``."""
    if isinstance(value, str):
        return new + value[len(old):] if value.startswith(old) else value
    if isinstance(value, dict):
        return {name: _rebase(item, old, new) for name, item in value.items()}
    if isinstance(value, list):
        return [_rebase(item, old, new) for item in value]
    return value


def _names(value: Any) -> list[str] | None:
    """A ``fields`` or ``expand`` parameter (comma-separated text or a JSON list) as names."""
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else [str(part) for part in value]
    names = [part.strip() for part in parts if part.strip()]
    return names or None


def _select_fields(fields: dict, wanted: list[str] | None) -> dict:
    if wanted is None or "*all" in wanted or "*navigable" in wanted:
        return fields
    return {name: fields[name] for name in wanted if name in fields}


def _count(params: dict, name: str, default: int) -> int:
    raw = params.get(name, default)
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"The value '{raw}' is not a valid number for {name}.") from None
    if number < 0:
        raise BadRequest(f"The value '{raw}' for {name} must not be negative.")
    return number


def _encode_token(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_token(token: str) -> dict | None:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def _jql_digest(jql: str) -> str:
    return hashlib.sha256(jql.strip().encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def _demo_data() -> tuple[list[dict], list[dict], dict, dict]:
    with gzip.open(DEMO / "demo-jira-export.json.gz", "rb") as export:
        search = json.load(export)
    statuses = json.loads((DEMO / "demo-statuses.json").read_text())
    board = json.loads((DEMO / "demo-board-configuration.json").read_text())
    return search["issues"], statuses, board, search.get("names") or {}


# -- the fake ------------------------------------------------------------------------------------
@dataclass
class RecordedRequest:
    """One request as the server saw it; the Authorization value is never kept."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # every header but Authorization
    authorization_present: bool
    body: Any = None
    status: int | None = None  # set when answered; stays None for a dropped connection


_DROP = object()


class FakeJira(LoopbackServer):
    """``with FakeJira.demo() as jira:`` serves the demo issues at ``jira.url``."""

    def __init__(self, issues: Iterable[dict], statuses: list[dict], board_configs: dict[int, dict], *,
                 flavour: str = "cloud", email: str = "lead@example.com", token: str = "secret-token",
                 page_size: int = 50, inline_changelog_cap: int = 10, user_timezone: str = "Europe/Berlin",
                 base_url_to_replace: str = "https://demo-team.atlassian.net",
                 field_names: dict[str, str] | None = None, bulk_changelog: bool = True,
                 bulk_page_size: int = 1000) -> None:
        if flavour not in ("cloud", "datacenter"):
            raise ValueError(f"flavour is 'cloud' or 'datacenter', not {flavour!r}")
        self.flavour, self.email, self.token = flavour, email, token
        self.page_size, self.inline_changelog_cap = page_size, inline_changelog_cap
        self.user_timezone, self.base_url_to_replace = user_timezone, base_url_to_replace
        self.statuses = copy.deepcopy(statuses)
        # /field: every field id -> name (the issues' own fields, named as the ids unless given)
        self.field_names = dict(field_names or {})
        # Cloud's POST /changelog/bulkfetch (False: a site without it answers 404); a page
        # holds at most bulk_page_size histories, an issue's histories may span two pages.
        self.bulk_changelog, self.bulk_page_size = bulk_changelog, bulk_page_size
        self.board_configs = {int(board): copy.deepcopy(config) for board, config in board_configs.items()}
        self.url = ""
        # what a test reads
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self.token_in_url = False
        self.internal_errors: list[str] = []  # exceptions the server answered with 500; a test expects none
        # what a test sets
        self.forbidden = False
        self.delay = 0.0
        self.rate_limit_paths: tuple[str, ...] | None = None  # path prefixes rate_limit applies to; None: all
        self._lock = threading.RLock()
        self._in_flight = 0
        self._rate_limited, self._retry_after = 0, "1"
        self._drops = 0
        self._failures, self._failure_status = 0, 503
        self._issues: dict[str, dict] = {}  # key -> issue without its changelog
        self._histories: dict[str, list[dict]] = {}  # key -> histories, oldest first
        self._snapshots: dict[str, tuple[str, ...]] = {}  # snapshot id -> matching keys in order
        self._latest_snapshot: dict[str, str] = {}  # JQL digest -> its latest snapshot id
        self._next_history_id = 10000
        for issue in issues:
            self.add_issue(issue)

    @classmethod
    def demo(cls, **kwargs) -> Self:
        """The simulated demo team: 3000 SHOP issues, their statuses and board 1."""
        issues, statuses, board, names = _demo_data()
        return cls(issues, statuses, {1: board}, field_names=names, **kwargs)

    # -- running -------------------------------------------------------------------------------
    name = "fake-jira"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(_Handler):
            jira = fake

        return Handler

    # -- test controls -------------------------------------------------------------------------
    def rate_limit(self, n: int, retry_after: str = "1", *, paths: Iterable[str] | None = None) -> None:
        """The next ``n`` requests (under ``paths`` prefixes, if given) get 429 with Retry-After."""
        with self._lock:
            self._rate_limited, self._retry_after = n, str(retry_after)
            if paths is not None:
                self.rate_limit_paths = tuple(paths)

    def drop_connections(self, n: int) -> None:
        """The next ``n`` requests are read, then their connection is closed without an answer."""
        with self._lock:
            self._drops = n

    def fail(self, n: int, status: int = 503) -> None:
        """The next ``n`` requests get ``status`` (a 5xx) with a Jira-like error body."""
        with self._lock:
            self._failures, self._failure_status = n, status

    def add_issue(self, issue: dict) -> None:
        """Serve one more issue (a search-response issue with its changelog); a copy is kept."""
        issue = copy.deepcopy(issue)
        changelog = issue.pop("changelog", None) or {}
        histories = sorted(changelog.get("histories") or [], key=_history_order)
        with self._lock:
            if issue["key"] in self._issues:
                raise ValueError(f"{issue['key']} is already served")
            issue.setdefault("fields", {})
            self._issues[issue["key"]] = issue
            self._histories[issue["key"]] = histories
            numeric = [int(h["id"]) for h in histories if str(h.get("id", "")).isdigit()]
            self._next_history_id = max([self._next_history_id, *(n + 1 for n in numeric)])

    def update_issue(self, key: str, to_status: str, at: datetime, category: str | None = None) -> dict:
        """Move ``key`` to ``to_status`` at ``at``, as a person on the board does; returns the history."""
        created = jira_time(at)
        with self._lock:
            issue = self._issues[self._find(key)]
            old = issue["fields"].get("status") or {}
            new = self._status(to_status, category)
            history = {
                "id": str(self._next_history_id), "author": self._author(), "created": created,
                "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                           "from": old.get("id"), "fromString": old.get("name"),
                           "to": new.get("id"), "toString": to_status}],
            }
            self._next_history_id += 1
            histories = self._histories[issue["key"]]
            histories.append(history)
            histories.sort(key=_history_order)
            fields = {**issue["fields"], "status": new, "updated": created}
            if (old.get("statusCategory") or {}).get("key") != new["statusCategory"].get("key"):
                fields["statuscategorychangedate"] = created
            issue["fields"] = fields  # replaced, not changed in place: a page being written keeps its copy
            return copy.deepcopy(history)

    def _status(self, name: str, category: str | None) -> dict:
        known = {status["name"].casefold(): status for status in self.statuses}
        status = copy.deepcopy(known.get(name.casefold()) or {"name": name})
        status.pop("untranslatedName", None)
        status["name"] = name
        if category is not None or "statusCategory" not in status:
            wanted = category or "indeterminate"
            categories = {s["statusCategory"]["key"]: s["statusCategory"] for s in self.statuses if "statusCategory" in s}
            status["statusCategory"] = copy.deepcopy(categories.get(wanted) or {"key": wanted, "name": wanted.title()})
        return status

    def _find(self, key_or_id: str) -> str:
        if key_or_id.upper() in self._issues:
            return key_or_id.upper()
        for key, issue in self._issues.items():
            if str(issue.get("id")) == key_or_id:
                return key
        raise KeyError(key_or_id)

    # -- answering -----------------------------------------------------------------------------
    @contextmanager
    def _counted(self):
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def record(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any) -> RecordedRequest:
        kept = {name: value for name, value in headers.items() if name.lower() != "authorization"}
        present = len(kept) < len(headers)
        request = RecordedRequest(method, path, dict(query), kept, present, body)
        with self._lock:
            self.requests.append(request)
        return request

    def answer(self, method: str, target: str, authorization: str | None, body: Any) -> tuple[int, dict, Any] | object:
        """(status, extra headers, JSON body) for one request, or ``_DROP`` to close the connection."""
        parts = urlsplit(target)
        query = {name: values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        if self._credentials_in(target, query):
            with self._lock:
                self.token_in_url = True
            return 400, {}, CREDENTIALS_IN_URL
        with self._lock:
            if self._drops:
                self._drops -= 1
                return _DROP
            if self._failures:
                self._failures -= 1
                return self._failure_status, {}, _error(f"{HTTPStatus(self._failure_status).phrase}.")
            if self._rate_limited and (self.rate_limit_paths is None or parts.path.startswith(self.rate_limit_paths)):
                self._rate_limited -= 1
                return 429, {"Retry-After": self._retry_after}, RATE_LIMITED
        if not self._authorized(authorization):
            return 401, {}, NOT_AUTHORIZED
        if self.forbidden:
            return 403, {}, FORBIDDEN
        params = body if method == "POST" and isinstance(body, dict) else query
        try:
            status, payload = self._route(method, parts.path, params)
        except BadRequest as problem:
            status, payload = 400, _error(str(problem))
        with self._lock:  # the copy is made under the lock: update_issue may run meanwhile
            return status, {}, _rebase(payload, self.base_url_to_replace, self.url)

    def _credentials_in(self, target: str, query: dict[str, str]) -> bool:
        for name, value in query.items():
            lowered = name.lower()
            if lowered != "nextpagetoken" and any(word in lowered for word in ("token", "password", "secret", "apikey")):
                return True
            if self.token and self.token in value:
                return True
        return bool(self.token) and self.token in unquote(urlsplit(target).path)

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        credentials = credentials.strip()
        if self.flavour == "datacenter":
            return scheme.lower() == "bearer" and hmac.compare_digest(credentials, self.token)
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(decoded, f"{self.email}:{self.token}")

    def _route(self, method: str, path: str, params: dict) -> tuple[int, Any]:
        board = re.fullmatch(r"/rest/agile/1\.0/board/(\d+)/configuration", path)
        if board and method == "GET":
            config = self.board_configs.get(int(board.group(1)))
            return (200, config) if config is not None else (404, NO_BOARD)
        if self.flavour == "cloud":
            if path == "/rest/api/3/search/jql" and method in ("GET", "POST"):
                return 200, self._search_cloud(params)
            if path == "/rest/api/3/search/approximate-count" and method == "POST":
                return 200, self._approximate_count(params)
            if path == "/rest/api/3/changelog/bulkfetch" and method == "POST" and self.bulk_changelog:
                return self._bulk_changelog(params)
            if path in ("/rest/api/3/search", "/rest/api/2/search"):
                return 410, SEARCH_REMOVED
            changelog = re.fullmatch(r"/rest/api/3/issue/([^/]+)/changelog", path)
            if changelog and method == "GET":
                return self._changelog(unquote(changelog.group(1)), path, params)
            api = ("/rest/api/2/", "/rest/api/3/")
        else:
            if path == "/rest/api/2/search" and method in ("GET", "POST"):
                return 200, self._search_datacenter(params)
            api = ("/rest/api/2/",)
        if method == "GET" and path in {prefix + "myself" for prefix in api}:
            return 200, self._myself()
        if method == "GET" and path in {prefix + "status" for prefix in api}:
            return 200, self.statuses
        if method == "GET" and path in {prefix + "field" for prefix in api}:
            return 200, self._fields()
        return 404, _error(f"No resource answers {method} {path}.")

    def _fields(self) -> list[dict]:
        """``/field``: every field the issues carry, with its name, as Jira lists them."""
        ids = sorted({field_id for issue in self._issues.values() for field_id in issue.get("fields") or {}})
        return [{"id": field_id, "key": field_id, "name": self.field_names.get(field_id, field_id),
                 "custom": field_id.startswith("customfield_")} for field_id in ids]

    def _myself(self) -> dict:
        if self.flavour == "datacenter":
            name = self.email.partition("@")[0]
            return {"self": f"{self.url}/rest/api/2/user?username={name}", "key": "JIRAUSER10000", "name": name,
                    "emailAddress": self.email, "displayName": DISPLAY_NAME, "active": True,
                    "timeZone": self.user_timezone, "locale": "en_GB"}
        account = hashlib.sha256(self.email.encode()).hexdigest()[:24]
        return {"self": f"{self.url}/rest/api/3/user?accountId={account}", "accountId": account,
                "accountType": "atlassian", "emailAddress": self.email, "displayName": DISPLAY_NAME,
                "active": True, "timeZone": self.user_timezone, "locale": "en_GB"}

    def _author(self) -> dict:
        me = self._myself()
        return {name: me[name] for name in ("self", "accountId", "name", "key", "displayName", "active", "timeZone")
                if name in me}

    # -- search --------------------------------------------------------------------------------
    def _snapshot(self, jql: str) -> str:
        query = parse_jql(jql, ZoneInfo(self.user_timezone))
        with self._lock:
            matching = {key: issue for key, issue in self._issues.items() if query.matches(key, issue["fields"])}
            snapshot_id = secrets.token_hex(6)
            self._snapshots[snapshot_id] = tuple(query.sorted_keys(matching))
            self._latest_snapshot[_jql_digest(jql)] = snapshot_id
        return snapshot_id

    def _issue_view(self, key: str, wanted: list[str] | None, expand: list[str] | None, cap: int | None) -> dict:
        issue = self._issues[key]
        view = {name: value for name, value in issue.items() if name != "fields"}
        view["fields"] = _select_fields(issue["fields"], wanted)
        if expand and "changelog" in expand:
            histories = self._histories[key]
            shown = histories[-cap:] if cap is not None and len(histories) > cap else histories
            view["changelog"] = {"startAt": 0, "maxResults": len(shown), "total": len(histories),
                                 "histories": list(reversed(shown))}
        return view

    def _page(self, keys: tuple[str, ...], start: int, size: int, params: dict, cap: int | None) -> list[dict]:
        wanted, expand = _names(params.get("fields")), _names(params.get("expand"))
        with self._lock:
            return [self._issue_view(key, wanted, expand, cap) for key in keys[start:start + size]]

    def _search_cloud(self, params: dict) -> dict:
        jql = str(params.get("jql") or "")
        parse_jql(jql, ZoneInfo(self.user_timezone))  # a bad query is a 400 on every page
        size = min(_count(params, "maxResults", self.page_size), self.page_size)
        token = params.get("nextPageToken")
        if token:
            payload = _decode_token(str(token))
            snapshot_id = payload.get("s") if payload else None
            offset = payload.get("o") if payload else None
            if (snapshot_id not in self._snapshots or payload.get("q") != _jql_digest(jql)
                    or not isinstance(offset, int) or offset < 0):
                raise BadRequest(BAD_PAGE_TOKEN["errorMessages"][0])
        else:
            snapshot_id, offset = self._snapshot(jql), 0
        keys = self._snapshots[snapshot_id]
        issues = self._page(keys, offset, size, params, self.inline_changelog_cap)
        end = offset + len(issues)
        if end < len(keys):
            return {"issues": issues, "nextPageToken": _encode_token({"s": snapshot_id, "o": end, "q": _jql_digest(jql)}),
                    "isLast": False}
        return {"issues": issues, "isLast": True}

    def _approximate_count(self, params: dict) -> dict:
        """Cloud's ``/search/approximate-count``: how many issues the JQL selects (exact here)."""
        query = parse_jql(str(params.get("jql") or ""), ZoneInfo(self.user_timezone))
        with self._lock:
            return {"count": sum(query.matches(key, issue["fields"]) for key, issue in self._issues.items())}

    def _search_datacenter(self, params: dict) -> dict:
        jql = str(params.get("jql") or "")
        start = _count(params, "startAt", 0)
        size = min(_count(params, "maxResults", self.page_size), self.page_size)
        snapshot_id = self._latest_snapshot.get(_jql_digest(jql))
        if start == 0 or snapshot_id is None:
            snapshot_id = self._snapshot(jql)
        else:
            parse_jql(jql, ZoneInfo(self.user_timezone))
        keys = self._snapshots[snapshot_id]
        return {"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(keys),
                "issues": self._page(keys, start, size, params, None)}

    def _changelog(self, key_or_id: str, path: str, params: dict) -> tuple[int, dict]:
        start = _count(params, "startAt", 0)
        size = min(_count(params, "maxResults", CHANGELOG_PAGE_MAX), CHANGELOG_PAGE_MAX)
        with self._lock:
            try:
                key = self._find(key_or_id)
            except KeyError:
                return 404, NO_ISSUE
            histories = self._histories[key]
            values = histories[start:start + size]
            total = len(histories)
        page = {"self": f"{self.url}{path}?maxResults={size}&startAt={start}", "maxResults": size, "startAt": start,
                "total": total, "isLast": start + len(values) >= total, "values": values}
        if not page["isLast"]:
            page["nextPage"] = f"{self.url}{path}?maxResults={size}&startAt={start + len(values)}"
        return 200, page


    def _bulk_changelog(self, params: dict) -> tuple[int, dict]:
        """``POST /rest/api/3/changelog/bulkfetch``: the histories of up to 1000 issues, oldest
        first per issue, issue after issue, paged by ``nextPageToken`` every ``maxResults``
        histories (capped at ``bulk_page_size``)."""
        wanted = params.get("issueIdsOrKeys")
        if not isinstance(wanted, list) or not 1 <= len(wanted) <= 1000:
            return 400, _error("issueIdsOrKeys must list between 1 and 1000 issues.")
        size = min(_count(params, "maxResults", 1000), self.bulk_page_size)
        digest = hashlib.sha256(json.dumps(wanted).encode()).hexdigest()[:16]
        offset = 0
        if params.get("nextPageToken"):
            payload = _decode_token(str(params["nextPageToken"]))
            if not payload or payload.get("b") != digest or not isinstance(payload.get("o"), int):
                return 400, BAD_PAGE_TOKEN
            offset = payload["o"]
        with self._lock:
            flat = []
            for key_or_id in wanted:
                try:
                    key = self._find(str(key_or_id))
                except KeyError:
                    continue  # Jira leaves out issues that do not exist or cannot be seen
                flat += [(str(self._issues[key]["id"]), history) for history in self._histories[key]]
        groups: list[dict] = []
        for issue_id, history in flat[offset:offset + size]:
            if not groups or groups[-1]["issueId"] != issue_id:
                groups.append({"issueId": issue_id, "changeHistories": []})
            groups[-1]["changeHistories"].append(copy.deepcopy(history))
        page: dict = {"issueChangeLogs": groups}
        if offset + size < len(flat):
            page["nextPageToken"] = _encode_token({"b": digest, "o": offset + size})
        return 200, page


# -- HTTP ----------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    jira: FakeJira
    protocol_version = "HTTP/1.1"  # keep-alive, as Jira: a pooled connection can be the one dropped

    def log_message(self, *_args) -> None:  # quiet: the tests read ``jira.requests`` instead
        pass

    def _handle(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = self.jira.record(self.command, parts.path, query, dict(self.headers.items()), body)
        with self.jira._counted():
            if self.jira.delay:
                time.sleep(self.jira.delay)
            if self.command == "POST" and raw and not isinstance(body, dict):
                outcome = 400, {}, _error("The request body is not a JSON object.")
            else:
                try:
                    outcome = self.jira.answer(self.command, self.path, self.headers.get("Authorization"), body)
                except Exception as exc:  # noqa: BLE001 - a bug in the fake: answer it, and let the test see it
                    with self.jira._lock:
                        self.jira.internal_errors.append(f"{self.command} {self.path}: {exc!r}")
                    outcome = 500, {}, _error(f"Internal server error: {exc!r}")
        if outcome is _DROP:
            self.close_connection = True
            return
        status, headers, payload = outcome
        record.status = status
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle
