"""`mediamon report`: one self-contained HTML page of charts (plotly, its JavaScript inlined once) drawn from
the rpt_ views, readable offline and with no network access.

data.py reads the views, charts.py draws the figures, page.py and page.html lay out the page."""

from __future__ import annotations

from mediamon.report.data import ReportData, collect_report_data
from mediamon.report.page import render_report, write_report

__all__ = ["ReportData", "collect_report_data", "render_report", "write_report"]
