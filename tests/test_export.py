"""The leader report and the safe CSV download.

The report cases are Jira JSON exports imported into a fresh store and read through a hand-made
stage map, as in ``test_decisions_hand.py``; the expected figures are worked out by hand in the
comments. Text that comes from Jira or the user carries HTML and Markdown that must stay text.
"""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import ClassVar

import pandas as pd
import pytest
from conftest import jira_issue, write_search

from vsm_core.decisions.inputs import DecisionInputs
from vsm_core.export import leader_report_html, safe_csv_bytes
from vsm_core.export.html_report import key_figures
from vsm_core.metrics import Filters, open_flow
from vsm_core.stagemap import Stage, StageMap, save_stage_map

EVIL_STATUS = "<script>alert(1)</script>"
MARKDOWN = "![x](http://evil/x.png)"
EVIL_NAME = '<b onmouseover="alert(2)">Team</b> <script>alert(3)</script>'
LINK = "https://vsm.example/view?dataset=abc&v=1"
GENERATED = datetime(2025, 6, 30, 17, 0, tzinfo=UTC)

STAGES = StageMap((
    Stage("To Do", ("To Do",), "backlog", 0),
    Stage("In Progress", ("In Progress",), "active", 1),
    Stage("Awaiting Review", ("Awaiting Review",), "wait", 2),
    Stage(EVIL_STATUS, (EVIL_STATUS,), "active", 3),
    Stage("Blocked", ("Blocked",), "wait", 4, side=True),
    Stage("Done", ("Done",), "done", 5),
))
COMMITTED = ["In Progress", "Awaiting Review", EVIL_STATUS, "Blocked"]
START = datetime(2025, 3, 3, 9, tzinfo=UTC)


