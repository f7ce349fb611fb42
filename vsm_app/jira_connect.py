"""The Upload page's "Connect to Jira" section: pull a dataset with an API token, or refresh
one that was pulled, with progress and a Cancel button.

The token is typed into a password field and held only in this browser session's memory
(never in the URL, the store or a log); a server administrator may instead put a
``[jira]`` table in ``.streamlit/secrets.toml`` (``url``, ``email``, ``token``), which
pre-fills the site and e-mail and is used when the token field is left empty.

Cancel: Streamlit stops a running page when the visitor clicks any button, at the page's
next update (here, the next progress step); the pull's partial download stays aside, and
pulling the same JQL again resumes it (``vsm_core.jira.pull``).
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from vsm_app import access
from vsm_app.context import View
from vsm_app.display import plain
from vsm_core.jira import Credentials, PullProblem, PullResult, pull, pull_record
from vsm_core.problems import ImportProblem
from vsm_core.store import Store, StoreError


def secrets_jira() -> dict:
    """The server's ``[jira]`` secrets (url, email, token), or nothing."""
    try:
        return dict(st.secrets.get("jira", {}))
    except Exception:  # noqa: BLE001 - no or unreadable secrets file: nothing configured
        return {}


def _token(typed: str, url: str, email: str | None) -> str:
    """The typed token, else the server's secret one for the same site and account."""
    configured = secrets_jira()
    if typed.strip():
        return typed.strip()
    same = str(configured.get("url", "")).rstrip("/") == url.rstrip("/") and (configured.get("email") or None) == email
    return str(configured.get("token", "")).strip() if same else ""


def show_pull_form(store: Store, view: View | None) -> tuple[PullResult, str | None] | None:
    """The form for a new pull (or a new version of the dataset in view); runs it when
    submitted and returns (result, target dataset or None), or None."""
    configured = secrets_jira()
    st.subheader("Pull issues from Jira")
    st.write(
        "Pull every issue a JQL selects, with its whole status history, straight from Jira: a CSV export has no "
        "history, this does. Jira Cloud: your e-mail address and an API token (id.atlassian.com, Security, "
        "API tokens). Jira Data Center: a personal access token, e-mail left empty."
    )
    with st.form("jira_pull", border=True):
        left, right = st.columns(2)
        url = left.text_input("Jira site", value=str(configured.get("url", "")),
                              placeholder="https://your-team.atlassian.net")
        email = right.text_input("E-mail (Jira Cloud)", value=str(configured.get("email", "")),
                                 placeholder="you@example.com", help="Leave empty for Jira Data Center.")
        token = st.text_input(
            "API token", type="password", autocomplete="off",
            placeholder="from the server's settings" if configured.get("token") else "",
            help="Used for this pull only: it is not stored and never appears in a link.",
        )
        jql = st.text_area("JQL", placeholder="project = SHOP AND created >= -365d", height=80,
                           help="Try it in Jira's issue search first. Issues it selects are pulled with their history.")
        left, right = st.columns(2)
        board_text = left.text_input("Board number (optional)", placeholder="e.g. 12",
                                     help="Its columns become the stages, and their WIP limits are used. "
                                          "The number is in the board's address: .../boards/12.")
        name = right.text_input("Name of the pulled dataset", placeholder="e.g. Payments team")
        into = None
        if view is not None and access.may_edit(view.info):
            as_version = st.checkbox(f"Add as a new data version of {plain(view.info.name)}", key="jira_into",
                                     help="Links to the earlier versions keep showing them.")
            into = view.info.dataset if as_version else None
        submitted = st.form_submit_button("Pull from Jira", type="primary")
    if not submitted:
        return None
    board = None
    if board_text.strip():
        if not board_text.strip().isdigit():
            st.error(f"The board number {board_text.strip()!r} is not a number; copy it from the board's address.")
            return None
        board = int(board_text.strip())
    if not jql.strip():
        st.error("Write a JQL that selects the issues to pull, for example: project = SHOP.")
        return None
    outcome = run_pull(store, url, email.strip() or None, token, jql=jql, board=board, into=into,
                       name=name.strip() or None)
    return (outcome, into) if outcome else None


def show_refresh(store: Store, view: View) -> tuple[PullResult, str | None] | None:
    """For a dataset pulled from Jira, that its editor may change: where it came from, and a
    button that fetches what changed since as its next data version."""
    record = pull_record(view.info)
    if record is None or not access.may_edit(view.info):
        return None
    with st.container(border=True):
        st.markdown(f"**{plain(view.info.name)}** was pulled from Jira")
        pulled = _when(record.get("pulled_at"))
        st.text(f"{record.get('url')}\nJQL: {record.get('jql')}\n"
                + (f"Board: {record['board']}\n" if record.get("board") is not None else "")
                + f"Last pull started {pulled}")
        st.caption("A refresh fetches only the issues updated since the last pull and adds them as a new data "
                   "version; links to earlier versions keep working.")
        needs_token = not _token("", record.get("url", ""), record.get("email"))
        with st.form("jira_refresh", border=False):
            token = st.text_input("API token", type="password", autocomplete="off", key="jira_refresh_token",
                                  help="Not stored.") if needs_token else ""
            full = st.checkbox("Fetch every issue again (also drops issues deleted in Jira or no longer selected)",
                               key="jira_refresh_full")
            submitted = st.form_submit_button("Refresh from Jira", icon=":material/refresh:")
    if not submitted:
        return None
    outcome = run_pull(store, record["url"], record.get("email"), token, jql=record["jql"],
                       board=record.get("board"), into=view.info.dataset, full=full)
    return (outcome, view.info.dataset) if outcome else None


def run_pull(store: Store, url: str, email: str | None, typed_token: str, *, jql: str, board: int | None,
             into: str | None, name: str | None = None, full: bool = False) -> PullResult | None:
    """Run one pull with a progress bar and a Cancel button; a problem is one sentence."""
    try:
        site = Credentials(url, "", email)
    except PullProblem as problem:
        st.error(plain(str(problem)), icon=":material/error:")
        return None
    token = _token(typed_token, site.url, site.email)
    if not token:
        st.error("Give the API token (it is used for this pull only and not stored).", icon=":material/key:")
        return None
    bar = st.progress(0.0, text=f"Connecting to {site.host}")
    cancel = st.empty()  # the button goes once the pull has ended, so a later click cancels nothing
    cancel.button("Cancel the pull", key="jira_cancel", icon=":material/cancel:",
                  help="What was downloaded is kept aside: pulling the same JQL again resumes.")
    try:
        outcome = pull(store, Credentials(site.url, token, site.email), jql, board=board, into=into, name=name,
                       full=full, progress=lambda what, fraction: bar.progress(min(1.0, max(0.0, fraction)), text=what))
    except (ImportProblem, StoreError) as problem:
        bar.empty()
        cancel.empty()
        st.error(plain(str(problem)), icon=":material/error:")
        st.caption("No dataset or data version was stored; what was downloaded is kept aside, and pulling the same "
                   "JQL again resumes from there.")
        return None
    bar.empty()
    cancel.empty()
    return outcome


def show_cancelled() -> None:
    """After a click on Cancel (which stopped the running pull), say what happened."""
    if st.session_state.get("jira_cancel"):
        st.info("The pull was cancelled. What was downloaded is kept aside: pull the same JQL again to resume.",
                icon=":material/cancel:")


def _when(text: str | None) -> str:
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC") if text else "at an unknown time"
    except ValueError:
        return str(text)
