"""Login mode in a real browser, against an OpenID Connect provider on 127.0.0.1
(``tests/fake_idp.py``): every page asks to log in first, even as the first request of a fresh
server; the uploader owns a dataset and is the only one who edits it; an account it is shared
with views it; a link gives nothing to anyone else."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from browser_support import Server, wait_for_run
from conftest import jira_issue, run_cli, write_search
from fake_idp import FakeIdentityProvider, secrets_toml

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = ("overview", "stream_map", "bottlenecks", "changes", "flow", "upload", "datasets")
ANA, BO, CY = "ana@example.com", "bo@example.com", "cy@example.com"
ANA_TEAM, CY_TEAM, DEMO = "Payments team", "Search team", "Demo team (simulated)"
REFUSED = "does not exist or is not shared with you"
# What a page shows only when it shows data.
DATA_TEST_IDS = ("stMetric", "stVegaLiteChart", "stGraphVizChart", "stDataFrame", "stTable", "stFileUploader",
                 "stForm")


def team_export(path: Path, prefix: str, count: int = 16) -> Path:
    """A small Jira export: items through To Do, In Progress, In Review and Done, the last few
    still in progress (every page has something to show)."""
    start = datetime(2025, 3, 3, 9, tzinfo=UTC)

    def at(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    issues = []
    for n in range(count):
        created = start + timedelta(days=n)
        working = created + timedelta(days=1 + n % 3)
        review = working + timedelta(days=2 + n % 2, hours=3)
        done = review + timedelta(days=1 + n % 4)
        if n < count - 4:
            steps = [(at(working), "To Do", "In Progress"), (at(review), "In Progress", "In Review"),
                     (at(done), "In Review", "Done")]
            issues.append(jira_issue(f"{prefix}-{n + 1}", at(created), "Done", steps, category="done"))
        else:
            issues.append(jira_issue(f"{prefix}-{n + 1}", at(created), "In Progress",
                                     [(at(working), "To Do", "In Progress")]))
    return write_search(path, issues)


def import_owned(base: Path, store_dir: Path, name: str, prefix: str, owner: str) -> str:
    export = team_export(base / f"{prefix}.json", prefix)
    dataset = json.loads(run_cli("import", export, "--name", name, "--json", store_dir=store_dir, check=True).stdout)["dataset"]
    out = json.loads(run_cli("links", dataset, "--owner", owner, "--json", store_dir=store_dir, check=True).stdout)
    assert out["owner"] == owner and out["viewers"] == []
    return dataset


def access_record(store_dir: Path, dataset: str) -> dict:
    return json.loads((store_dir / "datasets" / dataset / "dataset.json").read_text())


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A store with two datasets owned through `vsm links --owner` (ana's and cy's), the
    provider, and a secrets file with its [auth] table."""
    base = tmp_path_factory.mktemp("login")
    store_dir = base / "store"
    ana = import_owned(base, store_dir, ANA_TEAM, "PAY", ANA)
    cy = import_owned(base, store_dir, CY_TEAM, "SRCH", CY)
    with FakeIdentityProvider() as idp:
        secrets_file = base / "secrets.toml"
        secrets_file.write_text(secrets_toml(idp))
        yield SimpleNamespace(base=base, store_dir=store_dir, ana=ana, cy=cy, idp=idp,
                              options=(f"--secrets.files={secrets_file}",))


@pytest.fixture(scope="module")
def server(setup):
    server = Server(setup.store_dir, setup.base / "server.log", options=setup.options)
    yield server
    server.stop()


def shows_the_login_gate_only(page, hidden: tuple[str, ...]) -> None:
    """The page offers the login button and shows no dataset: no name, no figure, no form."""
    page.get_by_role("button", name="Log in").wait_for(timeout=30_000)
    text = page.get_by_test_id("stApp").inner_text()
    assert "Log in to see the datasets" in text
    for name in hidden:
        assert name not in text, f"{name!r} is shown before login"
    for test_id in DATA_TEST_IDS:
        assert page.get_by_test_id(test_id).count() == 0, f"{test_id} is shown before login"
    assert page.get_by_test_id("stMain").locator("iframe").count() == 0
    sidebar = page.get_by_test_id("stSidebarUserContent")
    assert sidebar.count() == 0 or sidebar.inner_text().strip() == ""  # no filters, no share link


