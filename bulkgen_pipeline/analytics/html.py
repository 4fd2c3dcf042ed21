"""report.html: the whole randomization report as one self-contained page.

Styles and charts (SVG) are inline, so the file opens from disk, offline, with no server, no
script and nothing fetched.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .charts import (
    Chart,
    colour_chart,
    failure_rate_chart,
    latency_chart,
    value_frequency_chart,
)
from .report import RandomizationReport

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1b1b1b;
background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555}
.findings{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px}
.findings li.bad{color:#a12a1d;font-weight:600}
table{border-collapse:collapse;background:#fff;margin:8px 0;font-size:12.5px}
th,td{border:1px solid #e0e0e0;padding:3px 8px;text-align:left}th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure.chart{margin:0;background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:8px}
figure.chart svg{display:block;max-width:100%;height:auto}
figcaption{font-size:12px;color:#555;max-width:520px}
.note{color:#555;font-size:13px}
summary{cursor:pointer;color:#234;margin:8px 0}
"""


def report_charts(report: RandomizationReport) -> list[Chart]:
    """Every chart of the report, in page order."""
    return [
        *_frequency_charts(report),
        *_colour_charts(report),
        *_failure_charts(report),
        *([c] if (c := latency_chart(report.providers.latencies)) else []),
    ]


def _frequency_charts(report: RandomizationReport) -> list[Chart]:
    values = report.frequencies.values
    keys = ["category", "attribute", "strategy"]
    return [
        value_frequency_chart(category, attribute, strategy, group)
        for (category, attribute, strategy), group in values.groupby(keys, sort=True, observed=True)
    ]


def _colour_charts(report: RandomizationReport) -> list[Chart]:
    colours = report.colours.colours
    return [colour_chart(strategy, group) for strategy, group in colours.groupby("strategy")]


def _failure_charts(report: RandomizationReport) -> list[Chart]:
    values = report.failures.values
    charts = [
        failure_rate_chart(category, group)
        for category, group in values.groupby("category", sort=True, observed=True)
    ]
    return [c for c in charts if c is not None]


def render_html(report: RandomizationReport, charts: list[Chart]) -> str:
    by_prefix: dict[str, list[Chart]] = {}
    for chart in charts:
        by_prefix.setdefault(chart.chart_id.split("-", 1)[0], []).append(chart)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>bulkgen · randomization report</title>",
        f"<style>{_STYLE}</style></head><body><main>",
        "<h1>How randomization turned out</h1>",
        f'<p class="meta">{_esc(_period(report))}</p>',
        _findings(report),
    ]
    if report.runs == 0:
        parts.append("<p>No settled runs yet: the report fills in as runs settle.</p>")
    else:
        parts += _sections(report, by_prefix)
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _sections(report: RandomizationReport, charts: dict[str, list[Chart]]) -> list[str]:
    return [
        *_frequency_section(report, charts),
        *_balance_and_uniqueness_sections(report),
        *_colour_section(report, charts),
        *_failure_section(report, charts),
        *_provider_section(report, charts),
        *_pictures_sections(report),
    ]


def _frequency_section(report: RandomizationReport, charts: dict[str, list[Chart]]) -> list[str]:
    """Value frequencies of random draws: the flagged values, their charts, every test."""
    f = report.frequencies
    alpha = report.alpha
    return [
        "<h2>Value frequencies of random draws</h2>",
        '<p class="note">Per category, attribute and sampling strategy: the values drawn at '
        "random against an even chance among the options (both <code>unique</code> and "
        "<code>balanced</code> give each option the same chance). A chi-square goodness of fit "
        "per attribute and a z-test per value, Holm-corrected together over all "
        f"{len(f.tests) + len(f.values)} tests: flagged below α = {alpha}. An attribute is "
        "flagged when its own test or one of its values is."
        + (
            f" {report.replays_dropped} run(s) replaying a preset seed's draw are counted once."
            if report.replays_dropped
            else ""
        )
        + "</p>",
        "<h3>Values drawn more or less often than expected</h3>",
        _table(
            report.flagged_values,
            [
                "category",
                "attribute",
                "strategy",
                "value",
                "observed",
                "expected",
                "z",
                "p_adjusted",
                "flag",
            ],
            empty="None: every value is drawn as often as its strategy predicts.",
        ),
        _charts(charts.get("frequency", [])),
        _details(
            f"All {len(f.tests)} attribute tests",
            _table(
                f.tests,
                [
                    "category",
                    "attribute",
                    "strategy",
                    "runs",
                    "picks",
                    "values",
                    "chi2",
                    "dof",
                    "p_value",
                    "p_adjusted",
                    "flagged",
                ],
            ),
        ),
    ]


