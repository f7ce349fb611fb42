"""A polite, robust HTTP client for Jira's REST API (Cloud and Data Center).

Which Jira: with an e-mail address the site is Jira Cloud (``email:API token`` as HTTP Basic
auth, the v3 API); without one it is Jira Data Center or Server with a personal access token
(``Authorization: Bearer``, the v2 API). The token travels only in that header: never in a URL,
a log line or a message (``Credentials.__repr__`` hides it).

Politeness and robustness:

* at most ``concurrency`` requests in flight at once (a semaphore shared by every thread);
* HTTP 429 and 503 wait for ``Retry-After`` (seconds or an HTTP date) when the server sends
  it, else back off exponentially (``backoff`` × 2^attempt, at most 30 s, with jitter);
  other 5xx answers, timeouts and dropped connections back off the same way; after
  ``retries`` retries the request fails with one sentence. A ``Retry-After`` longer than
  ``MAX_RETRY_AFTER`` seconds is not waited for: the pull stops and says when to try again;
* 400 (a bad JQL), 401, 403, 404 and 410 are not retried: each becomes one sentence that says
  what Jira said and what to do;
* ``cancel`` (a ``threading.Event``) stops the client between requests and during waits.
"""

from __future__ import annotations

import email.utils
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlsplit

import requests

from vsm_core.problems import ImportProblem

MAX_RETRY_AFTER = 300  # seconds; a longer wait is reported instead of slept through
_BACKOFF_CAP = 30.0
_USER_AGENT = "vsm-dashboard (value stream map)"
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
                   r"|^[0-9a-fA-F:]+$")  # a host name or an IP address (IPv6 without its brackets)


class PullProblem(ImportProblem):
    """A pull that cannot go on: one sentence for the user (an ImportProblem, so the command
    line and the dashboard show it like any import's). For an HTTP error answer, ``status``
    is its code and ``said`` Jira's own messages, so that a caller who knows what it asked
    for can decide (or say) better than the sentence does."""

    def __init__(self, sentence: str, *, status: int | None = None, said: str = ""):
        super().__init__(sentence)
        self.status = status
        self.said = said


class PullCancelled(PullProblem):
    """The user cancelled the pull."""


class NotFound(PullProblem):
    """Jira answered 404; the caller knows what was missing and may say it better."""


@dataclass(frozen=True)
class Credentials:
    """Where Jira is and how to sign in. ``email`` set: Jira Cloud; else Data Center."""

    url: str
    token: str = field(repr=False)
    email: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "url", normalise_url(self.url))
        if self.email is not None:
            object.__setattr__(self, "email", self.email.strip() or None)

    @property
    def flavour(self) -> str:
        return "cloud" if self.email else "datacenter"

    @property
    def api(self) -> str:
        """The REST API version this flavour uses: 3 on Cloud, 2 on Data Center."""
        return "3" if self.flavour == "cloud" else "2"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


def normalise_url(url: str) -> str:
    """``https://team.atlassian.net/`` (or with a path, for a Data Center context path):
    scheme and host kept, trailing slash and any ``/browse/...`` or query removed."""
    text = (url or "").strip()
    if "://" not in text and text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not _HOST.match(parts.hostname or "") or port == 0:
        raise PullProblem(f"{url!r} is not a Jira site address; write it like https://your-team.atlassian.net.")
    if parts.username or parts.password:
        raise PullProblem("the Jira site address must not hold a user name or password; give the API token separately.")
    path = parts.path.split("/browse/")[0].split("/rest/")[0].split("/secure/")[0].rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path}"


