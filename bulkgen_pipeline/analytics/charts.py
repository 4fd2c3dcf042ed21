"""The report's pictures as inline SVG: bar charts, interval bars and box plots.

Drawn here rather than with matplotlib because a report holds one chart per attribute of every
category (well over a hundred): matplotlib needs 0.1–0.3 s a chart on the 2-core machine, these
take about a millisecond, so the report stays fast to rebuild as the history grows. The markup
is plain SVG 1.1 (rect, line, text), no ids, no script, so any number of charts share a page.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

OVER = "#c0392b"  # drawn or failing more than expected
UNDER = "#d68910"  # drawn or failing less than expected
NEUTRAL = "#5b7db1"
EXPECTED = "#1b1b1b"
MAX_BARS = 25
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
_FONT = 11
_CHAR_W = 6.1  # average width of a character at _FONT px, to leave room for labels
_LABEL_CHARS = 42  # longer labels are cut (the full text is in the bar's tooltip)


@dataclass(frozen=True)
class Chart:
    """One picture of the report: an id for the page, a title, a description and the SVG."""

    chart_id: str
    title: str
    description: str
    svg: str


def _slug(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-12:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _tick_text(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%" if value * 100 >= 1 or value == 0 else f"{value * 100:.1f}%"
    return f"{value:g}"


def _short(label: object, limit: int = _LABEL_CHARS) -> str:
    text = str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="system-ui, sans-serif" font-size="{_FONT}">'
        f"<title>{_esc(title)}</title>"
        f'<text x="4" y="14" font-size="13" font-weight="600">{_esc(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    expected: Sequence[float] | None = None,
    colours: Sequence[str] | None = None,
    y_label: str = "",
    percent: bool = True,
) -> str:
    """Vertical bars, with an optional expected level marked on each bar."""
    n = len(labels)
    lengths = [len(_short(label, 28)) for label in labels]
    slot = 26.0
    # Labels run down-left at 45 degrees: the bottom and the first bars' left need room.
    bottom = min(130.0, 0.62 * _CHAR_W * max(lengths, default=1) + 16)
    reach = [0.71 * _CHAR_W * n - 13 - slot * i for i, n in enumerate(lengths)]
    left = max(48.0, max(reach, default=0.0) + 4)
    top = 46.0 if expected is not None else 30.0  # room for the legend under the title
    plot_h = 150.0
    width = max(260.0, left + slot * n + 24)
    height = top + plot_h + bottom + 14
    peak = max([*values, *(expected or [])], default=0.0)
    ticks = nice_ticks(peak)
    scale = plot_h / ticks[-1]
    body = [_y_axis(left, top, plot_h, width - 12, ticks, scale, percent, y_label)]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + slot * i + 4
        h = max(0.0, float(value)) * scale
        colour = colours[i] if colours else NEUTRAL
        body.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot - 8:.1f}" '
            f'height="{h:.1f}" fill="{colour}" stroke="#444" stroke-width="0.4">'
            f"<title>{_esc(label)}: {_tick_text(float(value), percent)}</title></rect>"
        )
        if expected is not None:
            y = top + plot_h - float(expected[i]) * scale
            body.append(
                f'<line x1="{x - 3:.1f}" x2="{x + slot - 5:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{EXPECTED}" stroke-width="2.5"/>'
            )
        cx, cy = x + (slot - 8) / 2, top + plot_h + 8
        body.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" '
            f'transform="rotate(-45 {cx:.1f} {cy:.1f})">{_esc(_short(label, 28))}</text>'
        )
    if expected is not None:
        body.append(_legend(left, 32))
    return _svg(width, height, title, body)


def _legend(x: float, y: float) -> str:
    return (
        f'<rect x="{x:.0f}" y="{y - 7:.0f}" width="10" height="9" fill="{NEUTRAL}"/>'
        f'<text x="{x + 14:.0f}" y="{y + 1:.0f}" font-size="10">observed</text>'
        f'<line x1="{x + 66:.0f}" x2="{x + 80:.0f}" y1="{y - 3:.0f}" y2="{y - 3:.0f}" '
        f'stroke="{EXPECTED}" stroke-width="2.5"/>'
        f'<text x="{x + 84:.0f}" y="{y + 1:.0f}" font-size="10">expected</text>'
    )


def _y_axis(
    left: float,
    top: float,
    plot_h: float,
    right: float,
    ticks: list[float],
    scale: float,
    percent: bool,
    label: str,
) -> str:
    parts = []
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(
            f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e3e3e3"/><text x="{left - 4:.1f}" y="{y + 4:.1f}" '
            f'text-anchor="end">{_tick_text(tick, percent)}</text>'
        )
    parts.append(
        f'<line x1="{left:.1f}" x2="{left:.1f}" y1="{top:.1f}" y2="{top + plot_h:.1f}" '
        'stroke="#555"/>'
    )
    if label:
        cy = top + plot_h / 2
        parts.append(
            f'<text x="10" y="{cy:.1f}" text-anchor="middle" font-size="10" '
            f'transform="rotate(-90 10 {cy:.1f})">{_esc(label)}</text>'
        )
    return "".join(parts)


def interval_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    *,
    colours: Sequence[str] | None = None,
    x_label: str = "",
) -> str:
    """Horizontal bars (proportions) with an interval whisker on each."""
    n = len(labels)
    full = [str(label) for label in labels]
    labels = [_short(label) for label in labels]
    longest = max((len(label) for label in labels), default=1)
    left = _CHAR_W * longest + 12
    top, row, plot_w = 30.0, 18.0, 360.0
    width = left + plot_w + 30
    height = top + row * n + 40
    ticks = nice_ticks(max([*high, *values], default=0.0))
    scale = plot_w / ticks[-1]
    body = _vertical_grid(ticks, left, scale, top, top + row * n, percent=True)
    for i, label in enumerate(labels):
        y = top + row * i
        w = max(0.0, float(values[i])) * scale
        colour = colours[i] if colours else NEUTRAL
        x1, x2 = left + float(low[i]) * scale, left + float(high[i]) * scale
        body.append(
            f'<text x="{left - 6:.1f}" y="{y + 12:.1f}" text-anchor="end">{_esc(label)}</text>'
            f'<rect x="{left:.1f}" y="{y + 3:.1f}" width="{w:.1f}" height="{row - 6:.1f}" '
            f'fill="{colour}"><title>{_esc(full[i])}: {_tick_text(float(values[i]), True)} '
            f"({_tick_text(float(low[i]), True)}–{_tick_text(float(high[i]), True)})</title>"
            f'</rect><line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y + row / 2:.1f}" '
            f'y2="{y + row / 2:.1f}" stroke="#666" stroke-width="1.2"/>'
        )
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6:.1f}" text-anchor="middle" '
        f'font-size="10">{_esc(x_label)}</text>'
    )
    return _svg(width, height, title, body)


def _vertical_grid(
    ticks: Sequence[float], left: float, scale: float, top: float, bottom: float, *, percent: bool
) -> list[str]:
    """A grid line from `top` to `bottom` at each tick of a horizontal axis, labelled below."""
    return [
        f'<line x1="{left + tick * scale:.1f}" x2="{left + tick * scale:.1f}" y1="{top:.1f}" '
        f'y2="{bottom:.1f}" stroke="#e3e3e3"/><text x="{left + tick * scale:.1f}" '
        f'y="{bottom + 14:.1f}" text-anchor="middle">{_tick_text(tick, percent)}</text>'
        for tick in ticks
    ]


def box_chart(title: str, names: Sequence[str], samples: Sequence[np.ndarray], x_label: str):
    """One horizontal box per sample: p25–p75 box, p50 line, p5–p95 whiskers."""
    longest = max((len(n) for n in names), default=1)
    left = min(260.0, _CHAR_W * longest + 12)
    top, row, plot_w = 30.0, 30.0, 380.0
    width = left + plot_w + 30
    height = top + row * len(names) + 40
    quantiles = [np.quantile(s, [0.05, 0.25, 0.5, 0.75, 0.95]) for s in samples]
    ticks = nice_ticks(max((q[-1] for q in quantiles), default=1.0))
    scale = plot_w / ticks[-1]
    body = _vertical_grid(ticks, left, scale, top, top + row * len(names), percent=False)
    for i, (name, q) in enumerate(zip(names, quantiles, strict=True)):
        y = top + row * i + row / 2
        p5, p25, p50, p75, p95 = (left + v * scale for v in q)
        body.append(
            f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">{_esc(name)}</text>'
            f'<line x1="{p5:.1f}" x2="{p95:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#666"/>'
            f'<rect x="{p25:.1f}" y="{y - 8:.1f}" width="{max(p75 - p25, 1):.1f}" height="16" '
            f'fill="#dbe4f0" stroke="#444"><title>{_esc(name)}: p50 {q[2]:.2f} s, '
            f"p95 {q[4]:.2f} s</title></rect>"
            f'<line x1="{p50:.1f}" x2="{p50:.1f}" y1="{y - 8:.1f}" y2="{y + 8:.1f}" '
            f'stroke="{EXPECTED}" stroke-width="2"/>'
        )
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6:.1f}" text-anchor="middle" '
        f'font-size="10">{_esc(x_label)}</text>'
    )
    return _svg(width, height, title, body)


def value_frequency_chart(
    category: str, attribute: str, strategy: str, values: pd.DataFrame
) -> Chart:
    """Share of draws per value, the expected share marked on each bar, flagged bars coloured."""
    values = values.sort_values("expected_share", ascending=False, kind="stable").head(MAX_BARS)
    title = f"{category} · {attribute} ({strategy})"
    colours = [
        OVER if f == "over" else UNDER if f in ("under", "outside pool") else NEUTRAL
        for f in values["flag"]
    ]
    svg = bar_chart(
        title,
        values["value"].astype(str).tolist(),
        values["share"].fillna(0).tolist(),
        expected=values["expected_share"].fillna(0).tolist(),
        colours=colours,
        y_label="share of draws",
    )
    return Chart(
        _slug("frequency", category, attribute, strategy),
        title,
        f"Share of random draws per value of {attribute} for {category} ({strategy}); the black "
        "mark is the share the strategy should give, red and orange bars are flagged.",
        svg,
    )


def failure_rate_chart(category: str, values: pd.DataFrame) -> Chart | None:
    """Failure rate of each value among random draws, with its 95 % Wilson interval."""
    values = values[values["generations"] > 0]
    if values.empty or values["failed"].sum() == 0:
        return None
    shown = values.sort_values("rate", ascending=False).head(MAX_BARS)
    more = f" — the {MAX_BARS} highest of {len(values)}" if len(values) > MAX_BARS else ""
    title = f"{category}: failure rate by value{more}"
    svg = interval_chart(
        title,
        (shown["attribute"].astype(str) + " = " + shown["value"].astype(str)).tolist(),
        shown["rate"].tolist(),
        shown["rate_low"].tolist(),
        shown["rate_high"].tolist(),
        colours=[
            OVER if f == "higher" else UNDER if f == "lower" else NEUTRAL for f in shown["flag"]
        ],
        x_label="failure rate among random draws (95 % interval)",
    )
    return Chart(
        _slug("failures", category),
        title,
        f"Failure rate per attribute value for {category}; red: fails significantly more often "
        "than the other values of its attribute, orange: less often.",
        svg,
    )


def latency_chart(latencies: dict[str, np.ndarray]) -> Chart | None:
    if not latencies:
        return None
    names = sorted(latencies)
    svg = box_chart(
        "Provider latency",
        names,
        [latencies[n] for n in names],
        "seconds per image (box p25–p75, line p50, whiskers p5–p95)",
    )
    return Chart(
        "latency",
        "Provider latency",
        "Latency of the images each provider and model made.",
        svg,
    )


def colour_chart(strategy: str, colours: pd.DataFrame) -> Chart:
    """Share of each palette colour handed out, each bar in its own colour."""
    shown = colours.sort_values("observed", ascending=False).head(MAX_BARS)
    total = colours["observed"].sum() or 1
    labels = shown["value"].astype(str).tolist()
    svg = bar_chart(
        f"Colours · {strategy}",
        labels,
        (shown["observed"] / total).tolist(),
        expected=(shown["expected"] / total).tolist(),
        colours=[label if _HEX.match(label) else NEUTRAL for label in labels],
        y_label="share handed out",
    )
    return Chart(
        _slug("colours", strategy),
        f"Colours · {strategy}",
        f"Palette colours handed out under the {strategy} strategy; the black mark is the "
        "expected share.",
        svg,
    )
