"""Small helpers every provider shares: image checks, aspect ratios, secret redaction.

Kept apart from base.py so the contract file stays a contract.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from .base import PermanentProviderError, TransientProviderError

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"


class RateLimitedError(TransientProviderError):
    """HTTP 429: the provider is healthy but busy.

    A subclass so the router retries it like any transient error but does not count it
    against the provider's circuit breaker (a busy provider is not a dead one).
    """


@dataclass(frozen=True)
class CheckedImage:
    mime_type: str
    width: int
    height: int


def sniff_mime(data: bytes) -> str | None:
    """The image MIME type from the magic bytes, or None when the body is not an image."""
    if data.startswith(_PNG_MAGIC):
        return "image/png"
    if data.startswith(_JPEG_MAGIC):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(data: bytes, *, provider: str) -> CheckedImage:
    """Prove `data` is a real image (magic bytes and Pillow agree) or raise a permanent error.

    A provider that answers 200 with an HTML error page or a truncated body must not end up
    as `generation_3.png` in a customer's ZIP.
    """
    mime = sniff_mime(data)
    if mime is None:
        raise PermanentProviderError(
            f"{provider} returned a body that is not a PNG, JPEG or WebP image ({len(data)} bytes)",
            provider=provider,
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # checks structure and CRCs without decoding every pixel
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise PermanentProviderError(
            f"{provider} returned a broken {mime} image",
            provider=provider,
        ) from None
    return CheckedImage(mime_type=mime, width=width, height=height)


def resize_png(data: bytes, width: int, height: int) -> bytes:
    """Re-encode `data` as a PNG of exactly width x height (used when a model rounds sizes)."""
    with Image.open(io.BytesIO(data)) as image:
        resized = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    resized.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def parse_aspect_ratio(text: str) -> tuple[int, int]:
    """'16:9' -> (16, 9). Raises ValueError for anything else."""
    left, sep, right = text.strip().partition(":")
    if not sep:
        raise ValueError(f"aspect ratio {text!r} is not of the form W:H")
    w, h = int(left), int(right)
    if w <= 0 or h <= 0:
        raise ValueError(f"aspect ratio {text!r} must have positive sides")
    return w, h


def size_for_aspect_ratio(text: str, long_side: int = 1024) -> tuple[int, int]:
    """Pixel size for an aspect ratio with the long side fixed (e.g. '16:9' -> 1024x576)."""
    w, h = parse_aspect_ratio(text)
    if w >= h:
        return long_side, max(1, round(long_side * h / w))
    return max(1, round(long_side * w / h)), long_side


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every secret in `text` (upstream error bodies can echo headers back)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def short(text: str | None, limit: int = 300) -> str:
    """Bound upstream error text before it lands in a reason shown to users."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
