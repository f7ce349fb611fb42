"""The report for leaders: one self-contained HTML page built from a prepared ``Flow``.

The page holds everything it shows: inline CSS, the value stream map as inline SVG, no
script, no external font, image, style sheet or link except the optional link back to the
dashboard view. It opens offline, can be mailed as one file, and prints on A4. A Content
Security Policy in the page forbids scripts and fetches as a second guard.

Decisions (the README quotes them):

* **Everything from Jira or the user is escaped** (``html.escape``): the dataset name, stage and
  status names, keys, filter values, and the sentences of the decision layer that quote them.
  Such text appears literally; it never becomes markup, and a Markdown image such as
  ``![x](http://evil/x.png)`` stays text (the page is HTML, never rendered as Markdown).
* **The link** must be an absolute ``http://`` or ``https://`` address (anything else, such as
  ``javascript:``, is refused with a ValueError).
* **Title.** ``<stage> costs N% of lead time`` for the highest-ranked stage that stands out
  (``decisions.bottlenecks.rank_bottlenecks``), N being its share of the delivered items' flow
  time; ``No stage stands out`` when the ranking flags nothing; when too few items were
  delivered to call a bottleneck (fewer than ``bottlenecks.MIN_ITEMS``), or none, the title says so.
* **Key figures**: delivered items (cancelled apart), lead time median and p85, cycle time
  median and p85 (days), flow efficiency as the ratio of sums and the median of per-item
  ratios, activity ratio, rolled %C&A, and work in process now (unfinished committed items in
  the view) with how many are past their stage's p85 age (at risk).
* **The map** draws the committed stages (wait and active) left to right in map order: a
  process box for an active stage, a queue triangle for a wait stage, side states in a row
  below the line. Under each shape a data box gives its median and p85 time per visiting item,
  the items that visited it (and the %C&A of a process step) and the items there now. Rework
  loops between stages on the line are arcs going back with their move counts; loops from or
  to a stage not on the line (backlog, done) are listed under the map. The worst stage (the
  title's stage) has a thick outline and a "BOTTLENECK" label. The legend is part of the
  drawing, so the map's height is known in advance (``map_height``): the dashboard sizes its
  frame with it.
* **Hover**: every stage, arc, ladder step and total carries an SVG ``<title>`` with its
  figures in words (the browser shows it as a tooltip; screen readers read it).
* **Links**: the dashboard may give each stage a link (``stage_href``) to its drill-down. The
  dashboard's frame may not navigate the page around it (its sandbox has no
  ``allow-top-navigation``), so such a link opens in a new tab; the report has none.
* **The lead-time ladder** under the map shows each stage's days of lead time (mean days per
  delivered item, the additive figure the ranking uses): wait stages above, active stages
  below, their sums, then the totals: lead time, process time, activity ratio, flow
  efficiency and rolled %C&A. Side states count as wait in the sums. The ladder counts a stage
  by its kind, so flagged time inside an active stage sits on the working side there, while
  the flow efficiency figures count it as wait (field guide, section 2).
* **Colours** are ``vsm_core.charts.KIND_COLOURS`` (Okabe-Ito, safe for colour-blind readers),
  the same as on every chart: blue for active, orange for wait, reddish purple for side states,
  vermillion for the bottleneck. Shapes and text labels (WORK, QUEUE, SIDE, BOTTLENECK) carry
  the same meaning, so colour is never the only cue. The dashboard's map document follows its
  light or dark theme (``themed``; else the reader's system setting); the report is always light.
* **Lists are short**: the top ``TOP_STAGES`` ranked stages, ``TOP_LOOPS`` rework arcs and the
  recommended changes (at most ``levers.LIMIT``).
* **Numbers**: days with one decimal, ratios as whole percents, counts with thousands
  separators; a figure that cannot be computed shows "n/a". Times are shown in UTC.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from vsm_core.charts import ALERT_COLOUR, KIND_COLOURS
from vsm_core.decisions.bottlenecks import (
    Bottleneck,
    BottleneckReport,
    rank_bottlenecks,
)
from vsm_core.decisions.inputs import DecisionInputs
from vsm_core.decisions.levers import Change, recommend_changes
from vsm_core.metrics import Filters, Flow, measures

TOP_STAGES = 5
TOP_LOOPS = 6
NAME_CHARS = 19  # longer names are cut on the map (the full name is in the shape's tooltip and the tables)

# One palette with the charts (vsm_core.charts): the outlines; the light fills are in the style.
WAIT_COLOUR, ACTIVE_COLOUR, SIDE_COLOUR = KIND_COLOURS["wait"], KIND_COLOURS["active"], KIND_COLOURS["side"]
WORST_COLOUR = ALERT_COLOUR

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'"


def _e(text) -> str:
    """Text from Jira or the user, made safe for HTML and SVG (content and attributes)."""
    return html.escape(str(text), quote=True)


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _days_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} days"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


# ------------------------------------------------------------------ gathering


@dataclass(frozen=True)
class KeyFigures:
    """The headline numbers of a view (days are days of the flow's clock)."""

    delivered: int
    cancelled: int
    lead_median_days: float | None
    lead_p85_days: float | None
    cycle_median_days: float | None
    cycle_p85_days: float | None
    efficiency_of_sums: float | None
    efficiency_median: float | None
    activity_ratio: float | None
    rolled_complete_accurate: float | None
    wip_now: int
    at_risk_now: int


def key_figures(flow: Flow, inputs: DecisionInputs) -> KeyFigures:
    """The key figures from the existing measures (distributions, flow efficiency, %C&A,
    ageing, finished items)."""
    dist = inputs.distributions

    def day(measure: str, column: str) -> float | None:
        value = _number(dist.loc[measure, column]) if measure in dist.index else None
        return None if value is None else value / 24.0

    efficiency = measures.flow_efficiency(flow)
    finished = measures.finished_items(flow)
    ageing = inputs.ageing
    return KeyFigures(
        delivered=int(dist.loc["lead_time", "items"]) if "lead_time" in dist.index else 0,
        cancelled=int(finished["cancelled"].fillna(False).astype(bool).sum()),
        lead_median_days=day("lead_time", "median_hours"), lead_p85_days=day("lead_time", "p85_hours"),
        cycle_median_days=day("cycle_time", "median_hours"), cycle_p85_days=day("cycle_time", "p85_hours"),
        efficiency_of_sums=_number(efficiency.get("ratio_of_sums")),
        efficiency_median=_number(efficiency.get("median_of_ratios")),
        activity_ratio=_number(efficiency.get("activity_ratio")),
        rolled_complete_accurate=_number(measures.complete_and_accurate(flow)[1]),
        wip_now=len(ageing), at_risk_now=int(ageing["at_risk"].fillna(False).astype(bool).sum()) if len(ageing) else 0,
    )


def describe_filters(filters: Filters) -> list[tuple[str, str]]:
    """The filters in words, as (what, value) pairs for the report's header."""
    window = "all dates"
    if filters.start or filters.end:
        window = (f"{filters.start.isoformat() if filters.start else 'the first day'} to "
                  f"{filters.end.isoformat() if filters.end else 'the as-of day'}")
    if filters.issue_types:
        types = ", ".join(filters.issue_types)
    elif filters.all_types:
        types = "all types"
    else:
        types = "default scope: all types but epics and sub-tasks"
    rows = [("Date window", window), ("Issue types", types)]
    for label, values in (("Projects", filters.projects), ("Labels", filters.labels),
                          ("Components", filters.components), ("Parents", filters.parents)):
        rows.append((label, ", ".join(values) if values else "all"))
    return rows


# ------------------------------------------------------------------ the page


def leader_report_html(flow: Flow, *, dataset_name: str, dataset_id: str, version: int, link: str | None = None,
                       generated_at: datetime | None = None) -> str:
    """The leader report of ``flow`` as one self-contained HTML page (see the module docstring).

    ValueError when ``link`` is not an http(s) address."""
    if link is not None and not link.lower().startswith(("http://", "https://")):
        raise ValueError("The report link must start with http:// or https://; give the dashboard address of this view.")
    generated_at = generated_at or datetime.now(UTC)
    inputs = DecisionInputs(flow)
    ranking = rank_bottlenecks(flow, inputs=inputs)
    changes = recommend_changes(flow, inputs=inputs)
    figures = key_figures(flow, inputs)
    title = ranking.title
    worst = ranking.worst
    body = "\n".join((
        _header_html(flow, title, dataset_name, dataset_id, version, link),
        _figures_html(figures),
        _map_section_html(flow, inputs, worst.stage if worst else None, figures),
        _bottlenecks_html(ranking),
        _changes_html(changes),
        _footer_html(flow, generated_at),
    ))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _header_html(flow: Flow, title: str, dataset_name: str, dataset_id: str, version: int, link: str | None) -> str:
    rows = [("Dataset", f"{dataset_name} ({dataset_id}), data version {version}"), ("As of", _utc(flow.as_of)),
            ("Clock", flow.clock.label), *describe_filters(flow.filters), ("Stage map", flow.stage_map.version_id)]
    cells = "".join(f"<tr><th>{_e(what)}</th><td>{_e(value)}</td></tr>" for what, value in rows)
    if link is not None:
        cells += f'<tr><th>Link</th><td><a href="{_e(link)}">{_e(link)}</a></td></tr>'
    return (f'<header>\n<p class="kicker">Value stream report</p>\n<h1>{_e(title)}</h1>\n'
            f'<table class="scope">{cells}</table>\n</header>')


def _figures_html(f: KeyFigures) -> str:
    cards = [
        ("Delivered items", f"{f.delivered:,}", f"{f.cancelled:,} cancelled, counted apart"),
        ("Lead time", _days_text(f.lead_median_days), f"median; p85 {_days_text(f.lead_p85_days)}"),
        ("Cycle time", _days_text(f.cycle_median_days), f"median; p85 {_days_text(f.cycle_p85_days)}"),
        ("Flow efficiency", _pct(f.efficiency_of_sums),
         f"all work together (ratio of sums); {_pct(f.efficiency_median)} for the median item"),
        ("Activity ratio", _pct(f.activity_ratio), "working time over lead time"),
        ("Rolled %C&A", _pct(f.rolled_complete_accurate), "share passing every active stage without coming back"),
        ("Work in process now", f"{f.wip_now:,}", f"{f.at_risk_now:,} at risk (older than their stage's p85)"),
    ]
    items = "".join(f'<div class="card"><div class="label">{_e(label)}</div><div class="value">{_e(value)}</div>'
                    f'<div class="note">{_e(note)}</div></div>' for label, value, note in cards)
    return f'<section>\n<h2>Key figures</h2>\n<div class="cards">{items}</div>\n</section>'


@dataclass(frozen=True)
class MapDocument:
    """The value stream map as a small document for a frame, and the frame height (pixels) that
    shows it whole: the map's own height plus room for a horizontal scroll bar."""

    html: str
    height: int


FRAME_ROOM = 20  # below the map: a horizontal scroll bar when the frame is narrower than the map


def value_stream_map(flow: Flow, inputs: DecisionInputs | None = None, *, worst: str | None = None,
                     figures: KeyFigures | None = None, stage_href: Callable[[str], str] | None = None) -> MapDocument:
    """The value stream map alone (legend, stages, loops, ladder and totals in one SVG) as a small
    document with its style and the same no-script Content-Security-Policy as the report, for the
    dashboard to show in a frame. ``worst`` is the stage to mark (the dashboard passes the one its
    cached ranking found, so the ranking is not run again); ``figures`` spares computing the key
    figures twice; ``stage_href(stage)`` gives each stage a link (relative, or http/https),
    opened in a new tab: a frame may not navigate the page around it. The document's theme
    follows the reader's system until ``themed`` sets it."""
    inputs = inputs or DecisionInputs(flow)
    svg, height = _map_svg(flow, inputs, worst, figures, stage_href)
    html_text = (f'<!DOCTYPE html>\n<html lang="en" class="auto">\n<head>\n<meta charset="utf-8">\n'
                 f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n<style>{STYLE}</style>\n</head>\n'
                 f'<body class="frame">\n{svg}\n</body>\n</html>\n')
    return MapDocument(html_text, height + FRAME_ROOM)


def value_stream_map_html(flow: Flow, inputs: DecisionInputs | None = None, *, worst: str | None = None,
                          figures: KeyFigures | None = None, stage_href: Callable[[str], str] | None = None) -> str:
    """``value_stream_map``'s document alone (it works offline: links are optional)."""
    return value_stream_map(flow, inputs, worst=worst, figures=figures, stage_href=stage_href).html


def themed(document: str, theme: str | None) -> str:
    """A map document from ``value_stream_map`` drawn in the dashboard's theme ("light" or
    "dark"); any other value keeps the reader's system setting."""
    if theme not in ("light", "dark"):
        return document
    return document.replace('<html lang="en" class="auto">', f'<html lang="en" class="{theme}">', 1)


def _map_svg(flow: Flow, inputs: DecisionInputs, worst: str | None, figures: KeyFigures | None,
             stage_href: Callable[[str], str] | None) -> tuple[str, int]:
    stages = _map_stages(flow, inputs.stage_table, inputs.complete_and_accurate)
    loops = inputs.loops
    on_line = {s.name for s in stages if not s.side}
    drawn = loops[loops["from_stage"].isin(on_line) & loops["to_stage"].isin(on_line)].head(TOP_LOOPS)
    others = loops.drop(drawn.index).head(TOP_LOOPS)
    figures = figures or key_figures(flow, inputs)
    hrefs = None
    if stage_href is not None:
        hrefs = {s.name: _checked_href(stage_href(s.name)) for s in stages}
    return value_stream_svg(stages, drawn, worst, figures=figures, other_loops=others, hrefs=hrefs)


def _checked_href(href: str) -> str:
    """A stage link: relative (no scheme) or http/https; anything else (javascript:...) is refused."""
    head = href.split("?", 1)[0].split("#", 1)[0].split("/", 1)[0]
    if ":" in head and not href.lower().startswith(("http://", "https://")):
        raise ValueError(f"A stage link must be relative or start with http:// or https://, not {href[:40]!r}.")
    return href


def _map_section_html(flow: Flow, inputs: DecisionInputs, worst: str | None, figures: KeyFigures | None = None) -> str:
    svg, _ = _map_svg(flow, inputs, worst, figures, None)
    return f'<section class="map">\n<h2>The value stream</h2>\n{svg}\n</section>'


def _bottlenecks_html(report: BottleneckReport) -> str:
    rows = "".join(
        f"<tr{_FLAG if s.stands_out else ''}><td>{s.rank}</td><td>{_e(s.stage)}</td><td>{_e(_kind_word(s))}</td>"
        f"<td>{_days(s.days_of_lead_time)} <span class=\"small\">({_days(s.ci_low_days)} to {_days(s.ci_high_days)})</span></td>"
        f"<td>{_pct(s.share_of_lead_time)}</td><td>{'yes' if s.stands_out else 'no'}</td><td>{_e(s.why)}</td></tr>"
        for s in report.stages[:TOP_STAGES])
    table = ("<table class=\"grid\"><thead><tr><th>Rank</th><th>Stage</th><th>Kind</th>"
             "<th>Days of lead time (90% interval)</th><th>Share</th><th>Stands out</th><th>Why</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>") if report.stages else "<p>No committed stage to rank.</p>"
    b = report.backlog
    backlog = ""
    if b.get("stages"):
        backlog = (f"<p><strong>Before work starts</strong> (reported apart: backlog is options, not work in process): "
                   f"items wait a median {_days(b.get('median_days_before_start'))} days "
                   f"(p85 {_days(b.get('p85_days_before_start'))}) in {_e(', '.join(b['stages']))}, "
                   f"{_days(b.get('days_of_lead_time'))} days of lead time on average.</p>")
    return (f"<section>\n<h2>Where value gets stuck</h2>\n<p class=\"summary\">{_e(report.summary)}</p>\n{table}\n"
            f"{backlog}\n</section>")


_FLAG = ' class="flag"'


def _kind_word(stage: Bottleneck) -> str:
    return "side state" if stage.side else ("queue" if stage.kind == "wait" else "work")


def _changes_html(changes: list[Change]) -> str:
    if not changes:
        return ("<section>\n<h2>What to change first</h2>\n<p>No change is recommended: no signal is strong enough "
                "to promise a gain on this flow.</p>\n</section>")
    items = "".join(
        f"<li class=\"change\"><h3>{_e(c.title)}</h3>"
        f"<p class=\"saving\">Would have saved {_days(c.expected_days_saved_median)} days at the median and "
        f"{_days(c.expected_days_saved_p85)} days at the p85 of lead time.</p>"
        f"<dl><dt>Lever</dt><dd>{_e(c.lever)} on {_e(c.stage)}</dd><dt>Effort</dt><dd>{_e(c.effort)}</dd>"
        f"<dt>Confidence</dt><dd>{_e(c.confidence)} ({c.items_affected:,} items affected)</dd>"
        f"<dt>Evidence</dt><dd>{_e(c.evidence)}</dd><dt>Replay rule</dt><dd>{_e(c.replay_rule)}</dd>"
        f"<dt>Example items</dt><dd>{_e(', '.join(c.evidence_items) or 'none')}</dd></dl></li>"
        for c in changes)
    return f"<section>\n<h2>What to change first</h2>\n<ol class=\"changes\">{items}</ol>\n</section>"


def _footer_html(flow: Flow, generated_at: datetime) -> str:
    return ("<footer>\n"
            f"<p>How times are counted: {_e(flow.clock.label)}; a day is 24 hours of that clock. Lead time runs from "
            "creation to the final entry into a done stage; cycle time and flow efficiency start at the first entry "
            "into a committed stage. Percentiles (median = p50, p85) interpolate linearly between closest ranks. "
            "Days of lead time are mean days per delivered item, so the stages add up to the mean flow time.</p>\n"
            f"<p>Generated at {_e(_utc(generated_at))}.</p>\n</footer>")


# ------------------------------------------------------------------ the map


@dataclass(frozen=True)
class MapStage:
    """One committed stage as the map draws it (hours and days of the flow's clock)."""

    name: str
    kind: str  # "wait" | "active"
    side: bool
    days_of_lead_time: float
    median_days: float | None
    p85_days: float | None
    items_now: int
    items: int = 0  # items that visited the stage in the view
    share_of_lead_time: float | None = None
    complete_accurate: float | None = None  # %C&A of the stage (stages on the line only)


def _map_stages(flow: Flow, stage_table: pd.DataFrame, complete_accurate: pd.DataFrame | None = None) -> list[MapStage]:
    """The committed stages in map order, from ``measures.stage_times`` and the %C&A table."""
    rows = {row["stage"]: row for row in stage_table.to_dict("records")}
    ca = {}
    if complete_accurate is not None:
        ca = {row["stage"]: _number(row["pct_complete_accurate"]) for row in complete_accurate.to_dict("records")}
    stages = []
    for stage in flow.stage_map.stages:
        if stage.kind not in ("wait", "active"):
            continue
        row = rows.get(stage.name, {})
        median, p85 = _number(row.get("median_hours")), _number(row.get("p85_hours"))
        stages.append(MapStage(
            name=stage.name, kind=stage.kind, side=stage.side,
            days_of_lead_time=_number(row.get("days_of_lead_time")) or 0.0,
            median_days=None if median is None else median / 24.0, p85_days=None if p85 is None else p85 / 24.0,
            items_now=int(_number(row.get("items_now")) or 0), items=int(_number(row.get("items")) or 0),
            share_of_lead_time=_number(row.get("share_of_lead_time")), complete_accurate=ca.get(stage.name),
        ))
    return stages


COLUMN = 140  # width of one stage on the map
MARGIN = 20
TOTALS_COLUMN = 250  # the totals under the ladder: three to a row
MIN_WIDTH = 2 * MARGIN + 3 * TOTALS_COLUMN  # room for the legend and the totals
LEGEND = 34
ROW = 170  # height of the line of stages (shape, name, data box, bottleneck label)
SIDE_ROW = 22 + ROW  # a caption line, then the side states
LADDER = 150  # the ladder (100) and the totals under it (50)
NOTE_LINE = 16  # one line of the list of other rework loops
LOOP_LEVEL = 30  # each rework arc peaks this much above the one under it


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "\u2026"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _arcs_height(loop_levels: int) -> int:
    return 28 + LOOP_LEVEL * loop_levels if loop_levels else 16


def map_height(loop_levels: int, has_side: bool = False, other_loops: int = 0) -> int:
    """The map's height in pixels: the legend, one level of arcs per rework loop drawn, the line of
    stages, the row of side states if any, the ladder with the totals, and the list of other loops."""
    notes = NOTE_LINE * (other_loops + 1) + 6 if other_loops else 0
    return LEGEND + _arcs_height(loop_levels) + ROW + (SIDE_ROW if has_side else 0) + LADDER + notes


def stage_summary(s: MapStage, worst: str | None = None) -> str:
    """A stage's figures in words (the shape's tooltip)."""
    kind = "side state" if s.side else ("wait" if s.kind == "wait" else "process")
    parts = [f"{s.name} ({kind}): {_count(s.items_now, 'item')} there now",
             f"median {_days(s.median_days)} d, p85 {_days(s.p85_days)} d per item",
             f"{_count(s.items, 'item')} in this view", f"{_pct(s.share_of_lead_time)} of lead time"]
    if s.kind == "active" and not s.side:
        parts.append(f"{_pct(s.complete_accurate)} complete and accurate")
    if s.name == worst:
        parts.append("the bottleneck")
    return "; ".join(parts)


def value_stream_svg(stages: list[MapStage], loops: pd.DataFrame, worst: str | None, *, figures: KeyFigures | None = None,
                     other_loops: pd.DataFrame | None = None, hrefs: dict[str, str] | None = None) -> tuple[str, int]:
    """The map as inline SVG and its height: the legend, the line of committed stages with their
    data boxes, rework arcs above it, side states below it, the lead-time ladder ending in the
    totals, and the rework loops that cannot be drawn (see the module docstring)."""
    line = [s for s in stages if not s.side]
    side = [s for s in stages if s.side]
    others = other_loops if other_loops is not None else loops.iloc[0:0]
    position = {s.name: i for i, s in enumerate(line)}
    top = LEGEND + _arcs_height(len(loops))
    side_top = top + ROW
    ladder_top = side_top + (SIDE_ROW if side else 0)
    width = max(2 * MARGIN + max(len(line), len(side), 1) * COLUMN, MIN_WIDTH)
    height = map_height(len(loops), bool(side), len(others))
    hrefs = hrefs or {}
    parts = [_legend(), _arrows(line, top)]
    parts += [_arc(level, r, position, top) for level, r in enumerate(loops.itertuples())]
    parts += [_stage_shape(s, MARGIN + i * COLUMN, top, worst, hrefs.get(s.name)) for i, s in enumerate(line)]
    if side:
        parts.append(f'<text x="{MARGIN}" y="{side_top + 14}" class="t-small">Side states: items step off the line '
                     "and come back</text>")
        parts += [_stage_shape(s, MARGIN + i * COLUMN, side_top + 22, worst, hrefs.get(s.name)) for i, s in enumerate(side)]
    parts.append(_ladder(line, side, ladder_top, figures))
    parts.append(_other_loops(others, ladder_top + LADDER))
    description = "; ".join(stage_summary(s, worst) for s in stages)
    svg = (f'<svg class="vsm" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-labelledby="vsm-title vsm-desc" preserveAspectRatio="xMinYMin meet">'
           f'<title id="vsm-title">Value stream map</title><desc id="vsm-desc">{_e(description)}</desc>'
           f"{_DEFS}{''.join(parts)}</svg>")
    return svg, height


_DEFS = ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
         'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"/></marker></defs>')


