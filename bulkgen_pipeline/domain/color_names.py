"""Readable names for hex colours, so a prompt says "in navy blue (#000080)", not just the hex.

Image models follow a colour word far better than a hex code; the hex stays in the prompt for
traceability. The table is deliberately small: names a shopper would use, not paint-chart names.
"""

from __future__ import annotations

import math
import re

# Anchors are mostly CSS colour values, so well-known hex codes get their familiar names.
# Order matters only for exact ties, which go to the earlier (more common) name.
COLOR_TABLE: tuple[tuple[str, str], ...] = (
    ("black", "#000000"),
    ("white", "#FFFFFF"),
    ("grey", "#808080"),
    ("light grey", "#D3D3D3"),
    ("charcoal grey", "#36454F"),
    ("silver", "#C0C0C0"),
    ("red", "#FF0000"),
    ("crimson", "#DC143C"),
    ("burgundy", "#800020"),
    ("rust", "#B7410E"),
    ("pink", "#FFC0CB"),
    ("hot pink", "#FF69B4"),
    ("coral", "#FF7F50"),
    ("orange", "#FFA500"),
    ("peach", "#FFDAB9"),
    ("yellow", "#FFFF00"),
    ("mustard yellow", "#E1AD01"),
    ("gold", "#FFD700"),
    ("beige", "#F5F5DC"),
    ("cream", "#FFFDD0"),
    ("tan", "#D2B48C"),
    ("khaki", "#F0E68C"),
    ("brown", "#8B4513"),
    ("chocolate brown", "#5C3317"),
    ("olive green", "#808000"),
    ("green", "#008000"),
    ("forest green", "#228B22"),
    ("lime green", "#32CD32"),
    ("bright green", "#00FF00"),
    ("mint green", "#98FF98"),
    ("teal", "#008080"),
    ("turquoise", "#40E0D0"),
    ("sky blue", "#87CEEB"),
    ("steel blue", "#4682B4"),
    ("denim blue", "#1560BD"),
    ("royal blue", "#4169E1"),
    ("blue", "#0000FF"),
    ("navy blue", "#000080"),
    ("midnight blue", "#191970"),
    ("dark navy", "#1B2A49"),
    ("indigo", "#4B0082"),
    ("purple", "#800080"),
    ("lavender", "#E6E6FA"),
    ("mauve", "#E0B0FF"),
    ("magenta", "#FF00FF"),
)

_HEX_RE = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def parse_hex(hex: str) -> tuple[int, int, int]:
    """'#RRGGBB' (or '#RGB', with or without '#') to an (r, g, b) tuple; ValueError otherwise."""
    match = _HEX_RE.match(hex.strip()) if isinstance(hex, str) else None
    if match is None:
        raise ValueError(f"not a hex colour: {hex!r} (expected '#RRGGBB')")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def is_hex_color(value: object) -> bool:
    return isinstance(value, str) and _HEX_RE.match(value.strip()) is not None


def color_name(hex: str) -> str:
    """The nearest readable name for a hex colour (CIE94 distance in Lab space); deterministic."""
    target = _to_lab(parse_hex(hex))
    best = min(_TABLE_LAB, key=lambda entry: _cie94(target, entry[1]))
    return best[0]


# Plain RGB distance calls dark blues "charcoal" and pale greys "beige"; Lab with the CIE94
# weighting follows what people see, for a few microseconds more per call.
def _to_lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    r, g, b = (_linear(channel / 255) for channel in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    fx, fy, fz = (_lab_f(t) for t in (x, y, z))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def _lab_f(t: float) -> float:
    return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116


def _cie94(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """Squared CIE94 colour difference (graphic-arts constants); a is the reference colour."""
    chroma_a, chroma_b = math.hypot(a[1], a[2]), math.hypot(b[1], b[2])
    d_lightness, d_chroma = a[0] - b[0], chroma_a - chroma_b
    d_hue_sq = max((a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2 - d_chroma**2, 0.0)
    return (
        d_lightness**2
        + (d_chroma / (1 + 0.045 * chroma_a)) ** 2
        + d_hue_sq / (1 + 0.015 * chroma_a) ** 2
    )


_TABLE_LAB = tuple((name, _to_lab(parse_hex(code))) for name, code in COLOR_TABLE)
