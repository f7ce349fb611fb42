"""Jira issue-navigator CSV exports: every language, encoding and delimiter seen in the wild.

Expected times are microseconds since 1970-01-01T00:00:00Z, worked out from the UTC time in
the comment beside each.
"""

from __future__ import annotations

import csv
import gzip
import random
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vsm_core.ingest import jira_csv
from vsm_core.ingest.base import ReadOptions, read_head
from vsm_core.ingest.sink import CanonicalSink
from vsm_core.problems import Finding, ImportProblem
from vsm_core.timeparse import UTC

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "jira_csv"
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
MADRID = ZoneInfo("Europe/Madrid")


def import_csv(
    path: Path, tmp_path: Path, *, timezone=UTC, progress=None
) -> tuple[dict[str, dict], list[Finding], CanonicalSink]:
    """Run the importer into a fresh sink; issues by key (times as int microseconds UTC)."""
    sink = CanonicalSink(tmp_path / "sink")
    sink.current_file = path.name
    jira_csv.read(path, sink, ReadOptions(display_name=path.name, timezone=timezone, progress=progress))
    sink.close()
    table = pq.read_table(tmp_path / "sink" / "issues.parquet")
    for name in ("created", "updated", "resolved"):
        table = table.set_column(table.schema.get_field_index(name), name, table.column(name).cast(pa.int64()))
    return {row["key"]: row for row in table.to_pylist()}, sink.findings, sink


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


# -- English "all fields" export --------------------------------------------------------


def test_english_export_reads_repeated_columns_by_position(tmp_path: Path) -> None:
    issues, _, _ = import_csv(FIXTURES / "english_all_fields.csv", tmp_path)
    shop101 = issues["SHOP-101"]
    assert shop101["created"] == 1_766_414_280_000_000  # 2025-12-22T14:38Z
    assert shop101["updated"] == 1_766_480_700_000_000  # 2025-12-23T09:05Z
    assert shop101["resolved"] == 1_766_480_400_000_000  # 2025-12-23T09:00Z
    assert shop101["labels"] == ["regression", "safari"]
    assert shop101["components"] == ["Frontend", "Payments"]
    assert shop101["story_points"] == 3.0
    assert shop101["parent"] == "SHOP-100"  # from Custom field (Epic Link)
    assert (shop101["issue_id"], shop101["type"], shop101["priority"], shop101["resolution"]) == ("10101", "Bug", "High", "Fixed")
    assert shop101["assignee"] == "Ana Gómez"
    assert issues["SHOP-103"]["labels"] == ["api"]  # only the third Labels column is filled


def test_multi_line_quoted_cells_with_crlf_do_not_split_rows(tmp_path: Path) -> None:
    issues, _, _ = import_csv(FIXTURES / "english_all_fields.csv", tmp_path)
    assert sorted(issues) == ["SHOP-101", "SHOP-102", "SHOP-103", "SHOP-104"]
    assert issues["SHOP-102"]["status"] == "In Progress"
    assert issues["SHOP-102"]["created"] == 1_764_584_100_000_000  # 2025-12-01T10:15Z


def test_numeric_parent_id_resolves_to_the_key_in_the_same_file(tmp_path: Path) -> None:
    issues, _, _ = import_csv(FIXTURES / "english_all_fields.csv", tmp_path)
    assert issues["SHOP-103"]["parent"] == "SHOP-102"
    assert issues["SHOP-103"]["created"] == 1_768_176_300_000_000  # 12:05 AM -> 2026-01-12T00:05Z


def test_status_category_project_and_unresolved(tmp_path: Path) -> None:
    issues, _, _ = import_csv(FIXTURES / "english_all_fields.csv", tmp_path)
    assert [issues[k]["status_category"] for k in ("SHOP-101", "SHOP-102", "SHOP-103", "SHOP-104")] == [
        "done", "indeterminate", "new", "indeterminate",
    ]
    assert issues["SHOP-104"]["project"] == "SHOP"  # empty Project key: from the issue key
    assert issues["SHOP-104"]["resolution"] is None  # "Unresolved" means none


