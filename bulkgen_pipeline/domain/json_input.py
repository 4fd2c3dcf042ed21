"""The one way untrusted JSON comes in (preset and batch files, API request bodies).

`json.loads` alone accepts NaN, Infinity and 1e400 (stored as invalid JSON later), recurses until
the interpreter gives up, and lets NUL characters through to a database that refuses them. Here
each of those becomes one clear problem, before any field is looked at.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import FieldProblem, PresetValidationError

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_NESTING_DEPTH = 32
DOCUMENT_FIELD = "(document)"


def load_json_document(raw: bytes | str, *, what: str) -> Any:
    """Parse one JSON document; `what` names it in messages ("preset file bags.json").

    Raises PresetValidationError with a single problem when the document is over 1 MiB, not
    UTF-8, not JSON, holds NaN/Infinity or a number too large for a float, is nested deeper
    than 32 levels, or has a NUL character in a string.
    """
    check_document_size(len(raw.encode("utf-8") if isinstance(raw, str) else raw), what=what)
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            _refuse(f"{what} is not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}")
    else:
        text = raw
    try:
        document = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        _refuse(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
    except RecursionError:
        _refuse(_too_deep(what))
    except ValueError as exc:  # NaN/Infinity, 1e400, an integer of thousands of digits
        _refuse(f"{what} is not valid JSON: {exc}")
    _check_structure(document, what)
    return document


def check_document_size(size: int, *, what: str) -> None:
    """Refuse a document of `size` bytes before reading it (a file, a Content-Length)."""
    if size > MAX_DOCUMENT_BYTES:
        _refuse(f"{what} is {size} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes (1 MiB)")


def _refuse(message: str) -> Any:
    raise PresetValidationError([FieldProblem(DOCUMENT_FIELD, message)])


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


def _too_deep(what: str) -> str:
    return f"{what} is nested deeper than {MAX_NESTING_DEPTH} levels"


def _check_structure(document: Any, what: str) -> None:
    """Depth and NUL checks, iteratively: the document may be as deep as json allowed."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_NESTING_DEPTH:
                _refuse(_too_deep(what))
            for key, item in value.items():
                _check_text(key, what)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_NESTING_DEPTH:
                _refuse(_too_deep(what))
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_text(value, what)


def _check_text(value: str, what: str) -> None:
    if "\x00" in value:
        shown = value.replace("\x00", "\\u0000")
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        _refuse(f"{what} has a NUL character (\\u0000) in the string {shown!r}")