def _legend() -> str:
    """Shape, colour and word for each kind of stage, so colour is never the only cue."""
    y = 18
    items = [
        (f'<rect x="0" y="{y - 9}" width="18" height="13" class="fill-active" stroke="{ACTIVE_COLOUR}" stroke-width="2"/>',
         "WORK", "process step: someone works on it"),
        (f'<polygon points="9,{y - 10} 0,{y + 4} 18,{y + 4}" class="fill-wait" stroke="{WAIT_COLOUR}" stroke-width="2"/>',
         "QUEUE", "wait stage"),
        ((f'<rect x="0" y="{y - 9}" width="18" height="13" rx="4" class="fill-side" stroke="{SIDE_COLOUR}" '
          'stroke-width="2" stroke-dasharray="4 3"/>'), "SIDE", "side state"),
        (f'<rect x="0" y="{y - 9}" width="18" height="13" class="fill-none" stroke="{WORST_COLOUR}" stroke-width="4"/>',
         "BOTTLENECK", "the stage that stands out"),
    ]
    parts, x = [], MARGIN
    for icon, tag, words in items:
        parts.append(f'<g class="legend" transform="translate({x},0)">{icon}<text x="24" y="{y + 3}" class="t-small">'
                     f'<tspan class="t-tag">{tag}</tspan> {words}</text></g>')
        x += 36 + 6 * (len(tag) + len(words) + 1)
    return "".join(parts)


