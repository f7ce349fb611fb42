"""The stage map: which statuses make up each stage of the value stream, in what order, and of
what kind (section 4 of the field guide). The user can change it; this module infers the
default, gives every map a stable id, saves maps with their dataset and refreshes a map when
new data brings statuses it does not know.

Rules of the default map (every stage says which rule decided it in ``decided_by``):

* **Stages.** With a board configuration, each board column holding at least one status is a
  stage, in column order, and its WIP limit is the column's maximum. Cancelled statuses in a
  done column (Done + Won't Do) are split off into a stage of their own, so that delivered and
  cancelled work stay apart. Statuses seen in the data but on no column become a stage each.
  Without a board, every observed status is its own stage.
* **Kind of a status.** Done and cancelled come from ``workflow.status_catalog``. Else the Jira
  category: ``new`` -> backlog; ``indeterminate`` -> wait when the name has a wait word, else
  active. With no category, by name: backlog words first (backlog, open, new, to do, todo,
  reopened, triage, icebox, funnel), then wait words, else active.
  Wait words, as whole words or phrases, case-insensitive: ready, awaiting, waiting, queue(d),
  blocked, on hold, pending, to review, to test, for release, merged, selected for development
  (a committed queue: picked, not started). "Ready for Review" is wait, "In Review" active.
* **Kind of a board column.** Done when all its statuses are done (cancelled when all are
  cancelled); backlog when all its other statuses are backlog; wait when the column's name has
  a wait word or all its statuses are wait; else active.
* **Side states** are wait stages outside the linear order: statuses named blocked, on hold,
  impeded, waiting for/on customer; and, by observed flow, any non-done status whose exits go
  back to the status the visit came from in at least 60 % of all its exits (exits from initial
  visits count too, so a backlog items start in is never a side state), with at least 3 such
  returns.
* **Order.** Board column order when a board is known. Otherwise the most common path through
  the statuses, side states taken out first: for each issue, the sequence of first entries into
  each status (the initial status included); a status scores +1 against every other status it
  precedes in more issues than it follows, -1 when it follows more often; statuses are sorted
  by score (high first), ties by median normalised position in those sequences, then by name.
  Always: backlog stages first, then wait/active stages, then side states (after the last
  non-done linear stage), then delivered done stages, then cancelled ones.
* **Statuses on no board column** are placed right after the stage of their most common
  predecessor in the data (non-done, non-side statuses), else before the first done stage.
"""

from vsm_core.stagemap.infer import infer_stage_map, refresh_stage_map
from vsm_core.stagemap.model import KINDS, Stage, StageMap
from vsm_core.stagemap.persist import list_stage_maps, load_stage_map, save_stage_map

__all__ = [
    "KINDS",
    "Stage",
    "StageMap",
    "infer_stage_map",
    "list_stage_maps",
    "load_stage_map",
    "refresh_stage_map",
    "save_stage_map",
]
