"""The URL codec of a view: one table of (query parameters, expected view, expected sentences),
a round trip over any view, and hostile values dropped with a sentence."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO
from vsm_app.viewstate import ViewState, describe, from_query_params, to_query_params
from vsm_core.metrics import Clock, Filters

DATASET = "p_X0bzIaJ3erE_FjasSKGKtB"


def parse(query: str):
    return from_query_params(parse_qs(query, keep_blank_values=True))


@pytest.mark.parametrize(
    ("query", "expected", "sentences"),
    [
        pytest.param("", ViewState(), [], id="nothing"),
        pytest.param(f"dataset={DATASET}&v=2&map=0123456789abcdef",
                     ViewState(DATASET, 2, "0123456789abcdef"), [], id="dataset-version-map"),
        pytest.param("from=2025-03-01&to=2025-03-31&type=Bug&type=Story&project=SHOP",
                     ViewState(filters=Filters(start=date(2025, 3, 1), end=date(2025, 3, 31), issue_types=("Bug", "Story"),
                                               projects=("SHOP",))), [], id="window-types-project"),
        pytest.param("all_types=1&label=ux&component=web&parent=SHOP-1&stage=In+Review",
                     ViewState(filters=Filters(all_types=True, labels=("ux",), components=("web",), parents=("SHOP-1",)),
                               stage="In Review"), [], id="lists-and-selection"),
        pytest.param("clock=working&tz=Europe/Madrid&holiday=2025-12-25&holiday=2025-01-01",
                     ViewState(clock=Clock("working", "Europe/Madrid", (date(2025, 1, 1), date(2025, 12, 25)))), [],
                     id="working-clock"),
        pytest.param("dataset=../../etc/passwd", ViewState(), ["dataset id"], id="hostile-dataset"),
        pytest.param("v=-3&map=ZZZ", ViewState(), ["data version", "stage map id"], id="bad-version-and-map"),
        pytest.param("from=March&to=2025-03-01", ViewState(filters=Filters(end=date(2025, 3, 1))), ["start date"],
                     id="bad-date"),
        pytest.param("from=2025-03-09&to=2025-03-01", ViewState(filters=Filters(start=date(2025, 3, 1), end=date(2025, 3, 9))),
                     ["swapped"], id="reversed-window"),
        pytest.param("clock=lunar&tz=Mars/Base", ViewState(), ["clock", "time zone"], id="bad-clock-and-zone"),
        pytest.param("type=Bug&type=Bug&type=%3Cscript%3E", ViewState(filters=Filters(issue_types=("Bug", "<script>"))), [],
                     id="repeated-and-hostile-text-stays-a-value"),
    ],
)
def test_query_parameters_name_a_view(query, expected, sentences):
    state, problems = parse(query)
    assert state == expected
    assert len(problems) == len(sentences)
    for problem, phrase in zip(problems, sentences):
        assert phrase in problem and problem.endswith(".")


def test_defaults_are_left_out_of_the_link():
    assert to_query_params(ViewState()) == {}
    assert to_query_params(ViewState(DATASET, clock=Clock("working"))) == {"dataset": [DATASET], "clock": ["working"]}


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20).map(str.strip).filter(bool)
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
views = st.builds(
    ViewState,
    dataset=st.none() | st.just(DATASET),
    version=st.none() | st.integers(1, 500),
    map_id=st.none() | st.just("0123456789abcdef"),
    filters=st.builds(
        lambda start, end, types, all_types, projects: Filters(
            start=min(start, end) if start and end else start, end=max(start, end) if start and end else end,
            issue_types=types, all_types=all_types, projects=projects),
        st.none() | days, st.none() | days, st.lists(texts, max_size=3, unique=True).map(tuple), st.booleans(),
        st.lists(texts, max_size=3, unique=True).map(tuple)),
    clock=st.builds(Clock, st.sampled_from(["calendar", "working"]), st.sampled_from(["UTC", "Europe/Madrid", "Asia/Tokyo"]),
                    st.lists(days, max_size=3, unique=True).map(lambda ds: tuple(sorted(ds)))),
    stage=st.none() | texts,
)


@settings(max_examples=200, deadline=None)
@given(views)
def test_any_view_survives_a_link_round_trip(state):
    query = urlencode(to_query_params(state), doseq=True)
    again, problems = parse(query)
    assert problems == []
    assert again == state


def test_describe_says_the_filters_and_the_clock_in_words():
    state, _ = parse("from=2025-03-01&to=2025-03-31&type=Bug&project=SHOP&project=WEB&clock=working&tz=Europe/Madrid")
    assert describe(state) == ("2025-03-01 to 2025-03-31; types Bug; projects SHOP, WEB; "
                               "working time (weekends removed, Europe/Madrid)")
    assert describe(ViewState()) == "all issue types but epics and sub-tasks; calendar time (every day counts)"


def test_the_codec_does_not_need_streamlit():
    code = "import sys, vsm_app.viewstate; assert 'streamlit' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
