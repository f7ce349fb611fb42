"""The metrics' SQL in one tested place: the filter codec (filters -> condition + bound
parameters), every statement of ``vsm_core.metrics.sql`` run on a real dataset, and the
rule that ``vsm_core`` never needs Streamlit."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from conftest import REPO, jira_issue, write_search

from vsm_core.metrics import Clock, Filters, open_flow, sql
from vsm_core.metrics.scope import (
    DEFAULT_EXCLUDED_TYPES,
    issue_filter_sql,
    window_bounds,
)

UTC = UTC


@pytest.mark.parametrize(
    ("filters", "condition", "params"),
    [
        pytest.param(Filters(), "NOT list_contains($excluded_types, lower(coalesce(type, '')))",
                     {"excluded_types": list(DEFAULT_EXCLUDED_TYPES)}, id="default-scope"),
        pytest.param(Filters(all_types=True), "true", {}, id="all-types"),
        pytest.param(Filters(issue_types=("Bug", " Story ")), "list_contains($types, lower(coalesce(type, '')))",
                     {"types": ["bug", "story"]}, id="chosen-types"),
        pytest.param(Filters(all_types=True, projects=("SHOP",), labels=("ux", "api")),
                     "list_contains($projects, project) AND list_has_any(coalesce(labels, []), $labels)",
                     {"projects": ["SHOP"], "labels": ["ux", "api"]}, id="projects-and-labels"),
        pytest.param(Filters(all_types=True, components=("web",), parents=("SHOP-1",)),
                     "list_has_any(coalesce(components, []), $components) AND list_contains($parents, parent)",
                     {"components": ["web"], "parents": ["SHOP-1"]}, id="components-and-parents"),
        pytest.param(Filters(all_types=True, projects=("x'); DROP TABLE issues; --",)),
                     "list_contains($projects, project)", {"projects": ["x'); DROP TABLE issues; --"]},
                     id="hostile-value-stays-a-parameter"),
    ],
)
def test_filters_become_an_allow_listed_condition_and_bound_parameters(filters, condition, params):
    assert issue_filter_sql(filters) == (condition, params)


def test_window_is_whole_local_days_in_the_clock_time_zone():
    lower, upper = window_bounds(Filters(start=date(2025, 3, 1), end=date(2025, 3, 31)), Clock(timezone="Europe/Madrid"))
    # Madrid is UTC+1 on 1 March and UTC+2 on 1 April (summer time from 30 March).
    assert lower == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)
    assert upper == datetime(2025, 3, 31, 22, 0, tzinfo=UTC)


def test_a_window_that_ends_before_it_starts_is_refused_in_one_sentence():
    with pytest.raises(ValueError, match="ends .* before it starts"):
        Filters(start=date(2025, 3, 2), end=date(2025, 3, 1))


def test_an_unknown_clock_or_time_zone_is_refused():
    with pytest.raises(ValueError, match="not known"):
        Clock("lunar")
    with pytest.raises(ValueError, match="time zone"):
        Clock("working", "Mars/Olympus")


def _statements() -> dict[str, str]:
    return {name: value for name, value in vars(sql).items() if name.isupper() and isinstance(value, str)}


def test_statements_take_values_only_as_parameters():
    """No statement formats a value into its text: the only placeholders are the allow-listed
    filter condition and the base table name."""
    for name, text in _statements().items():
        assert set(re.findall(r"\{(\w+)\}", text)) <= {"condition", "table", "events", "base_runs"}, name
        assert "%s" not in text and "?" not in text, name


@pytest.fixture
def small_dataset(store, tmp_path):
    from vsm_core.ingest import SourceFile, import_files

    issues = [
        jira_issue("A-1", "2025-03-03T09:00:00.000+0000", "Done", [
            ("2025-03-04T09:00:00.000+0000", "To Do", "In Progress"),
            ("2025-03-05T09:00:00.000+0000", "In Progress", "In Review"),
            ("2025-03-06T09:00:00.000+0000", "In Review", "In Progress"),
            ("2025-03-07T09:00:00.000+0000", "In Progress", "Done"),
        ], category="done"),
        jira_issue("A-2", "2025-03-03T10:00:00.000+0000", "In Review", [
            ("2025-03-05T10:00:00.000+0000", "To Do", "In Progress"),
            ("2025-03-06T10:00:00.000+0000", "In Progress", "Ready for Review"),
            ("2025-03-06T12:00:00.000+0000", "Ready for Review", "In Review"),
        ]),
    ]
    issues[0]["changelog"]["histories"] += [
        {"id": "2001", "created": "2025-03-04T10:00:00.000+0000", "items": [
            {"field": "assignee", "fieldtype": "jira", "from": "a1", "fromString": "Ann", "to": "b2", "toString": "Bob"}]},
        {"id": "2002", "created": "2025-03-04T11:00:00.000+0000", "items": [
            {"field": "Flagged", "fieldtype": "custom", "fromString": None, "toString": "Impediment"}]},
    ]
    path = write_search(tmp_path / "small.json", issues)
    result = import_files(store, [SourceFile(path, path.name)], as_of=datetime(2025, 3, 10, tzinfo=UTC))
    return store.get(result.dataset)


@pytest.mark.parametrize("clock", [Clock(), Clock("working", "Europe/Madrid", (date(2025, 3, 5),))], ids=["calendar", "working"])
def test_every_read_statement_runs(small_dataset, clock):
    """Each read statement of ``metrics.sql`` runs on a prepared flow and returns rows."""
    reads = {name: text for name, text in _statements().items()
             if text.lstrip().upper().startswith(("SELECT", "WITH")) and "{" not in text and "$file" not in text and "$stage_id" not in text}
    assert len(reads) >= 12
    with open_flow(small_dataset, filters=Filters(all_types=True), clock=clock) as flow:
        for name, text in reads.items():
            frame = flow.query(text)
            assert len(frame) > 0, name


def test_vsm_core_never_imports_streamlit():
    code = (
        "import sys, importlib, pkgutil, vsm_core\n"
        "for m in pkgutil.walk_packages(vsm_core.__path__, 'vsm_core.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "assert 'streamlit' not in sys.modules, 'vsm_core imported streamlit'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_items_with_a_truncated_changelog_are_counted_and_named(store, tmp_path):
    from vsm_core.ingest import SourceFile, import_files
    from vsm_core.metrics import measures

    issues = [
        jira_issue("T-1", "2025-03-03T09:00:00.000+0000", "In Progress",
                   [("2025-03-04T09:00:00.000+0000", "To Do", "In Progress")], total=150),
        jira_issue("T-2", "2025-03-03T09:00:00.000+0000", "In Progress",
                   [("2025-03-04T09:00:00.000+0000", "To Do", "In Progress")]),
    ]
    path = write_search(tmp_path / "cut.json", issues)
    result = import_files(store, [SourceFile(path, path.name)], as_of=datetime(2025, 3, 10, tzinfo=UTC))
    with open_flow(store.get(result.dataset)) as flow:
        assert measures.truncated_history(flow) == {"items": 1, "example_keys": ["T-1"]}


def test_backlog_and_done_stages_have_no_wait_active_split_and_done_no_blocked_time(small_dataset):
    """A-1's flag is never cleared, so it stays on after A-1 is done: that is not flow time."""
    from vsm_core.metrics import measures

    with open_flow(small_dataset, filters=Filters(all_types=True)) as flow:
        table = measures.stage_times(flow)
    by_kind, by_stage = table.set_index("kind"), table.set_index("stage")
    assert by_kind.loc["backlog", ["wait_hours", "active_hours"]].isna().all()
    assert by_kind.loc["done", ["wait_hours", "active_hours", "blocked_hours"]].isna().all()
    # Flagged from 4 Mar 11:00 on; A-1 is in progress 4 Mar 09:00 -> 5 Mar 09:00 and 6 -> 7 Mar 09:00.
    assert by_stage.loc["In Progress", "blocked_hours"] == pytest.approx(22 + 24)


def test_stage_entries_name_the_stage_and_refuse_an_unknown_one(small_dataset):
    from vsm_core.metrics import measures

    with open_flow(small_dataset, filters=Filters(all_types=True)) as flow:
        entries = measures.stage_entries(flow, "in review")
        with pytest.raises(ValueError, match="no stage called 'Nope'"):
            measures.stage_entries(flow, "Nope")
    # A-1 entered In Review on 5 Mar 09:00 and left 6 Mar 09:00; A-2 entered 6 Mar 12:00 and is there at the as-of (10 Mar 00:00).
    assert list(entries["key"]) == ["A-1", "A-2"]
    assert list(entries["stage_hours"]) == [pytest.approx(24), pytest.approx(84)]
    assert list(entries["in_stage_now"]) == [False, True]