def _t(hours: float) -> str:
    return (START + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _item(n: int, path: list[tuple[str, float]], offset: float) -> dict:
    """An issue created in To Do at ``offset`` hours; each (status, hours) pair moves it to
    ``status`` ``hours`` after the previous move. Its summary and label are Markdown images."""
    changes, at, previous = [], offset, "To Do"
    for status, hours in path:
        at += hours
        changes.append((_t(at), previous, status))
        previous = status
    return jira_issue(f"R-{n}", _t(offset), previous, changes, category="done" if previous == "Done" else "indeterminate",
                      fields={"summary": MARKDOWN, "labels": [MARKDOWN]})


def _dataset(store, tmp_path, issues, name=EVIL_NAME):
    from vsm_core.ingest import SourceFile, import_files

    path = write_search(tmp_path / "report.json", issues)
    result = import_files(store, [SourceFile(path, path.name)], name=name, as_of=START + timedelta(hours=2000))
    info = store.get(result.dataset)
    save_stage_map(info.path, STAGES)
    return info


def _review_queue_issues() -> list[dict]:
    # Twelve delivered items: 1 h in To Do, 1 h in progress, 120 h awaiting review, 1 h in review: lead time 123 h.
    # R-1 also steps into Blocked for 2 h and back to In Progress for 1 h: 126 h.
    # R-2 is sent back once from review: 1 h in progress, 1 h awaiting review, 1 h in review more: 126 h.
    # R-13 has waited for review since hour 132: unfinished, the only work in process at the as-of (hour 2000).
    plain = [("In Progress", 1), ("Awaiting Review", 1), (EVIL_STATUS, 120), ("Done", 1)]
    issues = [_item(n, plain, offset=n * 10) for n in range(3, 13)]
    issues.append(_item(1, [("In Progress", 1), ("Blocked", 1), ("In Progress", 2), ("Awaiting Review", 1),
                            (EVIL_STATUS, 120), ("Done", 1)], offset=10))
    issues.append(_item(2, [("In Progress", 1), ("Awaiting Review", 1), (EVIL_STATUS, 120), ("In Progress", 1),
                            ("Awaiting Review", 1), (EVIL_STATUS, 1), ("Done", 1)], offset=20))
    issues.append(_item(13, [("In Progress", 1), ("Awaiting Review", 1)], offset=130))
    return issues


def _report(info, filters: Filters, **kwargs) -> str:
    with open_flow(info, map_id=STAGES.version_id, filters=filters) as flow:
        return leader_report_html(flow, dataset_name=info.name, dataset_id=info.dataset, version=info.latest,
                                  generated_at=GENERATED, **kwargs)


class PageReader(HTMLParser):
    """Reads a page strictly: every element closes in order; keeps tags, attributes and text."""

    VOID: ClassVar[set[str]] = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.elements, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    @classmethod
    def read(cls, page: str) -> PageReader:
        reader = cls()
        reader.feed(page)
        reader.close()
        assert reader.errors == [] and reader.stack == [], (reader.errors, reader.stack)
        return reader

    def stage_shapes(self) -> list[dict]:
        return [attrs for tag, attrs in self.elements if tag == "g" and "stage-shape" in attrs.get("class", "").split()]


@pytest.fixture
def queue_page(store, tmp_path) -> str:
    info = _dataset(store, tmp_path, _review_queue_issues())
    return _report(info, Filters(all_types=True, labels=(MARKDOWN,)), link=LINK)


def test_the_report_is_one_well_formed_page_that_fetches_and_runs_nothing(queue_page):
    reader = PageReader.read(queue_page)
    tags = {tag for tag, _ in reader.elements}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link", "image", "use", "foreignobject", "form"}
    assert "<script" not in queue_page.lower()
    for tag, attrs in reader.elements:
        assert "src" not in attrs and "srcset" not in attrs and not any(name.startswith("on") for name in attrs)
        assert "href" not in attrs or (tag, attrs["href"]) == ("a", LINK)
    # The only web addresses are the given link and the Markdown text shown literally.
    rest = queue_page.replace(html.escape(LINK), "").replace(MARKDOWN, "")
    assert re.findall(r"https?://|//[a-z]", rest) == []
    assert re.findall(r"url\((?!#)|@import|@font-face", queue_page) == []


def test_names_from_jira_and_the_user_appear_literally(queue_page):
    assert html.escape(EVIL_NAME) in queue_page and EVIL_NAME not in queue_page
    assert html.escape(EVIL_STATUS) in queue_page
    text = "".join(PageReader.read(queue_page).text)
    assert EVIL_NAME in text and EVIL_STATUS in text
    assert f"Labels{MARKDOWN}" in text  # the label filter, as the header's row shows it


def test_the_review_queue_report_shows_the_hand_computed_figures(queue_page):
    reader = PageReader.read(queue_page)
    text = " ".join(reader.text)
    # Awaiting Review holds (11 x 120 + 121) / 12 = 120.08 h = 5.0 days of the flow time 10 x 123 + 2 x 126 = 1482 h:
    # 1441 / 1482 = 97%.
    assert "<h1>Awaiting Review costs 97% of lead time</h1>" in queue_page
    assert "<title>Awaiting Review costs 97% of lead time</title>" in queue_page
    # Lead times 123 h (x10) and 126 h (x2): median 123 h = 5.1 days; p85 at rank 0.85 x 11 = 9.35: 123 + 0.35 x 3 =
    # 124.05 h = 5.2 days. Cycle times 122 h (x10) and 125 h (x2): median 5.1 days.
    assert "5.1 days" in text and "median; p85 5.2 days" in text
    assert re.search(r"<td>1</td><td>Awaiting Review</td><td>queue</td><td>5\.0 ", queue_page)
    # 12 delivered; R-13, waiting 1868 h, is the one item in process and past the queue's p85.
    assert '<div class="label">Delivered items</div><div class="value">12</div>' in queue_page
    assert '<div class="value">1</div><div class="note">1 at risk' in queue_page
    assert "\u21ba 1 move back" in text  # R-2 sent back from review once
    assert "Set a review SLA for Awaiting Review" in text
    assert "Generated at 2025-06-30 17:00 UTC" in text and "linear" in text and "calendar time" in text


def test_the_map_has_one_shape_per_committed_stage_and_marks_the_queue(queue_page):
    reader = PageReader.read(queue_page)
    assert sum(tag == "svg" for tag, _ in reader.elements) == 1
    shapes = reader.stage_shapes()
    assert [s["data-stage"] for s in shapes] == COMMITTED  # map order; side states after the line
    assert [s["class"].split()[1] for s in shapes] == ["stage-active", "stage-wait", "stage-active", "stage-side"]
    assert [s["data-stage"] for s in shapes if "worst" in s["class"].split()] == ["Awaiting Review"]
    assert {"polygon", "rect", "path"} <= {tag for tag, _ in reader.elements}


def test_key_figures_match_the_hand_count(store, tmp_path):
    info = _dataset(store, tmp_path, _review_queue_issues())
    with open_flow(info, map_id=STAGES.version_id, filters=Filters(all_types=True)) as flow:
        figures = key_figures(flow, DecisionInputs(flow))
    assert (figures.delivered, figures.cancelled, figures.wip_now, figures.at_risk_now) == (12, 0, 1, 1)
    assert figures.lead_median_days == pytest.approx(123 / 24)
    assert figures.lead_p85_days == pytest.approx(124.05 / 24)
    assert figures.cycle_median_days == pytest.approx(122 / 24)
    # Process hours: 2 per plain item, 3 for R-1 (two runs in progress), 4 for R-2: 27. Wait: 1200 + 122 (R-1:
    # 120 queue + 2 blocked) + 121: 1443. Ratio of sums 27 / 1470; activity ratio 27 / 1482 (lead time).
    assert figures.efficiency_of_sums == pytest.approx(27 / 1470)
    assert figures.efficiency_median == pytest.approx(2 / 122)
    assert figures.activity_ratio == pytest.approx(27 / 1482)
    # Forward departures from In Progress: 10 + 1 (R-1) + 2 (R-2) + 1 (R-13) = 14, one of them (R-2's first) comes
    # back; review: 12, none back. Rolled: 13/14 x 1.
    assert figures.rolled_complete_accurate == pytest.approx(13 / 14)


def test_an_even_flow_is_titled_no_stage_stands_out(store, tmp_path):
    # Every stage takes 4 hours for 20 items: nothing stands out and no change is promised.
    path = [("In Progress", 4), ("Awaiting Review", 4), (EVIL_STATUS, 4), ("Done", 4)]
    info = _dataset(store, tmp_path, [_item(n, path, offset=n * 10) for n in range(1, 21)], name="Even team")
    page = _report(info, Filters())
    reader = PageReader.read(page)
    assert "<h1>No stage stands out</h1>" in page
    assert not any("worst" in s["class"].split() for s in reader.stage_shapes())
    text = " ".join(reader.text)
    assert "default scope: all types but epics and sub-tasks" in text
    assert "No change is recommended" in text
    assert "Link" not in [t.strip() for t in reader.text]


def test_three_items_are_too_few_for_a_title_that_names_a_stage(store, tmp_path):
    info = _dataset(store, tmp_path, _review_queue_issues()[:3])
    page = _report(info, Filters(all_types=True))
    assert "<h1>Too few delivered items (3) to name a bottleneck</h1>" in page


def test_a_link_that_is_not_a_web_address_is_refused(store, tmp_path):
    info = _dataset(store, tmp_path, _review_queue_issues()[:3])
    with pytest.raises(ValueError, match="must start with http"):
        _report(info, Filters(all_types=True), link="javascript:alert(1)")


def test_the_same_view_gives_the_same_page(store, tmp_path):
    info = _dataset(store, tmp_path, _review_queue_issues())
    assert _report(info, Filters(all_types=True)) == _report(info, Filters(all_types=True))


# ------------------------------------------------------------------ CSV

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=2"]


def _read(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False)


def test_formula_cells_are_neutralised_and_read_back_as_text():
    frame = pd.DataFrame({"summary": FORMULAS + ["Plain text, with a comma", "Ça marche"]})
    data = safe_csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(_read(data)["summary"]) == ["'" + f for f in FORMULAS] + ["Plain text, with a comma", "Ça marche"]


def test_real_numbers_stay_numbers_and_numbers_stored_as_text_are_text():
    frame = pd.DataFrame({"hours": [-2.5, 3.0], "items": [-4, 7], "as_text": ["-4", "7"],
                          "done": [True, False], "key": ["A-1", "A-2"]}).astype({"as_text": object})
    back = _read(safe_csv_bytes(frame))
    assert list(back["hours"]) == [-2.5, 3.0] and list(back["items"]) == [-4, 7]
    assert list(back["as_text"]) == ["'-4", "7"]
    assert list(back["done"]) == [True, False] and list(back["key"]) == ["A-1", "A-2"]


def test_lists_are_joined_then_neutralised_and_column_names_too():
    frame = pd.DataFrame({"=cmd|' /C calc'!A0": [1, 2], "labels": [["=1+1", "b"], ["a", "b"]],
                          "plain": pd.array(["@x", None], dtype="string")})
    back = _read(safe_csv_bytes(frame))
    assert list(back.columns) == ["'=cmd|' /C calc'!A0", "labels", "plain"]
    assert list(back["labels"]) == ["'=1+1, b", "a, b"]
    assert list(back["plain"]) == ["'@x", ""]


def test_a_named_index_is_kept_as_a_column():
    frame = pd.DataFrame({"hours": [1.0]}, index=pd.Index(["=evil"], name="stage"))
    back = _read(safe_csv_bytes(frame))
    assert list(back.columns) == ["stage", "hours"] and back["stage"][0] == "'=evil"
