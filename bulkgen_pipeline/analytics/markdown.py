"""The report's headline tables as Markdown, for the Dagster UI's asset metadata."""

from __future__ import annotations

import pandas as pd

from .html import findings
from .report import RandomizationReport

MAX_ROWS = 30


def markdown_table(frame: pd.DataFrame, columns: list[str], limit: int = MAX_ROWS) -> str:
    if frame.empty:
        return "_none_"
    shown = frame[columns].head(limit)
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for record in shown.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_cell(v) for v in record) + " |")
    if len(frame) > limit:
        lines.append(f"\n_… and {len(frame) - limit} more in report.html_")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if pd.isna(value):
            return ""
        return f"{value:.3g}" if value != 0 and abs(value) < 1 else f"{value:,.2f}"
    return str(value).replace("|", "\\|")


def summary_markdown(report: RandomizationReport) -> str:
    """Findings, then what was flagged: what an operator reads first in the Dagster UI."""
    parts = [
        f"**{report.runs:,} runs, {report.generations:,} generations**, α = {report.alpha}",
        "",
        *[f"- {count} {text}" for count, text in findings(report)],
        "",
        "### Values drawn more or less often than expected",
        markdown_table(
            report.flagged_values,
            ["category", "attribute", "strategy", "value", "observed", "expected", "flag"],
        ),
        "",
        "### Values failing at a different rate",
        markdown_table(
            report.flagged_failure_values,
            ["category", "attribute", "value", "generations", "failed", "rate", "flag"],
        ),
        "",
        "### Colour strategies",
        markdown_table(
            report.colours.strategies,
            ["strategy", "runs", "picks", "p_adjusted", "mismatches", "flagged"],
        ),
        "",
        "### Providers",
        markdown_table(
            report.providers.table,
            [
                "provider",
                "model",
                "generations",
                "success_rate",
                "attempts_mean",
                "latency_p50_s",
                "latency_p95_s",
            ],
        ),
    ]
    return "\n".join(parts)
