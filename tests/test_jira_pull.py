"""Pulling from Jira's REST API, against a fake Jira on 127.0.0.1 serving the demo team's
3,000 issues: Cloud (``/search/jql`` with ``nextPageToken``, inline changelog capped, the rest
paged through ``/issue/{id}/changelog``) and Data Center (``/search`` with ``startAt``).

A pull of the demo must give exactly the dataset that importing the demo's export files
gives; rate limits, dropped connections and server errors are ridden out; refusals are one
sentence with nothing stored; an interrupted pull resumes without duplicates; a refresh
fetches only what changed, in the Jira account's time zone, as a new data version.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
from conftest import REPO, same_rows
from fake_jira import FakeJira

from vsm_core.ingest import SourceFile, import_files
from vsm_core.jira import Credentials, PullCancelled, PullProblem, pull, pull_record
from vsm_core.store import open_store

TOKEN = "tok-7f3c9a1e5b2d4c6e8a0f"
EMAIL = "lead@example.com"
DEMO = REPO / "data" / "demo"
TABLES = ("issues", "status_changes", "field_changes", "visits", "statuses", "board_columns")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The demo imported from its files: what a pull must reproduce."""
    store = open_store(tmp_path_factory.mktemp("reference") / "store")
    files = [SourceFile(DEMO / name, name) for name in
             ("demo-jira-export.json.gz", "demo-statuses.json", "demo-board-configuration.json")]
    result = import_files(store, files, name="from files")
    return store.get(result.dataset).version_path(1)


@pytest.fixture
def cloud():
    with FakeJira.demo(flavour="cloud", email=EMAIL, token=TOKEN, page_size=50, inline_changelog_cap=10,
                       bulk_page_size=250) as jira:
        yield jira


@pytest.fixture
def cloud_without_bulk():
    """A Cloud site without the bulk changelog endpoint: histories are paged per issue."""
    with FakeJira.demo(flavour="cloud", email=EMAIL, token=TOKEN, page_size=50, inline_changelog_cap=10,
                       bulk_changelog=False) as jira:
        yield jira


def _credentials(jira: FakeJira) -> Credentials:
    return Credentials(jira.url, TOKEN, EMAIL if jira.flavour == "cloud" else None)


def _same_dataset(version: Path, reference: Path) -> None:
    for table in TABLES:
        assert same_rows(version / f"{table}.parquet", reference / f"{table}.parquet"), table
    assert pq.read_metadata(version / "issues.parquet").num_rows == 3000


def _paths(jira: FakeJira) -> list[str]:
    return [r.path for r in jira.requests]


def test_cloud_pull_gives_the_dataset_the_export_files_give(store, cloud, reference):
    steps: list[tuple[str, float]] = []
    outcome = pull(store, _credentials(cloud), "project = SHOP", board=1, progress=lambda *step: steps.append(step))
    info = store.get(outcome.imported.dataset)
    _same_dataset(info.version_path(), reference)
    assert outcome.fetched == 3000 and not outcome.incremental
    # Progress counts against Cloud's approximate count, and only moves forward, from 0 to 1.
    assert ("Fetched 1,500 of about 3,000 issues", pytest.approx(0.05 + 0.7 * 0.5)) in steps
    fractions = [fraction for _, fraction in steps]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    paths = _paths(cloud)
    searches = [r for r in cloud.requests if r.path == "/rest/api/3/search/jql"]
    assert len(searches) == 60  # 3,000 issues in pages of 50 (the server caps the 100 asked for)
    assert sum("nextPageToken" in (r.body or {}) for r in searches) == 59
    # The 912 issues with more than 10 histories got theirs in bulk: a request or two per page.
    bulk = [r for r in cloud.requests if r.path == "/rest/api/3/changelog/bulkfetch"]
    assert 60 <= len(bulk) <= 120 and sum(len(r.body["issueIdsOrKeys"]) for r in bulk if "nextPageToken" not in r.body) == 912
    assert sum("nextPageToken" in r.body for r in bulk) >= 1  # the fake's 250-history pages were followed
    assert not any(p.endswith("/changelog") for p in paths)
    assert not any(p in ("/rest/api/3/search", "/rest/api/2/search") for p in paths)
    assert "/rest/agile/1.0/board/1/configuration" in paths
    record = pull_record(info)
    assert record["jql"] == "project = SHOP" and record["board"] == 1 and record["user_timezone"] == "Europe/Berlin"
    assert not (store.root / "pulls").exists() or list((store.root / "pulls").iterdir()) == []


