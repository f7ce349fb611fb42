"""Data-quality findings: per-issue rows kept with the dataset, and the short warnings
(one sentence per kind) the command line and the upload summary show.
"""

from __future__ import annotations

import pandas as pd

# code -> (what the affected issues have, in the plural), for the summary sentence.
SUMMARIES = {
    "change_before_created": "have status changes dated before the issue was created; those visits count as zero hours",
    "from_status_mismatch": "have a status change that leaves a status the issue was not in (history truncated or edited)",
    "created_after_as_of": "were created after the dataset's as-of time; they are kept with zero-length visits",
    "change_after_as_of": "have status changes after the dataset's as-of time; time after the as-of is not counted",
    "moved_out_of_done": "moved out of a done status (reopened); time in done before the reopen is reopened time, not flow time",
    "done_without_start": "reached done without passing through any in-progress status, so they have no cycle time",
    "changelog_truncated": "have a truncated changelog in the export: their oldest changes are missing, so their first statuses are unknown",
    "issue_without_created": "have no creation date and were skipped",
    "issue_without_fields": "have no fields and were skipped",
    "duplicate_issue": "appear more than once in the import; the copy updated last was kept",
    "moved_issue": "changed key (moved between projects); each is counted once, under its newest key",
    "finished_before_created": "finish before they were created; they are kept and their durations count as zero",
    "stage_dates_out_of_order": "have stage dates that go backwards along the workflow",
    "bad_date": "have a date that could not be read; it was left empty",
    "bad_change_time": "have change records with an unreadable time; those records were skipped",
    "time_out_of_range": "have dates outside the years 1900 to 2199 (placeholders or garbled values); those dates were left out",
    "started_at_first_change": "have no usable creation date; their timelines start at their first status change",
}

EXAMPLES = 5


def summarise(findings: pd.DataFrame) -> list[str]:
    """One sentence per kind of finding, with a count and a few example keys."""
    sentences: list[str] = []
    if findings.empty:
        return sentences
    for code, group in findings.groupby("code", sort=False):
        keys = [k for k in group["key"].dropna().unique().tolist()]
        if len(group) == 1 or code not in SUMMARIES and not keys:
            sentences.extend(group["message"].head(EXAMPLES).tolist())
            if len(group) > EXAMPLES:
                sentences.append(f"... and {len(group) - EXAMPLES} more findings like these ({code}).")
            continue
        if code in SUMMARIES and keys:
            shown = ", ".join(keys[:EXAMPLES]) + (", ..." if len(keys) > EXAMPLES else "")
            sentences.append(f"{len(keys):,} issues {SUMMARIES[code]} (e.g. {shown}).")
        else:
            first = group["message"].iloc[0]
            sentences.append(f"{len(group):,} findings like this one: {first}")
    return sentences