def _balance_and_uniqueness_sections(report: RandomizationReport) -> list[str]:
    """Balanced runs, uniqueness within runs, and what merchants fix or leave random."""
    return [
        "<h2>Balanced runs</h2>",
        _balance(report),
        "<h2>Uniqueness within runs</h2>",
        '<p class="note">A run may repeat a combination of random attributes only when its '
        "combination space is smaller than its generation count.</p>",
        _table(report.uniqueness.summary, list(report.uniqueness.summary.columns)),
        _table(
            report.uniqueness.repeats,
            list(report.uniqueness.repeats.columns),
            empty="No run repeats a combination it had room to avoid.",
        ),
        "<h2>Fixed by the merchant or left random</h2>",
        '<p class="note">Each preset counted once, as of its latest run.</p>',
        _details(
            f"{len(report.fixed_or_random)} attributes",
            _table(report.fixed_or_random, list(report.fixed_or_random.columns)),
            open_=True,
        ),
    ]


def _colour_section(report: RandomizationReport, charts: dict[str, list[Chart]]) -> list[str]:
    """Colours handed out per colour strategy."""
    return [
        "<h2>Colours per colour strategy</h2>",
        _table(
            report.colours.strategies,
            [
                "strategy",
                "runs",
                "picks",
                "colours",
                "check",
                "p_adjusted",
                "mismatches",
                "flagged",
            ],
            empty="No run handed out colours from a palette.",
        ),
        _charts(charts.get("colours", [])),
    ]


def _failure_section(report: RandomizationReport, charts: dict[str, list[Chart]]) -> list[str]:
    """Failure rate by attribute value."""
    return [
        "<h2>Failure rate by attribute value</h2>",
        '<p class="note">Judged on random draws, value against the other values of its pool '
        "(Fisher exact; Cochran–Mantel–Haenszel across pools), Holm-corrected together with "
        "each attribute's chi-square test of independence. "
        "<em>lower</em> can simply mean that another value of the attribute fails a lot.</p>",
        _table(
            report.flagged_failure_values,
            [
                "category",
                "attribute",
                "value",
                "generations",
                "failed",
                "rate",
                "all_rate",
                "p_adjusted",
                "flag",
                "top_reason",
            ],
            empty="No value fails significantly more or less often than the others.",
        ),
        _charts(charts.get("failures", [])),
    ]


def _provider_section(report: RandomizationReport, charts: dict[str, list[Chart]]) -> list[str]:
    """Providers and their latency."""
    return [
        "<h2>Providers</h2>",
        _table(report.providers.table, list(report.providers.table.columns)),
        _charts(charts.get("latency", [])),
    ]


