"""Request bodies: at most 1 MiB (413), and JSON that the strict loader accepts (422).

A pure ASGI middleware, so the limit holds before anything buffers the whole body: a declared
Content-Length over the limit is refused unread, a streamed body is counted as it arrives.
"""

from __future__ import annotations

import json
from typing import Any

from ..domain.errors import InvalidInput
from ..domain.json_input import MAX_DOCUMENT_BYTES, load_json_document

Scope = dict[str, Any]

BODY_METHODS = ("POST", "PUT", "PATCH")
TOO_LARGE_DESCRIPTION = "Request body over 1 MiB"


def document_body_limit(app: Any) -> None:
    """List 413 in the OpenAPI answers of every POST, PUT and PATCH: RequestBodyLimit may
    refuse any of them, so the schema says so from here rather than route by route (a route
    that forgot it contradicted its own schema whenever a client sent too much)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        too_large = {
            "description": TOO_LARGE_DESCRIPTION,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                if method.upper() in BODY_METHODS:
                    operation.setdefault("responses", {}).setdefault("413", too_large)
        return schema

    app.openapi = openapi


def _response(status: int, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    payload = json.dumps(body).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": payload}


class RequestBodyLimit:
    def __init__(self, app: Any, max_bytes: int = MAX_DOCUMENT_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        too_large = {"detail": f"the request body is over {self.max_bytes} bytes (1 MiB)"}
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reply(send, 413, too_large)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reply(send, 413, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if body and content_type in (b"application/json", b""):
            try:
                load_json_document(body, what="the request body")
            except InvalidInput as exc:
                await self._reply(send, 422, {"detail": "invalid request", **exc.report()})
                return

        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _reply(send: Any, status: int, body: dict[str, Any]) -> None:
        start, payload = _response(status, body)
        await send(start)
        await send(payload)
