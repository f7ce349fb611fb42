"""The stage-map editor of the Upload page: merge statuses into stages, split, rename, order
them, set and confirm each stage's kind, with a live preview of the draft's figures.

Edits build a draft in ``st.session_state`` (one per dataset and data version) until it is saved
or discarded. Every edit is one of the checked pure functions of ``vsm_core.stagemap.edit``: an
edit it refuses shows its sentence and leaves the draft as it was. Saving writes a new map
version (a map's id is the hash of its content, so saving the same stages twice adds nothing)
and pins the view to it. Stage and status names come from Jira, so they are shown only in
tables, plain text and widget options (which render as plain text), never in Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import streamlit as st

from vsm_app import access
from vsm_app.context import View, choose_stage_map, get_store
from vsm_app.display import plain
from vsm_core.stagemap import KINDS, StageMap, list_stage_maps, save_stage_map
from vsm_core.stagemap.edit import (
    merge_stages,
    rename_stage,
    reorder,
    set_kind,
    split_status,
)
from vsm_core.stagemap.model import Stage
from vsm_core.store import Store

INFERRED = "inferred"  # the start option for the data version's inferred map
_FLASH = "stagemap_flash"

TABLE_COLUMNS = ("Order", "Stage", "Statuses", "Kind", "Side state", "Cancelled", "WIP limit", "Confirmed", "Kind set by")


# Draft logic: plain functions from a StageMap to a StageMap (or ValueError with one sentence).


def is_confirmed(stage: Stage) -> bool:
    """A stage's kind is confirmed once the user has set or accepted it."""
    return stage.decided_by == "user" and not stage.new


def kind_label(stage: Stage) -> str:
    extra = [flag for flag, on in (("side state", stage.side), ("cancelled", stage.cancelled)) if on]
    return " · ".join([stage.kind, *extra])


def stage_rows(stage_map: StageMap) -> pd.DataFrame:
    """The editable table of the map: one row per stage, in order (positions counted from 1)."""
    rows = [{
        "Order": n + 1, "Stage": stage.name, "Kind": stage.kind, "Side state": stage.side,
        "Cancelled": stage.cancelled, "WIP limit": stage.wip_limit, "Confirmed": is_confirmed(stage),
        "Kind set by": "you" if is_confirmed(stage) else f"{'new status · ' if stage.new else ''}{stage.decided_by}",
        "Statuses": ", ".join(stage.statuses),
    } for n, stage in enumerate(stage_map.stages)]
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    table["WIP limit"] = table["WIP limit"].astype("Int64")
    return table


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def move_stage(stage_map: StageMap, name: str, position: int) -> StageMap:
    """The map with stage ``name`` moved to ``position`` (0 = first; clamped to the ends)."""
    names = [stage.name for stage in stage_map.stages]
    matches = [n for n in names if n.lower() == name.strip().lower()]
    if not matches:
        raise ValueError(f"The map has no stage named {name!r}.")
    names.remove(matches[0])
    names.insert(max(0, min(int(position), len(names))), matches[0])
    return reorder(stage_map, names)


def confirm_all(stage_map: StageMap) -> StageMap:
    """Every inferred kind (and side/cancelled flag and WIP limit) accepted as it stands."""
    for stage in stage_map.stages:
        if not is_confirmed(stage):
            stage_map = set_kind(stage_map, stage.name, stage.kind, side=stage.side, cancelled=stage.cancelled,
                                 wip_limit=stage.wip_limit)
    return stage_map


def table_edits(stage_map: StageMap, table: pd.DataFrame) -> tuple[StageMap, list[str]]:
    """Apply the edited table (rows in the map's order, as ``stage_rows`` made them) and say what
    changed: kinds, flags, WIP limits and confirmations first, then moves. Unticking
    "Confirmed" changes nothing (a kind stays confirmed once confirmed)."""
    if len(table) != len(stage_map.stages):
        raise ValueError("The table no longer matches the draft's stages; reload the page.")
    result, said, moves = stage_map, [], []
    for row, stage in zip(table.to_dict("records"), stage_map.stages, strict=True):
        kind, side, cancelled = str(row["Kind"] or stage.kind), bool(row["Side state"]), bool(row["Cancelled"])
        wip = None if _missing(row["WIP limit"]) else int(row["WIP limit"])
        confirm = bool(row["Confirmed"]) and not is_confirmed(stage)
        if (kind, side, cancelled, wip) != (stage.kind, stage.side, stage.cancelled, stage.wip_limit) or confirm:
            result = set_kind(result, stage.name, kind, side=side, cancelled=cancelled, wip_limit=wip)
            now = next(s for s in result.stages if s.name == stage.name)
            said.append(f"Set {stage.name} to {kind_label(now)}" + (f", WIP limit {wip}." if wip is not None else "."))
        if not _missing(row["Order"]) and int(row["Order"]) != stage.order + 1:
            moves.append((stage.name, int(row["Order"]) - 1))
    for name, position in moves:
        result = move_stage(result, name, position)
        said.append(f"Moved {name} to position {position + 1}.")
    return result, said