def _arrows(line: list[MapStage], top: int) -> str:
    y = top + 34
    return "".join(f'<line x1="{MARGIN + i * COLUMN + COLUMN - 22}" y1="{y}" x2="{MARGIN + (i + 1) * COLUMN + 20}" '
                   f'y2="{y}" class="flowline" marker-end="url(#arrow)"/>' for i in range(len(line) - 1))


def _arc(level: int, loop, position: dict[str, int], top: int) -> str:
    """A rework loop: an arc from the later stage back to the earlier one, with its count."""
    x_from = MARGIN + position[loop.from_stage] * COLUMN + COLUMN / 2 + 8
    x_to = MARGIN + position[loop.to_stage] * COLUMN + COLUMN / 2 - 8
    y = top - 2
    peak = top - 24 - LOOP_LEVEL * level
    apex = y + 0.75 * (peak - y)  # the highest point of the cubic curve below
    moves = int(loop.moves)
    label = f"{moves:,} move{'s' if moves != 1 else ''} back"
    items = int(getattr(loop, "items", 0) or 0)
    return (f'<g class="rework"><title>{_e(loop.from_stage)} sends work back to {_e(loop.to_stage)}: {_e(label)} '
            f"({_count(items, 'item')})</title>"
            f'<path d="M {x_from:.0f} {y} C {x_from:.0f} {peak} {x_to:.0f} {peak} {x_to:.0f} {y}" '
            f'class="arc" marker-end="url(#arrow)"/><text x="{(x_from + x_to) / 2:.0f}" y="{apex - 4:.0f}" '
            f'class="t-small arc-label" text-anchor="middle">\u21ba {_e(label)}</text></g>')


