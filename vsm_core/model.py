"""The canonical model: the tables every importer produces and every metric reads.

All times are ``timestamp[us, UTC]``. Rows of ``status_changes`` and ``field_changes`` are
tied to the issue row that carried them through ``ingest_seq`` (one number per issue as
read, before de-duplication), so that when two page files both hold an issue only the
changelog of the kept copy survives.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

ISSUES = pa.schema(
    [
        ("ingest_seq", pa.int64()),
        ("issue_id", pa.string()),  # Jira's numeric id as text; null when the format has none
        ("key", pa.string()),
        ("type", pa.string()),
        ("summary", pa.string()),
        ("project", pa.string()),
        ("status", pa.string()),  # current status
        ("status_category", pa.string()),  # new | indeterminate | done | null (unknown)
        ("created", TS),
        ("updated", TS),
        ("resolved", TS),  # the export's resolution date
        ("resolution", pa.string()),
        ("assignee", pa.string()),
        ("priority", pa.string()),
        ("labels", pa.list_(pa.string())),
        ("components", pa.list_(pa.string())),
        ("parent", pa.string()),  # parent or epic key
        ("story_points", pa.float64()),
        ("changelog_total", pa.int64()),  # histories Jira says exist (null: unknown)
        ("changelog_present", pa.int64()),  # histories in the file
        ("source_file", pa.string()),
    ]
)

STATUS_CHANGES = pa.schema(
    [
        ("ingest_seq", pa.int64()),
        ("key", pa.string()),
        ("time", TS),
        ("from_status", pa.string()),
        ("to_status", pa.string()),
        ("author", pa.string()),
        ("history_id", pa.int64()),  # numeric history id; ties in time are ordered by it
        ("item_seq", pa.int64()),  # position within the issue as read: last tie-breaker
    ]
)

# field: "assignee" (handoffs), "flagged" (blocked set/cleared), "resolution"
FIELD_CHANGES = pa.schema(
    [
        ("ingest_seq", pa.int64()),
        ("key", pa.string()),
        ("time", TS),
        ("field", pa.string()),
        ("from_value", pa.string()),
        ("to_value", pa.string()),
        ("author", pa.string()),
        ("history_id", pa.int64()),
        ("item_seq", pa.int64()),
    ]
)

FINDINGS = pa.schema(
    [
        ("code", pa.string()),
        ("severity", pa.string()),
        ("key", pa.string()),
        ("file", pa.string()),
        ("message", pa.string()),
    ]
)

# Companion: the status list (from /rest/api/2/status or a project's statuses) and board.
STATUSES = pa.schema(
    [
        ("status_id", pa.string()),
        ("name", pa.string()),
        ("category", pa.string()),  # new | indeterminate | done
    ]
)

BOARD_COLUMNS = pa.schema(
    [
        ("column_order", pa.int64()),
        ("column", pa.string()),
        ("status_id", pa.string()),
        ("status_name", pa.string()),  # filled from the status list when known
        ("wip_min", pa.int64()),
        ("wip_max", pa.int64()),
    ]
)

CATEGORY_ALIASES = {
    # Jira status category keys and names, also old and localised ones, to our three values.
    "new": "new",
    "to do": "new",
    "undefined": None,
    "indeterminate": "indeterminate",
    "in progress": "indeterminate",
    "done": "done",
    "complete": "done",
    "completed": "done",
    # Spanish, Portuguese, German, French (Jira's own translations of the categories)
    "por hacer": "new",
    "tareas por hacer": "new",
    "en curso": "indeterminate",
    "en progreso": "indeterminate",
    "listo": "done",
    "hecho": "done",
    "finalizado": "done",
    "a fazer": "new",
    "itens pendentes": "new",
    "em andamento": "indeterminate",
    "em progresso": "indeterminate",
    "concluído": "done",
    "concluido": "done",
    "itens concluídos": "done",
    "zu erledigen": "new",
    "offen": "new",
    "in arbeit": "indeterminate",
    "fertig": "done",
    "erledigt": "done",
    "à faire": "new",
    "a faire": "new",
    "en cours": "indeterminate",
    "terminé": "done",
    "termine": "done",
    "terminée": "done",
}


def normalise_category(value: str | None) -> str | None:
    """Map a status category key or (localised) name to new | indeterminate | done."""
    if value is None:
        return None
    return CATEGORY_ALIASES.get(str(value).strip().lower())