def preview_rows(stage_map: StageMap, stage_times: pd.DataFrame) -> pd.DataFrame:
    """The preview table: the draft's stages in order with their figures (times in days)."""
    figures = {str(row["stage"]).lower(): row for row in stage_times.to_dict("records")}
    rows = []
    for stage in stage_map.stages:
        found = figures.get(stage.name.lower(), {})
        rows.append({
            "Stage": stage.name, "Kind": kind_label(stage), "Statuses": ", ".join(stage.statuses),
            "Items that visited": int(found.get("items") or 0),
            # Time in a done stage is time since finishing, not flow: left blank.
            "Median days there": None if stage.kind == "done" else _days(found.get("median_hours")),
            "85th percentile days": None if stage.kind == "done" else _days(found.get("p85_hours")),
            "Items there now": int(found.get("items_now") or 0),
        })
    return pd.DataFrame(rows)


def _days(hours) -> float | None:
    return None if _missing(hours) else round(float(hours) / 24, 2)


def sentence(exc: Exception) -> str:
    text = str(exc).strip()
    return text[:1].upper() + text[1:] if text else "That edit cannot be made."


# Cached reads: a data version never changes, and a map id is the hash of its content.


@st.cache_data(max_entries=64, show_spinner=False)
def start_map(dataset: str, version: int, start: str) -> StageMap:
    """The map a draft starts from (a saved map's id, or ``INFERRED``), completed with a new
    stage for each status of this data version that the map does not know."""
    from vsm_core.queries import open_version
    from vsm_core.stagemap import load_stage_map, refresh_stage_map
    from vsm_core.stagemap.persist import inferred_stage_map

    info = get_store().get(dataset)
    con = open_version(info, version)
    try:
        base = inferred_stage_map(info.version_path(version), con) if start == INFERRED else load_stage_map(info.path, start)
        return refresh_stage_map(base, con)
    finally:
        con.close()


@st.cache_data(max_entries=64, show_spinner="Measuring the draft's stages...")
def draft_figures(dataset: str, version: int, map_version_id: str, _stage_map: StageMap) -> pd.DataFrame:
    """Per-stage figures of ``_stage_map`` (unsaved) over the whole data version: every item but
    epics and sub-tasks, calendar time. Cached by the map's content hash."""
    from vsm_core.metrics import open_flow
    from vsm_core.metrics.measures import stage_times

    with open_flow(get_store().get(dataset), version, stage_map=_stage_map) as flow:
        return stage_times(flow)


# The draft in the session.


def _draft_key(view: View) -> str:
    return f"stagemap_draft:{view.info.dataset}:{view.version}"


def _new_draft(view: View, start: str, in_use: str) -> dict:
    stage_map = start_map(view.info.dataset, view.version, start)
    return {"start": start, "start_id": stage_map.version_id, "in_use": in_use, "map": stage_map, "log": [], "gen": 0}


def _restart(view: View, start_key: str, in_use: str) -> None:
    """The user picked another map to start from: the draft becomes that map."""
    st.session_state[_draft_key(view)] = _new_draft(view, st.session_state[start_key], in_use)


def _flash(level: str, text: str) -> None:
    st.session_state.setdefault(_FLASH, []).append((level, text))


def _show_flash() -> None:
    for level, text in st.session_state.pop(_FLASH, []):
        (st.success if level == "success" else st.error)(text)


def _commit(key: str, draft: dict, stage_map: StageMap, said: list[str]) -> None:
    st.session_state[key] = {**draft, "map": stage_map, "log": [*draft["log"], *said]}
    _flash("success", plain(" ".join(said)) + " The preview shows the draft; save it to use it on every page.")
    st.rerun()


