"""Jira issue-navigator CSV exports ("Export > CSV (all fields)" / "(current fields)").

Such a file holds one row per issue with its *current* state only: no status history. It
still gives lead time (Created -> Resolved), throughput, and WIP and ageing by current
status, so it is worth importing; the import says plainly what it cannot show.

How the file is read:

- Columns are read by position, because Jira repeats names for multi-value fields
  (``Labels`` x3, ``Watchers`` x5, ``Comment`` x6). Every position of a known column is
  collected; multi-value fields (labels, components) gather the non-empty values of all
  their positions, single-value fields take the first non-empty one.
- Header names are matched case- and accent-insensitively against the names Jira uses in
  English, Spanish, Portuguese (Brazil), German and French, including the wrapped forms
  ``Custom field (X)`` / ``Campo personalizado (X)`` / ``Benutzerdefiniertes Feld (X)`` /
  ``Champ personnalisé (X)``.
- The file is read twice: a quick survey (row count, each date column's day/month order
  from all its values, and issue id -> key so numeric ``Parent`` values resolve), then the
  rows are written to the sink. Memory stays bounded whatever the number of rows.

Policies for what the file leaves open:

- Required columns: issue key, status, created. Without one the file is refused with the
  headers it does have; a row without a key, or whose Created is empty or not a date, is
  skipped with a finding; an Updated or Resolved that is not a date is left empty with a
  ``bad_date`` finding.
- Labels: Jira labels cannot hold spaces, so a cell is split on whitespace (the "current
  fields" export may put several labels in one cell). Components are taken whole.
- Parent: ``Parent`` / ``Parent id`` first, then ``Epic Link`` / ``Parent Link``. A value
  shaped like an issue key is used as is; a numeric id is looked up among the file's issue
  ids; one that is not in the file leaves the parent empty (counted in one finding).
- Resolution: the words Jira writes for "none" (``Unresolved``, ``Sin resolver`` ...) mean
  no resolution.
- Project: the Project key column, else the issue key's prefix.
- ``Status Category Changed`` is recognised but not used: it is not a status history.
- Progress is reported in rows written, out of the rows counted by the survey.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from vsm_core.ingest import localdates
from vsm_core.ingest.base import ReadOptions, one_line
from vsm_core.ingest.csvfiles import CsvDialect, read_rows, sniff_dialect
from vsm_core.ingest.sink import CanonicalSink
from vsm_core.model import normalise_category
from vsm_core.problems import ImportProblem

FORMAT = "jira-csv"

REQUIRED = ("key", "status", "created")
DATE_FIELDS = ("created", "updated", "resolved")
PROGRESS_EVERY = 5_000  # rows between progress calls while writing

NO_HISTORY_MESSAGE = (
    "This CSV export has no status history: lead time, throughput and WIP/ageing by current "
    "status work, but stage times, flow efficiency and rework need a JSON export with the "
    'changelog (see the README section "Getting a Jira export with history").'
)

# What each field is called in Jira's exports, in English, Spanish, Portuguese (Brazil),
# German and French (also the 2025 "work item" wording). Matching ignores case and accents.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "summary": ("Summary", "Resumen", "Resumo", "Zusammenfassung", "Résumé"),
    "key": (
        "Issue key", "Work item key", "Clave de incidencia", "Clave de la incidencia", "Clave de incidente",
        "Clave del elemento de trabajo", "Chave do item", "Chave da issue", "Chave do problema",
        "Chave da solicitação", "Chave do item de trabalho", "Vorgangsschlüssel", "Vorgangs-Schlüssel",
        "Arbeitselementschlüssel", "Clé de ticket", "Clé du ticket", "Clé de l'élément de travail",
    ),
    "issue_id": (
        "Issue id", "Work item id", "ID de la incidencia", "ID de incidencia", "Id. de incidencia",
        "ID del elemento de trabajo", "ID do item", "ID da issue", "ID do problema", "Vorgangs-ID",
        "Vorgangs-Id", "Arbeitselement-ID", "ID de ticket", "ID du ticket", "ID de l'élément de travail",
    ),
    "type": (
        "Issue Type", "Work type", "Work item type", "Tipo de Incidencia", "Tipo de incidente",
        "Tipo de trabajo", "Tipo de item", "Tipo de issue", "Tipo de problema", "Tipo de trabalho",
        "Vorgangstyp", "Arbeitstyp", "Type de ticket", "Type de travail",
    ),
    "status": ("Status", "Estado", "Statut", "État"),
    "project_key": (
        "Project key", "Clave de proyecto", "Clave del proyecto", "Chave do projeto", "Projektschlüssel",
        "Clé de projet", "Clé du projet",
    ),
    "project_name": (
        "Project name", "Nombre de proyecto", "Nombre del proyecto", "Nome do projeto", "Projektname",
        "Nom de projet", "Nom du projet",
    ),
    "priority": ("Priority", "Prioridad", "Prioridade", "Priorität", "Priorité"),
    "resolution": ("Resolution", "Resolución", "Resolução", "Lösung", "Résolution"),
    "assignee": (
        "Assignee", "Responsable", "Responsável", "Bearbeiter", "Zugewiesene Person", "Personne assignée",
        "Assigné",
    ),
    "reporter": ("Reporter", "Informador", "Relator", "Autor", "Rapporteur"),
    "created": (
        "Created", "Creada", "Creado", "Fecha de creación", "Criado", "Criada", "Data de criação",
        "Erstellt", "Création", "Créé", "Créée", "Date de création",
    ),
    "updated": (
        "Updated", "Actualizada", "Actualizado", "Fecha de actualización", "Atualizado", "Atualizada",
        "Data de atualização", "Aktualisiert", "Mise à jour", "Mis à jour", "Date de mise à jour",
    ),
    "resolved": (
        "Resolved", "Resuelta", "Resuelto", "Fecha de resolución", "Resolvido", "Resolvida",
        "Data de resolução", "Erledigt", "Gelöst", "Résolu", "Résolue", "Résolu(e)", "Date de résolution",
    ),
    "labels": ("Labels", "Etiquetas", "Rótulos", "Stichwörter", "Étiquettes", "Libellés"),
    "components": (
        "Component/s", "Components", "Componentes", "Componente/s", "Komponente/n", "Komponenten",
        "Composant/s", "Composants",
    ),
    "parent": (
        "Parent", "Parent key", "Parent id", "Principal", "ID principal", "Clave principal", "Pai",
        "ID do pai", "Chave do pai", "Übergeordnet", "Übergeordneter Vorgang", "Übergeordnete ID",
        "Parent-ID", "ID parent", "ID du parent", "Ticket parent",
    ),
    "parent_summary": (
        "Parent summary", "Resumen principal", "Resumen del principal", "Resumo do pai",
        "Übergeordnete Zusammenfassung", "Résumé du parent", "Résumé parent",
    ),
    "epic_link": (
        "Epic Link", "Parent Link", "Enlace de épica", "Enlace a épica", "Link do épico", "Vínculo do épico",
        "Epic-Verknüpfung", "Epic-Link", "Lien d'epic", "Lien vers l'epic", "Lien de l'epic",
    ),
    "story_points": (
        "Story Points", "Story point estimate", "Puntos de historia", "Estimación de puntos de historia",
        "Pontos de história", "Estimativa de pontos de história", "Story-Points", "Story-Punkte",
        "Schätzung der Story-Punkte", "Points d'histoire", "Estimation des points d'histoire",
    ),
    "status_category": (
        "Status Category", "Categoría de estado", "Categoría del estado", "Categoria de status",
        "Categoria do status", "Statuskategorie", "Catégorie d'état", "Catégorie de statut",
    ),
    # Recognised so it is not mistaken for anything else; not used yet (it is not a history).
    "status_category_changed": (
        "Status Category Changed", "Categoría de estado modificada", "Cambio de categoría de estado",
        "Categoria de status alterada", "Statuskategorie geändert", "Catégorie d'état modifiée",
    ),
}

_CUSTOM_FIELD = re.compile(
    r"^(?:custom field|campo personalizado|benutzerdefiniertes feld|champ personnalise)\s*\((.+)\)$"
)
_ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
_UNRESOLVED = frozenset(
    {"unresolved", "sin resolver", "sin resolucion", "nao resolvido", "nicht erledigt", "ungelost", "non resolu"}
)


def normalise_header(name: str) -> str:
    """A header name folded for matching: no accents, lower case, single spaces."""
    decomposed = unicodedata.normalize("NFKD", name.strip().lstrip("\ufeff"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().replace("\u2019", "'").split())


def _build_name_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for field_name, names in FIELD_NAMES.items():
        for name in names:
            existing = table.setdefault(normalise_header(name), field_name)
            assert existing == field_name, f"header {name!r} maps to two fields"
    return table


_NAME_TABLE = _build_name_table()


def field_for_header(name: str) -> str | None:
    """The canonical field a header names (None when this importer does not use it)."""
    folded = normalise_header(name)
    found = _NAME_TABLE.get(folded)
    if found is None:
        wrapped = _CUSTOM_FIELD.match(folded)
        if wrapped is not None:
            found = _NAME_TABLE.get(wrapped.group(1).strip())
    return found


# -- sniffing ----------------------------------------------------------------------------


def _decode_head(head: bytes) -> str:
    """The text of the first bytes, tolerant of BOMs, UTF-16, cp1252 and a cut-off tail."""
    if head.startswith(b"\xef\xbb\xbf"):
        return head[3:].decode("utf-8", "ignore")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[: len(head) & ~1].decode("utf-16", "ignore")
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        return head[: len(head) & ~1].decode("utf-16-le", "ignore")
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] != 0:
        return head[: len(head) & ~1].decode("utf-16-be", "ignore")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a multi-byte character cut by the head's end
            return head[: exc.start].decode("utf-8", "ignore")
        return head.decode("cp1252", "replace")


def _split_header_line(line: str) -> list[str]:
    delimiter = max((",", ";", "\t"), key=line.count)
    return [cell.strip().strip('"') for cell in line.split(delimiter)]


def sniff(head: bytes) -> int:
    """How sure (0..100) the first bytes are a Jira issue-navigator CSV export.

    90+ when the header names an issue key, a status and a created column (95 with another
    Jira column such as Summary or Issue Type); 40 with the key and one of the two.
    """
    if not head:
        return 0
    text = _decode_head(head).lstrip("\ufeff \r\n")
    if not text or text[0] in "{[<":
        return 0
    first_line = text.split("\n", 1)[0].rstrip("\r")
    fields = {field_for_header(cell) for cell in _split_header_line(first_line)}
    if "key" not in fields:
        return 0
    found = sum(name in fields for name in ("status", "created"))
    if found == 2:
        return 95 if fields & {"summary", "type", "issue_id", "project_key"} else 90
    return 40 if found == 1 else 10


# -- column plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnPlan:
    """Where each known field sits in the file: all its positions, in header order."""

    header: tuple[str, ...]
    positions: dict[str, tuple[int, ...]]

    @property
    def width(self) -> int:
        return len(self.header)

    def first_header(self, field_name: str) -> str:
        return self.header[self.positions[field_name][0]]


def plan_columns(header: list[str], display_name: str) -> ColumnPlan:
    """Map header positions to fields; ImportProblem when a required column is missing."""
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        field_name = field_for_header(name)
        if field_name is not None:
            positions.setdefault(field_name, []).append(index)
    plan = ColumnPlan(tuple(header), {k: tuple(v) for k, v in positions.items()})
    missing = [name for name in REQUIRED if name not in plan.positions]
    if missing:
        _raise_missing(missing, header, display_name)
    return plan


def _raise_missing(missing: list[str], header: list[str], display_name: str) -> None:
    wanted = {"key": "Issue key", "status": "Status", "created": "Created"}
    names = " and ".join(f'"{wanted[m]}"' for m in missing)
    shown = ", ".join(f'"{one_line(h, 60)}"' for h in header[:8]) + (f" and {len(header) - 8} more" if len(header) > 8 else "")
    plural = "columns" if len(missing) > 1 else "column"
    raise ImportProblem(
        f"{display_name} has no {names} {plural} (in any supported language), so it cannot be read as a "
        f"Jira CSV export; its header row has {shown}: export the issues again with "
        "Export > CSV (all fields).",
        file=display_name,
        where="header row",
    )


# -- reading -----------------------------------------------------------------------------


def _first(row: list[str], positions: tuple[int, ...]) -> str | None:
    """The first non-empty (stripped) value among a field's positions."""
    for position in positions:
        value = row[position].strip()
        if value:
            return value
    return None