def log_in(browser, server: Server, idp: FakeIdentityProvider, email: str):
    """A fresh browser context logged in as ``email`` through the provider; returns the page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(server.url + "/")
    wait_for_run(page, timeout_ms=120_000)
    idp.next_user = email
    issued = len(idp.issued)
    # Log in -> /auth/login -> the provider -> /oauth2callback -> the app's home page.
    with page.expect_navigation(url=lambda url: url.rstrip("/") == server.url, timeout=60_000):
        page.get_by_role("button", name="Log in").click()
    wait_for_run(page, timeout_ms=120_000)
    assert page.get_by_role("button", name="Log in").count() == 0
    assert [claims["email"] for claims in idp.issued[issued:]] == [email]
    # The ID token answered this login's authorization request: same nonce, PKCE was used.
    request = idp.authorizations[-1]
    assert idp.issued[-1]["nonce"] == request["nonce"] and request["code_challenge_method"] == "S256"
    return page


def open_view(page, server: Server, path: str, dataset: str) -> None:
    page.goto(f"{server.url}/{path}?dataset={dataset}")
    wait_for_run(page, timeout_ms=120_000)


def listed(page, expected: list[str], timeout_s: float = 30) -> list[str]:
    """The names in the Datasets page's list (the data grid's accessible table), once they
    are ``expected`` in any order, else as they stand at the deadline."""
    rows = page.get_by_test_id("stDataFrame").first.locator("tbody tr")
    rows.first.wait_for(state="attached", timeout=30_000)
    deadline = time.monotonic() + timeout_s
    while True:  # the grid redraws its rows a moment after the run that changed them
        names = [rows.nth(i).locator("td").first.text_content().strip() for i in range(rows.count())]
        if sorted(names) == sorted(expected) or time.monotonic() > deadline:
            return sorted(names)
        page.wait_for_timeout(250)


def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def buttons(page, name: str) -> int:
    return page.get_by_role("button", name=name, exact=True).count()


@pytest.mark.parametrize("path", ["", *PAGES])
def test_every_page_asks_to_log_in_as_the_first_request_of_a_fresh_server(setup, browser, path, tmp_path):
    server = Server(setup.store_dir, tmp_path / "server.log", options=setup.options)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    authorizations = len(setup.idp.authorizations)
    try:
        page = context.new_page()
        open_view(page, server, path, setup.ana)  # the very first request this server gets
        shows_the_login_gate_only(page, (ANA_TEAM, CY_TEAM, DEMO))
        assert len(setup.idp.authorizations) == authorizations  # nothing logged anyone in on the way
        assert page.get_by_role("dialog").count() == 0
        page.get_by_role("button", name="Log in").click(trial=True, timeout=10_000)  # nothing covers it
    finally:
        context.close()
        server.stop()


def test_the_owner_logs_in_sees_her_dataset_lists_it_and_renames_it(setup, server, browser):
    first = browser.new_context()
    try:
        page = first.new_page()
        open_view(page, server, "bottlenecks", setup.ana)
        shows_the_login_gate_only(page, (ANA_TEAM, CY_TEAM, DEMO))
    finally:
        first.close()

    page = log_in(browser, server, setup.idp, ANA)
    try:
        open_view(page, server, "bottlenecks", setup.ana)
        assert REFUSED not in main_text(page)
        page.get_by_text(f"{ANA_TEAM} · data version 1").first.wait_for(timeout=30_000)
        assert page.get_by_test_id("stVegaLiteChart").count() + page.get_by_test_id("stMetric").count() > 0

        open_view(page, server, "changes", setup.ana)
        assert buttons(page, "Record the experiment") == 1
        open_view(page, server, "upload", setup.ana)
        page.get_by_role("heading", name=f"Stages of {ANA_TEAM}").wait_for(timeout=30_000)
        assert buttons(page, "Save as a new map version") == 1

        open_view(page, server, "datasets", setup.ana)
        assert listed(page, [DEMO, ANA_TEAM]) == sorted([DEMO, ANA_TEAM])  # not cy's
        page.get_by_label("New name").fill(f"{ANA_TEAM} 2025")
        page.get_by_role("button", name="Rename", exact=True).click()
        wait_for_run(page)
        page.get_by_role("heading", name=f"Links and settings: {ANA_TEAM} 2025").wait_for(timeout=30_000)
        assert access_record(setup.store_dir, setup.ana)["name"] == f"{ANA_TEAM} 2025"
        assert listed(page, [DEMO, f"{ANA_TEAM} 2025"]) == sorted([DEMO, f"{ANA_TEAM} 2025"])
    finally:
        page.context.close()


def test_a_link_gives_another_account_nothing_until_the_owner_shares(setup, server, browser):
    edit_link = json.loads(run_cli("links", setup.ana, "--new-edit-key", "--json", store_dir=setup.store_dir,
                                   check=True).stdout)["edit_link"]
    name = access_record(setup.store_dir, setup.ana)["name"]
    bo = log_in(browser, server, setup.idp, BO)
    ana = log_in(browser, server, setup.idp, ANA)
    try:
        # Neither the view link nor the edit link opens ana's dataset for bo.
        for query in (f"dataset={setup.ana}", edit_link.split("?", 1)[1]):
            bo.goto(f"{server.url}/bottlenecks?{query}")
            wait_for_run(bo, timeout_ms=120_000)
            text = main_text(bo)
            assert REFUSED in text and f"{DEMO} · data version" in text and ANA_TEAM not in text
        open_view(bo, server, "datasets", setup.ana)
        assert listed(bo, [DEMO]) == [DEMO]
        assert ANA_TEAM not in main_text(bo)

        # Ana shares it with bo on the Datasets page.
        open_view(ana, server, "datasets", setup.ana)
        ana.get_by_label("Share with (e-mail address of the account)").fill("Bo@Example.com")
        ana.get_by_role("button", name="Share", exact=True).click()
        wait_for_run(ana)
        ana.get_by_text(f"Accounts that may view this dataset: {BO}").wait_for(timeout=30_000)
        assert access_record(setup.store_dir, setup.ana)["access"]["viewers"] == [BO]

        # Bo now views it, and changes nothing.
        open_view(bo, server, "bottlenecks", setup.ana)
        assert REFUSED not in main_text(bo)
        bo.get_by_text(f"{name} · data version 1").first.wait_for(timeout=30_000)
        open_view(bo, server, "datasets", setup.ana)
        assert listed(bo, [DEMO, name]) == sorted([DEMO, name])
        bo.get_by_text(re.compile(r"Only the dataset's owner can rename")).wait_for(timeout=30_000)
        assert buttons(bo, "Rename") == buttons(bo, "Delete the dataset") == buttons(bo, "Share") == 0
        open_view(bo, server, "changes", setup.ana)
        bo.get_by_text(re.compile(r"Only the dataset's owner can record")).wait_for(timeout=30_000)
        assert buttons(bo, "Record the experiment") == 0 and "Record a change" not in main_text(bo)
        open_view(bo, server, "upload", setup.ana)
        bo.get_by_role("heading", name=f"Stages of {name}").wait_for(timeout=30_000)
        bo.get_by_text(re.compile(r"Only the dataset's owner can save")).wait_for(timeout=30_000)
        assert buttons(bo, "Save as a new map version") == 0
        assert bo.get_by_text(f"Add as a new data version of {name}").count() == 0
    finally:
        bo.context.close()
        ana.context.close()
    after = access_record(setup.store_dir, setup.ana)
    assert after["name"] == name and after["access"]["owner"] == ANA  # bo changed nothing


def test_an_upload_is_owned_by_the_account_that_uploaded_it(setup, server, browser, tmp_path):
    export = team_export(tmp_path / "bo-export.json", "BO", count=8)
    bo = log_in(browser, server, setup.idp, BO)
    try:
        bo.goto(server.url + "/upload")
        wait_for_run(bo, timeout_ms=120_000)
        bo.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(export)])
        bo.get_by_label("Dataset name").fill("Bo's board")
        bo.get_by_role("button", name="Import").click()
        bo.get_by_text("Imported 8 issues").wait_for(timeout=60_000)
        wait_for_run(bo)
        dataset = re.search(r"[?&]dataset=([^&]+)", bo.url).group(1)
        record = access_record(setup.store_dir, dataset)
        assert record["name"] == "Bo's board" and record["access"]["owner"] == BO
        assert record["access"].get("viewers", []) == []
        open_view(bo, server, "datasets", dataset)
        ana_record = access_record(setup.store_dir, setup.ana)  # shared with bo when the test above ran
        expected = [DEMO, "Bo's board"] + ([ana_record["name"]] if BO in ana_record["access"].get("viewers", []) else [])
        assert listed(bo, expected) == sorted(expected)
        assert buttons(bo, "Rename") == 1  # the owner edits
    finally:
        bo.context.close()
    ana = log_in(browser, server, setup.idp, ANA)
    try:
        open_view(ana, server, "overview", dataset)
        assert REFUSED in main_text(ana) and "Bo's board" not in main_text(ana)
    finally:
        ana.context.close()


def test_a_missing_login_setting_is_told_in_one_sentence(setup, browser, tmp_path):
    """An [auth] table without cookie_secret: the visitor learns what to tell the administrator."""
    broken = tmp_path / "secrets.toml"
    broken.write_text("\n".join(line for line in secrets_toml(setup.idp).splitlines() if not line.startswith("cookie_secret")))
    server = Server(setup.store_dir, tmp_path / "server.log", options=(f"--secrets.files={broken}",))
    context = browser.new_context()
    try:
        page = context.new_page()
        open_view(page, server, "bottlenecks", setup.ana)
        text = page.get_by_test_id("stApp").inner_text()
        assert "This app has encountered an error" not in text
        assert "cookie_secret" in text and "secrets.toml" in text
    finally:
        context.close()
        server.stop()


def test_the_provider_checks_what_a_real_one_checks(setup):
    """The fake provider is strict where login security depends on it: its ID token verifies
    with the client's own checks and carries the request's nonce; a code works once, only for
    the client's secret and the PKCE verifier of its request."""
    import base64
    import hashlib
    import urllib.error
    import urllib.request
    from urllib.parse import parse_qs, urlencode, urlsplit

    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt
    from joserfc.errors import InvalidClaimError
    from joserfc.jwk import KeySet

    idp = setup.idp
    redirect_uri = "http://127.0.0.1:1/oauth2callback"

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def authorize(nonce: str, verifier: str) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urlencode({"response_type": "code", "client_id": idp.client_id, "redirect_uri": redirect_uri,
                           "scope": "openid email profile", "state": "s1", "nonce": nonce,
                           "code_challenge": challenge, "code_challenge_method": "S256", "login_hint": CY})
        try:
            urllib.request.build_opener(Stay).open(f"{idp.url}/authorize?{query}", timeout=10)
        except urllib.error.HTTPError as redirect:
            back = parse_qs(urlsplit(redirect.headers["Location"]).query)
            assert back["state"] == ["s1"]
            return back["code"][0]
        raise AssertionError("the provider did not redirect back")

    def token(code: str, verifier: str, secret: str = idp.client_secret) -> tuple[int, dict]:
        form = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                          "code_verifier": verifier, "client_id": idp.client_id, "client_secret": secret}).encode()
        try:
            with urllib.request.urlopen(f"{idp.url}/token", data=form, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    verifier = "v" * 50
    code = authorize("nonce-1", verifier)
    assert token(code, "w" * 50)[0] == 400  # another PKCE verifier
    code = authorize("nonce-1", verifier)
    assert token(code, verifier, secret="wrong")[0] == 401
    code = authorize("nonce-1", verifier)
    status, body = token(code, verifier)
    assert status == 200 and token(code, verifier)[0] == 400  # a code works once

    with urllib.request.urlopen(f"{idp.url}/jwks", timeout=10) as response:
        keys = KeySet.import_key_set(json.loads(response.read()))
    decoded = jwt.decode(body["id_token"], keys)
    assert decoded.header["alg"] == "RS256" and decoded.claims["email"] == CY
    options = {"iss": {"values": [idp.url]}}
    CodeIDToken(decoded.claims, decoded.header, options, {"nonce": "nonce-1", "client_id": idp.client_id}).validate()
    with pytest.raises(InvalidClaimError):
        CodeIDToken(decoded.claims, decoded.header, options, {"nonce": "nonce-2", "client_id": idp.client_id}).validate()
    request = urllib.request.Request(f"{idp.url}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["email"] == CY