def _apply(key: str, draft: dict, edit: Callable[[StageMap], StageMap], said: str) -> None:
    """Run one checked edit on the draft: on success keep it and rerun, else show its sentence."""
    try:
        edited = edit(draft["map"])
    except ValueError as exc:
        st.error(plain(sentence(exc)), icon=":material/error:")
        return
    _commit(key, draft, edited, [said])


def _in_use(view: View, saved_ids: list[str]) -> str:
    """The map the view uses now: the one the link or session pins, else the latest saved,
    else the inferred one (a link may name the inferred map by its id)."""
    pinned = st.query_params.get("map") or st.session_state.get("view_map")
    if pinned in saved_ids:
        return pinned
    if pinned and pinned == start_map(view.info.dataset, view.version, INFERRED).version_id:
        return INFERRED
    return saved_ids[0] if saved_ids else INFERRED


def _table_height(rows: int) -> int:
    """Every stage in view without scrolling the table (35 px a row and the header)."""
    return 35 * (rows + 1) + 3


def _dirty(draft: dict) -> bool:
    return draft["map"].version_id != draft["start_id"]


def _map_labels(saved: list[tuple[str, str, str | None]], in_use: str) -> dict[str, str]:
    """Option labels of the maps to start from (shown as plain text by the select box)."""
    labels = {INFERRED: "Inferred from the data"}
    for map_id, saved_at, note in saved:
        when = saved_at[:16].replace("T", " ")
        labels[map_id] = f"Map {map_id}, saved {when} UTC" + (f": {note}" if note else "")
    labels[in_use] += " (in use)"
    return labels


# The editor.


def show_stage_map_editor(store: Store, view: View) -> None:
    """The editor and live preview of the stage map of the dataset version in ``view``."""
    saved = list_stage_maps(view.info.path)
    saved_ids = [row[0] for row in saved]
    in_use = _in_use(view, saved_ids)
    key = _draft_key(view)
    draft = st.session_state.get(key)
    stale = draft is None or (draft["in_use"] != in_use and not _dirty(draft)) \
        or (draft["start"] != INFERRED and draft["start"] not in saved_ids)
    if stale:
        draft = st.session_state[key] = _new_draft(view, in_use, in_use)
    st.caption("Stages turn Jira statuses into the steps of your value stream. Merge statuses that are one step, "
               "put the stages in order and say what kind each is; the preview shows the figures before you save. "
               "Saving adds a new map version: earlier versions stay, and links that name them keep working.")
    _start_picker(view, key, draft, saved, in_use)
    _show_flash()
    _stage_table(key, draft)
    _edit_tabs(key, draft)
    _preview(view, draft)
    _save(view, key, draft, saved_ids, in_use)


def _start_picker(view: View, key: str, draft: dict, saved, in_use: str) -> None:
    labels = _map_labels(saved, in_use)
    start_key = f"{key}:start"
    if st.session_state.get(start_key) != draft["start"]:
        st.session_state[start_key] = draft["start"]
    st.selectbox("Start from", options=list(labels), format_func=labels.get, key=start_key,
                 on_change=_restart, args=(view, start_key, in_use),
                 help="The map in use is picked first. Picking another map replaces the draft's edits.")
    if saved:
        with st.expander(f"Saved maps of this dataset ({len(saved)})"):
            st.dataframe(pd.DataFrame([{"Map id": map_id, "Saved (UTC)": saved_at[:19].replace("T", " "),
                                        "Note": note or "", "In use": map_id == in_use}
                                       for map_id, saved_at, note in saved]), hide_index=True)
    if _dirty(draft):
        st.info(f"Unsaved draft: {len(draft['log'])} edit{'s' if len(draft['log']) != 1 else ''} "
                f"to the {'inferred map' if draft['start'] == INFERRED else 'map ' + draft['start']}.",
                icon=":material/edit_note:")
        with st.expander("Edits in this draft"):
            st.text("\n".join(draft["log"]))


