"""The flow measures of a value stream (field guide sections 2, 2a and 4).

Decisions the guide leaves open, taken as a flow coach would expect:

* **Stage stays.** Consecutive status visits inside one stage make one stay ("run"); a move
  between two statuses of the same stage is neither a new visit of the stage nor rework.
* **Finished** means the issue's current stage is a done stage. It finished at its final entry
  into done: the start of the trailing group of done stays (a move between two done stages is
  not a new finish). Time in done before that is reopened time; time in non-done stages is flow
  time, so lead time = flow time + reopened time. **Delivered** items finished in a delivered
  done stage; **cancelled** ones in a cancelled stage: they leave WIP but are not throughput,
  and lead/cycle-time figures cover delivered items only.
* **Committed** is the first entry into a `wait` or `active` stage (side states included).
  Cycle time, flow efficiency and work item age start there. An item never committed (backlog
  straight to done) has a lead time but no cycle time. Backlog time after commitment (work sent
  back to the backlog) is wait time.
* **Process / wait time.** Process time is time in `active` stages minus the flagged time inside
  them; wait time is time in `wait` stages (whole, flagged or not) plus flagged time in `active`
  stages. Flagged time is the time between a Flagged change to a value and the next change
  clearing it (or the as-of time when it never clears), cut to the issue's life: counted once.
* **Per-stage times** (items, visits, median, p85, p95, total) cover every item in the window
  that visited the stage, finished or not, with its time so far; `share_of_lead_time` and
  `days_of_lead_time` cover delivered items finished in the window.
* **Rework and %C&A** read each issue's linear path: side-state stays removed, then consecutive
  stays in one stage merged. A backward move goes to a stage earlier in the map order. A
  departure is forward when the next stage comes later; it is complete and accurate when the
  issue never again enters that stage or an earlier one. Rolled %C&A is the product over
  `active` stages.
* **Handoffs**: the assignee becomes someone other than the last person assigned while the issue
  is in a committed stage; first assignments and un-assignments are not handoffs.
* **WIP and the cumulative flow** count items at the end of each local day. **Ageing** compares
  an unfinished item's age with the age at which delivered items last left its current stage
  (at risk past that stage's p85, as ActionableAgile's ageing chart reads).
* **Little's law** is checked on the calendar clock with WIP at each day's end; consistent when
  the relative gap is within 20 %.
* **Percentiles** interpolate linearly between closest ranks (DuckDB ``quantile_cont``, NumPy's
  default), everywhere.
"""

from vsm_core.metrics.flow import Flow, open_flow, prepare_flow, resolve_stage_map
from vsm_core.metrics.scope import Clock, Filters

__all__ = ["Clock", "Filters", "Flow", "open_flow", "prepare_flow", "resolve_stage_map"]
