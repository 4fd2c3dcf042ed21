"""Looking at the pictures themselves: a perceptual hash of every image (near-duplicates) and
whether it shows the colour its generation asked for. Plain Python on Pillow, NumPy and
imagehash: no Dagster, web framework or SQL, so runs/, the assets and analytics share it."""

from .colour import ColourMeasure, measure_colour
from .looks import LOOK_SIDE, Looks, look_at, look_at_image, reduced
from .similarity import NearDuplicate, hamming, near_duplicates

__all__ = [
    "LOOK_SIDE",
    "ColourMeasure",
    "Looks",
    "NearDuplicate",
    "hamming",
    "look_at",
    "look_at_image",
    "reduced",
    "measure_colour",
    "near_duplicates",
]