def _stage_table(key: str, draft: dict) -> None:
    """The stages as an editable table: order, kind, flags, WIP limit and confirmation."""
    stage_map = draft["map"]
    unconfirmed = [stage for stage in stage_map.stages if not is_confirmed(stage)]
    st.markdown("**Stages in order.** Change a stage's kind, flags, WIP limit or position in the table "
                "(type a new position in *Order*); tick *Confirmed* to accept an inferred kind.")
    widget = f"stagemap_table:{stage_map.version_id}:{draft['gen']}"
    edited = st.data_editor(
        stage_rows(stage_map), key=widget, hide_index=True, num_rows="fixed", height=_table_height(len(stage_map.stages)),
        disabled=["Stage", "Kind set by", "Statuses"], width="stretch", placeholder="",
        column_config={
            "Order": st.column_config.NumberColumn(min_value=1, max_value=len(stage_map.stages), step=1, width="small",
                                                   help="Position in the value stream; type a number to move the stage."),
            "Kind": st.column_config.SelectboxColumn(options=list(KINDS), required=True, width="small",
                                                     help="backlog: not started; wait: a queue; active: work; done: finished."),
            "Side state": st.column_config.CheckboxColumn(help="Outside the main flow, like Blocked or On hold (kind wait)."),
            "Cancelled": st.column_config.CheckboxColumn(help="Finished but not delivered, like Won't do (kind done)."),
            "WIP limit": st.column_config.NumberColumn(min_value=1, step=1,
                                                       help="Most items the stage should hold; empty: no limit."),
            "Confirmed": st.column_config.CheckboxColumn(help="Ticked once you have set or accepted the kind."),
            "Kind set by": st.column_config.TextColumn(help="You, or the rule that inferred the kind (board column, "
                                                            "status category, name, observed flow)."),
        },
    )
    changes = (st.session_state.get(widget) or {}).get("edited_rows")
    if changes:
        try:
            edited_map, said = table_edits(stage_map, edited)
        except ValueError as exc:
            _flash("error", plain(sentence(exc)))
            st.session_state[key] = {**draft, "gen": draft["gen"] + 1}  # a fresh table shows the draft again
            st.rerun()
        if not said:
            st.session_state[key] = {**draft, "gen": draft["gen"] + 1}
            st.rerun()
        _commit(key, draft, edited_map, said)
    if unconfirmed:
        count = len(unconfirmed)
        if st.button(f"Confirm the {count} inferred kind{'s' if count != 1 else ''} as shown", key=f"{key}:confirm",
                     help="Accept every kind not yet confirmed, as the table shows it."):
            _apply(key, draft, confirm_all, f"Confirmed the kinds of {count} stage{'s' if count != 1 else ''}.")


def _edit_tabs(key: str, draft: dict) -> None:
    merge, split, rename, move = st.tabs(["Merge stages", "Split a status out", "Rename a stage", "Move a stage"])
    with merge:
        _merge_form(key, draft)
    with split:
        _split_form(key, draft)
    with rename:
        _rename_form(key, draft)
    with move:
        _move_form(key, draft)


def _merge_form(key: str, draft: dict) -> None:
    names = [stage.name for stage in draft["map"].stages]
    suffix = draft["map"].version_id
    with st.form(f"stagemap_merge:{suffix}", border=False):
        chosen = st.multiselect("Stages to merge", names, key=f"{key}:merge:{suffix}", placeholder="Pick two or more stages")
        new_name = st.text_input("Name of the merged stage", key=f"{key}:merge_name:{suffix}",
                                 placeholder="Empty: the first stage's name")
        submitted = st.form_submit_button("Merge", key=f"{key}:merge_go")
    if submitted:
        target = new_name.strip() or (min(chosen, key=names.index) if chosen else "")  # merge keeps the first one's name
        _apply(key, draft, lambda m: merge_stages(m, chosen, new_name.strip() or None),
               f"Merged {', '.join(chosen)} into {target}.")


def _split_form(key: str, draft: dict) -> None:
    owners = {status: stage.name for stage in draft["map"].stages if len(stage.statuses) > 1 for status in stage.statuses}
    if not owners:
        st.caption("Every stage holds one status, so there is nothing to split out.")
        return
    suffix = draft["map"].version_id
    with st.form(f"stagemap_split:{suffix}", border=False):
        status = st.selectbox("Status to take out of its stage", list(owners), key=f"{key}:split:{suffix}",
                              format_func=lambda s: f"{s}  (in {owners[s]})")
        new_name = st.text_input("Name of its new stage", key=f"{key}:split_name:{suffix}",
                                 placeholder="Empty: the status's name")
        submitted = st.form_submit_button("Split out", key=f"{key}:split_go")
    if submitted:
        _apply(key, draft, lambda m: split_status(m, status, new_name.strip() or None),
               f"Split {status} out of {owners[status]} into {new_name.strip() or status}.")