def test_data_center_pull_pages_with_start_at_and_a_bearer_token(store, reference):
    with FakeJira.demo(flavour="datacenter", token=TOKEN, page_size=40) as jira:
        outcome = pull(store, _credentials(jira), "project = SHOP ORDER BY key ASC", board=1)
        searches = [r for r in jira.requests if r.path == "/rest/api/2/search"]
    _same_dataset(store.get(outcome.imported.dataset).version_path(), reference)
    assert [int(r.query.get("startAt", 0)) for r in searches] == list(range(0, 3000, 40))  # 100 asked, 40 given
    assert not any(r.path.endswith("/changelog") for r in jira.requests)  # Data Center inlines it all


def test_rate_limits_drops_and_server_errors_are_ridden_out(store, cloud, reference):
    cloud.rate_limit(2, retry_after="1")
    started = time.monotonic()
    cloud.drop_connections(2)
    cloud.fail(2, status=503)
    outcome = pull(store, _credentials(cloud), "project = SHOP", board=1)
    assert time.monotonic() - started >= 2.0  # Retry-After was honoured, twice
    _same_dataset(store.get(outcome.imported.dataset).version_path(), reference)


def test_without_bulk_histories_are_paged_per_issue_within_the_concurrency_bound(store, cloud_without_bulk, reference):
    jira = cloud_without_bulk
    jira.delay = 0.02
    outcome = pull(store, _credentials(jira), "project = SHOP", board=1, concurrency=3)
    _same_dataset(store.get(outcome.imported.dataset).version_path(), reference)
    # Each of the 912 issues with more than 10 histories had its history paged in full ...
    assert len({r.path for r in jira.requests if r.path.endswith("/changelog")}) == 912
    # ... in parallel, at most 3 requests at once; the bulk endpoint was tried once only.
    assert 2 <= jira.max_in_flight <= 3
    assert len([r for r in jira.requests if r.path == "/rest/api/3/changelog/bulkfetch"]) == 1


@pytest.mark.parametrize("case, expected", [
    ("wrong token", "refused the sign-in (HTTP 401); check the e-mail address and API token"),
    ("forbidden", "does not allow this account to read"),
    ("bad jql", "rejected the JQL (HTTP 400): Error in the JQL Query"),
    ("no board", "has no board 99 this account can see"),
    ("cloud without e-mail", "refused the sign-in (HTTP 401)"),
])
def test_refusals_are_one_sentence_and_store_nothing(store, cloud, case, expected):
    credentials, jql, board = _credentials(cloud), "project = SHOP", None
    if case == "wrong token":
        credentials = Credentials(cloud.url, "not-the-token", EMAIL)
    elif case == "forbidden":
        cloud.forbidden = True
    elif case == "bad jql":
        jql = "project === SHOP"
    elif case == "no board":
        board = 99
    elif case == "cloud without e-mail":
        credentials = Credentials(cloud.url, TOKEN)
    with pytest.raises(PullProblem) as problem:
        pull(store, credentials, jql, board=board)
    sentence = str(problem.value)
    assert expected in sentence and "\n" not in sentence and TOKEN not in sentence
    assert store.datasets() == []
    assert list(store.root.glob("pulls/*")) == []  # nothing was downloaded, so nothing is kept aside