def _data_lines(s: MapStage) -> list[str]:
    """The data box under a stage: time per item, items and %C&A, items there now."""
    items = _count(s.items, "item")
    if s.kind == "active" and not s.side:
        items += f" \u00b7 %C&A {_pct(s.complete_accurate)}"
    now = f"{s.items_now:,} waiting now" if s.kind == "wait" and not s.side else f"{s.items_now:,} there now"
    return [f"median {_days(s.median_days)} \u00b7 p85 {_days(s.p85_days)} d", items, now]


def _stage_shape(s: MapStage, x: float, top: float, worst: str | None, href: str | None = None) -> str:
    """A process box (active), a queue triangle (wait) or a dashed box (side state), with the
    stage's name and its data box; the tooltip holds its figures in words."""
    cx = x + COLUMN / 2
    is_worst = s.name == worst
    stroke = WORST_COLOUR if is_worst else (SIDE_COLOUR if s.side else WAIT_COLOUR if s.kind == "wait" else ACTIVE_COLOUR)
    width = 4 if is_worst else 2
    kind = "side" if s.side else s.kind
    if s.side:
        shape = (f'<rect x="{x + 22}" y="{top + 4}" width="{COLUMN - 44}" height="60" rx="10" class="fill-side" '
                 f'stroke="{stroke}" stroke-width="{width}" stroke-dasharray="6 4"/>')
        tag = "SIDE"
    elif s.kind == "wait":
        shape = (f'<polygon points="{cx},{top + 2} {cx - 40},{top + 66} {cx + 40},{top + 66}" class="fill-wait" '
                 f'stroke="{stroke}" stroke-width="{width}"/>')
        tag = "QUEUE"
    else:
        shape = (f'<rect x="{x + 22}" y="{top + 4}" width="{COLUMN - 44}" height="60" class="fill-active" '
                 f'stroke="{stroke}" stroke-width="{width}"/>')
        tag = "WORK"
    tag_y = top + 54 if s.kind == "wait" and not s.side else top + 38
    lines = _data_lines(s)
    box = (f'<rect x="{x + 4}" y="{top + 90}" width="{COLUMN - 8}" height="50" class="databox"/>'
           + "".join(f'<text x="{cx}" y="{top + 104 + 14 * n}" text-anchor="middle" class="t-small{" t-now" if n == 2 else ""}">'
                     f"{_e(text)}</text>" for n, text in enumerate(lines)))
    badge = f'<text x="{cx}" y="{top + 160}" text-anchor="middle" class="t-worst">BOTTLENECK</text>' if is_worst else ""
    summary = stage_summary(s, worst) + (". Click to open its details in a new tab." if href else "")
    body = (f"{badge}{shape}"
            f'<text x="{cx}" y="{tag_y}" text-anchor="middle" class="t-tag">{tag}</text>'
            f'<text x="{cx}" y="{top + 82}" text-anchor="middle" class="t-name">{_e(_short(s.name))}</text>{box}')
    if href is not None:
        body = f'<a href="{_e(href)}" target="_blank" rel="noopener noreferrer" class="stage-link">{body}</a>'
    return (f'<g class="stage-shape stage-{kind}{" worst" if is_worst else ""}" data-stage="{_e(s.name)}">'
            f"<title>{_e(summary)}</title>{body}</g>")


