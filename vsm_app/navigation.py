"""The app's pages, and the guard that routes every request through them.

Streamlit's older folder router runs a file in ``pages/`` directly when a deep link is the
very first request of a fresh server, skipping ``app.py``. Every page therefore starts with
``page_setup``, which calls ``ensure_navigation``: outside the navigation it runs the
navigation itself (which runs the requested page) and stops the direct run.
"""

from __future__ import annotations

import threading

import streamlit as st

_inside = threading.local()

PAGES = (
    ("pages/overview.py", "Overview", ":material/dashboard:", "overview"),
    ("pages/stream_map.py", "Stream map", ":material/account_tree:", "stream_map"),
    ("pages/bottlenecks.py", "Bottlenecks", ":material/troubleshoot:", "bottlenecks"),
    ("pages/changes.py", "Changes", ":material/science:", "changes"),
    ("pages/flow.py", "Flow", ":material/stacked_line_chart:", "flow"),
    ("pages/upload.py", "Upload", ":material/upload_file:", "upload"),
    ("pages/datasets.py", "Datasets", ":material/database:", "datasets"),
)


HOME = "home"  # the default page's own path; it is served at "/"


def run_app() -> None:
    """Configure the page and run the navigation (the body of ``app.py``)."""
    st.set_page_config(page_title="Value stream map", page_icon=":material/route:", layout="wide")
    pages = [
        st.Page(path, title=title, icon=icon, url_path=HOME if n == 0 else url_path, default=(n == 0))
        for n, (path, title, icon, url_path) in enumerate(PAGES)
    ]
    # Streamlit serves the default page at "/" only: a hidden twin answers its own path too,
    # so /overview is a deep link like every other page's.
    path, title, icon, url_path = PAGES[0]
    pages.append(st.Page(path, title=title, icon=icon, url_path=url_path, visibility="hidden"))
    navigation = st.navigation(pages, position="sidebar")
    _inside.active = True
    try:
        navigation.run()
    finally:
        _inside.active = False


def ensure_navigation() -> None:
    if not getattr(_inside, "active", False):
        run_app()
        st.stop()