def test_a_site_that_is_not_jira_is_named_as_such(store, tmp_path):
    import http.server

    class Login(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>Sign in</body></html>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Login)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(PullProblem) as problem:
            pull(store, Credentials(f"http://127.0.0.1:{server.server_port}", TOKEN, EMAIL), "project = SHOP")
    finally:
        server.shutdown()
    assert "did not answer as Jira's REST API" in str(problem.value) and "text/html" in str(problem.value)
    assert store.datasets() == []


def test_unreachable_site_fails_after_its_retries(store):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from vsm_core.jira import JiraClient

    credentials = Credentials(f"http://127.0.0.1:{port}", TOKEN, EMAIL)
    client = JiraClient(credentials, retries=2, backoff=0.01)
    with pytest.raises(PullProblem) as problem:
        pull(store, credentials, "project = SHOP", client=client)
    assert "dropped or refused the connection 3 times" in str(problem.value)


def test_cancelled_pull_keeps_its_pages_aside_and_resumes_without_duplicates(store, cloud, reference):
    cancel = threading.Event()

    def progress(what: str, fraction: float) -> None:
        if what.startswith("Fetched 1,000 "):
            cancel.set()

    with pytest.raises(PullCancelled):
        pull(store, _credentials(cloud), "project = SHOP", board=1, progress=progress, cancel=cancel)
    assert store.datasets() == []  # no dataset until the pull completes
    kept = list((store.root / "pulls").glob("*/page-*.json.gz"))
    assert len(kept) == 20
    asked_before = len([r for r in cloud.requests if r.path == "/rest/api/3/search/jql"])
    outcome = pull(store, _credentials(cloud), "project = SHOP", board=1)
    asked_after = len([r for r in cloud.requests if r.path == "/rest/api/3/search/jql"]) - asked_before
    assert outcome.resumed and asked_after == 40  # the 40 pages not yet fetched, and no more
    _same_dataset(store.get(outcome.imported.dataset).version_path(), reference)
    assert list((store.root / "pulls").iterdir()) == []


def test_refresh_fetches_what_changed_since_in_the_accounts_time_zone(store, cloud, reference):
    first = pull(store, _credentials(cloud), "project = SHOP", board=1).imported
    now = datetime.now(UTC).replace(microsecond=0)
    cloud.update_issue("SHOP-1", "Done", now)
    cloud.update_issue("SHOP-2", "In Progress", now)
    new = {"id": "99001", "key": "SHOP-9001", "self": f"{cloud.url}/rest/api/2/issue/99001",
           "fields": {"summary": "A new request", "created": now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                      "updated": now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                      "issuetype": {"name": "Story"}, "project": {"key": "SHOP"},
                      "status": {"name": "Backlog", "statusCategory": {"key": "new"}}},
           "changelog": {"startAt": 0, "maxResults": 0, "total": 0, "histories": []}}
    cloud.add_issue(new)
    before = len(cloud.requests)
    outcome = pull(store, _credentials(cloud), into=first.dataset)
    assert outcome.incremental and outcome.fetched == outcome.changed == 3
    info = store.get(first.dataset)
    assert info.versions == (1, 2) and outcome.imported.version == 2
    # The JQL names the last pull's start (minus the overlap) in the account's time zone.
    pulled_at = datetime.fromisoformat(pull_record(info, 1)["pulled_at"])
    since = (pulled_at - timedelta(minutes=5)).astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y/%m/%d %H:%M")
    assert outcome.since == since
    search = next(r for r in cloud.requests[before:] if r.path == "/rest/api/3/search/jql")
    assert search.body["jql"] == f'(project = SHOP) AND updated >= "{since}"'
    # Version 1 is untouched; version 2 has the new issue and the two new status changes.
    _same_dataset(info.version_path(1), reference)
    counts = [info.meta(v)["counts"] for v in (1, 2)]
    assert counts[1]["issues"] == counts[0]["issues"] + 1
    assert counts[1]["status_changes"] == counts[0]["status_changes"] + 2
    issues = pq.read_table(info.version_path(2) / "issues.parquet").to_pandas().set_index("key")
    assert issues.loc["SHOP-1", "status"] == "Done" and issues.loc["SHOP-2", "status"] == "In Progress"
    # A full refresh fetches everything again and gives the same version content.
    again = pull(store, _credentials(cloud), into=first.dataset, full=True)
    assert not again.incremental and again.fetched == 3001
    for table in ("issues", "status_changes", "visits"):
        assert same_rows(info.version_path(3) / f"{table}.parquet", info.version_path(2) / f"{table}.parquet"), table