def _rename_form(key: str, draft: dict) -> None:
    suffix = draft["map"].version_id
    with st.form(f"stagemap_rename:{suffix}", border=False):
        name = st.selectbox("Stage to rename", [stage.name for stage in draft["map"].stages], key=f"{key}:rename:{suffix}")
        new_name = st.text_input("New name", key=f"{key}:rename_name:{suffix}")
        submitted = st.form_submit_button("Rename", key=f"{key}:rename_go")
    if submitted:
        _apply(key, draft, lambda m: rename_stage(m, name, new_name), f"Renamed {name} to {new_name.strip()}.")


def _move_form(key: str, draft: dict) -> None:
    stages = draft["map"].stages
    suffix = draft["map"].version_id
    with st.form(f"stagemap_move:{suffix}", border=False):
        name = st.selectbox("Stage to move", [stage.name for stage in stages], key=f"{key}:move:{suffix}")
        up_col, down_col = st.columns(2)
        up = up_col.form_submit_button("Move up", key=f"{key}:move_up", icon=":material/arrow_upward:", width="stretch")
        down = down_col.form_submit_button("Move down", key=f"{key}:move_down", icon=":material/arrow_downward:",
                                           width="stretch")
    if up or down:
        position = [stage.name for stage in stages].index(name) + (-1 if up else 1)
        if not 0 <= position < len(stages):
            st.error(f"{plain(name)} is already the {'first' if up else 'last'} stage.", icon=":material/error:")
            return
        _apply(key, draft, lambda m: move_stage(m, name, position), f"Moved {name} to position {position + 1}.")


def _preview(view: View, draft: dict) -> None:
    stage_map = draft["map"]
    st.subheader("Preview of the draft")
    st.caption(f"Every item of data version {view.version} but epics and sub-tasks, in calendar days. Times are the "
               "days items spent in each stage (so far, for unfinished items); done stages have none, since items "
               "stay there. 'There now' counts unfinished items.")
    try:
        figures = draft_figures(view.info.dataset, view.version, stage_map.version_id, stage_map)
    except ValueError as exc:
        st.warning(f"The preview cannot be measured: {plain(sentence(exc))}")
        return
    st.dataframe(preview_rows(stage_map, figures), hide_index=True, width="stretch",
                 height=_table_height(len(stage_map.stages)), placeholder="–", column_config={
        "Median days there": st.column_config.NumberColumn(format="%.1f"),
        "85th percentile days": st.column_config.NumberColumn(format="%.1f"),
    })


def _save(view: View, key: str, draft: dict, saved_ids: list[str], in_use: str) -> None:
    stage_map = draft["map"]
    map_id = stage_map.version_id
    st.subheader("Save")
    problem = None
    try:
        stage_map.check()
    except ValueError as exc:
        problem = sentence(exc)
        st.warning(f"{plain(problem)} The measures need this fixed before the map can be saved.", icon=":material/warning:")
    note = ""
    if map_id in saved_ids and map_id == in_use:
        st.caption(f"Every page uses these stages: saved map {map_id}.")
    elif map_id in saved_ids:
        st.info(f"These stages are saved already as map {map_id}.")
    else:
        note = st.text_input("Note for this version", key=f"{key}:note:{map_id}", max_chars=200,
                             placeholder="e.g. Review and Test as one stage")
    buttons = st.container(horizontal=True)
    editor = access.may_edit(view.info)
    if map_id not in saved_ids and not editor:
        access.refuse("save a stage map for everyone", view.info)
    if map_id not in saved_ids and editor and buttons.button("Save as a new map version", type="primary", key=f"{key}:save",
                                                             disabled=problem is not None):
        new_id = save_stage_map(view.info.path, stage_map, note=note.strip() or None)  # the same map: same file
        _use_map(key, {**draft, "start": new_id, "start_id": map_id, "log": []}, new_id,
                 f"Saved as map {new_id}. Every page now uses it; earlier maps stay listed above.")
    if map_id in saved_ids and map_id != in_use and buttons.button(f"Use map {map_id} on every page", key=f"{key}:use"):
        _use_map(key, draft, map_id, f"Every page now uses map {map_id}.")
    if _dirty(draft) and buttons.button("Discard the draft's edits", key=f"{key}:discard"):
        st.session_state[key] = _new_draft(view, draft["start"], in_use)
        st.rerun()


def _use_map(key: str, draft: dict, map_id: str, said: str) -> None:
    """Pin the view (session and URL) to the saved map ``map_id`` and say so after the rerun."""
    choose_stage_map(map_id)
    st.session_state[key] = {**draft, "in_use": map_id}
    _flash("success", said)
    st.rerun()