def _all(row: list[str], positions: tuple[int, ...]) -> list[str]:
    """Non-empty values of every position of a multi-value field, repeats removed."""
    values = [value for position in positions if (value := row[position].strip())]
    return list(dict.fromkeys(values)) if len(values) > 1 else values


def _padded(rows: Iterator[list[str]], width: int) -> Iterator[list[str]]:
    """Rows cut short (a ragged export) get empty cells so every position exists."""
    for row in rows:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
        yield row


@dataclass
class Survey:
    """What the first pass learns: row count, date orders, and issue id -> key."""

    rows: int = 0
    votes: dict[str, localdates.DayOrderVote] = field(default_factory=dict)
    key_by_id: dict[str, str] = field(default_factory=dict)


def survey_rows(rows: Iterator[list[str]], plan: ColumnPlan) -> Survey:
    """First pass: count rows, vote on each date column's day/month order, map ids to keys."""
    survey = Survey(votes={name: localdates.DayOrderVote() for name in DATE_FIELDS if name in plan.positions})
    date_columns = [(plan.positions[name], vote) for name, vote in survey.votes.items()]
    key_pos = plan.positions["key"]
    id_pos = plan.positions.get("issue_id") if ("parent" in plan.positions or "epic_link" in plan.positions) else None
    for row in _padded(rows, plan.width):
        survey.rows += 1
        for positions, vote in date_columns:
            if not vote.day_first_seen:
                vote.add(row[positions[0]].strip())
        if id_pos is not None:
            issue_id, key = _first(row, id_pos), _first(row, key_pos)
            if issue_id and key:
                survey.key_by_id[issue_id] = key
    return survey