class JiraClient:
    """GET and POST JSON against one Jira site, with the rules in the module docstring."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        concurrency: int = 4,
        retries: int = 6,
        backoff: float = 1.0,
        timeout: float = 60.0,
        cancel: threading.Event | None = None,
        on_wait: Callable[[str], None] | None = None,
    ):
        self.credentials = credentials
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.cancel = cancel or threading.Event()
        self.on_wait = on_wait
        self.requests_made = 0
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._count_lock = threading.Lock()
        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(1, concurrency), max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"Accept": "application/json", "User-Agent": _USER_AGENT})
        self._session.trust_env = False  # no ~/.netrc credentials or proxy settings mixed in
        if credentials.email:
            self._session.auth = (credentials.email, credentials.token)
        else:
            self._session.headers["Authorization"] = f"Bearer {credentials.token}"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- requests -----------------------------------------------------------------------
    def get(self, path: str, params: dict | None = None, *, what: str = "") -> Any:
        return self._request("GET", path, params=params, what=what)

    def post(self, path: str, body: dict, *, what: str = "") -> Any:
        return self._request("POST", path, body=body, what=what)

    def _request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                 what: str = "") -> Any:
        url = self.credentials.url + path
        what = what or path
        for attempt in range(self.retries + 1):
            self._check_cancel()
            last = attempt == self.retries
            try:
                with self._slots:
                    self._check_cancel()
                    with self._count_lock:
                        self.requests_made += 1
                    response = self._session.request(method, url, params=params, json=body,
                                                     timeout=(min(15.0, self.timeout), self.timeout),
                                                     allow_redirects=False)
            except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, ValueError):
                raise PullProblem(f"{self.credentials.url} cannot be used as a Jira site address; "
                                  "write it like https://your-team.atlassian.net.") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last:
                    reason = "timed out" if isinstance(exc, requests.Timeout) else "dropped or refused the connection"
                    raise PullProblem(
                        f"Jira at {self.credentials.host} {reason} {self.retries + 1} times while fetching {what}; "
                        "check the site address and your network, then run the same pull again."
                    ) from None
                self._wait(self._backoff_seconds(attempt), f"The connection dropped while fetching {what}")
                continue
            status = response.status_code
            if status == 429 or (status == 503 and "Retry-After" in response.headers):
                seconds = _retry_after(response.headers.get("Retry-After"))
                if seconds is not None and seconds > MAX_RETRY_AFTER:
                    raise PullProblem(
                        f"Jira at {self.credentials.host} asks to wait {seconds / 60:.0f} minutes before more requests "
                        "(rate limit); run the same pull again later: it resumes where it stopped."
                    )
                if last:
                    raise PullProblem(
                        f"Jira at {self.credentials.host} kept limiting the request rate while fetching {what}; "
                        "run the same pull again later: it resumes where it stopped."
                    )
                self._wait(seconds if seconds is not None else self._backoff_seconds(attempt),
                           f"Jira asks to slow down (HTTP {status})")
                continue
            if status >= 500:
                if last:
                    raise PullProblem(
                        f"Jira at {self.credentials.host} answered HTTP {status} {self.retries + 1} times while fetching "
                        f"{what}; it may be down or overloaded: run the same pull again later."
                    )
                self._wait(self._backoff_seconds(attempt), f"Jira answered HTTP {status} for {what}")
                continue
            return self._answer(response, what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _answer(self, response: requests.Response, what: str) -> Any:
        status = response.status_code
        host = self.credentials.host
        said = _said(response) if status >= 400 else ""
        tail = f": {said}" if said else ""
        if 300 <= status < 400:
            target = urlsplit(response.headers.get("Location", "")).netloc or "another address"
            raise PullProblem(
                f"Jira at {host} redirects to {target}; give that address as the site instead "
                "(a single sign-on page cannot be used with an API token)."
            )
        if status == 401:
            how = ("the e-mail address and API token (make one at id.atlassian.com, Security, API tokens)"
                   if self.credentials.email else
                   "the personal access token (Data Center: profile, Personal Access Tokens); for Jira Cloud give your "
                   "e-mail address too")
            raise PullProblem(f"Jira at {host} refused the sign-in (HTTP 401); check {how}.", status=status, said=said)
        sentences = {
            403: f"does not allow this account to read {what} (HTTP 403){tail}; ask a Jira administrator for "
                 "browse permission, or use an account that has it.",
            404: f"has no {what} (HTTP 404){tail}; check the site address.",
            410: f"no longer offers the API used for {what} (HTTP 410){tail}; if this is a Jira Cloud site, give "
                 "your e-mail address so the Cloud API is used.",
            400: f"rejected the request for {what} (HTTP 400){tail}.",
        }
        if status >= 400:
            kind = NotFound if status == 404 else PullProblem
            raise kind(f"Jira at {host} " + sentences.get(status, f"answered HTTP {status} for {what}{tail}."),
                       status=status, said=said)
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "").split(";")[0] or "an unknown type"
            raise PullProblem(
                f"{self.credentials.url} did not answer as Jira's REST API for {what} (it sent {kind}, not JSON); "
                "check that the address is your Jira site."
            ) from None

    # -- waiting --------------------------------------------------------------------------
    def _backoff_seconds(self, attempt: int) -> float:
        return min(_BACKOFF_CAP, self.backoff * 2**attempt) * random.uniform(0.8, 1.2)

    def _wait(self, seconds: float, why: str) -> None:
        if self.on_wait is not None:
            self.on_wait(f"{why}; trying again in {max(1, round(seconds))} s")
        if self.cancel.wait(max(0.0, seconds)):
            self._check_cancel()

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise PullCancelled("the pull was cancelled; what was downloaded is kept aside, and the same pull resumes from there.")


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _said(response: requests.Response) -> str:
    """Jira's own messages in one short line, or nothing."""
    try:
        doc = response.json()
    except ValueError:
        return ""
    messages: list[str] = []
    if isinstance(doc, dict):
        messages += [str(m) for m in doc.get("errorMessages") or [] if m]
        errors = doc.get("errors")
        if isinstance(errors, dict):
            messages += [f"{k}: {v}" for k, v in errors.items()]
        if doc.get("message"):
            messages.append(str(doc["message"]))
    text = " ".join(" ".join(messages).split())
    if not text:
        return ""
    text = text.rstrip(". ")
    return text if len(text) <= 300 else text[:297] + "…"
