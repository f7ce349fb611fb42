"""Small display helpers shared by pages. Text from Jira is always shown as plain text."""

from __future__ import annotations

import re

import streamlit as st

_AUTOLINKS = re.compile(r"(\\:/|www\\\.|@)", re.IGNORECASE)
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")
_TYPOGRAPHIC_PAIRS = re.compile(r"(?<=[-<>])(?=[-=>])")


def plain(text: str) -> str:
    """Text from a file or a user (dataset names, statuses) made safe for Markdown-rendering
    elements such as titles: every Markdown character is escaped, so it shows as typed."""
    # Streamlit's Markdown also turns ->, <-, <->, <=, >= and -- into arrows, ≤, ≥ and a dash,
    # escaped or not: a word joiner (U+2060, invisible) between the two characters keeps them.
    text = _TYPOGRAPHIC_PAIRS.sub("\u2060", str(text))
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", text)
    # Bare URLs and e-mail addresses are linked even when escaped: an invisible word joiner
    # (U+2060) breaks the pattern without changing what the reader sees.
    return _AUTOLINKS.sub(lambda m: m.group(0)[:-1] + "\u2060" + m.group(0)[-1], escaped)


NO_HISTORY = (
    "This export has no status history: it carries each issue's current status (a Jira CSV export) "
    "or only its start and finish dates. "
    "Lead time, throughput and work in progress by current status can be shown; time per stage, "
    "flow efficiency and rework need a JSON export with changelog. The README explains how to get one."
)


def show_summary(meta: dict) -> None:
    """The dataset version's counts, the dates it covers and its as-of time."""
    counts = meta.get("counts", {})
    cols = st.columns(4)
    cols[0].metric("Issues", f"{counts.get('issues', 0):,}")
    cols[1].metric("Status changes", f"{counts.get('status_changes', 0):,}")
    cols[2].metric("Created from", (meta.get("first_created") or "")[:10] or "n/a",
                   help=f"Issues were created from {meta.get('first_created')} to {meta.get('last_updated')} (UTC).")
    cols[3].metric("As of", (meta.get("as_of") or "")[:10],
                   help=f"{meta.get('as_of')} UTC: the time 'now' means for this dataset ({meta.get('as_of_source', '')}).")
    if not meta.get("has_history"):
        st.warning(NO_HISTORY)
    for line in what_the_files_show(meta):
        st.caption(line)


FORMAT_NOTES = {
    "jira-json": "Jira JSON with changelog: every status change with its time, so every page can be shown "
                 "(stage times, rework, blocked time from the Flagged field, flow efficiency). It cannot show "
                 "time before an issue's first recorded change when Jira truncated the history (the findings say which).",
    "jira-csv": "Jira CSV: one row per issue with its current status; no stage times, rework or flow efficiency.",
    "item-dates": "Item dates: the date each item entered each stage (or only created and finished); lead time, "
                  "throughput and stage times, but no rework (a return to an earlier stage is not visible).",
    "event-log": "Event log: one row per status change; stage times and rework; no blocked time (the log has no flag).",
    "time-in-status": "Time in status: total time per status, in the columns' order; stage totals, but no rework "
                      "loops, no blocked time and no day-by-day work in progress.",
    "jira-statuses": "Status list: each status's category (to do, in progress, done) for the stage map.",
    "jira-board": "Board configuration: the board's columns become the stages, with their WIP limits.",
}


def what_the_files_show(meta: dict) -> list[str]:
    """One sentence per file format of the version: what it can and cannot show."""
    return [FORMAT_NOTES[fmt] for fmt in meta.get("formats", []) if fmt in FORMAT_NOTES]


def show_findings(warnings: list[str]) -> None:
    """The import's data-quality findings, one plain-text line per kind."""
    if not warnings:
        st.success("No data-quality findings in this import.")
        return
    st.caption(
        f"{len(warnings)} kind{'s' if len(warnings) != 1 else ''} of finding in this import; "
        "every affected issue is listed on the Datasets page."
    )
    with st.container(border=True):
        for warning in warnings:
            st.text(warning)  # plain text: keys and status names come from Jira


def show_links(info) -> None:
    """The dataset's links for the visitor: the read-only view link to share and, for an
    editor without login, the secret edit link."""
    from vsm_app import access

    view_link, edit_link = access.links(info)
    with st.container(border=True):
        if access.login_enabled():
            st.markdown("**Link (read-only)**: it opens the dataset for its owner and the accounts it is shared with.")
        else:
            st.markdown("**Share (read-only)**: anyone with this link can view the dataset, nothing more.")
        st.code(view_link, language=None, wrap_lines=True)
        if edit_link:
            st.markdown("**Edit link: keep it secret.** It can add data versions, save stage maps, record "
                        "experiments, rename and delete. Bookmark it: it is shown only to this browser session.")
            st.code(edit_link, language=None, wrap_lines=True)