def _story_points(text: str) -> float:
    """Story points as a number; a decimal comma (``2,5``) is accepted."""
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


class _RowWriter:
    """Second pass: turns rows into issues in the sink, with findings for what is off."""

    def __init__(self, plan: ColumnPlan, survey: Survey, sink: CanonicalSink, options: ReadOptions):
        self.plan = plan
        self.survey = survey
        self.sink = sink
        self.options = options
        tz = options.timezone
        self.parsers = {name: localdates.make_parser(vote.order, tz) for name, vote in survey.votes.items()}
        self.unresolved_parents = 0
        self.written = 0

    def parent_of(self, row: list[str]) -> str | None:
        """Parent key: Parent (key or numeric id) first, then Epic Link / Parent Link."""
        positions = self.plan.positions
        value = _first(row, positions["parent"]) if "parent" in positions else None
        if value is None and "epic_link" in positions:
            value = _first(row, positions["epic_link"])
        if value is None:
            return None
        if _ISSUE_KEY.match(value):
            return value
        key = self.survey.key_by_id.get(value)
        if key is None:
            self.unresolved_parents += 1
        return key

    def optional_date(self, row: list[str], name: str, key: str) -> int | None:
        positions = self.plan.positions.get(name)
        if positions is None:
            return None
        text = _first(row, positions)
        try:
            return self.parsers[name](text)
        except ValueError:
            column = self.plan.first_header(name)
            self.sink.add_finding("bad_date", f'{key}: its {column} value "{text}" is not a date; it was left empty.', key)
            return None

    def write(self, row: list[str], row_number: int) -> None:
        """Write one row as an issue, or record why it was skipped."""
        p = self.plan.positions
        key = _first(row, p["key"])
        if key is None:
            if any(cell.strip() for cell in row):
                self.sink.add_finding("row_without_key", f"Row {row_number} after the header has no issue key; it was skipped.")
            return
        created_text = _first(row, p["created"])
        try:
            created = self.parsers["created"](created_text)
        except ValueError:
            created = None
        if created is None:
            column = self.plan.first_header("created")
            shown = f'"{created_text}" is not a date' if created_text else "is empty"
            self.sink.add_finding("issue_without_created", f"{key} was skipped: its {column} value {shown}.", key)
            return
        self.sink.add_issue(
            key=key,
            created=created,
            updated=self.optional_date(row, "updated", key),
            resolved=self.optional_date(row, "resolved", key),
            issue_id=_first(row, p["issue_id"]) if "issue_id" in p else None,
            type=_first(row, p["type"]) if "type" in p else None,
            summary=_first(row, p["summary"]) if "summary" in p else None,
            project=(_first(row, p["project_key"]) if "project_key" in p else None) or key.rpartition("-")[0] or None,
            status=_first(row, p["status"]),
            status_category=normalise_category(_first(row, p["status_category"])) if "status_category" in p else None,
            resolution=self.resolution_of(row),
            assignee=_first(row, p["assignee"]) if "assignee" in p else None,
            priority=_first(row, p["priority"]) if "priority" in p else None,
            labels=[label for cell in _all(row, p["labels"]) for label in cell.split()] if "labels" in p else None,
            components=_all(row, p["components"]) if "components" in p else None,
            parent=self.parent_of(row),
            story_points=self.story_points_of(row, key),
        )
        self.written += 1

    def resolution_of(self, row: list[str]) -> str | None:
        """The resolution; the words Jira shows for "none" ("Unresolved", ...) become empty."""
        if "resolution" not in self.plan.positions:
            return None
        value = _first(row, self.plan.positions["resolution"])
        if value is not None and normalise_header(value) in _UNRESOLVED:
            return None
        return value

    def story_points_of(self, row: list[str], key: str) -> float | None:
        if "story_points" not in self.plan.positions:
            return None
        text = _first(row, self.plan.positions["story_points"])
        if text is None:
            return None
        try:
            return _story_points(text)
        except ValueError:
            column = self.plan.first_header("story_points")
            self.sink.add_finding("bad_number", f'{key}: its {column} value "{text}" is not a number; it was left empty.', key)
            return None


