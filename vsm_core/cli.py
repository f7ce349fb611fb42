"""The command line: ``vsm`` (or ``python -m vsm_core``).

Every command that takes ``--json`` prints machine-readable output on stdout. On bad
input a command prints one sentence on stderr and exits with code 2; nothing is stored.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from vsm_core import queries
from vsm_core.problems import ImportProblem
from vsm_core.store import StoreError, open_store

EXIT_BAD_INPUT = 2


class _BadOption(Exception):
    """A command-line value the product cannot use; its text is the one sentence shown."""


class _ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, what: str, fraction: float) -> None:
        if not self.enabled or (time.monotonic() - self.last < 0.1 and fraction < 1.0):
            return
        self.last = time.monotonic()
        width = 30
        filled = int(width * max(0.0, min(1.0, fraction)))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} {what[:60]:<60}")
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _parse_as_of(text: str | None, timezone_name: str | None) -> datetime | None:
    if text is None:
        return None
    from vsm_core.timeparse import from_micros, parse_iso, zone

    try:
        return from_micros(parse_iso(text, zone(timezone_name)))
    except (ValueError, TypeError, OverflowError) as exc:
        raise ImportProblem(f"--as-of {text!r} is not a time this product can use; write it in ISO 8601 like 2025-06-30T17:00:00Z.") from exc


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="the dataset store directory (default: $VSM_STORE or ~/.local/share/vsm-dashboard)")


def _add_view_options(parser: argparse.ArgumentParser) -> None:
    """The options every flow measure takes: data version, stage map, filters and clock."""
    parser.add_argument("dataset", metavar="DATASET", help="dataset id (or unique name)")
    parser.add_argument("--version", type=int, help="data version (default: the latest)")
    parser.add_argument("--map", dest="map_id", metavar="MAP_ID", help="a saved stage map's id (default: the latest saved, else the inferred one)")
    parser.add_argument("--from", dest="start", metavar="DATE", help="first day of the date window (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", metavar="DATE", help="last day of the date window (YYYY-MM-DD), included")
    parser.add_argument("--type", dest="types", action="append", default=[], metavar="TYPE",
                        help="an issue type to include (repeat for several; default: all but epics and sub-tasks)")
    parser.add_argument("--all-types", action="store_true", help="include epics and sub-tasks")
    parser.add_argument("--project", dest="projects", action="append", default=[], metavar="KEY")
    parser.add_argument("--label", dest="labels", action="append", default=[], metavar="LABEL")
    parser.add_argument("--component", dest="components", action="append", default=[], metavar="NAME")
    parser.add_argument("--parent", dest="parents", action="append", default=[], metavar="KEY", help="parent or epic key")
    parser.add_argument("--clock", choices=["calendar", "working"], default="calendar",
                        help="calendar (every day counts, the default) or working (weekends and holidays removed)")
    parser.add_argument("--timezone", help="the team's time zone for days, weeks and the working clock (default: the dataset's, else UTC)")
    parser.add_argument("--holiday", dest="holidays", action="append", default=[], metavar="DATE",
                        help="a holiday for the working clock (YYYY-MM-DD; repeat for several)")
    parser.add_argument("--json", action="store_true")
    _add_store(parser)


def _day(text: str, option: str):
    from datetime import date

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _BadOption(f"{option} {text!r} is not a date; write it like 2025-06-30.") from None


def _open_view(args: argparse.Namespace):
    """The prepared flow the options name, with (info, version)."""
    from vsm_core.metrics import Clock, Filters, open_flow
    from vsm_core.metrics.scope import parse_zone

    store = open_store(args.store)
    info = store.get(args.dataset)
    version = args.version or info.latest
    if version not in info.versions:
        raise StoreError(f"dataset {info.dataset} has no version {version}; it has {', '.join(map(str, info.versions))}.")
    try:
        zone = parse_zone(args.timezone or info.meta(version).get("timezone") or "UTC")
        clock = Clock(args.clock, zone, tuple(_day(d, "--holiday") for d in args.holidays))
        filters = Filters(
            start=_day(args.start, "--from") if args.start else None, end=_day(args.end, "--to") if args.end else None,
            issue_types=tuple(args.types), all_types=args.all_types, projects=tuple(args.projects),
            labels=tuple(args.labels), components=tuple(args.components), parents=tuple(args.parents),
        )
        return open_flow(info, version, map_id=args.map_id, filters=filters, clock=clock), info, version
    except ValueError as exc:
        raise _BadOption(str(exc)) from None


def _computed_view(args: argparse.Namespace, compute):
    """``compute(flow, info, version)`` on the view the options name, and the view described
    (dataset, version, as-of, stage map, clock, filters); a ValueError is one sentence, exit 2."""
    from vsm_core.metrics.report import view_description

    flow, info, version = _open_view(args)
    with flow:
        try:
            result = compute(flow, info, version)
        except ValueError as exc:
            raise _BadOption(str(exc)) from None
        return result, info, version, view_description(flow, info.dataset, version)


def _cmd_stages(args: argparse.Namespace) -> int:
    from vsm_core.metrics.report import stages_report

    rows, info, version, view = _computed_view(args, lambda flow, *_: stages_report(flow))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print(f"{info.name} (version {version}), as of {view['as_of']}, {view['clock']['label']}, stage map {view['stage_map']}")
    print(f"{'stage':<28} {'kind':<8} {'items':>7} {'median d':>9} {'p85 d':>8} {'share':>7} {'days of LT':>10} {'now':>6}")
    for row in rows:
        days = lambda h: "" if h is None else f"{h / 24:.1f}"
        share = "" if row["share_of_lead_time"] is None else f"{row['share_of_lead_time']:.0%}"
        lt = "" if row["days_of_lead_time"] is None else f"{row['days_of_lead_time']:.1f}"
        kind = row["kind"] + ("*" if row["side"] else "")
        print(f"{row['stage'][:28]:<28} {kind:<8} {row['items']:>7,} {days(row['median_hours']):>9} {days(row['p85_hours']):>8} {share:>7} {lt:>10} {row['items_now']:>6,}")
    print("* side state. Days are 24 hours of the clock in use; share and days of lead time cover delivered items.")
    return 0


def _cmd_flow(args: argparse.Namespace) -> int:
    from vsm_core.metrics.report import flow_report

    measures, info, version, view = _computed_view(args, lambda flow, *_: flow_report(flow, with_items=args.items))
    report = {**view, **measures}
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    days = lambda h: "n/a" if h is None else f"{h / 24:.1f} d"
    lead, cycle, eff = report["lead_time"], report["cycle_time"], report["flow_efficiency"]
    print(f"{info.name} (version {version}), as of {report['as_of']}, {report['clock']['label']}")
    print(f"delivered {report['finished']['delivered']:,}, cancelled {report['finished']['cancelled']:,}")
    print(f"lead time  median {days(lead['median_hours'])}, p85 {days(lead['p85_hours'])}")
    print(f"cycle time median {days(cycle['median_hours'])}, p85 {days(cycle['p85_hours'])}")
    pct = lambda x: "n/a" if x is None else f"{x:.0%}"
    print(f"flow efficiency {pct(eff['ratio_of_sums'])} (ratio of sums), {pct(eff['median_of_ratios'])} (median item); activity ratio {pct(eff['activity_ratio'])}")
    print(f"rolled %C&A {pct(report['complete_and_accurate']['rolled'])}")
    for loop in report["rework_loops"][:5]:
        print(f"rework {loop['from_stage']} -> {loop['to_stage']}: {loop['moves']:,} moves, {loop['items']:,} items")
    at_risk = sum(1 for item in report["ageing"] if item["at_risk"])
    print(f"work in progress {len(report['ageing']):,} items, {at_risk:,} at risk (older than their stage's p85)")
    little = report["littles_law"]
    if little["consistent"] is not None:
        print(f"Little's law: average WIP {little['average_wip']:.1f} vs {little['predicted_wip']:.1f} predicted ({'consistent' if little['consistent'] else 'not consistent'})")
    return 0


def _cmd_bottlenecks(args: argparse.Namespace) -> int:
    from vsm_core.decisions.bottlenecks import rank_bottlenecks
    from vsm_core.metrics.report import plain

    report, info, version, view = _computed_view(args, lambda flow, *_: rank_bottlenecks(flow))
    ranking = [{k: plain(v) for k, v in stage.to_dict().items()} for stage in report.stages]
    if args.json:
        if args.summary:
            print(json.dumps({**view, "healthy": report.healthy, "summary": report.summary,
                              "delivered_items": report.delivered_items, "mean_flow_days": plain(report.mean_flow_days),
                              "backlog": {k: plain(v) for k, v in report.backlog.items()}, "bottlenecks": ranking},
                             ensure_ascii=False))
        else:
            print(json.dumps(ranking, ensure_ascii=False))
        return 0
    print(f"{info.name} (version {version}), as of {view['as_of']}, {view['clock']['label']}")
    print(report.summary)
    for stage in report.stages:
        mark = "!" if stage.stands_out else " "
        print(f"{mark}{stage.rank:>2}. {stage.stage:<28} {stage.days_of_lead_time:6.1f} days "
              f"(90% {stage.ci_low_days:.1f}-{stage.ci_high_days:.1f})  {stage.why}")
    backlog = report.backlog
    if backlog["median_days_before_start"] is not None:
        print(f"Before anyone starts: a median {backlog['median_days_before_start']:.1f} days in "
              f"{', '.join(backlog['stages']) or 'the backlog'} (not ranked: the backlog is options, not work in process).")
    return 0


def _cmd_changes(args: argparse.Namespace) -> int:
    from vsm_core.decisions.levers import recommend_changes
    from vsm_core.metrics.report import plain

    changes, info, version, view = _computed_view(args, lambda flow, *_: recommend_changes(flow))
    rows = [{k: plain(v) for k, v in change.to_dict().items()} for change in changes]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print(f"{info.name} (version {version}), as of {view['as_of']}, {view['clock']['label']}")
    if not rows:
        print("No change stands out: no signal of a costly queue, rework, blocking, growing WIP or very uneven items.")
    for c in changes:
        print(f"{c.rank}. {c.title} [{c.lever}, effort {c.effort}, confidence {c.confidence}]")
        print(f"   saves about {c.expected_days_saved_median:.1f} days at the median, {c.expected_days_saved_p85:.1f} at the p85")
        print(f"   evidence: {c.evidence} e.g. {', '.join(c.evidence_items)}")
        print(f"   replay: {c.replay_rule}")
    return 0


def _cmd_whatif(args: argparse.Namespace) -> int:
    from vsm_core.decisions.whatif import StageTarget, what_if

    def project(flow, *_):
        target = StageTarget(args.stage, reduce_wait_pct=args.reduce_wait, reduce_active_pct=args.reduce_active,
                             wip_limit=args.wip_limit)
        return what_if(flow, [target], runs=args.runs)

    result, info, version, view = _computed_view(args, project)
    data = result.to_dict()
    if args.json:
        print(json.dumps({**view, **data}, ensure_ascii=False))
        return 0
    today, projected = data["today"], data["projected"]
    print(f"{info.name} (version {version}), as of {view['as_of']}, {view['clock']['label']}; {data['items']:,} delivered items")
    for key, label in (("lead_time_median_days", "lead time, median (days)"), ("lead_time_p85_days", "lead time, p85 (days)"),
                       ("cycle_time_median_days", "cycle time, median (days)"), ("flow_efficiency", "flow efficiency"),
                       ("throughput_per_week", "throughput per week")):
        print(f"{label:<28} today {_fmt(today.get(key)):>8}   projected {_fmt(projected.get(key)):>8}")
    for sentence in data["assumptions"]:
        print(f"- {sentence}")
    return 0


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _cmd_experiment(args: argparse.Namespace) -> int:
    from vsm_core.decisions import experiments

    if args.action == "show":
        return _experiment_show(args)
    store = open_store(args.store)
    info = store.get(args.dataset)
    try:
        if args.action == "add":
            _check_stage(info, args.stage)
            experiment = experiments.add_experiment(info.path, title=args.title, stage=args.stage, lever=args.lever,
                                                    start=args.start, settle_days=args.settle_days, note=args.note)
            print(json.dumps(experiment.to_dict(), ensure_ascii=False) if args.json
                  else f"recorded experiment {experiment.experiment_id}: {experiment.title}")
        elif args.action == "list":
            rows = [e.to_dict() for e in experiments.list_experiments(info.path)]
            if args.json:
                print(json.dumps(rows, ensure_ascii=False))
            for row in [] if args.json else rows:
                print(f"{row['experiment_id']}  {row['start']}  {row['stage']:<24} {row['lever'] or '-':<24} {row['title']}")
        else:
            experiments.delete_experiment(info.path, args.experiment)
            print(f"deleted experiment {args.experiment}")
    except ValueError as exc:
        raise _BadOption(str(exc)) from None
    return 0


def _check_stage(info, stage: str) -> None:
    """Refuse an experiment on a stage the dataset's current map does not have."""
    from vsm_core.metrics import resolve_stage_map
    from vsm_core.queries import open_version

    con = open_version(info, info.latest)
    try:
        names = [s.name for s in resolve_stage_map(info, con, None, info.latest).stages]
    finally:
        con.close()
    if stage.strip().lower() not in {n.lower() for n in names}:
        raise ValueError(f"The stage map has no stage called {stage!r}; its stages are {', '.join(names)}.")


