"""Small display helpers shared by pages. Text from Jira is always shown as plain text."""

from __future__ import annotations

import re

import streamlit as st

_AUTOLINKS = re.compile(r"(\\:/|www\\\.|@)", re.IGNORECASE)
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def plain(text: str) -> str:
    """Text from a file or a user (dataset names, statuses) made safe for Markdown-rendering
    elements such as titles: every Markdown character is escaped, so it shows as typed."""
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))
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
