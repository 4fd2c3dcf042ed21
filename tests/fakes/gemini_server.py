"""A fake Gemini API (generativelanguage) for the real `google-genai` SDK.

Endpoint: POST /{v1|v1beta|v1alpha}/models/{model}:generateContent, key in `x-goog-api-key`.
The SDK 3.x calls /v1/... by default; the fake accepts the beta paths too.

Knobs (attributes): latency, hang_seconds, echo_auth, block (None | "prompt" | "candidate" |
"text_only" | "no_candidates"), not_image (answer with non-image bytes), and `failures`
(fail_next / fail_nth / set_ratio / down_status) for error answers in Google's error JSON.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from ._http import FakeServer, JsonHandler, png_bytes, small_size_for_ratio

_GENERATE = re.compile(r"^/(v1|v1beta|v1alpha)/models/([^/:]+):generateContent$")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def google_error(code: int, message: str) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "status": _STATUS_NAMES.get(code, "UNKNOWN")}
    }


class FakeGemini(FakeServer):
    def __init__(self, api_key: str = "AIza-fake-key-0123456789", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.block: str | None = None
        self.not_image = False

    def generate_bodies(self) -> list[dict[str, Any]]:
        return [
            r.body for r in self.recorded("POST", ":generateContent") if isinstance(r.body, dict)
        ]

    def response_for(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        usage = {"promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302}
        if self.block == "prompt":
            return {
                "promptFeedback": {
                    "blockReason": "SAFETY",
                    "safetyRatings": [
                        {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "HIGH"}
                    ],
                },
                "usageMetadata": usage,
                "modelVersion": model,
            }
        if self.block == "no_candidates":
            return {"usageMetadata": usage, "modelVersion": model}
        if self.block == "candidate":
            candidate: dict[str, Any] = {"finishReason": "IMAGE_SAFETY", "index": 0}
        elif self.block == "text_only":
            candidate = {
                "content": {"role": "model", "parts": [{"text": "I can't create that image."}]},
                "finishReason": "STOP",
                "index": 0,
            }
        else:
            config = body.get("generationConfig") or {}
            ratio = (config.get("imageConfig") or {}).get("aspectRatio")
            data = (
                b"<html>not an image</html>"
                if self.not_image
                else png_bytes(*small_size_for_ratio(ratio), shade=int(config.get("seed", 0)) % 200)
            )
            candidate = {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "inlineData": {
                                "mimeType": "image/png",
                                "data": base64.b64encode(data).decode(),
                            }
                        },
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        return {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": model,
            "responseId": "fake-response",
        }


class GeminiHandler(JsonHandler):
    fake: FakeGemini

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.read_json()
        self.record(body)
        m = _GENERATE.match(self.path.split("?", 1)[0])
        if not m:
            self.send_json(404, google_error(404, f"no route {self.path}"))
            return
        fake = self.fake
        fake.count("generate")
        fake.enter()
        try:
            fake.sleep(fake.hang_seconds)
            key = self.headers.get("x-goog-api-key", "")
            if key != fake.api_key:
                message = "API key not valid. Please pass a valid API key."
                if fake.echo_auth:
                    message += f" (got {key!r})"
                self.send_json(400, google_error(400, message))
                return
            failure = fake.failures.decide()
            if failure is not None:
                headers = {}
                if failure.retry_after is not None:
                    headers["Retry-After"] = f"{failure.retry_after:g}"
                message = "injected failure"
                if fake.echo_auth:
                    message += f" for key {key}"
                self.send_json(failure.status, google_error(failure.status, message), headers)
                return
            if not isinstance(body, dict) or not body.get("contents"):
                self.send_json(400, google_error(400, "contents is required"))
                return
            fake.sleep(fake.latency)
            self.send_json(200, fake.response_for(m[2], body))
        finally:
            fake.leave()


FakeGemini.handler_class = GeminiHandler
