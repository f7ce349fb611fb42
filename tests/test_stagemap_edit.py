"""Editing a stage map: each edit gives a new checked map with a new id; bad edits get one
sentence and leave the map as it was."""

from __future__ import annotations

import pytest

from vsm_core.stagemap import Stage, StageMap
from vsm_core.stagemap.edit import (
    merge_stages,
    rename_stage,
    reorder,
    set_kind,
    split_status,
)

BASE = StageMap((
    Stage("To Do", ("To Do",), "backlog", 0, decided_by="status category"),
    Stage("In Progress", ("In Progress",), "active", 1, wip_limit=3, decided_by="status category"),
    Stage("Ready for Review", ("Ready for Review",), "wait", 2, decided_by="name"),
    Stage("In Review", ("In Review",), "active", 3, wip_limit=2, decided_by="status category", new=True),
    Stage("Done", ("Done",), "done", 4, decided_by="status category"),
))


def names(stage_map):
    return [s.name for s in stage_map.stages]


def test_merging_review_statuses_makes_one_stage_where_the_first_stood():
    merged = merge_stages(BASE, ["Ready for Review", "In Review"], "Review")
    assert names(merged) == ["To Do", "In Progress", "Review", "Done"]
    review = merged.stage_of("In Review")
    assert review.statuses == ("Ready for Review", "In Review")
    assert (review.kind, review.order, review.wip_limit, review.decided_by, review.new) == ("wait", 2, 2, "user", False)
    assert merged.version_id != BASE.version_id


def test_split_then_merge_round_trips_the_statuses():
    merged = merge_stages(BASE, ["Ready for Review", "In Review"], "Review")
    split = split_status(merged, "In Review")
    assert names(split) == ["To Do", "In Progress", "Review", "In Review", "Done"]
    assert split.stage_of("Ready for Review").name == "Review"


def test_set_kind_confirms_a_new_stage():
    edited = set_kind(BASE, "In Review", "wait")
    stage = edited.stage_of("In Review")
    assert (stage.kind, stage.new, stage.decided_by) == ("wait", False, "user")


def test_reorder_and_rename():
    moved = reorder(BASE, ["To Do", "Ready for Review", "In Progress", "In Review", "Done"])
    assert [s.order for s in moved.stages] == [0, 1, 2, 3, 4]
    assert names(rename_stage(moved, "in review", "Code review"))[3] == "Code review"


@pytest.mark.parametrize(
    ("edit", "sentence"),
    [
        pytest.param(lambda m: merge_stages(m, ["In Review"]), "at least two", id="merge-one"),
        pytest.param(lambda m: merge_stages(m, ["In Review", "Nope"]), "no stage named 'Nope'", id="merge-unknown"),
        pytest.param(lambda m: split_status(m, "Done"), "already the only status", id="split-single"),
        pytest.param(lambda m: rename_stage(m, "In Review", "done"), "two stages are named", id="rename-clash"),
        pytest.param(lambda m: set_kind(m, "Done", "active"), "no done stage", id="no-done-left"),
        pytest.param(lambda m: set_kind(m, "In Review", "active", side=True), "must be wait", id="side-not-wait"),
        pytest.param(lambda m: set_kind(m, "In Review", "queue"), "not a stage kind", id="unknown-kind"),
        pytest.param(lambda m: set_kind(m, "In Review", "active", wip_limit=0), "at least 1", id="zero-wip"),
        pytest.param(lambda m: reorder(m, ["To Do", "Done"]), "every stage exactly once", id="reorder-partial"),
    ],
)
def test_bad_edits_are_refused_in_one_sentence(edit, sentence):
    with pytest.raises(ValueError, match=sentence):
        edit(BASE)