def test_bad_rows_are_reported_not_dropped_silently(tmp_path: Path) -> None:
    issues, findings, _ = import_csv(FIXTURES / "english_all_fields.csv", tmp_path)
    by_code = {f.code: f for f in findings}
    assert codes(findings).count("row_without_key") == 1
    assert by_code["issue_without_created"].key == "SHOP-106"
    assert "SHOP-106" in by_code["issue_without_created"].message and '"soon"' in by_code["issue_without_created"].message
    assert "SHOP-106" not in issues
    assert issues["SHOP-104"]["updated"] is None
    assert by_code["bad_date"].key == "SHOP-104" and "yesterday" in by_code["bad_date"].message
    assert all(f.file == "english_all_fields.csv" for f in findings)


def test_import_says_plainly_that_a_csv_has_no_history(tmp_path: Path) -> None:
    _, findings, sink = import_csv(FIXTURES / "english_all_fields.csv", tmp_path)
    note = [f for f in findings if f.code == "no_status_history"]
    assert len(note) == 1 and note[0].severity == "info" and note[0].key is None
    assert "Getting a Jira export with history" in note[0].message and "JSON" in note[0].message
    assert sink.meta["has_history"] is False
    assert "jira-csv" in sink.meta["formats"]
    assert pq.read_table(tmp_path / "sink" / "status_changes.parquet").num_rows == 0


# -- localised exports --------------------------------------------------------------------


def test_spanish_export_in_madrid_time(tmp_path: Path) -> None:
    issues, findings, _ = import_csv(FIXTURES / "spanish.csv", tmp_path, timezone=MADRID)
    ventas7 = issues["VENTAS-7"]
    assert ventas7["created"] == 1_762_789_860_000_000  # 10/nov/25 4:51 PM CET -> 2025-11-10T15:51Z
    assert ventas7["resolved"] == 1_766_410_680_000_000  # 22/dic./25 2:38 p. m. CET -> 2025-12-22T13:38Z
    assert ventas7["updated"] == ventas7["resolved"]
    assert (ventas7["status"], ventas7["status_category"], ventas7["story_points"]) == ("Listo", "done", 2.5)
    assert ventas7["labels"] == ["pagos", "urgente"] and ventas7["components"] == ["Pasarela"]
    assert (ventas7["type"], ventas7["issue_id"], ventas7["assignee"]) == ("Error", "20007", "María Pérez")
    assert issues["VENTAS-8"]["created"] == 1_767_427_200_000_000  # 3/ene./26 9:00 a. m. CET -> 08:00Z
    assert issues["VENTAS-9"]["status_category"] == "new" and issues["VENTAS-9"]["resolution"] is None
    assert codes(findings) == ["no_status_history"]


def test_spanish_export_in_utc(tmp_path: Path) -> None:
    issues, _, _ = import_csv(FIXTURES / "spanish.csv", tmp_path)
    assert issues["VENTAS-7"]["resolved"] == 1_766_414_280_000_000  # 2025-12-22T14:38Z
    assert issues["VENTAS-9"]["created"] == 1_759_276_740_000_000  # 30/sept/25 11:59 PM -> 2025-09-30T23:59Z


def test_german_semicolon_export(tmp_path: Path) -> None:
    issues, _, _ = import_csv(FIXTURES / "german_semicolon.csv", tmp_path)
    assert issues["LAGER-1"]["created"] == 1_710_237_600_000_000  # 12/Mär/24 10:00 -> 2024-03-12T10:00Z
    assert issues["LAGER-1"]["resolved"] == 1_710_433_200_000_000  # 2024-03-14T16:20Z
    assert issues["LAGER-1"]["labels"] == ["login", "sicherheit"]
    assert issues["LAGER-2"]["created"] == 1_751_920_680_000_000  # 07.07.2025 20:38 -> 2025-07-07T20:38Z
    assert issues["LAGER-2"]["summary"] == "Bericht; Export als PDF"
    assert [issues[k]["status_category"] for k in ("LAGER-1", "LAGER-2")] == ["done", "indeterminate"]


