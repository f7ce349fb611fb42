"""Start the dashboard: ``python -m vsm_app.serve [streamlit options]`` (what ``make run`` does).

It is ``streamlit run app.py`` with the heavy libraries (pandas, pyarrow, DuckDB, Altair) and
the product's modules imported before the server opens, so the first visitor of a freshly
started server does not wait for them (about 0.8 s on a 2-CPU machine). Streamlit offers no
start-up hook for this; importing in the server's own process before it starts is enough,
because every script run shares that process's modules.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def preload() -> None:
    """Import what every page's first run would otherwise import."""
    import altair  # noqa: F401
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    import vsm_app.context  # noqa: F401
    import vsm_app.data  # noqa: F401
    import vsm_app.filters  # noqa: F401
    import vsm_core.charts  # noqa: F401
    import vsm_core.decisions.bottlenecks  # noqa: F401
    import vsm_core.decisions.experiments  # noqa: F401
    import vsm_core.decisions.levers  # noqa: F401
    import vsm_core.decisions.whatif  # noqa: F401
    import vsm_core.export  # noqa: F401
    import vsm_core.metrics.measures  # noqa: F401


def command(*options: str) -> list[str]:
    """The command line that starts the dashboard with ``options`` (``--server.port=...``)."""
    return [sys.executable, "-m", "vsm_app.serve", *options]


def main(argv: list[str] | None = None) -> None:
    preload()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
