"""DuckDB connections over a dataset version's Parquet files.

One in-memory connection per unit of work (DuckDB's rule for threads: a cursor or a
connection per thread); the tables are views over the immutable Parquet files, so any
number of processes can read while another imports.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from vsm_core.store import DATA_FILES


def sql_path(path: Path) -> str:
    """A file path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def connect(directory: Path | None = None, *, memory_limit: str = "1GB", temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection; with ``directory``, one view per table file in it."""
    config = {"memory_limit": memory_limit, "threads": 2}
    if temp_dir is not None:
        config["temp_directory"] = str(temp_dir)
    con = duckdb.connect(":memory:", config=config)
    if directory is not None:
        attach_views(con, directory)
    return con


def attach_views(con: duckdb.DuckDBPyConnection, directory: Path) -> None:
    for name in DATA_FILES:
        file = Path(directory) / name
        if file.exists():
            con.execute(f"CREATE OR REPLACE VIEW {name.removesuffix('.parquet')} AS SELECT * FROM read_parquet({sql_path(file)})")
