"""Build the report from generation_facts and store it: the one use case behind the
randomization_report asset, `bulkgen analytics report` and the demo."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..storage.base import ObjectStore
from .charts import Chart
from .html import render_html, report_charts
from .report import RandomizationReport, build_report
from .significance import DEFAULT_ALPHA

REPORT_KEY = "analytics/report.html"


@dataclass(frozen=True)
class PublishedReport:
    report: RandomizationReport
    charts: list[Chart]
    html: str
    key: str


def render_report(facts: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> PublishedReport:
    report = build_report(facts, alpha)
    charts = report_charts(report)
    return PublishedReport(report, charts, render_html(report, charts), REPORT_KEY)


def publish_report(
    store: ObjectStore, facts: pd.DataFrame, alpha: float = DEFAULT_ALPHA
) -> PublishedReport:
    """The report of every fact, written to `analytics/report.html` in the object store."""
    published = render_report(facts, alpha)
    store.put_bytes(REPORT_KEY, published.html.encode("utf-8"), "text/html; charset=utf-8")
    return published