def test_french_tab_export(tmp_path: Path) -> None:
    issues, _, _ = import_csv(FIXTURES / "french_tab.tsv", tmp_path)
    caisse5 = issues["CAISSE-5"]
    assert caisse5["created"] == 1_707_124_500_000_000  # 05/févr./24 09:15 -> 2024-02-05T09:15Z
    assert caisse5["resolved"] == 1_734_025_500_000_000  # 12/déc./24 17:45 -> 2024-12-12T17:45Z
    assert (caisse5["status"], caisse5["status_category"], caisse5["summary"]) == ("Terminé", "done", "Corriger l'export")
    assert issues["CAISSE-6"]["created"] == 1_735_902_300_000_000  # 3/janv./25 11:05 AM -> 2025-01-03T11:05Z
    assert issues["CAISSE-6"]["updated"] == 1_754_035_200_000_000  # 01/août/25 08:00 -> 2025-08-01T08:00Z
    assert issues["CAISSE-6"]["story_points"] == 1.5


def test_portuguese_export(tmp_path: Path) -> None:
    issues, _, _ = import_csv(FIXTURES / "portuguese.csv", tmp_path)
    loja3 = issues["LOJA-3"]
    assert loja3["created"] == 1_760_115_060_000_000  # 10/out/25 4:51 PM -> 2025-10-10T16:51Z
    assert loja3["resolved"] == 1_764_928_800_000_000  # 05/dez/25 10:00 AM -> 2025-12-05T10:00Z
    assert (loja3["status_category"], loja3["components"], loja3["assignee"]) == ("done", ["Autenticação"], "João Silva")
    assert issues["LOJA-4"]["created"] == 1_738_746_000_000_000  # 05/fev/25 09:00 -> 2025-02-05T09:00Z
    assert issues["LOJA-4"]["updated"] is None and issues["LOJA-4"]["type"] == "História"


@pytest.mark.parametrize(
    "header, field",
    [
        ("CAMPO PERSONALIZADO (Story Points)", "story_points"),
        ("Champ personnalisé (Story point estimate)", "story_points"),
        ("Benutzerdefiniertes Feld (Epic Link)", "epic_link"),
        ("Custom field (Parent Link)", "epic_link"),
        ("clave de incidencia", "key"),
        ("Categoria de Status", "status_category"),
        ("Catégorie d’état", "status_category"),
        ("\ufeffIssue key", "key"),
        ("Custom field (Team)", None),
        ("Watchers", None),
    ],
)
def test_header_names_match_across_languages(header: str, field: str | None) -> None:
    assert jira_csv.field_for_header(header) == field


# -- encodings ----------------------------------------------------------------------------

SMALL_HEADER = "Issue key\tSummary\tStatus\tCreated\tUpdated\tResolved"


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("Issue key,Summary,Status,Created\r\nBOM-1,Café,Done,22/Dec/25 2:38 PM\r\n".encode("utf-8-sig"))
    issues, _, _ = import_csv(path, tmp_path)
    assert issues["BOM-1"]["summary"] == "Café" and issues["BOM-1"]["created"] == 1_766_414_280_000_000


def test_excel_utf16_tab_delimited(tmp_path: Path) -> None:
    text = SMALL_HEADER + "\r\nUNI-1\tÜbersicht ✓\tEn curso\t22/dic./25 2:38 p. m.\t\t\r\n"
    path = tmp_path / "unicode.txt"
    path.write_bytes(text.encode("utf-16"))
    assert jira_csv.sniff(path.read_bytes()[:4096]) >= 90
    issues, _, _ = import_csv(path, tmp_path)
    assert issues["UNI-1"]["summary"] == "Übersicht ✓"
    assert issues["UNI-1"]["created"] == 1_766_414_280_000_000
    assert issues["UNI-1"]["status_category"] is None  # no Status Category column


