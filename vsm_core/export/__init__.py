"""Exports for people outside the dashboard: the leader report (one self-contained HTML page)
and CSV downloads that a spreadsheet opens safely. Pure Python; never imports Streamlit."""

from vsm_core.export.csv_safe import safe_csv_bytes
from vsm_core.export.html_report import leader_report_html

__all__ = ["leader_report_html", "safe_csv_bytes"]
