"""Per-territory reports: context, notebook execution, export, batches.

- :func:`build_context` — everything one territory's report shows (the notebook's one call);
- :func:`compute_indicators` / :func:`load_indicators` — compute the tables once, read them back;
- :func:`render_report` — run the report notebook with papermill and export HTML (+ PDF);
- :func:`batch_reports` — many reports in parallel worker processes, with an index and open data.
"""

from __future__ import annotations

from .context import ReportContext, build_context, read_headline, save_headline
from .loader import Indicators, compute_indicators, load_indicators

__all__ = [
    "ReportContext",
    "build_context",
    "read_headline",
    "save_headline",
    "Indicators",
    "compute_indicators",
    "load_indicators",
]
