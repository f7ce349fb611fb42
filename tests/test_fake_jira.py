"""The fake Jira server (tests/fake_jira.py) answers as Jira Cloud and Data Center do, so the
Jira pull client's tests can trust it; every call here goes through a real HTTP client."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen
from zoneinfo import ZoneInfo

import pytest
from conftest import jira_issue
from fake_jira import NOT_AUTHORIZED, FakeJira, jira_time

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"
DEMO_BASE = "https://demo-team.atlassian.net"
BASIC = "Basic " + base64.b64encode(b"lead@example.com:secret-token").decode()
BEARER = "Bearer secret-token"
BERLIN = ZoneInfo("Europe/Berlin")


# -- a client as plain as it gets ----------------------------------------------------------------
def call(jira: FakeJira, path: str, params: dict | None = None, *, method: str = "GET", body: dict | None = None,
         auth: str | None = "flavour") -> tuple[int, dict, object]:
    """(status, headers, JSON body) of one request; ``auth="flavour"`` sends the right credentials."""
    if auth == "flavour":
        auth = BASIC if jira.flavour == "cloud" else BEARER
    url = jira.url + path + ("?" + urlencode(params) if params else "")
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if data else {}),
               **({"Authorization": auth} if auth else {})}
    try:
        with urlopen(Request(url, data=data, headers=headers, method=method), timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def ok(jira: FakeJira, path: str, params: dict | None = None, **kwargs) -> object:
    status, _, body = call(jira, path, params, **kwargs)
    assert status == 200, body
    return body


def cloud_pages(jira: FakeJira, jql: str = "", **params) -> list[dict]:
    pages, token = [], None
    while True:
        page = ok(jira, "/rest/api/3/search/jql", {"jql": jql, **params, **({"nextPageToken": token} if token else {})})
        pages.append(page)
        if page["isLast"]:
            return pages
        token = page["nextPageToken"]


def cloud_keys(jira: FakeJira, jql: str) -> list[str]:
    return [issue["key"] for page in cloud_pages(jira, jql, fields="status") for issue in page["issues"]]


def unbased(value: object, jira: FakeJira) -> object:
    """``value`` with the fake's own address put back to the demo site's, to compare with the export."""
    return json.loads(json.dumps(value).replace(json.dumps(jira.url)[1:-1], DEMO_BASE))


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_issues() -> dict[str, dict]:
    """The committed demo export, read here without the fake: the reference the fake must match."""
    with gzip.open(DEMO / "demo-jira-export.json.gz", "rb") as export:
        return {issue["key"]: issue for issue in json.load(export)["issues"]}


@pytest.fixture(scope="module")
def statuses() -> list[dict]:
    return json.loads((DEMO / "demo-statuses.json").read_text())


@pytest.fixture(scope="module")
def cloud():
    with FakeJira.demo() as jira:
        yield jira
    assert jira.internal_errors == []


@pytest.fixture(scope="module")
def cloud_walk(cloud) -> list[dict]:
    """Every page of the demo issues with their inline changelogs, asking for 100 a page."""
    return cloud_pages(cloud, "project = SHOP", maxResults=100, expand="changelog")


@pytest.fixture(scope="module")
def datacenter():
    with FakeJira.demo(flavour="datacenter") as jira:
        yield jira
    assert jira.internal_errors == []


@pytest.fixture
def small(demo_issues, statuses):
    """A cloud fake with the first ten demo issues, for tests that change it or make it misbehave."""
    issues = [demo_issues[f"SHOP-{n}"] for n in range(1, 11)]
    with FakeJira(issues, statuses, {}, page_size=4) as jira:
        yield jira
    assert jira.internal_errors == []


# -- Cloud search ----------------------------------------------------------------------------------
def test_cloud_search_walks_every_demo_issue_once_in_pages_of_at_most_page_size(cloud, cloud_walk, demo_issues):
    sizes = [len(page["issues"]) for page in cloud_walk]
    assert sizes == [50] * 60  # asked for 100, capped at the page size
    assert [page["isLast"] for page in cloud_walk] == [False] * 59 + [True]
    assert "nextPageToken" not in cloud_walk[-1] and all(page["nextPageToken"] for page in cloud_walk[:-1])
    keys = [issue["key"] for page in cloud_walk for issue in page["issues"]]
    assert len(keys) == len(set(keys)) == 3000 and set(keys) == set(demo_issues)
    assert keys == sorted(keys, key=lambda key: int(key.split("-")[1]))  # by key number, ascending
    assert all(issue["self"].startswith(cloud.url + "/rest/api/2/issue/") for page in cloud_walk for issue in page["issues"])
    assert not cloud.token_in_url  # nextPageToken is not a credential


def test_cloud_search_serves_the_exports_fields_with_links_to_itself(cloud, cloud_walk, demo_issues):
    for issue in (page["issues"][0] for page in cloud_walk):
        assert unbased(issue["fields"], cloud) == demo_issues[issue["key"]]["fields"]
        assert issue["fields"]["project"]["self"].startswith(cloud.url)
        assert DEMO_BASE not in json.dumps(issue)


def test_post_search_reads_the_same_names_from_its_body(cloud):
    body = {"jql": "project = SHOP", "maxResults": 30, "fields": ["status", "updated"]}
    first = ok(cloud, "/rest/api/3/search/jql", method="POST", body=body)
    second = ok(cloud, "/rest/api/3/search/jql", method="POST", body={**body, "nextPageToken": first["nextPageToken"]})
    keys = [issue["key"] for issue in first["issues"] + second["issues"]]
    assert len(first["issues"]) == len(second["issues"]) == 30 and len(set(keys)) == 60
    assert all(set(issue["fields"]) == {"status", "updated"} for issue in first["issues"])
    assert all("changelog" not in issue for issue in first["issues"])  # not expanded
    with_changelog = ok(cloud, "/rest/api/3/search/jql", method="POST", body={**body, "expand": "changelog"})
    assert all("changelog" in issue for issue in with_changelog["issues"])


@pytest.mark.parametrize("fields", ["*all", "*navigable", None], ids=["all", "navigable", "absent"])
def test_search_without_a_field_list_returns_every_field(cloud, demo_issues, fields):
    params = {"jql": "key = SHOP-4", **({"fields": fields} if fields else {})}
    (issue,) = ok(cloud, "/rest/api/3/search/jql", params)["issues"]
    assert set(issue["fields"]) == set(demo_issues["SHOP-4"]["fields"])


def test_a_page_token_that_does_not_decode_or_belongs_to_another_query_is_refused(cloud):
    token = ok(cloud, "/rest/api/3/search/jql", {"jql": "project = SHOP"})["nextPageToken"]
    forged = base64.urlsafe_b64encode(json.dumps({"s": "nope", "o": 50, "q": "x"}).encode()).decode()
    for jql, bad in [("project = SHOP", "not a token!"), ("project = SHOP", forged), ("key = SHOP-4", token)]:
        status, _, body = call(cloud, "/rest/api/3/search/jql", {"jql": jql, "nextPageToken": bad})
        assert (status, body["errorMessages"]) == (400, ["The provided next page token is invalid or expired."])
    assert call(cloud, "/rest/api/3/search/jql", {"jql": "project = SHOP", "nextPageToken": token})[0] == 200


# -- changelogs --------------------------------------------------------------------------------------
def test_inline_changelog_holds_the_newest_ten_and_the_endpoint_every_history(cloud, cloud_walk, demo_issues):
    capped = 0
    for issue in (issue for page in cloud_walk for issue in page["issues"]):
        newest_first = demo_issues[issue["key"]]["changelog"]["histories"]
        inline = issue["changelog"]
        shown = min(len(newest_first), 10)
        assert (inline["startAt"], inline["maxResults"], inline["total"]) == (0, shown, len(newest_first))
        assert unbased(inline["histories"], cloud) == newest_first[:shown]
        if inline["total"] > shown:
            capped += 1
            page = ok(cloud, f"/rest/api/3/issue/{issue['key']}/changelog")
            assert (page["startAt"], page["maxResults"], page["total"], page["isLast"]) == (0, 100, len(newest_first), True)
            assert unbased(page["values"], cloud) == newest_first[::-1]  # oldest first
    assert capped == 912  # the demo's issues with more than ten histories


def test_changelog_endpoint_pages_oldest_first_and_caps_max_results(cloud, demo_issues):
    longest = max(demo_issues.values(), key=lambda issue: len(issue["changelog"]["histories"]))
    oldest_first = longest["changelog"]["histories"][::-1]
    assert len(oldest_first) == 39
    values, start = [], 0
    while True:
        page = ok(cloud, f"/rest/api/3/issue/{longest['key']}/changelog", {"startAt": start, "maxResults": 10})
        values += page["values"]
        start += len(page["values"])
        assert page["isLast"] == (start == 39) and page["total"] == 39
        if page["isLast"]:
            break
    assert unbased(values, cloud) == oldest_first
    by_id = ok(cloud, f"/rest/api/3/issue/{longest['id']}/changelog", {"maxResults": 500})
    assert by_id["maxResults"] == 100 and len(by_id["values"]) == 39


def test_changelog_of_an_unknown_issue_is_404(cloud):
    status, _, body = call(cloud, "/rest/api/3/issue/SHOP-999999/changelog")
    assert (status, body["errorMessages"]) == (404, ["Issue does not exist or you do not have permission to see it."])


# -- Data Center -------------------------------------------------------------------------------------
def test_datacenter_search_pages_by_start_at_with_complete_changelogs(datacenter, demo_issues):
    keys, start = [], 0
    while True:
        page = ok(datacenter, "/rest/api/2/search",
                  {"jql": "project = SHOP", "startAt": start, "maxResults": 100, "expand": "changelog"})
        assert (page["startAt"], page["maxResults"], page["total"]) == (start, 50, 3000)
        for issue in page["issues"]:
            expected = demo_issues[issue["key"]]["changelog"]["histories"]
            assert issue["changelog"]["total"] == len(issue["changelog"]["histories"]) == len(expected)
            assert unbased(issue["changelog"]["histories"], datacenter) == expected  # all of them, newest first
        keys += [issue["key"] for issue in page["issues"]]
        start += len(page["issues"])
        if not page["issues"] or start >= page["total"]:
            break
    assert len(keys) == len(set(keys)) == 3000 and set(keys) == set(demo_issues)


def test_datacenter_search_also_answers_post(datacenter):
    page = ok(datacenter, "/rest/api/2/search", method="POST",
              body={"jql": "project = SHOP", "startAt": 10, "maxResults": 5, "fields": ["status"], "expand": ["changelog"]})
    assert (page["startAt"], page["maxResults"], len(page["issues"])) == (10, 5, 5)
    assert [issue["key"] for issue in page["issues"]] == [f"SHOP-{n}" for n in range(11, 16)]
    assert all(set(issue["fields"]) == {"status"} and "changelog" in issue for issue in page["issues"])


@pytest.mark.parametrize("path", ["/rest/api/3/search/jql", "/rest/api/3/myself", "/rest/api/3/issue/SHOP-4/changelog"])
def test_datacenter_has_no_cloud_api(datacenter, path):
    status, _, body = call(datacenter, path)
    assert status == 404 and body["errorMessages"]


def test_myself_names_the_account_and_its_time_zone(cloud, datacenter):
    for path in ("/rest/api/3/myself", "/rest/api/2/myself"):
        me = ok(cloud, path)
        assert (me["emailAddress"], me["displayName"], me["timeZone"]) == ("lead@example.com", "Delivery Lead",
                                                                          "Europe/Berlin")
        assert me["accountId"]
    me = ok(datacenter, "/rest/api/2/myself")
    assert (me["name"], me["emailAddress"], me["timeZone"]) == ("lead", "lead@example.com", "Europe/Berlin")


def test_statuses_are_the_demo_statuses(cloud, datacenter, statuses):
    for jira, path in [(cloud, "/rest/api/3/status"), (cloud, "/rest/api/2/status"), (datacenter, "/rest/api/2/status")]:
        served = ok(jira, path)
        assert unbased(served, jira) == statuses and served[0]["self"].startswith(jira.url)


# -- credentials -------------------------------------------------------------------------------------
WRONG_BASIC = "Basic " + base64.b64encode(b"lead@example.com:wrong").decode()


@pytest.mark.parametrize(("flavour", "auth"), [
    pytest.param("cloud", None, id="cloud-none"),
    pytest.param("cloud", WRONG_BASIC, id="cloud-wrong-token"),
    pytest.param("cloud", "Basic " + base64.b64encode(b"someone@example.com:secret-token").decode(), id="cloud-wrong-email"),
    pytest.param("cloud", BEARER, id="cloud-bearer"),
    pytest.param("cloud", "Basic %%%", id="cloud-garbled"),
    pytest.param("datacenter", None, id="dc-none"),
    pytest.param("datacenter", "Bearer wrong", id="dc-wrong-token"),
    pytest.param("datacenter", BASIC, id="dc-basic"),
])
def test_missing_or_wrong_credentials_get_401(demo_issues, statuses, flavour, auth):
    with FakeJira([demo_issues["SHOP-4"]], statuses, {}, flavour=flavour) as jira:
        search = "/rest/api/3/search/jql" if flavour == "cloud" else "/rest/api/2/search"
        assert call(jira, search)[0] == 200  # the right credentials pass
        status, _, body = call(jira, search, auth=auth)
        assert (status, body) == (401, NOT_AUTHORIZED)
        assert jira.requests[-1].authorization_present == (auth is not None)


def test_a_forbidden_account_gets_403_on_every_call(small):
    small.forbidden = True
    for path in ("/rest/api/3/search/jql", "/rest/api/3/status", "/rest/api/3/issue/SHOP-4/changelog",
                 "/rest/agile/1.0/board/1/configuration"):
        status, _, body = call(small, path)
        assert (status, body["errorMessages"]) == (403, ["You do not have permission to view these issues."])
    assert call(small, "/rest/api/3/status", auth=None)[0] == 401  # unauthenticated stays 401


@pytest.mark.parametrize("query", [{"token": "secret-token"}, {"os_password": "x"}, {"jql": "secret-token"},
                                   {"access_token": "abc"}])
def test_credentials_in_the_url_are_refused_and_flagged(small, query):
    assert not small.token_in_url
    status, _, body = call(small, "/rest/api/3/search/jql", query)
    assert status == 400 and body["errorMessages"] and small.token_in_url


def test_requests_are_recorded_without_the_authorization_value(small):
    call(small, "/rest/api/3/search/jql", {"jql": "key = SHOP-4", "maxResults": "3"})
    call(small, "/rest/api/3/search/jql", method="POST", body={"jql": "project = SHOP"}, auth=None)
    get, post = small.requests
    assert (get.method, get.path, get.query, get.status) == ("GET", "/rest/api/3/search/jql",
                                                             {"jql": "key = SHOP-4", "maxResults": "3"}, 200)
    assert get.authorization_present and "secret-token" not in repr(get) and BASIC not in repr(get)
    assert not any(name.lower() == "authorization" for name in get.headers) and get.headers["Accept"] == "application/json"
    assert (post.method, post.body, post.authorization_present, post.status) == ("POST", {"jql": "project = SHOP"},
                                                                               False, 401)


# -- injected faults ---------------------------------------------------------------------------------
def test_rate_limit_answers_429_with_retry_after_then_serves(small):
    small.rate_limit(2, retry_after="7")
    for _ in range(2):
        status, headers, body = call(small, "/rest/api/3/search/jql")
        assert (status, headers["Retry-After"], body["errorMessages"]) == (429, "7", ["Rate limit exceeded."])
    assert call(small, "/rest/api/3/search/jql")[0] == 200


def test_rate_limit_can_hit_only_some_paths(small):
    small.rate_limit(1, paths=["/rest/api/3/issue/"])
    assert call(small, "/rest/api/3/search/jql")[0] == 200
    assert call(small, "/rest/api/3/issue/SHOP-4/changelog")[0] == 429
    assert call(small, "/rest/api/3/issue/SHOP-4/changelog")[0] == 200


def test_fail_answers_the_given_5xx_then_serves(small):
    small.fail(2, status=502)
    assert [call(small, "/rest/api/3/status")[0] for _ in range(3)] == [502, 502, 200]


def test_a_dropped_connection_raises_on_the_client_and_the_next_request_is_served(small):
    port = int(small.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/rest/api/3/status", headers={"Authorization": BASIC})
    assert connection.getresponse().read() and small.requests[-1].status == 200  # kept alive
    small.drop_connections(1)
    connection.request("GET", "/rest/api/3/search/jql", headers={"Authorization": BASIC})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        connection.getresponse()
    connection.close()
    assert small.requests[-1].path == "/rest/api/3/search/jql" and small.requests[-1].status is None
    assert call(small, "/rest/api/3/search/jql")[0] == 200


def test_concurrent_requests_are_served_at_the_same_time(small):
    small.delay = 0.3
    threads = [threading.Thread(target=call, args=(small, "/rest/api/3/status")) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(small.requests) == 4 and all(request.status == 200 for request in small.requests)
    assert 2 <= small.max_in_flight <= 4


# -- JQL -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def jql_jira(statuses):
    """Four issues in two projects, updated around midnight in Berlin (UTC+1 in January)."""
    issues = [
        jira_issue("SHOP-1", "2025-01-02T08:00:00.000+0000", "Done", updated="2025-01-10T22:30:00.000+0000"),
        jira_issue("SHOP-2", "2025-01-03T08:00:00.000+0000", "Done", updated="2025-01-10T23:30:00.000+0000"),
        jira_issue("SHOP-10", "2025-01-01T08:00:00.000+0000", "Done", updated="2025-01-11T09:00:00.000+0000"),
        jira_issue("OPS-3", "2025-01-05T08:00:00.000+0000", "Done", updated="2025-01-09T12:00:00.000+0000"),
    ]
    with FakeJira(issues, statuses, {}) as jira:
        yield jira


@pytest.mark.parametrize(("jql", "keys"), [
    pytest.param("", ["OPS-3", "SHOP-1", "SHOP-2", "SHOP-10"], id="empty-is-all-by-key"),
    pytest.param("project = SHOP", ["SHOP-1", "SHOP-2", "SHOP-10"], id="project"),
    pytest.param("PROJECT = shop", ["SHOP-1", "SHOP-2", "SHOP-10"], id="case-insensitive"),
    pytest.param("project in (OPS, SHOP)", ["OPS-3", "SHOP-1", "SHOP-2", "SHOP-10"], id="project-in"),
    pytest.param("key = SHOP-2", ["SHOP-2"], id="key"),
    pytest.param("key in (SHOP-10, OPS-3)", ["OPS-3", "SHOP-10"], id="key-in"),
    pytest.param('updated >= "2025-01-11"', ["SHOP-2", "SHOP-10"], id="date-is-berlin-midnight"),
    pytest.param('updated >= "2025/01/11"', ["SHOP-2", "SHOP-10"], id="date-with-slashes"),
    pytest.param("updated < 2025-01-11", ["OPS-3", "SHOP-1"], id="unquoted-date"),
    pytest.param('updated >= "2025-01-11 00:30"', ["SHOP-2", "SHOP-10"], id="minute-inclusive"),
    pytest.param('updated > "2025/01/11 00:30"', ["SHOP-10"], id="minute-exclusive"),
    pytest.param('updated <= "2025/01/10 23:30"', ["OPS-3", "SHOP-1"], id="at-most"),
    pytest.param('created >= "2025-01-02 09:00"', ["OPS-3", "SHOP-1", "SHOP-2"], id="created"),
    pytest.param('created > "2025/01/02 09:00"', ["OPS-3", "SHOP-2"], id="created-exclusive"),
    pytest.param('(project = SHOP) AND updated >= "2025-01-11"', ["SHOP-2", "SHOP-10"], id="parenthesised-clause"),
    pytest.param('(project = SHOP and created < "2025-01-03")', ["SHOP-1", "SHOP-10"], id="parenthesised-all"),
    pytest.param("project = SHOP ORDER BY updated DESC", ["SHOP-10", "SHOP-2", "SHOP-1"], id="order-updated-desc"),
    pytest.param("project = SHOP order by created", ["SHOP-10", "SHOP-1", "SHOP-2"], id="order-ascending-default"),
    pytest.param("ORDER BY key DESC", ["SHOP-10", "SHOP-2", "SHOP-1", "OPS-3"], id="order-key-desc"),
    pytest.param("key = NOPE-1", [], id="no-match"),
])
def test_jql_subset(jql_jira, jql, keys):
    assert cloud_keys(jql_jira, jql) == keys


def test_updated_is_read_in_the_users_time_zone_on_the_demo(cloud, demo_issues, statuses):
    def updated(issue: dict) -> datetime:
        return datetime.fromisoformat(issue["fields"]["updated"])

    issue = sorted(demo_issues.values(), key=updated)[-20]
    wall = updated(issue).astimezone(BERLIN).replace(second=0, microsecond=0)  # just before its update, in Berlin
    boundary, a_minute_later = (f"{at:%Y/%m/%d %H:%M}" for at in (wall, wall + timedelta(minutes=1)))
    keys = cloud_keys(cloud, f'project = SHOP AND updated >= "{boundary}"')
    assert issue["key"] in keys
    assert set(keys) == {key for key, other in demo_issues.items() if updated(other) >= wall}
    assert issue["key"] not in cloud_keys(cloud, f'project = SHOP AND updated >= "{a_minute_later}"')
    # Read in UTC the same wall-clock time is an hour or two later than the update.
    with FakeJira([issue], statuses, {}, user_timezone="UTC") as utc:
        assert cloud_keys(utc, f'project = SHOP AND updated >= "{boundary}"') == []


@pytest.mark.parametrize("jql", [
    "project SHOP", "project = ", "project = SHOP OR project = OPS", "NOT project = SHOP", "summary ~ cart",
    "status = Done", 'updated >= "yesterday"', "updated >= -1d", "(project = SHOP", 'project = "SHOP',
    "project = SHOP ORDER BY summary", "project in SHOP", "key > SHOP-1", "project = SHOP AND", "project = SHOP)",
    "project = SHOP ORDER key", "project ! SHOP",
])
def test_jql_outside_the_subset_is_a_400(jql_jira, jql):
    status, _, body = call(jql_jira, "/rest/api/3/search/jql", {"jql": jql})
    assert status == 400 and body["errorMessages"] and body["errors"] == {}


def test_bad_jql_is_a_400_on_datacenter_too(demo_issues, statuses):
    with FakeJira([demo_issues["SHOP-4"]], statuses, {}, flavour="datacenter") as jira:
        status, _, body = call(jira, "/rest/api/2/search", {"jql": "project SHOP"})
        assert status == 400 and "Expecting operator but got 'SHOP'" in body["errorMessages"][0]


# -- other endpoints -----------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ["/rest/api/3/search", "/rest/api/2/search"])
def test_the_removed_search_is_gone_on_cloud(small, path, method):
    status, _, body = call(small, path, {"jql": "project = SHOP"}, method=method, body={} if method == "POST" else None)
    assert status == 410
    assert body["errorMessages"] == ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."]


def test_board_configuration_and_an_unknown_board(cloud, datacenter):
    for jira in (cloud, datacenter):
        board = ok(jira, "/rest/agile/1.0/board/1/configuration")
        assert board["name"] == "SHOP board" and board["self"] == jira.url + "/rest/agile/1.0/board/1/configuration"
        status, _, body = call(jira, "/rest/agile/1.0/board/2/configuration")
        assert status == 404 and body["errorMessages"][0].startswith("The requested board cannot be viewed")


@pytest.mark.parametrize("path", ["/", "/rest/api/3/issue/SHOP-4", "/rest/api/3/serverInfo", "/rest/agile/1.0/board/x/configuration"])
def test_anything_else_is_a_json_404(small, path):
    status, _, body = call(small, path)
    assert status == 404 and body["errorMessages"]


# -- activity between two pulls --------------------------------------------------------------------
def test_update_issue_shows_in_a_later_search_and_in_its_changelog(small, statuses):
    at = datetime(2027, 1, 5, 9, 30, tzinfo=UTC)
    since = 'updated >= "2027/01/05 10:00"'  # 09:00 UTC in Berlin
    assert cloud_keys(small, since) == []
    before = ok(small, "/rest/api/3/issue/SHOP-7/changelog")
    old_status = ok(small, "/rest/api/3/search/jql", {"jql": "key = SHOP-7"})["issues"][0]["fields"]["status"]

    history = small.update_issue("SHOP-7", "In Review", at)

    (issue,) = ok(small, "/rest/api/3/search/jql", {"jql": since, "expand": "changelog"})["issues"]
    review = next(status for status in statuses if status["name"] == "In Review")
    assert issue["key"] == "SHOP-7" and issue["fields"]["updated"] == "2027-01-05T09:30:00.000+0000" == jira_time(at)
    assert unbased(issue["fields"]["status"], small) == {name: value for name, value in review.items()
                                                         if name != "untranslatedName"}
    assert issue["changelog"]["histories"][0]["id"] == history["id"]  # newest first
    after = ok(small, "/rest/api/3/issue/SHOP-7/changelog")
    assert after["total"] == before["total"] + 1 and after["values"][:-1] == before["values"]
    newest = after["values"][-1]
    assert newest["created"] == "2027-01-05T09:30:00.000+0000"
    assert int(newest["id"]) > max(int(h["id"]) for h in before["values"])
    assert newest["items"] == [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                                "from": old_status["id"], "fromString": old_status["name"],
                                "to": review["id"], "toString": "In Review"}]


def test_update_issue_to_an_unknown_status_takes_the_given_category(small):
    small.update_issue("SHOP-3", "Parked", datetime(2027, 1, 5, tzinfo=UTC), category="new")
    (issue,) = ok(small, "/rest/api/3/search/jql", {"jql": "key = SHOP-3"})["issues"]
    assert issue["fields"]["status"]["name"] == "Parked" and issue["fields"]["status"]["statusCategory"]["key"] == "new"


def test_add_issue_is_served_and_the_fake_keeps_copies(small, demo_issues):
    new = jira_issue("SHOP-5000", "2027-01-02T08:00:00.000+0000", "Backlog")
    small.add_issue(new)
    small.update_issue("SHOP-5000", "Done", datetime(2027, 1, 3, tzinfo=UTC))
    small.update_issue("SHOP-4", "Done", datetime(2027, 1, 3, tzinfo=UTC))
    assert cloud_keys(small, "key = SHOP-5000") == ["SHOP-5000"]
    assert new["fields"]["status"]["name"] == "Backlog" and new["changelog"]["histories"] == []
    assert len(demo_issues["SHOP-4"]["changelog"]["histories"]) == 2  # the module's data is untouched


def search_page(jira: FakeJira, jql: str, page_number: int, token: str | None) -> dict:
    """One page of a search in the flavour's own paging (token on Cloud, startAt on Data Center)."""
    if jira.flavour == "cloud":
        return ok(jira, "/rest/api/3/search/jql", {"jql": jql, **({"nextPageToken": token} if token else {})})
    return ok(jira, "/rest/api/2/search", {"jql": jql, "startAt": page_number * jira.page_size})


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_pages_stay_stable_when_an_issue_changes_between_pages(demo_issues, statuses, flavour):
    issues = [demo_issues[f"SHOP-{n}"] for n in range(1, 13)]
    order = [issue["key"] for issue in sorted(issues, key=lambda issue: datetime.fromisoformat(issue["fields"]["updated"]),
                                              reverse=True)]
    jql = "project = SHOP ORDER BY updated DESC"
    with FakeJira(issues, statuses, {}, flavour=flavour, page_size=4) as jira:
        pages = [search_page(jira, jql, 0, None)]
        jira.update_issue(order[-1], "Done", datetime(2027, 1, 5, tzinfo=UTC))  # now the newest
        for number in (1, 2):
            pages.append(search_page(jira, jql, number, pages[-1].get("nextPageToken")))
        served = [issue["key"] for page in pages for issue in page["issues"]]
        assert served == order  # as matched when the first page was asked for: none twice, none missed
        assert pages[-1]["issues"][-1]["fields"]["updated"] == "2027-01-05T00:00:00.000+0000"  # its content is current
        assert search_page(jira, jql, 0, None)["issues"][0]["key"] == order[-1]  # a new search sees the change


def test_stop_closes_the_server_and_its_kept_alive_connections(demo_issues, statuses):
    jira = FakeJira([demo_issues["SHOP-4"]], statuses, {}).start()
    port = int(jira.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/rest/api/3/status", headers={"Authorization": BASIC})
    assert connection.getresponse().read()
    jira.stop()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        connection.request("GET", "/rest/api/3/status", headers={"Authorization": BASIC})
        connection.getresponse()
    connection.close()
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=5).request("GET", "/")
