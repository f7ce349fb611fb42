"""End to end on every real export in ../shared/data/real/: `vsm import`, `vsm issues` and
`vsm status-times` as a user runs them, against values worked out by hand from the files.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from conftest import run_cli


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def _hours(start: str, end: str) -> float:
    return (_t(end) - _t(start)).total_seconds() / 3600


def _import(tmp_path, *paths):
    store_dir = tmp_path / "store"
    out = json.loads(run_cli("import", *paths, "--json", store_dir=store_dir, check=True).stdout)
    issues = json.loads(run_cli("issues", out["dataset"], "--json", store_dir=store_dir, check=True).stdout)
    times = json.loads(run_cli("status-times", out["dataset"], "--json", store_dir=store_dir, check=True).stdout)
    by_key = {row["key"]: row for row in issues}
    per_status = {(r["key"], r["status"]): (r["visits"], r["hours"]) for r in times}
    return out, by_key, per_status


def test_jirametrics_search_response_reopened_and_newest_first(real, tmp_path):
    out, issues, times = _import(
        tmp_path, real / "jirametrics_sample_search_6issues.json",
        real / "jirametrics_sample_statuses.json", real / "jirametrics_sample_board_configuration.json",
    )
    assert (out["issues"], out["status_changes"]) == (6, 15)
    # As-of: the latest change or update in the file (SP-11 updated 2021-12-14T00:30:34.153Z).
    as_of = "2021-12-14T00:30:34.153+00:00"
    assert out["as_of"] == "2021-12-14T00:30:34Z"
    assert issues["SP-5"] == {**issues["SP-5"], "type": "Story", "status": "Done",
                              "created": "2021-06-18T18:41:58Z", "resolved": "2021-10-11T12:49:07Z"}
    assert issues["SP-1"]["resolved"] is None and issues["SP-1"]["status"] == "Review"

    # SP-5: histories are newest-first in the file; it went Done -> Selected for Development (reopened).
    created = "2021-06-18T18:41:58.333+00:00"
    expected = {
        "Backlog": (1, _hours(created, "2021-06-23T12:44:38.197+00:00")),
        "Selected for Development": (2, _hours("2021-06-23T12:44:38.197+00:00", "2021-08-29T18:04:49.188+00:00")
                                     + _hours("2021-10-11T12:48:42.419+00:00", "2021-10-11T12:49:04.096+00:00")),
        "In Progress": (2, _hours("2021-08-29T18:04:49.188+00:00", "2021-09-06T04:34:11.432+00:00")
                        + _hours("2021-10-11T12:49:04.096+00:00", "2021-10-11T12:49:07.261+00:00")),
        "Review": (1, _hours("2021-09-06T04:34:11.432+00:00", "2021-09-06T04:34:14.358+00:00")),
        "Done": (2, _hours("2021-09-06T04:34:14.358+00:00", "2021-10-11T12:48:42.419+00:00")
                 + _hours("2021-10-11T12:49:07.261+00:00", as_of)),
    }
    for status, (visits, hours) in expected.items():
        got_visits, got_hours = times[("SP-5", status)]
        assert got_visits == visits, status
        assert got_hours == pytest.approx(hours, abs=1e-5), status
    assert any("SP-5" in w and "reopened" in w for w in out["warnings"])

    # SP-1: still in Review at the as-of time.
    assert times[("SP-1", "Backlog")] == (1, pytest.approx(_hours("2021-06-18T18:41:29.398+00:00", "2021-06-18T18:43:34.818+00:00"), abs=1e-5))
    assert times[("SP-1", "In Progress")][1] == pytest.approx(
        _hours("2021-06-18T18:44:21.050+00:00", "2021-12-14T00:30:15.283+00:00"), abs=1e-5)
    assert times[("SP-1", "Review")][1] == pytest.approx(_hours("2021-12-14T00:30:15.283+00:00", as_of), abs=1e-5)


def test_jirametrics_flagged_time_is_kept_as_field_changes(real, tmp_path):
    from vsm_core.db import connect
    from vsm_core.store import open_store

    out, _, _ = _import(tmp_path, real / "jirametrics_sample_search_6issues.json")
    info = open_store(tmp_path / "store").get(out["dataset"])
    con = connect(info.version_path())
    rows = con.sql("SELECT key, strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%g') t, to_value FROM field_changes "
                   "WHERE field = 'flagged' ORDER BY key").fetchall()
    assert rows == [("SP-1", "2021-08-29T18:04:39.112", "Impediment"), ("SP-5", "2021-08-29T18:04:59.081", "Impediment")]


def test_puppet_perceval_dump_with_offsets_and_a_reopen(real, tmp_path):
    out, issues, times = _import(tmp_path, real / "puppet_public_perceval_5issues.json")
    assert (out["issues"], out["status_changes"]) == (5, 16)
    as_of = "2016-07-27T02:41:40.000-07:00"  # PUP-6295's updated time, the latest in the file
    assert out["as_of"] == "2016-07-27T09:41:40Z"
    assert issues["PUP-3483"]["created"] == "2014-10-17T16:32:32Z"  # -0700 read as UTC-7
    # PUP-3483: Open -> Resolved (Won't Fix) -> Open again.
    assert times[("PUP-3483", "Open")][0] == 2
    assert times[("PUP-3483", "Open")][1] == pytest.approx(
        _hours("2014-10-17T09:32:32-07:00", "2015-07-07T08:04:31.629-07:00")
        + _hours("2015-10-08T12:35:53.348-07:00", as_of), abs=1e-5)
    assert times[("PUP-3483", "Resolved")] == (1, pytest.approx(
        _hours("2015-07-07T08:04:31.629-07:00", "2015-10-08T12:35:53.348-07:00"), abs=1e-5))
    # PUP-6551: Open for 7 h 23 min, then Ready for Merge until the as-of time.
    assert times[("PUP-6551", "Open")][1] == pytest.approx(_hours("2016-07-26T14:25:28-07:00", "2016-07-26T21:49:03.563-07:00"), abs=1e-5)
    assert times[("PUP-6551", "Ready for Merge")][1] == pytest.approx(_hours("2016-07-26T21:49:03.563-07:00", as_of), abs=1e-5)
    assert issues["PUP-6159"]["resolved"] == "2016-05-26T23:37:39Z"


def test_rueedlinger_created_finished_rows_including_ones_that_finish_first(real, tmp_path):
    out, issues, times = _import(tmp_path, real / "rueedlinger_agile_project_4123tasks.csv")
    assert out["issues"] == 4123
    assert issues["P0-T324"]["created"] == "2013-08-13T00:00:00Z"
    assert issues["P0-T324"]["resolved"] == "2013-08-31T00:00:00Z"
    open_hours = [h for (k, s), (v, h) in times.items() if k == "P0-T324" and s != "Done"]
    assert open_hours == [18 * 24.0]
    # P0-T5052 finishes the day before it starts: kept, reported, and no negative time.
    assert issues["P0-T5052"]["resolved"] == "2015-02-04T00:00:00Z"
    assert all(h >= 0 for (k, _), (_, h) in times.items() if k == "P0-T5052")
    assert any("1,662 issues finish before they were created" in w for w in out["warnings"])
    assert min(h for _, h in times.values()) >= 0