def test_stale_partial_downloads_are_swept_after_a_week(store):
    folder = store.root / "pulls" / "abc"
    folder.mkdir(parents=True)
    (folder / "page-000001.json.gz").write_bytes(b"x")
    store.sweep_staging()
    assert folder.exists()
    week_ago = time.time() - 8 * 86400
    os.utime(folder, (week_ago, week_ago))
    store.sweep_staging()
    assert not folder.exists()


def test_a_pull_stopped_after_publishing_is_not_imported_twice(store, cloud):
    """A page stopped (Cancel, or the visitor left) while the new version's view is being
    prepared: the data is stored, and its partial download is gone, so pulling again cannot
    import the same download a second time."""

    class Stopped(BaseException):
        pass

    def progress(what: str, fraction: float) -> None:
        if what.startswith("Preparing the dashboard"):
            raise Stopped

    with pytest.raises(Stopped):
        pull(store, _credentials(cloud), "project = SHOP", progress=progress)
    assert [info.meta()["counts"]["issues"] for info in store.datasets()] == [3000]
    assert list((store.root / "pulls").iterdir()) == []


@pytest.mark.parametrize("typed, site", [
    ("https://team.atlassian.net/browse/SHOP-1", "https://team.atlassian.net"),
    ("team.atlassian.net/", "https://team.atlassian.net"),
    ("http://jira.example.com:8080/jira/secure/Dashboard.jspa", "http://jira.example.com:8080/jira"),
    ("not a site", None), ("ftp://team.atlassian.net", None), ("https://me:pw@team.atlassian.net", None),
    ("https://team.atlassian.net:port", None), ("", None),
])
def test_site_addresses_are_normalised_or_refused(typed, site):
    from vsm_core.jira.client import normalise_url

    if site is None:
        with pytest.raises(PullProblem):
            normalise_url(typed)
    else:
        assert normalise_url(typed) == site


@pytest.mark.parametrize("jql, expected", [
    ("project = SHOP", '(project = SHOP) AND updated >= "2026/01/02 10:00"'),
    ("project = SHOP order by created DESC", '(project = SHOP) AND updated >= "2026/01/02 10:00" order by created DESC'),
    ('summary ~ "order by" ORDER BY key', '(summary ~ "order by") AND updated >= "2026/01/02 10:00" ORDER BY key'),
    ("ORDER BY key", 'updated >= "2026/01/02 10:00" ORDER BY key'),
])
def test_a_refresh_adds_its_date_before_order_by(jql, expected):
    from vsm_core.jira.pull import _with_since

    assert _with_since(jql, "2026/01/02 10:00") == expected


def test_retry_after_reads_seconds_and_http_dates():
    from email.utils import format_datetime

    from vsm_core.jira.client import _retry_after

    assert _retry_after("7") == 7 and _retry_after(None) is None and _retry_after("soon") is None
    later = datetime.now(UTC) + timedelta(seconds=90)
    assert 80 <= _retry_after(format_datetime(later, usegmt=True)) <= 91


def test_a_long_retry_after_stops_the_pull_with_a_sentence(store, cloud):
    cloud.rate_limit(1, retry_after="3600")
    with pytest.raises(PullProblem) as problem:
        pull(store, _credentials(cloud), "project = SHOP")
    assert "asks to wait 60 minutes" in str(problem.value) and store.datasets() == []
