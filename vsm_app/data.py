"""Cached reads for the pages. A data version never changes once stored, so a result keyed
by (dataset id, version) is valid for as long as the server runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from vsm_app.context import get_store
from vsm_core import queries


@st.cache_data(max_entries=64, show_spinner=False)
def status_summary(dataset: str, version: int) -> pd.DataFrame:
    return queries.status_summary(get_store().get(dataset), version)


@st.cache_data(max_entries=64, show_spinner=False)
def findings(dataset: str, version: int) -> pd.DataFrame:
    return queries.table(get_store().get(dataset), version, "findings")