def _experiment_show(args: argparse.Namespace) -> int:
    from vsm_core.decisions import experiments

    result, _, _, view = _computed_view(
        args, lambda flow, info, _: experiments.evaluate(flow, experiments.load_experiment(info.path, args.experiment)))
    data = result.to_dict()
    if args.json:
        print(json.dumps({**view, **data}, ensure_ascii=False))
    else:
        print(f"{data['verdict']}: {data['summary']}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from vsm_core.export import leader_report_html

    page, *_ = _computed_view(args, lambda flow, info, version: leader_report_html(
        flow, dataset_name=info.name, dataset_id=info.dataset, version=version, link=args.link))
    try:
        Path(args.out).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise _BadOption(f"{args.out} cannot be written ({exc.strerror}); choose another file.") from None
    print(json.dumps({"report": str(args.out), "bytes": len(page.encode("utf-8"))}) if args.json else f"wrote {args.out}")
    return 0


def _cmd_stagemap(args: argparse.Namespace) -> int:
    from vsm_core.metrics import resolve_stage_map
    from vsm_core.queries import open_version
    from vsm_core.stagemap import (
        StageMap,
        list_stage_maps,
        refresh_stage_map,
        save_stage_map,
    )

    store = open_store(args.store)
    info = store.get(args.dataset)
    if args.list:
        rows = [{"map": map_id, "saved_at": saved_at, "note": note} for map_id, saved_at, note in list_stage_maps(info.path)]
        print(json.dumps(rows, ensure_ascii=False) if args.json else "\n".join(f"{r['map']}  {r['saved_at']}  {r['note'] or ''}" for r in rows))
        return 0
    version = args.version or info.latest
    if version not in info.versions:
        raise StoreError(f"dataset {info.dataset} has no version {version}; it has {', '.join(map(str, info.versions))}.")
    if args.save:
        try:
            with open(args.save, encoding="utf-8") as handle:
                stage_map = StageMap.from_dict(json.load(handle))
            stage_map.check()
        except OSError as exc:
            raise _BadOption(f"{args.save} cannot be read ({exc.strerror}).") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            detail = str(exc) if isinstance(exc, ValueError) else f"it lacks {exc}"
            raise _BadOption(f"{args.save} is not a stage map this product can use: {detail}") from None
        map_id = save_stage_map(info.path, stage_map, note=args.note)
        print(json.dumps({"map": map_id}) if args.json else f"saved stage map {map_id}")
        return 0
    con = open_version(info, version)
    try:
        stage_map = refresh_stage_map(resolve_stage_map(info, con, args.map_id, version), con)
    except ValueError as exc:
        raise _BadOption(str(exc)) from None
    finally:
        con.close()
    if args.json:
        print(json.dumps(stage_map.to_dict(), ensure_ascii=False))
    else:
        print(f"stage map {stage_map.version_id}")
        for stage in stage_map.stages:
            flags = ", ".join(f for f, on in (("side state", stage.side), ("cancelled", stage.cancelled), ("new", stage.new)) if on)
            wip = f", WIP limit {stage.wip_limit}" if stage.wip_limit is not None else ""
            print(f"{stage.order:>3} {stage.name:<28} {stage.kind:<8} {', '.join(stage.statuses)} ({stage.decided_by}{wip}{', ' + flags if flags else ''})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vsm", description="Value stream mapping for software delivery, from a Jira export.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("import", help="import one or several export files as a dataset")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--name", help="the dataset's name (default: the first file's name)")
    p.add_argument("--format", default="auto", choices=["auto", "jira-json", "jira-csv", "item-dates", "event-log", "time-in-status"])
    p.add_argument("--as-of", help="the time 'now' means for this dataset (ISO 8601; default: the latest change in the data)")
    p.add_argument("--timezone", help="how to read times that carry no offset (default: UTC), e.g. Europe/Madrid")
    p.add_argument("--into", metavar="DATASET", help="add the files as a new data version of this dataset")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_store(p)

    p = commands.add_parser("pull", help="pull issues with their history straight from Jira (or refresh a pulled dataset)")
    p.add_argument("--url", help="the Jira site, e.g. https://your-team.atlassian.net (default with --into: the pulled one)")
    p.add_argument("--jql", help="which issues, e.g. 'project = SHOP' (default with --into: the pulled one)")
    p.add_argument("--email", help="your Atlassian account e-mail: Jira Cloud (email + API token); "
                                   "leave out for Jira Data Center (personal access token)")
    p.add_argument("--token-env", default=None, metavar="VAR",
                   help="the environment variable holding the API token (default: JIRA_API_TOKEN); "
                        "else a saved token, else it is asked for")
    p.add_argument("--save-token", action="store_true",
                   help="save the token for this site and account in a file only you can read, for later pulls")
    p.add_argument("--board", type=int, metavar="ID", help="the board whose columns and WIP limits to use")
    p.add_argument("--name", help="the dataset's name (default: the site and the JQL)")
    p.add_argument("--into", metavar="DATASET",
                   help="add a new data version to this dataset: only issues updated since its last pull are fetched")
    p.add_argument("--full", action="store_true", help="with --into: fetch every issue again, not only the updated ones")
    p.add_argument("--as-of", help="the time 'now' means for this dataset (ISO 8601; default: the latest change in the data)")
    p.add_argument("--concurrency", type=int, default=4, metavar="N",
                   help="requests to Jira at the same time, 1-8 (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_store(p)

    p = commands.add_parser("datasets", help="list the datasets in the store")
    p.add_argument("--json", action="store_true")
    _add_store(p)

    p = commands.add_parser("expire", help="delete datasets imported more than DAYS days ago (a retention period)")
    p.add_argument("--days", type=float, required=True, help="keep datasets whose newest version is younger than this")
    p.add_argument("--json", action="store_true")
    _add_store(p)

    p = commands.add_parser("links", help="the dataset's view link and, with --new-edit-key, a new edit link")
    p.add_argument("dataset", metavar="DATASET", help="dataset id (or unique name)")
    p.add_argument("--base-url", default="http://localhost:8501", help="the dashboard's address (default: %(default)s)")
    p.add_argument("--new-edit-key", action="store_true",
                   help="make a new edit key (the old edit link stops working) and print the edit link")
    p.add_argument("--owner", metavar="EMAIL", help="with login: make this account the dataset's owner")
    p.add_argument("--share", metavar="EMAIL", action="append", default=[], help="with login: let this account view it")
    p.add_argument("--json", action="store_true")
    _add_store(p)

    for command, text in (("issues", "one row per issue"), ("status-times", "time per issue and status, under the timeline rules")):
        p = commands.add_parser(command, help=text)
        p.add_argument("dataset", metavar="DATASET", help="dataset id (or unique name)")
        p.add_argument("--version", type=int, help="data version (default: the latest)")
        p.add_argument("--json", action="store_true")
        _add_store(p)

    p = commands.add_parser("findings", help="the dataset's data-quality findings")
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("--version", type=int)
    p.add_argument("--json", action="store_true")
    _add_store(p)

    p = commands.add_parser("stages", help="time per stage of the value stream (the stage table)")
    _add_view_options(p)

    p = commands.add_parser("flow", help="lead and cycle time, throughput, flow efficiency, %%C&A, rework, WIP, ageing")
    _add_view_options(p)
    p.add_argument("--items", action="store_true", help="also list every finished item with its times")

    p = commands.add_parser("bottlenecks", help="the committed stages ranked by the days of lead time they cost")
    _add_view_options(p)
    p.add_argument("--summary", action="store_true", help="with --json: an object with the summary, the backlog and the ranking")

    p = commands.add_parser("changes", help="the few high-leverage changes worth making first, with expected days saved")
    _add_view_options(p)

    p = commands.add_parser("whatif", help="the future state: lead time, flow efficiency and throughput if a stage changed")
    _add_view_options(p)
    p.add_argument("--stage", required=True, help="the stage to change (its name in the stage map)")
    p.add_argument("--reduce-wait", type=float, default=0.0, metavar="PCT", help="cut its waiting time by PCT percent")
    p.add_argument("--reduce-active", type=float, default=0.0, metavar="PCT", help="cut its working time by PCT percent")
    p.add_argument("--wip-limit", type=int, metavar="N", help="limit the items in it to N")
    p.add_argument("--runs", type=int, default=1000, help="Monte Carlo resamples (default %(default)s)")

    p = commands.add_parser("experiment", help="record a change and read whether it worked")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="record a change the team started")
    a.add_argument("dataset", metavar="DATASET")
    a.add_argument("--title", required=True)
    a.add_argument("--stage", required=True, help="the stage the change should improve")
    a.add_argument("--lever", help="the lever it pulls (review-sla, wip-limit, ...)")
    a.add_argument("--start", required=True, metavar="DATE", help="the day the change started (YYYY-MM-DD)")
    a.add_argument("--settle-days", type=int, default=7, help="days after the start left out while the change settles (default 7)")
    a.add_argument("--note")
    a.add_argument("--json", action="store_true")
    _add_store(a)
    a = actions.add_parser("list", help="the dataset's experiments, newest first")
    a.add_argument("dataset", metavar="DATASET")
    a.add_argument("--json", action="store_true")
    _add_store(a)
    a = actions.add_parser("show", help="before vs after for one experiment, with a verdict")
    _add_view_options(a)
    a.add_argument("experiment", metavar="EXPERIMENT_ID")
    a = actions.add_parser("delete", help="delete one experiment")
    a.add_argument("dataset", metavar="DATASET")
    a.add_argument("experiment", metavar="EXPERIMENT_ID")
    _add_store(a)

    p = commands.add_parser("report", help="a one-page HTML report for leaders (self-contained, works offline)")
    _add_view_options(p)
    p.add_argument("--out", "-o", required=True, metavar="FILE", help="where to write the HTML page")
    p.add_argument("--link", help="the dashboard link the report names (http or https)")

    p = commands.add_parser("stagemap", help="show, list or save the dataset's stage map")
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("--version", type=int, help="data version the map is inferred or refreshed on (default: the latest)")
    p.add_argument("--map", dest="map_id", metavar="MAP_ID", help="a saved map's id (default: the latest saved, else the inferred one)")
    p.add_argument("--list", action="store_true", help="list the saved maps")
    p.add_argument("--save", metavar="FILE", help="save the map in FILE (JSON, as --json prints it) as a new map version")
    p.add_argument("--note", help="a note saved with the map")
    p.add_argument("--json", action="store_true")
    _add_store(p)

    p = commands.add_parser("demo", help="write a simulated team's Jira export (for trying the product and benchmarks)")
    p.add_argument("--issues", type=int, default=3000)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--csv", action="store_true", help="write an issue-navigator CSV export instead of JSON")
    p.add_argument("--gzip", action="store_true")
    return parser


def _cmd_import(args: argparse.Namespace) -> int:
    from vsm_core.ingest import SourceFile, import_files

    store = open_store(args.store)
    result = import_files(
        store,
        [SourceFile(Path(p), p) for p in args.paths],
        name=args.name,
        fmt=args.format,
        as_of=_parse_as_of(args.as_of, args.timezone),
        timezone_name=args.timezone,
        into=args.into,
        progress=_ProgressBar(),
    )
    if args.json:
        _print_import_json(result)
    else:
        _print_import_text(result)
    return 0


def _print_import_json(result) -> None:
    """The result of an import or a pull, as the one JSON object both commands print."""
    print(json.dumps({
        "dataset": result.dataset, "issues": result.issues, "status_changes": result.status_changes,
        "warnings": result.warnings, "version": result.version, "name": result.name, "as_of": result.as_of,
        "has_history": result.has_history,
    }, ensure_ascii=False))


def _print_import_text(result) -> None:
    print(f"Imported {result.issues:,} issues and {result.status_changes:,} status changes as {result.name!r}")
    print(f"dataset: {result.dataset} (version {result.version}), as of {result.as_of}")
    if not result.has_history:
        print("This export has no status history: lead time, throughput and WIP by current status work; stage times need a JSON export with changelog.")
    for warning in result.warnings:
        print(f"- {warning}")


def _cmd_pull(args: argparse.Namespace) -> int:
    from vsm_core.jira import Credentials, pull, pull_record
    from vsm_core.jira.client import PullProblem
    from vsm_core.jira.tokens import DEFAULT_TOKEN_ENV, save_token, saved_token

    store = open_store(args.store)
    record = pull_record(store.get(args.into)) if args.into else None
    url = args.url or (record or {}).get("url")
    if not url:
        raise _BadOption("--url is missing: give the Jira site, e.g. --url https://your-team.atlassian.net.")
    if not 1 <= args.concurrency <= 8:
        raise _BadOption(f"--concurrency {args.concurrency} is out of range; use 1 to 8.")
    site = Credentials(url, "").url  # the address checked (and normalised) before a token is asked for
    same_site = record is not None and record.get("url") == site
    credentials = Credentials(site, "", args.email if args.email is not None else (record.get("email") if same_site else None))
    variable = args.token_env or DEFAULT_TOKEN_ENV
    token = os.environ.get(variable) or (None if args.token_env else saved_token(credentials.url, credentials.email))
    if not token and args.token_env is None and sys.stdin.isatty():
        import getpass

        token = getpass.getpass(f"API token for {credentials.host}: ")
    if not token:
        raise PullProblem(f"no API token: put it in the environment variable {variable} (or name another with --token-env).")
    credentials = Credentials(credentials.url, token.strip(), credentials.email)
    if args.save_token:
        print(f"token saved in {save_token(credentials.url, credentials.email, credentials.token)} (readable by you only)",
              file=sys.stderr)
    outcome = pull(
        store, credentials, args.jql, board=args.board, into=args.into, name=args.name,
        as_of=_parse_as_of(args.as_of, None), full=args.full, progress=_ProgressBar(), concurrency=args.concurrency,
    )
    result = outcome.imported
    if args.json:
        _print_import_json(result)
    elif outcome.unchanged:
        print(f"Nothing in {credentials.host} was updated since {outcome.since} (Jira's time): "
              f"{result.name!r} stays at data version {result.version}.")
    else:
        count = outcome.changed if outcome.incremental else outcome.fetched
        issues = f"{count:,} issue" + ("s" if count != 1 else "")
        how = f"{issues} updated since {outcome.since} (Jira's time)" if outcome.incremental else issues
        print(f"Pulled {how} from {credentials.host}" + (" (resumed)" if outcome.resumed else ""))
        _print_import_text(result)
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    rows = queries.list_datasets(open_store(args.store))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            print(f"{row['dataset']}  {row['name']!s:<30} {row['issues']:>8,} issues {row['status_changes']:>9,} changes  {row['imported_at']}")
    return 0


def _cmd_expire(args: argparse.Namespace) -> int:
    removed = open_store(args.store).expire(args.days)
    print(json.dumps({"deleted": removed}) if args.json else f"deleted {len(removed)} dataset(s) older than {args.days:g} days")
    return 0


def _cmd_links(args: argparse.Namespace) -> int:
    """View link (and a new edit link) of a dataset; owner and shares for the login mode."""
    from urllib.parse import urlencode

    store = open_store(args.store)
    info = store.get(args.dataset)
    try:
        if args.owner:
            info = store.set_owner(info.dataset, args.owner)
        for email in args.share:
            info = store.share(info.dataset, email)
    except ValueError as exc:
        raise _BadOption(str(exc)) from exc
    base = args.base_url.rstrip("/")
    out = {"dataset": info.dataset, "view_link": f"{base}/?{urlencode({'dataset': info.dataset})}",
           "owner": info.access.get("owner"), "viewers": info.access.get("viewers", [])}
    if args.new_edit_key:
        key = store.new_edit_key(info.dataset)
        out["edit_link"] = f"{base}/?{urlencode({'dataset': info.dataset, 'edit': key})}"
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"view (share it):        {out['view_link']}")
        if "edit_link" in out:
            print(f"edit (keep it secret): {out['edit_link']}")
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    info = store.get(args.dataset)
    version = args.version or info.latest
    if version not in info.versions:
        raise StoreError(f"dataset {info.dataset} has no version {version}; it has {', '.join(map(str, info.versions))}.")
    kind = {"issues": "issues", "status-times": "status_times", "findings": "findings"}[args.command]
    if args.json:
        sys.stdout.flush()
        queries.write_json(info, version, kind, sys.stdout.fileno())
    else:
        frame = queries.table(info, version, kind)
        print(frame.to_string(index=False, max_rows=200))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from vsm_core import demo

    argv = ["--issues", str(args.issues), "--out", args.out, "--seed", str(args.seed)]
    argv += ["--csv"] if args.csv else []
    argv += ["--gzip"] if args.gzip else []
    return demo.main(argv) or 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"import": _cmd_import, "pull": _cmd_pull, "datasets": _cmd_datasets, "issues": _cmd_table,
                "status-times": _cmd_table, "findings": _cmd_table, "demo": _cmd_demo,
                "stages": _cmd_stages, "flow": _cmd_flow, "stagemap": _cmd_stagemap,
                "bottlenecks": _cmd_bottlenecks, "changes": _cmd_changes, "whatif": _cmd_whatif,
                "experiment": _cmd_experiment, "report": _cmd_report, "links": _cmd_links,
                "expire": _cmd_expire}
    try:
        return handlers[args.command](args)
    except (ImportProblem, StoreError, _BadOption) as exc:
        print(f"vsm {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        kept = " (what was downloaded is kept aside: the same command resumes)" if args.command == "pull" else ""
        print(f"vsm {args.command}: interrupted; nothing was stored{kept}.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last guard: never show a traceback to a user
        where = f" while reading {', '.join(getattr(args, 'paths', []) or [])}" if args.command == "import" else ""
        print(f"vsm {args.command}: unexpected error{where} ({exc.__class__.__name__}: {str(exc)[:200]}); nothing was stored. "
              "Please report it with the file if you can share it.", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
