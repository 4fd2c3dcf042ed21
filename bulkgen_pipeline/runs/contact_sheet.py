"""A small grid of thumbnails, so an operator sees a run at a glance in the Dagster UI."""

from __future__ import annotations

import io
from collections.abc import Iterable

from PIL import Image

THUMBNAIL = 96
COLUMNS = 10


def contact_sheet(
    images: Iterable[bytes | Image.Image], *, thumbnail: int = THUMBNAIL, columns: int = COLUMNS
) -> bytes | None:
    """JPEG grid of the given images (stored bytes, one at a time in memory, or pictures
    already decoded); None when there are none."""
    thumbs = []
    for data in images:
        with Image.open(io.BytesIO(data)) if isinstance(data, bytes) else data.copy() as image:
            image.thumbnail((thumbnail, thumbnail))
            thumbs.append(image.convert("RGB"))
    if not thumbs:
        return None
    rows = (len(thumbs) + columns - 1) // columns
    sheet = Image.new("RGB", (min(len(thumbs), columns) * thumbnail, rows * thumbnail), "white")
    for index, thumb in enumerate(thumbs):
        x = (index % columns) * thumbnail + (thumbnail - thumb.width) // 2
        y = (index // columns) * thumbnail + (thumbnail - thumb.height) // 2
        sheet.paste(thumb, (x, y))
    out = io.BytesIO()
    sheet.save(out, format="JPEG", quality=70)
    return out.getvalue()