def _ladder(line: list[MapStage], side: list[MapStage], top: float, figures: KeyFigures | None) -> str:
    """The lead-time ladder: wait days up, process days down, then the totals."""
    up, down = top + 40, top + 78
    parts = [(f'<text x="{MARGIN}" y="{top + 14}" class="t-small">Lead-time ladder: mean days per delivered item, '
              "waiting above the line, working below</text>")]
    previous_y = None
    for i, s in enumerate(line):
        x0, x1 = MARGIN + i * COLUMN, MARGIN + (i + 1) * COLUMN
        y = up if s.kind == "wait" else down
        if previous_y is not None and previous_y != y:
            parts.append(f'<line x1="{x0}" y1="{previous_y}" x2="{x0}" y2="{y}" class="ladder"/>')
        waiting = s.kind == "wait"
        label_y = y - 6 if waiting else y + 16
        tip = (f"{s.name}: {s.days_of_lead_time:.1f} d of {'waiting' if waiting else 'work'} per delivered item, "
               f"{_pct(s.share_of_lead_time)} of lead time")
        parts.append(f'<g class="ladder-step"><title>{_e(tip)}</title>'
                     f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" class="ladder {"ladder-wait" if waiting else "ladder-work"}"/>'
                     f'<text x="{(x0 + x1) / 2}" y="{label_y}" text-anchor="middle" class="t-small">'
                     f"{s.days_of_lead_time:.1f} d {'wait' if waiting else 'work'}</text></g>")
        previous_y = y
    side_days = sum(s.days_of_lead_time for s in side)
    wait_days = sum(s.days_of_lead_time for s in line if s.kind == "wait") + side_days
    work_days = sum(s.days_of_lead_time for s in line if s.kind == "active")
    parts.append(_totals(figures, wait_days, work_days, side_days if side else None, top + 114))
    return "".join(parts)