def read(path: Path, sink: CanonicalSink, options: ReadOptions) -> None:
    """Read a Jira issue-navigator CSV export into ``sink`` (current state, no history)."""
    name = options.display_name
    try:
        dialect = sniff_dialect(path, name)
        header, rows = read_rows(path, name, dialect)
        plan = plan_columns(header, name)
        survey = survey_rows(rows, plan)
        if survey.rows == 0:
            raise ImportProblem(
                f"No issues found in {name}: it has a header row but no issue rows; export the issues again "
                "(check the search returns issues).",
                file=name,
            )
        writer = _write_rows(path, name, dialect, plan, survey, sink, options)
    except OSError as exc:
        raise ImportProblem(f"{name} could not be read ({exc.strerror or exc}); check the file and try again.", file=name) from exc
    if writer.written == 0:
        raise ImportProblem(
            f"No issues found in {name}: none of its {survey.rows:,} rows has both an issue key and a readable "
            f'"{plan.first_header("created")}" date; check the export.',
            file=name,
        )
    _record_source_facts(sink, writer)


def _write_rows(
    path: Path, name: str, dialect: CsvDialect, plan: ColumnPlan, survey: Survey, sink: CanonicalSink, options: ReadOptions
) -> _RowWriter:
    """Second pass over the file: every row to the sink, progress in rows."""
    writer = _RowWriter(plan, survey, sink, options)
    _, rows = read_rows(path, name, dialect)
    progress = options.progress
    for number, row in enumerate(_padded(rows, plan.width), start=1):
        writer.write(row, number)
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(number, survey.rows)
    if progress is not None:
        progress(survey.rows, survey.rows)
    return writer


def _record_source_facts(sink: CanonicalSink, writer: _RowWriter) -> None:
    """What the dataset can and cannot show, and parents the file could not name."""
    sink.note_history(False)
    sink.meta["formats"].add(FORMAT)
    sink.meta["history_note"] = NO_HISTORY_MESSAGE
    sink.add_finding("no_status_history", NO_HISTORY_MESSAGE, severity="info")
    if writer.unresolved_parents:
        sink.add_finding(
            "parent_not_in_file",
            f"{writer.unresolved_parents:,} issues name their parent or epic by a numeric id of an issue that is not "
            "in this file, so their parent is left empty; export the parents too to link them.",
            severity="info",
        )
