"""The Jira REST JSON importer: real exports checked by hand, and every envelope and failure."""

from __future__ import annotations

import codecs
import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vsm_core.ingest import jira_json
from vsm_core.ingest.base import ReadOptions, read_head
from vsm_core.ingest.jsonstream import JsonIssueStream, tail_member
from vsm_core.ingest.sink import CanonicalSink
from vsm_core.problems import ImportProblem
from vsm_core.timeparse import zone

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
SEARCH_6 = REAL / "jirametrics_sample_search_6issues.json"
PERCEVAL_5 = REAL / "puppet_public_perceval_5issues.json"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def import_files(tmp_path: Path, *paths: Path, **options) -> tuple[CanonicalSink, dict[str, list[dict]]]:
    """Run the importer over ``paths`` into one sink and return it with its tables as rows."""
    sink = CanonicalSink(tmp_path / "out")
    for path in paths:
        sink.current_file = path.name
        jira_json.read(path, sink, ReadOptions(display_name=path.name, **options))
    sink.close()
    tables = {
        name: pq.read_table(sink.directory / f"{name}.parquet").to_pylist()
        for name in ("issues", "status_changes", "field_changes")
    }
    return sink, tables


def issue(key: str, created: str | None = "2024-03-01T09:00:00.000+0100", histories: list | None = None, **fields) -> dict:
    """A small issue as Jira's search API writes it."""
    body = {"summary": f"Work {key}", "status": {"name": "To Do", "statusCategory": {"key": "new", "name": "To Do"}}}
    if created is not None:
        body["created"] = created
    body.update(fields)
    element = {
        "id": str(10000 + int(key.rsplit("-", 1)[1])),
        "self": f"https://acme.example/jira/rest/api/2/issue/{key}",
        "key": key,
        "fields": body,
    }
    if histories is not None:
        element["changelog"] = {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}
    return element


def history(history_id: int, created: str, *items: dict, author: str = "Ana") -> dict:
    return {"id": str(history_id), "author": {"displayName": author, "avatarUrls": {"16x16": "x"}}, "created": created, "items": list(items)}


