"""Looking at the pictures themselves: a perceptual hash of every image (near-duplicates) and
whether it shows the colour its generation asked for. Plain Python on Pillow, NumPy and
imagehash: no Dagster, web framework or SQL, so runs/, the assets and analytics share it."""

from .colour import ColourMeasure, measure_colour
from .looks import Looks, look_at
from .similarity import NearDuplicate, hamming, near_duplicates

__all__ = [
    "ColourMeasure",
    "Looks",
    "NearDuplicate",
    "hamming",
    "look_at",
    "measure_colour",
    "near_duplicates",
]
