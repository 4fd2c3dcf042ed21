"""The one way untrusted JSON comes in (preset and batch files, API request bodies).

`json.loads` alone accepts NaN, Infinity and 1e400 (stored as invalid JSON later), recurses until
the interpreter gives up, lets NUL characters through to a database that refuses them, and keeps
the last of a key given twice (so `{"count": 80, "count": 1}` means 1 without a word). Here each
of those becomes one clear problem, naming the field where there is one, before any field is
looked at.
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
    than 32 levels, has a NUL character in a string or gives an object a key twice (the last
    two named by the field's dotted path, e.g. `prompts.1.text`).
    """
    check_document_size(len(raw.encode("utf-8") if isinstance(raw, str) else raw), what=what)
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            _refuse(f"{what} is not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}")
    else:
        text = raw
    # Each object that holds a key twice, by identity, with that key (and the object, so that
    # its identity is not reused by another should the document drop it).
    repeated: dict[int, tuple[str, dict[str, Any]]] = {}

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        built: dict[str, Any] = {}
        for key, value in pairs:
            if key in built:
                repeated.setdefault(id(built), (key, built))
            built[key] = value
        return built

    try:
        document = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            object_pairs_hook=unique_keys,
        )
    except json.JSONDecodeError as exc:
        _refuse(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
    except RecursionError:
        _refuse(_too_deep(what))
    except ValueError as exc:  # NaN/Infinity, 1e400, an integer of thousands of digits
        _refuse(f"{what} is not valid JSON: {exc}")
    _check_structure(document, what, repeated)
    return document


def check_document_size(size: int, *, what: str) -> None:
    """Refuse a document of `size` bytes before reading it (a file, a Content-Length)."""
    if size > MAX_DOCUMENT_BYTES:
        _refuse(f"{what} is {size} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes (1 MiB)")


def _refuse(message: str, path: tuple[str | int, ...] = ()) -> Any:
    field = ".".join(str(part) for part in path) or DOCUMENT_FIELD
    raise PresetValidationError([FieldProblem(field, message)])


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


def _too_deep(what: str) -> str:
    return f"{what} is nested deeper than {MAX_NESTING_DEPTH} levels"


def _check_structure(
    document: Any, what: str, repeated: dict[int, tuple[str, dict[str, Any]]]
) -> None:
    """Depth, repeated-key and NUL checks, iteratively: the document may be as deep as json
    allowed."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict | list) and len(path) >= MAX_NESTING_DEPTH:
            _refuse(_too_deep(what))
        if isinstance(value, dict):
            if id(value) in repeated:
                key = repeated[id(value)][0]
                _refuse(
                    f"{what} gives the key {_shown(key)} more than once", (*path, _visible(key))
                )
            for key, item in value.items():
                _check_text(key, what, (*path, _visible(key)))
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))
        elif isinstance(value, str):
            _check_text(value, what, path)


def _visible(text: str) -> str:
    return text.replace("\x00", "\\u0000")


def _shown(text: str) -> str:
    """`text` quoted for a message, its NULs visible, at most about 40 characters."""
    shown = _visible(text)
    return repr(shown if len(shown) <= 40 else shown[:37] + "...")


def _check_text(value: str, what: str, path: tuple[str | int, ...]) -> None:
    if "\x00" in value:
        _refuse(f"{what} has a NUL character (\\u0000) in the string {_shown(value)}", path)