def test_windows_1252_dash_in_summary(tmp_path: Path) -> None:
    path = tmp_path / "cp1252.csv"
    path.write_bytes(b"Issue key,Summary,Status,Created\r\nWIN-1,Login \x96 broken,Open,05/Jan/26 8:00 AM\r\n")
    assert jira_csv.sniff(path.read_bytes()) >= 90
    issues, _, _ = import_csv(path, tmp_path)
    assert issues["WIN-1"]["summary"] == "Login \u2013 broken"


def test_gzipped_export(tmp_path: Path) -> None:
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress((FIXTURES / "spanish.csv").read_bytes()))
    issues, _, _ = import_csv(path, tmp_path)
    assert sorted(issues) == ["VENTAS-7", "VENTAS-8", "VENTAS-9"]


# -- problems -----------------------------------------------------------------------------


def test_missing_status_column_names_file_and_column(tmp_path: Path) -> None:
    with pytest.raises(ImportProblem) as caught:
        import_csv(FIXTURES / "missing_status.csv", tmp_path)
    sentence = caught.value.sentence
    assert "missing_status.csv" in sentence and '"Status"' in sentence
    assert '"Issue key"' in sentence and '"Created"' in sentence  # what was found
    assert caught.value.file == "missing_status.csv"


def test_header_only_file_has_no_issues(tmp_path: Path) -> None:
    with pytest.raises(ImportProblem, match="No issues found in header_only.csv"):
        import_csv(FIXTURES / "header_only.csv", tmp_path)


def test_file_where_no_row_is_usable_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "unusable.csv"
    path.write_text("Issue key,Status,Created\nA-1,Open,never\nA-2,Open,\n", encoding="utf-8")
    with pytest.raises(ImportProblem, match="unusable.csv"):
        import_csv(path, tmp_path)


def test_real_task_list_csv_is_not_a_jira_export(tmp_path: Path) -> None:
    path = REAL / "rueedlinger_agile_project_4123tasks.csv"
    assert jira_csv.sniff(read_head(path, path.name)) == 0
    with pytest.raises(ImportProblem) as caught:
        import_csv(path, tmp_path)
    assert path.name in caught.value.sentence and '"Issue key"' in caught.value.sentence


@pytest.mark.parametrize(
    "name", ["jirametrics_sample_search_6issues.json", "puppet_public_perceval_5issues.json", "jirametrics_sample_statuses.json"]
)
def test_real_json_exports_are_not_sniffed_as_csv(name: str) -> None:
    path = REAL / name
    assert jira_csv.sniff(read_head(path, name)) == 0


@pytest.mark.parametrize(
    "name", ["english_all_fields.csv", "spanish.csv", "german_semicolon.csv", "french_tab.tsv", "portuguese.csv"]
)
def test_fixtures_are_sniffed_with_confidence(name: str) -> None:
    assert jira_csv.sniff((FIXTURES / name).read_bytes()) >= 90


def test_file_without_status_is_only_a_weak_guess() -> None:
    assert 0 < jira_csv.sniff((FIXTURES / "missing_status.csv").read_bytes()) < 50


# -- columns, dates and rows --------------------------------------------------------------


def test_date_order_is_chosen_per_column(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "Issue key,Status,Created,Updated\n"
        "US-1,Open,01/02/2025 10:00,01/02/2025\n"
        "US-2,Open,02/13/2025 10:00,13/02/2025\n",
        encoding="utf-8",
    )
    issues, findings, _ = import_csv(path, tmp_path)
    assert issues["US-1"]["created"] == 1_735_812_000_000_000  # month-first: 2025-01-02T10:00Z
    assert issues["US-2"]["created"] == 1_739_440_800_000_000  # 2025-02-13T10:00Z
    assert issues["US-1"]["updated"] == 1_738_368_000_000_000  # day-first: 2025-02-01T00:00Z
    assert codes(findings) == ["no_status_history"]