def _totals(f: KeyFigures | None, wait_days: float, work_days: float, side_days: float | None, y: float) -> str:
    """The totals the ladder ends in: lead time, the ladder's waiting and working sums (process
    time), activity ratio, flow efficiency and rolled %C&A, each with its definition as a tooltip."""
    side = f" ({side_days:.1f} d in side states)" if side_days is not None else ""
    cells = [
        ("Waiting", f"{wait_days:.1f} d",
         f"Waiting: mean days per delivered item in queues{side}: the ladder's upper steps added up"),
        ("Process time", f"{work_days:.1f} d",
         "Process time: mean days per delivered item in process steps: the ladder's lower steps added up"),
    ]
    if f is not None:
        cells = [
            ("Lead time", f"{_days(f.lead_median_days)} d median",
             (f"Lead time: from creation to done over the delivered items: median {_days(f.lead_median_days)} d, "
              f"p85 {_days(f.lead_p85_days)} d")),
            *cells,
            ("Activity ratio", _pct(f.activity_ratio), "Activity ratio: process time over lead time, all delivered items together"),
            ("Flow efficiency", _pct(f.efficiency_of_sums),
             ("Flow efficiency: working time over working and waiting time from the start of work (ratio of sums); "
              f"{_pct(f.efficiency_median)} for the median item")),
            ("Rolled %C&A", _pct(f.rolled_complete_accurate),
             "Rolled %C&A: share of items that pass every process step without coming back"),
        ]
    parts = []
    for n, (label, value, tip) in enumerate(cells):
        x, row_y = MARGIN + (n % 3) * TOTALS_COLUMN, y + 22 * (n // 3)
        parts.append(f'<g class="total"><title>{_e(tip)}</title><text x="{x}" y="{row_y}" class="t-total-label">{_e(label)} '
                     f'<tspan class="t-total">{_e(value)}</tspan></text></g>')
    return "".join(parts)


def _other_loops(others: pd.DataFrame, top: float) -> str:
    """Rework loops from or to a stage not on the line (backlog, done), one line each."""
    if not len(others):
        return ""
    parts = [(f'<text x="{MARGIN}" y="{top + NOTE_LINE}" class="t-small">Other rework loops (from or to a stage off '
              "the line):</text>")]
    for n, r in enumerate(others.itertuples(), start=2):
        moves = int(r.moves)
        parts.append(f'<text x="{MARGIN + 12}" y="{top + NOTE_LINE * n}" class="t-small">{_e(r.from_stage)} back to '
                     f"{_e(r.to_stage)}: {moves:,} move{'s' if moves != 1 else ''}</text>")
    return "".join(parts)


_LIGHT = """--paper: #ffffff; --halo: #ffffff; --ink: #1a1a1a; --line: #444444; --border: #d0d0d0; --box: #f6f7f9;
  --wait-fill: #FCEBC7; --active-fill: #D6E9F5; --side-fill: #F5E1EC; --worst-text: #B34A00;"""
# Light ink and dark fills on Streamlit's dark background; the Okabe-Ito outlines read on both.
_DARK = """color-scheme: dark; --paper: #171614; --halo: #171614; --ink: #fafafa; --line: #a6aab3; --border: #3b3f4a;
  --box: #22211f; --wait-fill: #3d2b00; --active-fill: #08283f; --side-fill: #3b2130; --worst-text: #F07C2E;"""

# The theme classes come from ``themed`` (the dashboard's theme); without one the document follows
# the reader's system. The paper is always opaque, so a wrong guess of the theme still reads.
# The report has no class: it is always light.
STYLE = """
:root { color-scheme: light; LIGHT }
:root.dark { DARK }
@media screen and (prefers-color-scheme: dark) { :root.auto { DARK } }
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1a1a1a;
       margin: 24px auto; max-width: 1100px; padding: 0 16px; line-height: 1.4; }
body.frame { margin: 0; padding: 0; max-width: none; background: var(--paper); color: var(--ink); }
h1 { font-size: 1.7em; margin: 0.1em 0 0.4em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #ddd; padding-bottom: 3px; margin-top: 1.4em; }
h3 { font-size: 1.05em; margin: 0 0 4px; }
.kicker { text-transform: uppercase; letter-spacing: 0.08em; color: #555; margin: 0; font-size: 0.85em; }
table.scope th { text-align: left; padding: 1px 12px 1px 0; color: #555; font-weight: 600; vertical-align: top; }
table.scope td { padding: 1px 0; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 10px; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: 8px 10px; }
.card .label { font-size: 0.85em; color: #555; }
.card .value { font-size: 1.5em; font-weight: 700; }
.card .note, .small { font-size: 0.82em; color: #444; }
svg.vsm { max-width: 100%; height: auto; border: 1px solid var(--border); background: var(--paper); }
body.frame svg.vsm { display: block; max-width: none; border: none; }
svg.vsm text { font-family: inherit; fill: var(--ink); }
svg.vsm .t-name { font-size: 13px; font-weight: 600; }
svg.vsm .t-small { font-size: 11px; }
svg.vsm .t-now { font-weight: 700; }
svg.vsm .t-tag { font-size: 10px; font-weight: 700; letter-spacing: 0.06em; }
svg.vsm .t-total { font-size: 14px; font-weight: 700; }
svg.vsm .t-total-label { font-size: 12px; }
svg.vsm .t-worst { font-size: 11px; font-weight: 700; fill: var(--worst-text); letter-spacing: 0.06em; }
svg.vsm .fill-wait { fill: var(--wait-fill); }
svg.vsm .fill-active { fill: var(--active-fill); }
svg.vsm .fill-side { fill: var(--side-fill); }
svg.vsm .fill-none { fill: none; }
svg.vsm .databox { fill: var(--box); stroke: var(--border); }
svg.vsm .arrowhead { fill: var(--line); }
svg.vsm .flowline { stroke: var(--line); stroke-width: 1.5; }
svg.vsm .arc { fill: none; stroke: var(--line); stroke-width: 1.5; stroke-dasharray: 5 3; }
svg.vsm .arc-label { paint-order: stroke; stroke: var(--halo); stroke-width: 4px; stroke-linejoin: round; }
svg.vsm .ladder { stroke-width: 3; stroke: var(--line); }
svg.vsm .ladder-wait { stroke: WAIT; }
svg.vsm .ladder-work { stroke: ACTIVE; }
svg.vsm .stage-link { cursor: pointer; }
svg.vsm .stage-link:hover .databox, svg.vsm .stage-link:focus .databox { stroke: var(--ink); stroke-width: 2; }
svg.vsm .stage-link:focus { outline: none; }
table.grid { border-collapse: collapse; width: 100%; font-size: 0.9em; }
table.grid th, table.grid td { border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top; }
table.grid th { background: #f2f2f2; }
table.grid tr.flag td { background: #fbe3d6; font-weight: 600; }
.summary { font-weight: 600; }
ol.changes { padding-left: 1.2em; }
li.change { margin-bottom: 12px; }
.saving { margin: 2px 0; font-weight: 600; }
dl { display: grid; grid-template-columns: 8.5em 1fr; gap: 2px 10px; margin: 4px 0; font-size: 0.9em; }
dt { color: #555; font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
footer { margin-top: 2em; border-top: 1px solid #ccc; font-size: 0.82em; color: #444; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  section, li.change, table.grid tr, .card { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .cards { grid-template-columns: repeat(4, 1fr); }
  svg.vsm { border: none; }
  table.grid tr.flag td, .card, svg.vsm { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
""".replace("LIGHT", _LIGHT).replace("DARK", _DARK).replace("WAIT", WAIT_COLOUR).replace("ACTIVE", ACTIVE_COLOUR)
