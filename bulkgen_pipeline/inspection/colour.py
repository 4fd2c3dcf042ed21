"""Does an image show the colour its generation asked for?

Method (README "Colour adherence"): the image, reduced to about 64 pixels a side, is quantised
to its twelve dominant colours (median cut), each compared with the requested one by CIEDE2000
in CIELAB (D65), the perceptual distance where about 2 is just noticeable and 10 plainly a
different shade. The image is adherent when the colours within ADHERENT_DELTA_E of the request
cover at least MIN_SHARE of it; it also records the nearest dominant colour and its distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

DOMINANT_COLOURS = 12  # fewer merge a product's colour with its neighbours (measured: 6 did)
MIN_SHARE = 0.05  # a colour on less of the picture than this is a detail, not its colour
SPECK = 0.01  # a cluster this small is no dominant colour at all
# Measured (benchmarks/bench_inspection.py, README): the requested colour painted, shaded and
# JPEG-compressed on a studio backdrop stays within 0.6; another palette colour is 15 and more.
# Real photographs light and shade a product more than that: 10 leaves them room.
ADHERENT_DELTA_E = 10.0


@dataclass(frozen=True)
class ColourMeasure:
    requested: str  # "#RRGGBB"
    nearest: str  # the dominant colour closest to it
    delta_e: float  # CIEDE2000 between the two
    share: float  # of the picture in dominant colours within ADHERENT_DELTA_E of the request

    @property
    def adherent(self) -> bool:
        return self.delta_e <= ADHERENT_DELTA_E and self.share >= MIN_SHARE

    def to_dict(self) -> dict[str, object]:
        return {
            "requested": self.requested,
            "nearest": self.nearest,
            "delta_e": round(self.delta_e, 2),
            "share": round(self.share, 3),
            "adherent": self.adherent,
        }


def measure_colour(small: Image.Image, requested: str) -> ColourMeasure:
    """`small`: the image already reduced (see looks.look_at); `requested`: "#RRGGBB"."""
    quantised = small.convert("RGB").quantize(DOMINANT_COLOURS, Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    # A "P" image's colours are (count, palette index) pairs.
    counts = [(int(n), int(i)) for n, i in quantised.getcolors(DOMINANT_COLOURS) or []]  # type: ignore[arg-type]
    total = sum(count for count, _ in counts)
    colours = np.array([palette[3 * index : 3 * index + 3] for _, index in counts], dtype=float)
    shares = np.array([count / total for count, _ in counts])
    wanted = np.array([int(requested.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)], dtype=float)
    distances = ciede2000(srgb_to_lab(wanted[None, :]), srgb_to_lab(colours))
    # One surface splits into several close clusters (light, shade, noise): what the picture
    # shows of the colour is all of them together.
    share = float(shares[distances <= ADHERENT_DELTA_E].sum())
    visible = shares >= SPECK
    best = int(np.argmin(np.where(visible, distances, np.inf)))
    nearest = "#" + "".join(f"{int(c):02X}" for c in colours[best])
    return ColourMeasure(requested.upper(), nearest, float(distances[best]), share)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0-255, rows) to CIELAB under D65."""
    c = rgb / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array(
        [
            [0.4124564, 0.2126729, 0.0193339],
            [0.3575761, 0.7151522, 0.1191920],
            [0.1804375, 0.0721750, 0.9503041],
        ]
    )
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1
    )


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), row by row (broadcasting)."""
    l1, a1, b1 = lab1[:, 0], lab1[:, 1], lab1[:, 2]
    l2, a2, b2 = lab2[:, 0], lab2[:, 1], lab2[:, 2]
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl = l2 - l1
    dc = c2p - c1p
    dh_angle = h2p - h1p
    dh_angle = np.where(dh_angle > 180, dh_angle - 360, dh_angle)
    dh_angle = np.where(dh_angle < -180, dh_angle + 360, dh_angle)
    dh_angle = np.where(c1p * c2p == 0, 0, dh_angle)
    dh = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh_angle) / 2)
    l_mean = (l1 + l2) / 2
    cp_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(np.abs(h1p - h2p) > 180, (h_sum + 360) / 2, h_sum / 2)
    h_mean = np.where(h_mean >= 360, h_mean - 360, h_mean)
    h_mean = np.where(c1p * c2p == 0, h_sum, h_mean)
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    sc = 1 + 0.045 * cp_mean
    sh = 1 + 0.015 * cp_mean * t
    rt = (
        -2
        * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
        * np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2))))
    )
    return np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dh / sh) ** 2 + rt * (dc / sc) * (dh / sh))