def test_parent_id_outside_the_file_is_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "parents.csv"
    path.write_text(
        "Issue key,Issue id,Parent,Status,Created\n"
        "P-1,1,999,Open,2025-07-07\n"
        "P-2,2,998,Open,2025-07-07\n"
        "P-3,3,1,Open,2025-07-07\n",
        encoding="utf-8",
    )
    issues, findings, _ = import_csv(path, tmp_path)
    assert [issues[k]["parent"] for k in ("P-1", "P-2", "P-3")] == [None, None, "P-1"]
    assert [f.message for f in findings if f.code == "parent_not_in_file"][0].startswith("2 issues")


def test_short_rows_and_bad_story_points(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "Issue key,Status,Created,Story Points,Labels,Labels\n"
        "R-1,Open,2025-07-07 20:38\n"
        "R-2,Open,2025-07-07 20:38,lots,a b,c\n",
        encoding="utf-8",
    )
    issues, findings, _ = import_csv(path, tmp_path)
    assert issues["R-1"]["story_points"] is None and issues["R-1"]["labels"] == []
    assert issues["R-2"]["labels"] == ["a", "b", "c"]  # Jira labels hold no spaces: a cell may list several
    assert [f.key for f in findings if f.code == "bad_number"] == ["R-2"]


def test_progress_reports_rows_up_to_the_total(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    import_csv(FIXTURES / "spanish.csv", tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3, 3)


def _write_large_export(path: Path, rows: int) -> None:
    """An "all fields"-like export: 44 columns with repeats, 3 date columns, multi-line cells."""
    rng = random.Random(5)
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()

    def stamp() -> str:
        h = rng.randrange(24)
        day, month, year = rng.randrange(1, 29), months[rng.randrange(12)], rng.randrange(22, 26)
        return f"{day}/{month}/{year} {h % 12 or 12}:{rng.randrange(60):02d} {'PM' if h >= 12 else 'AM'}"

    header = (
        ["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key", "Project name", "Priority",
         "Resolution", "Assignee", "Reporter", "Creator", "Created", "Updated", "Last Viewed", "Resolved",
         "Fix Version/s", "Component/s", "Component/s", "Due Date", "Labels", "Labels", "Labels", "Description"]
        + ["Watchers"] * 5 + ["Custom field (Story Points)", "Sprint", "Sprint"] + ["Comment"] * 6
        + ["Parent", "Parent summary", "Status Category", "Status Category Changed", "Custom field (Team)"]
    )
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(rows):
            writer.writerow(
                [f"Item {i}", f"BIG-{i + 1}", str(10_000 + i), "Story", "In Progress", "BIG", "Big", "Medium", "",
                 f"dev{i % 9}", "pm", "pm", stamp(), stamp(), "", stamp() if i % 2 else "", "", "api", "", "",
                 "x", "y" if i % 3 else "", "", "Line one\r\nline two"]
                + ["w"] * 5 + [str(i % 8), "Sprint 1", ""] + ["a comment"] + [""] * 5
                + [str(10_000 + i // 2) if i % 4 == 0 else "", "", "In Progress", stamp(), ""]
            )


def test_twenty_thousand_rows_import_quickly(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    _write_large_export(path, 20_000)
    start = time.perf_counter()
    issues, _, _ = import_csv(path, tmp_path)
    elapsed = time.perf_counter() - start
    assert len(issues) == 20_000
    assert issues["BIG-5"]["parent"] == "BIG-3"  # id 10002 -> BIG-3
    assert elapsed < 2.0, f"{elapsed:.2f}s for 20,000 rows (target: 100,000 rows in under 10 s)"