def status_item(old: str, new: str) -> dict:
    return {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1", "fromString": old, "to": "2", "toString": new}


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


TWO_ISSUES = [
    issue("AB-1", histories=[history(11, "2024-03-02T10:00:00.000+0100", status_item("To Do", "In Progress"))]),
    issue("AB-2", histories=[]),
]


# -- real exports -------------------------------------------------------------------------------
def test_jirametrics_search_response_has_six_issues_and_fifteen_status_changes(tmp_path):
    sink, tables = import_files(tmp_path, SEARCH_6)
    assert [row["key"] for row in tables["issues"]] == ["SP-11", "SP-8", "SP-7", "SP-5", "SP-2", "SP-1"]
    assert len(tables["status_changes"]) == 15
    assert sink.findings == []
    assert sink.meta["has_history"] is True
    assert sink.meta["formats"] == {"jira-json"}
    assert sink.meta["base_url"] == "https://improvingflow.atlassian.net"


def test_jirametrics_done_issue_fields(tmp_path):
    _, tables = import_files(tmp_path, SEARCH_6)
    sp5 = next(row for row in tables["issues"] if row["key"] == "SP-5")
    assert sp5["issue_id"] == "10012"
    assert (sp5["type"], sp5["project"], sp5["status"], sp5["status_category"]) == ("Story", "SP", "Done", "done")
    assert sp5["created"] == utc("2021-06-18T18:41:58.333")
    assert sp5["resolved"] == utc("2021-10-11T12:49:07.227")
    assert (sp5["resolution"], sp5["priority"], sp5["assignee"]) == ("Done", "Medium", None)
    assert (sp5["changelog_total"], sp5["changelog_present"]) == (8, 8)
    assert sp5["source_file"] == SEARCH_6.name


def test_jirametrics_reopened_issue_keeps_file_order_newest_first(tmp_path):
    _, tables = import_files(tmp_path, SEARCH_6)
    rows = [r for r in tables["status_changes"] if r["key"] == "SP-5"]
    assert [(r["time"], r["from_status"], r["to_status"], r["history_id"]) for r in rows] == [
        (utc("2021-10-11T12:49:07.261"), "In Progress", "Done", 10072),
        (utc("2021-10-11T12:49:04.096"), "Selected for Development", "In Progress", 10071),
        (utc("2021-10-11T12:48:42.419"), "Done", "Selected for Development", 10070),  # the reopen
        (utc("2021-09-06T04:34:14.358"), "Review", "Done", 10067),
        (utc("2021-09-06T04:34:11.432"), "In Progress", "Review", 10066),
        (utc("2021-08-29T18:04:49.188"), "Selected for Development", "In Progress", 10043),
        (utc("2021-06-23T12:44:38.197"), "Backlog", "Selected for Development", 10040),
    ]
    seqs = [r["item_seq"] for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert {r["author"] for r in rows} == {"Mike Bowler"}


def test_jirametrics_flagged_impediment_and_resolution_changes(tmp_path):
    _, tables = import_files(tmp_path, SEARCH_6)
    flagged = [(r["key"], r["time"], r["from_value"], r["to_value"]) for r in tables["field_changes"] if r["field"] == "flagged"]
    # This sample sets the flag twice and never clears it.
    assert flagged == [
        ("SP-5", utc("2021-08-29T18:04:59.081"), None, "Impediment"),
        ("SP-1", utc("2021-08-29T18:04:39.112"), None, "Impediment"),
    ]
    resolution = [(r["time"], r["from_value"], r["to_value"]) for r in tables["field_changes"] if r["field"] == "resolution"]
    assert resolution == [
        (utc("2021-10-11T12:49:07.261"), None, "Done"),
        (utc("2021-10-11T12:48:42.419"), "Done", None),
        (utc("2021-09-06T04:34:14.358"), None, "Done"),
    ]
    assert {r["field"] for r in tables["field_changes"]} == {"flagged", "resolution"}  # Rank is noise


def test_puppet_perceval_dump_has_five_issues_and_sixteen_status_changes(tmp_path):
    sink, tables = import_files(tmp_path, PERCEVAL_5)
    assert [row["key"] for row in tables["issues"]] == ["PUP-6551", "PUP-6545", "PUP-6295", "PUP-6159", "PUP-3483"]
    assert len(tables["status_changes"]) == 16
    assert sink.meta["base_url"] == "https://tickets.puppetlabs.com"
    assert {r["field"] for r in tables["field_changes"]} == {"assignee", "resolution"}  # Sprint, Rank, Workflow ignored


def test_puppet_reopened_bug_converted_from_pacific_time(tmp_path):
    _, tables = import_files(tmp_path, PERCEVAL_5)
    bug = next(row for row in tables["issues"] if row["key"] == "PUP-3483")
    assert bug["issue_id"] == "55473"
    assert bug["created"] == utc("2014-10-17T16:32:32")  # 09:32:32 -0700
    assert (bug["status"], bug["status_category"], bug["labels"], bug["components"]) == ("Open", "new", ["systemd"], ["Types and Providers"])
    rows = [(r["time"], r["from_status"], r["to_status"], r["history_id"]) for r in tables["status_changes"] if r["key"] == "PUP-3483"]
    assert rows == [
        (utc("2015-07-07T15:04:31.629"), "Open", "Resolved", 939434),  # 08:04:31.629 -0700
        (utc("2015-10-08T19:35:53.348"), "Resolved", "Open", 1071725),
    ]
    fixed = next(row for row in tables["issues"] if row["key"] == "PUP-6159")
    assert fixed["resolved"] == utc("2016-05-26T23:37:39")  # 16:37:39 -0700


def test_sniff_recognises_issue_files_and_leaves_companions_alone():
    assert jira_json.sniff(read_head(SEARCH_6, "x")) >= 90
    assert jira_json.sniff(read_head(PERCEVAL_5, "x")) >= 80
    assert jira_json.sniff(read_head(REAL / "jirametrics_sample_statuses.json", "x")) == 0
    assert jira_json.sniff(read_head(REAL / "jirametrics_sample_board_configuration.json", "x")) == 0
    assert jira_json.sniff(read_head(REAL / "rueedlinger_agile_project_4123tasks.csv", "x")) == 0
    assert jira_json.sniff(codecs.BOM_UTF8 + b'  [{"key": "A-1", "fields": {}}]') >= 90
    assert jira_json.sniff(b"") == 0


# -- envelopes ----------------------------------------------------------------------------------
def _envelopes() -> list:
    a, b = TWO_ISSUES
    page = lambda issues, **extra: {**extra, "issues": issues}  # noqa: E731
    return [
        pytest.param(json.dumps({"expand": "names", "startAt": 0, "total": 2, "issues": [a, b]}, indent=2), id="search-response"),
        pytest.param(
            json.dumps({"nextPageToken": "abc", "isLast": True, "issues": [a, b], "names": {"x": "y"}}),
            id="search-jql-keys-any-order",
        ),
        pytest.param(json.dumps([a, b]), id="plain-array"),
        pytest.param(json.dumps([{"backend_name": "Jira", "data": a}, {"backend_name": "Jira", "data": b}]), id="perceval"),
        pytest.param("\n".join(json.dumps({"backend_name": "Jira", "data": x}) for x in (a, b)), id="perceval-json-lines"),
        pytest.param(json.dumps(a) + "\n" + json.dumps(b) + "\n", id="ndjson-issues"),
        pytest.param(json.dumps(page([a])) + "\r\n" + json.dumps(page([b])), id="ndjson-pages"),
        pytest.param(json.dumps(page([a], total=2), indent=1) + json.dumps(page([b], total=2), indent=1), id="concatenated-pages"),
        pytest.param(json.dumps([page([a]), page([b])]), id="array-of-pages"),
    ]


@pytest.mark.parametrize("text", _envelopes())
def test_every_envelope_yields_the_same_issues(tmp_path, text):
    _, tables = import_files(tmp_path, write(tmp_path, "export.json", text))
    assert [row["key"] for row in tables["issues"]] == ["AB-1", "AB-2"]
    assert [(r["key"], r["to_status"], r["time"]) for r in tables["status_changes"]] == [
        ("AB-1", "In Progress", utc("2024-03-02T09:00:00"))
    ]


def test_single_issue_object(tmp_path):
    _, tables = import_files(tmp_path, write(tmp_path, "one.json", json.dumps(TWO_ISSUES[0], indent=2)))
    assert [row["key"] for row in tables["issues"]] == ["AB-1"]
    assert len(tables["status_changes"]) == 1


def test_two_page_files_go_into_one_sink(tmp_path):
    first = write(tmp_path, "page1.json", json.dumps({"startAt": 0, "total": 2, "issues": [TWO_ISSUES[0]]}))
    second = write(tmp_path, "page2.json", json.dumps({"startAt": 1, "total": 2, "issues": [TWO_ISSUES[1]]}))
    _, tables = import_files(tmp_path, first, second)
    assert [(r["key"], r["ingest_seq"], r["source_file"]) for r in tables["issues"]] == [
        ("AB-1", 0, "page1.json"),
        ("AB-2", 1, "page2.json"),
    ]
    assert tables["status_changes"][0]["ingest_seq"] == 0


@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_elements_straddling_chunk_boundaries(tmp_path, chunk_size):
    issues = [
        issue(f"AB-{n}", summary=f"caf\u00e9 \U0001f600 {n}", story_points=12345.5,
              histories=[history(n * 10, "2024-03-02T10:00:00.000+0100", status_item("To Do", "Doing"))])
        for n in range(1, 6)
    ]
    path = write(tmp_path, "small-chunks.json", json.dumps({"total": 1234567, "issues": issues}, ensure_ascii=False))
    sink = CanonicalSink(tmp_path / "out")
    jira_json.read(path, sink, ReadOptions(display_name=path.name), chunk_size=chunk_size)
    sink.close()
    rows = pq.read_table(sink.directory / "issues.parquet").to_pylist()
    assert [r["summary"] for r in rows] == [f"caf\u00e9 \U0001f600 {n}" for n in range(1, 6)]
    assert {r["story_points"] for r in rows} == {12345.5}
    stream = JsonIssueStream(path, path.name, chunk_size=chunk_size)
    assert len(list(stream)) == 5 and stream.envelope["total"] == 1234567


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    issues=st.lists(st.dictionaries(st.sampled_from(["key", "fields", "x", "\u00e9"]), _json_values, min_size=1), max_size=5),
    chunk_size=st.integers(min_value=1, max_value=64),
    indent=st.sampled_from([None, 0, 2]),
    ascii_only=st.booleans(),
)
def test_stream_gives_the_same_elements_whatever_the_chunking(tmp_path, issues, chunk_size, indent, ascii_only):
    path = tmp_path / "any.json"
    path.write_text(json.dumps({"total": len(issues), "issues": issues}, indent=indent, ensure_ascii=ascii_only), encoding="utf-8")
    stream = JsonIssueStream(path, "any.json", chunk_size=chunk_size)
    assert list(stream) == issues
    assert stream.envelope == {"total": len(issues)}


@pytest.mark.parametrize("chunk_size", [1, 3, 1 << 20])
def test_gzip_bom_and_utf16_files_read_the_same(tmp_path, chunk_size):
    text = json.dumps({"issues": TWO_ISSUES, "names": {"customfield_1": "Story Points"}}, ensure_ascii=False)
    variants = {
        "bom.json": codecs.BOM_UTF8 + text.encode("utf-8"),
        "utf16.json": text.encode("utf-16"),  # with BOM
        "utf16be.json": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        "export.json.gz": gzip.compress(codecs.BOM_UTF8 + text.encode("utf-8")),
    }
    for name, data in variants.items():
        path = write(tmp_path, name, data)
        assert jira_json.sniff(read_head(path, name)) >= 90, name
        assert tail_member(path, name, "names") == {"customfield_1": "Story Points"}, name
        sink = CanonicalSink(tmp_path / f"run-{name}")
        jira_json.read(path, sink, ReadOptions(display_name=name), chunk_size=chunk_size)
        sink.close()
        assert [r["key"] for r in pq.read_table(sink.directory / "issues.parquet").to_pylist()] == ["AB-1", "AB-2"], name


# -- what the importer keeps --------------------------------------------------------------------
def test_flagged_set_and_cleared_and_noise_ignored(tmp_path):
    flag_on = {"field": "Flagged", "fieldtype": "custom", "fieldId": "customfield_10021", "fromString": None, "toString": "Impediment"}
    flag_off = {"field": "Flagged", "fieldtype": "custom", "fieldId": "customfield_10021", "fromString": "Impediment", "toString": ""}
    blocked = {"field": "Blocked Reason", "fieldtype": "custom", "fieldId": "customfield_2", "fromString": None, "toString": "Vendor"}
    feature_flag = {"field": "Feature flag", "fieldtype": "custom", "fieldId": "customfield_3", "fromString": None, "toString": "on"}
    noise = [{"field": name, "fieldtype": "custom", "fromString": "", "toString": "x"} for name in ("Rank", "Sprint", "Workflow")]
    assignee = {"field": "assignee", "fieldtype": "jira", "fromString": None, "toString": "Bo"}
    data = [issue("AB-1", histories=[
        history(3, "2024-03-05T17:30:00.500+0100", flag_off),
        history(2, "2024-03-04T08:15:00.000+0100", flag_on, *noise, assignee, feature_flag),
        history(1, "2024-07-01T12:00:00.000+0200", blocked, status_item("To Do", "Doing")),
    ])]
    _, tables = import_files(tmp_path, write(tmp_path, "flags.json", json.dumps(data)))
    assert [(r["time"], r["field"], r["from_value"], r["to_value"], r["history_id"]) for r in tables["field_changes"]] == [
        (utc("2024-03-05T16:30:00.500"), "flagged", "Impediment", "", 3),
        (utc("2024-03-04T07:15:00"), "flagged", None, "Impediment", 2),
        (utc("2024-03-04T07:15:00"), "assignee", None, "Bo", 2),
        (utc("2024-07-01T10:00:00"), "flagged", None, "Vendor", 1),
    ]
    assert [r["item_seq"] for r in tables["field_changes"]] == [0, 1, 2, 3]
    assert tables["status_changes"][0]["item_seq"] == 4


@pytest.mark.parametrize("names_first", [False, True], ids=["names-after-issues", "names-before-issues"])
def test_names_map_gives_story_points_and_epic(tmp_path, names_first):
    first = issue("AB-1", customfield_10016=5, customfield_10014="AB-100")
    second = issue("AB-2", customfield_10016=None, customfield_10014="not a key", parent={"key": "AB-7"})
    names = {"customfield_10016": "Story point estimate", "customfield_10014": "Epic Link", "summary": "Summary"}
    members = {"names": names, "startAt": 0, "issues": [first, second], "schema": {}}
    if not names_first:
        members["names"] = members.pop("names")
    _, tables = import_files(tmp_path, write(tmp_path, "names.json", json.dumps(members)))
    assert [(r["story_points"], r["parent"]) for r in tables["issues"]] == [(5.0, "AB-100"), (None, "AB-7")]


def test_without_names_map_story_points_come_from_a_plain_field(tmp_path):
    data = [issue("AB-1", story_points=3, customfield_10016=8), issue("AB-2", story_points="3")]
    _, tables = import_files(tmp_path, write(tmp_path, "sp.json", json.dumps(data)))
    assert [r["story_points"] for r in tables["issues"]] == [3.0, None]


def test_naive_times_read_in_the_chosen_zone(tmp_path):
    data = [issue("AB-1", created="2024-07-01T09:00:00", histories=[history(1, "2024-07-01T10:00:00", status_item("To Do", "Doing"))])]
    _, tables = import_files(tmp_path, write(tmp_path, "naive.json", json.dumps(data)), timezone=zone("Europe/Madrid"))
    assert tables["issues"][0]["created"] == utc("2024-07-01T07:00:00")
    assert tables["status_changes"][0]["time"] == utc("2024-07-01T08:00:00")


def test_truncated_changelog_is_reported(tmp_path):
    data = issue("AB-9", histories=[history(n, "2024-03-02T10:00:00.000+0100", status_item("A", "B")) for n in range(100)])
    data["changelog"]["total"] = 137
    sink, tables = import_files(tmp_path, write(tmp_path, "cut.json", json.dumps([data])))
    assert [(f.code, f.key) for f in sink.findings] == [("changelog_truncated", "AB-9")]
    assert sink.findings[0].message == (
        "AB-9: the export holds 100 of 137 change records; the oldest are missing, so its first statuses and "
        "early times are unknown. Fetch its full changelog (see README)."
    )
    assert (tables["issues"][0]["changelog_total"], tables["issues"][0]["changelog_present"]) == (137, 100)


def test_issues_without_created_or_fields_are_skipped_with_findings(tmp_path):
    data = [issue("AB-1", created=None), issue("AB-2", created="yesterday"), {"key": "AB-3"}, *TWO_ISSUES]
    sink, tables = import_files(tmp_path, write(tmp_path, "gaps.json", json.dumps(data)))
    assert [r["key"] for r in tables["issues"]] == ["AB-1", "AB-2"]
    assert [r["created"] for r in tables["issues"]] == [utc("2024-03-01T08:00:00")] * 2  # the two good ones
    assert [(f.code, f.key) for f in sink.findings] == [
        ("issue_without_created", "AB-1"),
        ("issue_without_created", "AB-2"),
        ("issue_without_fields", "AB-3"),
    ]
    assert "AB-3" in sink.findings[2].message


def test_change_with_unreadable_time_is_skipped_with_a_finding(tmp_path):
    data = [issue("AB-1", histories=[
        history(2, "not a time", status_item("Doing", "Done")),
        history(1, "2024-03-02T10:00:00.000+0100", status_item("To Do", "Doing")),
        {"id": "x", "created": "2024-03-03T10:00:00Z", "items": [status_item("Done", "Closed")]},
    ])]
    sink, tables = import_files(tmp_path, write(tmp_path, "badtime.json", json.dumps(data)))
    assert [(r["to_status"], r["history_id"], r["author"]) for r in tables["status_changes"]] == [("Doing", 1, "Ana"), ("Closed", None, None)]
    assert [(f.code, f.key) for f in sink.findings] == [("bad_change_time", "AB-1")]


def test_file_without_any_changelog_has_no_history(tmp_path):
    sink, tables = import_files(tmp_path, write(tmp_path, "flat.json", json.dumps([issue("AB-1"), issue("AB-2")])))
    assert sink.meta["has_history"] is False
    assert tables["issues"][0]["changelog_present"] is None and tables["status_changes"] == []


def test_unexpected_value_types_do_not_break_the_import(tmp_path):
    odd = issue("AB-1", labels=["a", 3, None, {"x": 1}], components=[{"name": "C"}, "D"], status="Open", assignee=[],
                histories=[history(1, "2024-03-02T10:00:00Z", {"field": "status", "fromString": 1, "toString": {"a": 1}}),
                           {"items": "nope"}, "text", {"created": 5, "items": [7, {"field": ["status"]}]}])
    _, tables = import_files(tmp_path, write(tmp_path, "odd.json", json.dumps([odd, 42, TWO_ISSUES[1]])))
    assert [(r["key"], r["labels"], r["components"], r["status"]) for r in tables["issues"]] == [
        ("AB-1", ["a", "3"], ["C"], None),
        ("AB-2", [], [], "To Do"),
    ]
    assert [(r["from_status"], r["to_status"]) for r in tables["status_changes"]] == [("1", None)]


def test_progress_is_reported_in_bytes(tmp_path):
    path = write(tmp_path, "many.json", json.dumps([issue(f"AB-{n}") for n in range(2500)]))
    seen = []
    import_files(tmp_path, path, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) == 2 and all(total == path.stat().st_size and 0 < done <= total for done, total in seen)


# -- files that cannot be imported --------------------------------------------------------------
def problem_for(tmp_path: Path, name: str, data: str | bytes, **kwargs) -> str:
    path = write(tmp_path, name, data)
    with pytest.raises(ImportProblem) as caught:
        sink = CanonicalSink(tmp_path / "out")
        jira_json.read(path, sink, ReadOptions(display_name=name), **kwargs)
    assert caught.value.file == name
    return caught.value.sentence


def test_truncated_file_names_the_issue_and_line(tmp_path):
    text = json.dumps({"issues": TWO_ISSUES}, indent=2)
    cut = text[: text.index('"AB-2"') + 10]
    sentence = problem_for(tmp_path, "cut.json", cut)
    lines = cut.splitlines()
    opening = next(n for n, line in enumerate(lines, start=1) if "issue/AB-2" in line) - 2  # the "{" above "id", "self"
    assert lines[opening - 1].strip() == "{"
    assert sentence == f"cut.json ends in the middle of issue number 2 (near line {opening}); the file was cut off: export it again."
    sentence = problem_for(tmp_path, "cut2.json", text[: text.rindex("]")], chunk_size=16)
    assert "cut2.json ends before its JSON is complete" in sentence


@pytest.mark.parametrize("text", ["[]", "", "  \n", '{"startAt": 0, "total": 0, "issues": []}'])
def test_no_issues_is_a_problem(tmp_path, text):
    assert problem_for(tmp_path, "empty.json", text).startswith("no issues found in empty.json")


def test_invalid_json_names_the_line(tmp_path):
    text = json.dumps(TWO_ISSUES, indent=2).replace('"key": "AB-2"', '"key": AB-2', 1)
    line = text[: text.index(": AB-2")].count("\n") + 1
    sentence = problem_for(tmp_path, "broken.json", text)
    assert sentence.startswith(f"broken.json is not valid JSON at line {line}, issue number 2")


def test_damage_at_the_very_end_is_invalid_not_cut_off(tmp_path):
    text = json.dumps(TWO_ISSUES)
    assert "is not valid JSON at line 1" in problem_for(tmp_path, "tail.json", text[:-1] + ", x]")
    assert "ends in the middle of issue number 3" in problem_for(tmp_path, "tail2.json", text[:-1] + ", nu")
    assert "ends in the middle of issue number 3" in problem_for(tmp_path, "tail3.json", text[:-1] + ', {"total": 12.')


def test_cut_off_gzip_file_is_a_problem(tmp_path):
    data = gzip.compress(json.dumps(TWO_ISSUES * 50).encode())
    sentence = problem_for(tmp_path, "cut.json.gz", data[: len(data) // 2])
    assert "cut off" in sentence


def test_deeply_nested_json_is_refused_not_crashing(tmp_path):
    assert "nests JSON more deeply" in problem_for(tmp_path, "deep.json", "[" * 200_000)
    hostile = '{"key": "AB-1", "fields": {"created": "2024-01-01T00:00:00Z", "x": ' + "[" * 200_000 + "]" * 200_000 + "}}"
    assert "nests JSON more deeply" in problem_for(tmp_path, "deep2.json", hostile)


def test_oversized_element_is_refused(tmp_path):
    path = write(tmp_path, "huge.json", json.dumps([issue("AB-1", summary="x" * 5000)]))
    with pytest.raises(ImportProblem, match="larger than"):
        list(JsonIssueStream(path, "huge.json", chunk_size=512, max_element=1024))


def test_not_json_and_error_responses_are_explained(tmp_path):
    assert "does not hold JSON issues" in problem_for(tmp_path, "login.json", "<html><body>Log in</body></html>")
    error = json.dumps({"errorMessages": ["The value 'XYZ' does not exist for the field 'project'."], "errors": {}})
    sentence = problem_for(tmp_path, "error.json", error)
    assert sentence.startswith("error.json is an error message from Jira") and "XYZ" in sentence
    assert "not UTF-8" in problem_for(tmp_path, "latin.json", b'[{"key": "A-1", "fields": {"summary": "caf\xe9"}}]')
