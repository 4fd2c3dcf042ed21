"""A fake Replicate API speaking the real endpoints and JSON, for the real `replicate` SDK.

Endpoints:
  POST /v1/models/{owner}/{name}/predictions   create (honours `Prefer: wait` / `wait=N`)
  GET  /v1/predictions/{id}                    poll: starting -> processing -> succeeded/failed
  POST /v1/predictions/{id}/cancel             cancel
  GET  /files/{id}.png                         the output file the prediction points at

Knobs (attributes, settable at any time): latency, max_wait (cap on Prefer: wait; 0 forces the
client to poll), output ("auto" | "url" | "url_list" | "data_uri" | "not_image"), safety_block,
blocked_words, prediction_error, reject_input, hang_seconds, echo_auth, and the failure plans
`failures` (creates), `poll_failures`, `download_failures` (fail_next / fail_nth / set_ratio /
set_mix / down_status; `inject_faults` sets a seeded plan of 500s and 429s on creates).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ._http import Failure, FailurePlan, FakeServer, JsonHandler, png_bytes, small_size_for_ratio

NSFW_ERROR = "NSFW content detected. Try running it again, or try a different prompt."
_CREATE = re.compile(r"^/v1/models/([^/]+)/([^/]+)/predictions$")
_GET = re.compile(r"^/v1/predictions/([^/]+)$")
_CANCEL = re.compile(r"^/v1/predictions/([^/]+)/cancel$")
_FILE = re.compile(r"^/files/([^/]+)\.png$")


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


@dataclass
class _Prediction:
    id: str
    model: str
    input: dict[str, Any]
    created: float  # monotonic
    created_wall: float
    done_at: float  # monotonic
    error: str | None
    image: bytes
    output_kind: str
    canceled_at: float | None = None

    def status(self, now: float) -> str:
        if self.canceled_at is not None:
            return "canceled"
        if now < self.done_at:
            return (
                "starting"
                if now - self.created < (self.done_at - self.created) / 4
                else "processing"
            )
        return "failed" if self.error else "succeeded"

    def ended(self) -> float:
        return self.canceled_at if self.canceled_at is not None else self.done_at


class FakeReplicate(FakeServer):
    def __init__(self, token: str = "r8_fake_token_0123456789", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = token
        self.max_wait = 60.0
        self.output = "auto"
        self.safety_block = False
        # Prompts containing any of these words are blocked by the "safety filter".
        self.blocked_words: set[str] = set()
        self.prediction_error: str | None = None
        self.reject_input: str | None = None
        self.poll_failures = FailurePlan(self.seed + 1)
        self.download_failures = FailurePlan(self.seed + 2)
        self.predictions: dict[str, _Prediction] = {}
        self._ids = itertools.count(1)
        self._pred_lock = threading.Lock()

    # -- for assertions ---------------------------------------------------------------------

    def max_concurrent_predictions(self) -> int:
        """Most predictions running at the same instant (sweep over [created, ended))."""
        with self._pred_lock:
            events = [(p.created, 1) for p in self.predictions.values()]
            events += [(p.ended(), -1) for p in self.predictions.values()]
        running = best = 0
        for _, delta in sorted(events, key=lambda e: (e[0], e[1])):  # ends before starts
            running += delta
            best = max(best, running)
        return best

    def inject_faults(
        self,
        *,
        server_errors: float,
        rate_limits: float,
        seed: int,
        retry_after: float | None = 1.0,
    ) -> None:
        """A seeded fault plan on creates: HTTP 500 with probability `server_errors`, 429 (with
        `Retry-After`, as Replicate sends it) with probability `rate_limits`. Drawn per
        prediction input and try, so each image meets the same faults however threads
        interleave."""
        self.failures.set_mix(
            [(server_errors, Failure(500)), (rate_limits, Failure(429, retry_after))],
            seed=seed,
            by_key=True,
        )

    def created_inputs(self) -> list[dict[str, Any]]:
        return [r.body["input"] for r in self.recorded("POST", "/predictions") if r.body]

    # -- request handling -------------------------------------------------------------------

    def _new_prediction(self, model: str, model_input: dict[str, Any]) -> _Prediction:
        if model_input.get("aspect_ratio") == "custom" or "width" in model_input:
            size = (int(model_input.get("width", 1024)), int(model_input.get("height", 1024)))
        else:
            size = small_size_for_ratio(model_input.get("aspect_ratio"))
        now = time.monotonic()
        prompt = str(model_input.get("prompt", ""))
        blocked = self.safety_block or any(word in prompt for word in self.blocked_words)
        error = NSFW_ERROR if blocked else self.prediction_error
        kind = self.output
        if kind == "auto":  # flux-1.1-pro returns one URL, flux-schnell a list of URLs
            kind = "url" if "flux-1.1-pro" in model else "url_list"
        prediction = _Prediction(
            id=f"fake{next(self._ids):06d}",
            model=model,
            input=model_input,
            created=now,
            created_wall=time.time(),
            done_at=now + self.latency,
            error=error,
            image=png_bytes(*size, shade=int(model_input.get("seed", 0)) % 200),
            output_kind=kind,
        )
        with self._pred_lock:
            self.predictions[prediction.id] = prediction
        return prediction

    def to_json(self, p: _Prediction) -> dict[str, Any]:
        now = time.monotonic()
        status = p.status(now)
        output: Any = None
        if status == "succeeded":
            url = f"{self.base_url}/files/{p.id}.png"
            output = {
                "url": url,
                "url_list": [url],
                "data_uri": "data:image/png;base64," + base64.b64encode(p.image).decode(),
                "not_image": url,
            }[p.output_kind]
        done = status in ("succeeded", "failed", "canceled")
        api = f"{self.base_url}/v1/predictions/{p.id}"
        return {
            "id": p.id,
            "model": p.model,
            "version": "hidden",
            "input": p.input,
            "logs": "",
            "output": output,
            "data_removed": False,
            "error": p.error if status == "failed" else None,
            "status": status,
            "created_at": _iso(p.created_wall),
            "started_at": _iso(p.created_wall),
            "completed_at": _iso(p.created_wall + (p.ended() - p.created)) if done else None,
            "urls": {
                "get": api,
                "cancel": f"{api}/cancel",
                "web": f"https://replicate.com/p/{p.id}",
            },
            "metrics": {"predict_time": round(p.ended() - p.created, 3)} if done else {},
        }


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "detail": detail, "status": status}


class ReplicateHandler(JsonHandler):
    fake: FakeReplicate

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        if auth == f"Bearer {self.fake.token}":
            return True
        detail = "You did not pass a valid authentication token"
        if self.fake.echo_auth:
            detail += f" (got {auth!r})"
        self.send_json(401, _problem(401, "Unauthenticated", detail))
        return False

    def _fail(self, plan: FailurePlan, key: str | None = None) -> bool:
        failure = plan.decide(key)
        if failure is None:
            return False
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        title = "Too Many Requests" if failure.status == 429 else "Server Error"
        self.send_json(failure.status, _problem(failure.status, title, "injected"), headers)
        return True

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.read_json()
        self.record(body)
        if m := _CREATE.match(self.path):
            self._create(f"{m[1]}/{m[2]}", body)
        elif m := _CANCEL.match(self.path):
            self._cancel(m[1])
        else:
            self.send_json(404, _problem(404, "Not found", self.path))

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.record(None)
        if m := _GET.match(self.path):
            self._get(m[1])
        elif m := _FILE.match(self.path):
            self._file(m[1])
        else:
            self.send_json(404, _problem(404, "Not found", self.path))

    def _create(self, model: str, body: Any) -> None:
        fake = self.fake
        fake.count("create")
        fake.enter()
        try:
            fake.sleep(fake.hang_seconds)
            model_input = body.get("input") if isinstance(body, dict) else None
            key = json.dumps([model, model_input], sort_keys=True)
            if not self._authorized() or self._fail(fake.failures, key):
                return
            if (
                fake.reject_input
                or not isinstance(model_input, dict)
                or not model_input.get("prompt")
            ):
                detail = fake.reject_input or "input.prompt is required"
                if fake.echo_auth:
                    detail += f" (auth was {self.headers.get('Authorization')!r})"
                self.send_json(
                    422,
                    {
                        **_problem(422, "Input validation failed", detail),
                        "invalid_fields": [{"field": "input", "description": detail}],
                    },
                )
                return
            prediction = fake._new_prediction(model, model_input)
            wait = _prefer_wait(self.headers.get("Prefer"))
            if wait:
                hold_until = min(prediction.done_at, prediction.created + min(wait, fake.max_wait))
                fake.sleep(hold_until - time.monotonic())
            self.send_json(201, fake.to_json(prediction))
        finally:
            fake.leave()

    def _get(self, prediction_id: str) -> None:
        self.fake.count("poll")
        if not self._authorized() or self._fail(self.fake.poll_failures):
            return
        prediction = self.fake.predictions.get(prediction_id)
        if prediction is None:
            self.send_json(404, _problem(404, "Not found", "prediction not found"))
            return
        self.send_json(200, self.fake.to_json(prediction))

    def _cancel(self, prediction_id: str) -> None:
        self.fake.count("cancel")
        prediction = self.fake.predictions.get(prediction_id)
        if prediction is None:
            self.send_json(404, _problem(404, "Not found", "prediction not found"))
            return
        if prediction.status(time.monotonic()) in ("starting", "processing"):
            prediction.canceled_at = time.monotonic()
        self.send_json(200, self.fake.to_json(prediction))

    def _file(self, prediction_id: str) -> None:
        self.fake.count("download")
        if self._fail(self.fake.download_failures):
            return
        prediction = self.fake.predictions.get(prediction_id)
        if prediction is None:
            self.send_json(404, _problem(404, "Not found", "file not found"))
        elif prediction.output_kind == "not_image":
            self.send_bytes(200, b"<html>upstream error page</html>", "image/png")
        else:
            self.send_bytes(200, prediction.image, "image/png")


FakeReplicate.handler_class = ReplicateHandler


def _prefer_wait(header: str | None) -> float:
    """`Prefer: wait` -> 60 s, `Prefer: wait=N` -> N s, absent -> 0 (answer at once)."""
    if not header:
        return 0.0
    for part in header.split(","):
        part = part.strip()
        if part == "wait":
            return 60.0
        if part.startswith("wait="):
            try:
                return float(part[5:])
            except ValueError:
                return 0.0
    return 0.0