def _pictures_sections(report: RandomizationReport) -> list[str]:
    """What the pictures themselves say: random attributes that leave the picture alike, and
    whether images show the colour they asked for."""
    return [
        "<h2>Attributes that do not change the picture</h2>",
        "<p>Pairs of generations of one run that differ in this random attribute alone; "
        "near-duplicates: their perceptual hashes are within the run's threshold. A high share "
        "means drawing this attribute hardly changes the image.</p>",
        _table(
            report.near_duplicates_by_attribute,
            list(report.near_duplicates_by_attribute.columns),
            empty="No pairs yet: runs settled before pictures were looked at, or none differ in "
            "one attribute alone.",
        ),
        "<h2>Colour adherence</h2>",
        "<p>Images whose generation asked for a colour, and how many show it (CIEDE2000 to a "
        "dominant colour within 10, on at least 5 % of the picture).</p>",
        _table(
            report.colour_adherence,
            list(report.colour_adherence.columns),
            empty="No colour measured yet.",
        ),
    ]


def _period(report: RandomizationReport) -> str:
    when = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    if report.runs == 0:
        return f"Generated {when}."
    first = report.first_run.strftime("%Y-%m-%d") if report.first_run else "?"
    last = report.last_run.strftime("%Y-%m-%d") if report.last_run else "?"
    return (
        f"{report.runs:,} runs, {report.generations:,} generations, {report.fact_rows:,} facts "
        f"· runs from {first} to {last} · significance level α = {report.alpha} "
        f"· generated {when}"
    )


def findings(report: RandomizationReport) -> list[tuple[int, str]]:
    """The report in six numbers: each is 0 when randomization behaved."""
    return [
        (len(report.flagged_attributes), "attribute test(s) flagged"),
        (len(report.flagged_values), "value(s) over- or under-drawn"),
        (int(report.colours.strategies["flagged"].sum()), "colour strategy check(s) failed"),
        (len(report.balance.violations), "balanced draw(s) off by more than one"),
        (
            len(report.uniqueness.repeats),
            "run(s) with a repeated combination they had room to avoid",
        ),
        (len(report.flagged_failure_values), "value(s) failing at a different rate"),
    ]


def _findings(report: RandomizationReport) -> str:
    lines = [
        f'<li class="{"bad" if count else "ok"}">{count} {_esc(text)}</li>'
        for count, text in findings(report)
    ]
    return f'<div class="findings"><strong>Findings</strong><ul>{"".join(lines)}</ul></div>'


def _balance(report: RandomizationReport) -> str:
    b = report.balance
    if b.runs == 0:
        return "<p>No run used the <code>balanced</code> strategy.</p>"
    text = (
        f"<p>{b.runs:,} balanced runs, {b.draws:,} attribute draws: {b.within_one:,} with every "
        "option used within one count of the others.</p>"
    )
    return text + _table(b.violations, list(b.violations.columns), empty="")


def _details(summary: str, body: str, *, open_: bool = False) -> str:
    """A section readers can fold (plain HTML, no script)."""
    return f"<details{' open' if open_ else ''}><summary>{_esc(summary)}</summary>{body}</details>"


def _charts(charts: Iterable[Chart]) -> str:
    figures = [
        f'<figure class="chart" id="chart-{_esc(c.chart_id)}" data-chart="{_esc(c.chart_id)}">'
        f"{c.svg}<figcaption>{_esc(c.description)}</figcaption></figure>"
        for c in charts
    ]
    return f'<div class="charts">{"".join(figures)}</div>' if figures else ""


def _table(frame: pd.DataFrame, columns: list[str], empty: str = "Nothing yet.") -> str:
    if frame.empty:
        return f"<p>{_esc(empty)}</p>" if empty else ""
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    rows = []
    for record in frame[columns].itertuples(index=False, name=None):
        cells = "".join(_cell(v) for v in record)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _cell(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return f"<td>{'yes' if value else ''}</td>"
    if isinstance(value, int | np.integer):
        return f'<td class="num">{int(value):,}</td>'
    if isinstance(value, float | np.floating):
        if pd.isna(value):
            return "<td></td>"
        if value != 0 and abs(float(value)) < 1:
            text = f"{value:.3g}"
        else:
            text = f"{value:,.2f}".rstrip("0").rstrip(".")
        return f'<td class="num">{text}</td>'
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "<td></td>"
    return f"<td>{_esc(str(value))}</td>"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
