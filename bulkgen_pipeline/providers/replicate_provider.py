"""Replicate through the official `replicate` SDK (1.0.x).

One `replicate.Client` per provider instance; its httpx client is thread-safe, so every worker
thread shares it. A generation is: one create (`POST /v1/models/{owner}/{name}/predictions`
with `Prefer: wait`), polls of `GET /v1/predictions/{id}` while it is still running, and one
download of the output through the same HTTP client.
"""

from __future__ import annotations

import binascii
import email.utils
import functools
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import replicate
from replicate.exceptions import ReplicateError
from replicate.helpers import FileOutput, transform_output

from bulkgen_pipeline.tls import shared_ssl_context

from .base import (
    ImageRequest,
    ImageResult,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)
from .common import RateLimitedError, check_image, redact, resize_png, short
from .models import ExactSizes, ModelSpec, ordered_ratios, with_known_parameters
from .settings import DEFAULT_REPLICATE_EXACT_MODEL, DEFAULT_REPLICATE_FAST_MODEL, ReplicateSettings

logger = logging.getLogger(__name__)

# flux-schnell's aspect_ratio enum.
FAST_MODEL_RATIOS = frozenset(
    {"1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"}
)
# flux-1.1-pro's own aspect_ratio enum (besides "custom").
EXACT_MODEL_RATIOS = frozenset({"1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3"})
# flux-1.1-pro with aspect_ratio "custom": each side 256..1440, rounded to a multiple of 32.
EXACT_MIN_SIDE, EXACT_MAX_SIDE, EXACT_STEP = 256, 1440, 32
TERMINAL = frozenset({"succeeded", "failed", "canceled"})
SAFETY_WORDS = ("nsfw", "safety", "flagged", "sensitive", "inappropriate")
LOCAL_RETRIES = 3  # polls and downloads are retried in place: re-creating would cost money


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _StatusTransport(httpx.HTTPTransport):
    """Turns 429 and 5xx into our transient errors at the HTTP layer.

    Why here: `ReplicateError` drops the response headers, so Retry-After would be lost; and
    raising before the SDK's RetryTransport sees the response switches off its built-in GET
    retry loop (which sleeps for any Retry-After, unbounded). The router owns retries.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            response.close()
            what = f"replicate HTTP {status} on {request.method} {request.url.path}"
            if status == 429:
                raise RateLimitedError(what, provider="replicate", retry_after=retry_after)
            raise TransientProviderError(what, provider="replicate", retry_after=retry_after)
        return response


class ReplicateProvider:
    name = "replicate"

    def __init__(
        self,
        api_token: str,
        *,
        base_url: str | None = None,
        exact_model: str = DEFAULT_REPLICATE_EXACT_MODEL,
        fast_model: str = DEFAULT_REPLICATE_FAST_MODEL,
        timeout_seconds: float = 120.0,
        poll_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not api_token:
            raise ValueError("ReplicateProvider needs an API token (REPLICATE_API_TOKEN)")
        self._token = api_token
        self.exact_model = exact_model
        self.fast_model = fast_model
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self._sleep = sleep
        self._clock = clock
        # Prefer: wait=N holds the create open up to N s (Replicate allows 1..60).
        self._wait = max(1, min(60, int(timeout_seconds)))
        self._client = replicate.Client(
            api_token=api_token,
            base_url=base_url,
            timeout=httpx.Timeout(min(30.0, timeout_seconds), connect=min(5.0, timeout_seconds)),
            transport=_StatusTransport(verify=shared_ssl_context()),
        )
        # The SDK builds its httpx client lazily without a lock; build it now, on one thread,
        # so concurrent first calls cannot race to create (and leak) several.
        _ = self._client._client

    @classmethod
    def from_settings(cls, settings: ReplicateSettings) -> ReplicateProvider:
        if not settings.replicate_api_token:
            raise ValueError("REPLICATE_API_TOKEN is not set")
        return cls(
            settings.replicate_api_token.get_secret_value(),
            base_url=settings.replicate_base_url,
            exact_model=settings.replicate_exact_model,
            fast_model=settings.replicate_fast_model,
            timeout_seconds=settings.request_timeout_seconds,
            poll_seconds=settings.replicate_poll_seconds,
        )

    def __repr__(self) -> str:  # never show the token
        return (
            f"ReplicateProvider(exact_model={self.exact_model!r}, fast_model={self.fast_model!r})"
        )

    # -- capability -------------------------------------------------------------------------

    def models(self) -> tuple[ModelSpec, ...]:
        exact = with_known_parameters(
            ModelSpec(
                id=self.exact_model,
                provider=self.name,
                description="Replicate: exact pixel sizes (rounded to 32 px by the model, then "
                "resized to the size asked for) or the model's own aspect ratios",
                exact_sizes=ExactSizes(EXACT_MIN_SIDE, EXACT_MAX_SIDE, EXACT_STEP),
                aspect_ratios=ordered_ratios(EXACT_MODEL_RATIOS),
                aspect_long_side=EXACT_MAX_SIDE,
            )
        )
        fast = with_known_parameters(
            ModelSpec(
                id=self.fast_model,
                provider=self.name,
                description="Replicate: fast, aspect ratios only",
                aspect_ratios=ordered_ratios(FAST_MODEL_RATIOS),
            )
        )
        return (exact, fast) if self.fast_model != self.exact_model else (exact,)

    def _model_for(self, request: ImageRequest) -> ModelSpec | None:
        """The model that makes this request: the one it names, else the exact model for exact
        sizes and the fast one for ratios; None when this provider cannot make it."""
        exact, *others = self.models()
        if request.model is None:
            candidates = [exact] if request.wants_exact_size else [*others, exact][:1]
        else:
            candidates = [spec for spec in (exact, *others) if spec.id == request.model]
        size = (
            {"width": request.width, "height": request.height}
            if request.wants_exact_size
            else {"aspect_ratio": request.aspect_ratio}
        )
        for spec in candidates:
            if spec.size_problem(size) is None:
                return spec
        return None

    def supports(self, request: ImageRequest) -> bool:
        return self._model_for(request) is not None

    def plan(self, request: ImageRequest) -> tuple[str, dict[str, Any]]:
        """(model, input) for this request. Public so tests and docs can show the mapping."""
        spec = self._model_for(request)
        if spec is None:
            raise PermanentProviderError("replicate cannot make this size", provider=self.name)
        model_input: dict[str, Any] = {
            "prompt": request.prompt,
            "seed": request.seed,
            "output_format": "png",
        }
        if request.wants_exact_size:
            model_input.update(
                aspect_ratio="custom",
                width=_to_step(int(request.width or 0)),
                height=_to_step(int(request.height or 0)),
            )
        else:
            model_input["aspect_ratio"] = request.aspect_ratio
        if spec.id == self.fast_model and not request.wants_exact_size:
            model_input["num_outputs"] = 1
        if request.steps is not None and spec.steps is not None:
            model_input["num_inference_steps"] = request.steps
        if request.guidance_scale is not None and spec.guidance_scale is not None:
            model_input["guidance"] = request.guidance_scale
        if request.negative_prompt and spec.negative_prompt:
            model_input["negative_prompt"] = request.negative_prompt
        return spec.id, model_input

    # -- one attempt ------------------------------------------------------------------------

    def generate(self, request: ImageRequest) -> ImageResult:
        started = time.perf_counter()
        model, model_input = self.plan(request)
        try:
            data = self._run(model, model_input)
        except ProviderError as exc:
            exc.reason = self._clean(exc.reason)
            exc.args = (exc.reason,)
            exc.provider = self.name
            raise
        except ReplicateError as exc:
            raise self._from_api_error(exc) from None
        except httpx.TimeoutException:
            raise TransientProviderError(
                "replicate did not answer in time", provider=self.name
            ) from None
        except httpx.TransportError:
            raise TransientProviderError(
                "could not connect to replicate (connection error)", provider=self.name
            ) from None
        except httpx.HTTPStatusError as exc:  # the output download answered 4xx
            raise PermanentProviderError(
                f"replicate output download failed: HTTP {exc.response.status_code}",
                provider=self.name,
            ) from None

        checked = check_image(data, provider=self.name)
        mime = checked.mime_type
        wanted = (int(request.width or 0), int(request.height or 0))
        if request.wants_exact_size and (checked.width, checked.height) != wanted:
            # The model rounds to multiples of 32; the preset asked for exact pixels.
            data, mime = resize_png(data, *wanted), "image/png"
        return ImageResult(
            image_bytes=data,
            provider=self.name,
            model=model,
            seed=request.seed,
            latency_seconds=time.perf_counter() - started,
            attempts=1,
            mime_type=mime,
        )

    def _run(self, model: str, model_input: dict[str, Any]) -> bytes:
        deadline = self._clock() + self.timeout_seconds
        prediction = self._client.models.predictions.create(
            model=model, input=model_input, wait=self._wait
        )
        while prediction.status not in TERMINAL:
            if self._clock() >= deadline:
                self._cancel(prediction.id)
                raise TransientProviderError(
                    f"replicate prediction still {prediction.status} after "
                    f"{self.timeout_seconds:g}s",
                    provider=self.name,
                )
            self._sleep(self.poll_seconds)
            prediction = self._locally_retried(
                functools.partial(self._client.predictions.get, prediction.id)
            )
        if prediction.status == "failed":
            raise self._from_failed_prediction(prediction.error or "")
        if prediction.status == "canceled":
            raise PermanentProviderError("replicate prediction was canceled", provider=self.name)
        output = _first_file(transform_output(prediction.output, self._client), self._client)
        try:
            return self._locally_retried(output.read)
        except (binascii.Error, ValueError):
            raise PermanentProviderError(
                "replicate returned a malformed data URI", provider=self.name
            ) from None

    def _locally_retried(self, call: Callable[[], Any]) -> Any:
        """Retry an idempotent GET (poll, download) a few times before giving up the attempt."""
        for attempt in range(1, LOCAL_RETRIES + 1):
            try:
                return call()
            except (TransientProviderError, httpx.TransportError) as exc:
                if attempt == LOCAL_RETRIES:
                    raise
                retry_after = getattr(exc, "retry_after", None)
                self._sleep(min(5.0, retry_after if retry_after is not None else 0.2 * attempt))
        raise AssertionError("unreachable")

    def _cancel(self, prediction_id: str) -> None:
        try:  # best effort: stop paying for a prediction we no longer wait for
            self._client.predictions.cancel(prediction_id)
        except Exception as exc:  # noqa: BLE001 - cancel failing must not mask the timeout
            logger.info("replicate cancel of %s failed: %s", prediction_id, type(exc).__name__)

    # -- error mapping ----------------------------------------------------------------------

    def _clean(self, text: str) -> str:
        return redact(short(text), [self._token])

    def _from_api_error(self, exc: ReplicateError) -> ProviderError:
        status = exc.status or 0
        detail = self._clean(exc.detail or exc.title or "")
        if status in (401, 403):
            return PermanentProviderError(
                f"replicate rejected the credentials (HTTP {status}); check REPLICATE_API_TOKEN",
                provider=self.name,
            )
        if status == 404:
            return PermanentProviderError(
                f"replicate model not found (HTTP 404): {detail}", provider=self.name
            )
        if status == 408:
            return TransientProviderError(
                "replicate request timeout (HTTP 408)", provider=self.name
            )
        if status == 429 or status >= 500:  # normally caught by _StatusTransport already
            return TransientProviderError(f"replicate HTTP {status}", provider=self.name)
        return PermanentProviderError(
            f"replicate rejected the request (HTTP {status}): {detail}", provider=self.name
        )

    def _from_failed_prediction(self, error: str) -> ProviderError:
        text = self._clean(error) or "no error message"
        if any(word in text.lower() for word in SAFETY_WORDS):
            return PermanentProviderError(
                f"replicate safety filter blocked the image: {text}", provider=self.name
            )
        # Other model failures (out of memory, a worker dying) usually pass on a new try.
        return TransientProviderError(f"replicate prediction failed: {text}", provider=self.name)


def _to_step(side: int) -> int:
    stepped = int(round(side / EXACT_STEP)) * EXACT_STEP
    return max(EXACT_MIN_SIDE, min(EXACT_MAX_SIDE, stepped))


def _first_file(output: Any, client: replicate.Client) -> FileOutput:
    """Models return a FileOutput, a URL, a data URI, or a list of those: take the first."""
    if isinstance(output, list | tuple):
        if not output:
            raise PermanentProviderError(
                "replicate prediction has an empty output", provider="replicate"
            )
        output = output[0]
    if isinstance(output, FileOutput):
        return output
    if isinstance(output, str) and output.startswith(("http://", "https://", "data:")):
        # transform_output only wraps https:/data:; plain http (e.g. a local gateway) too.
        return FileOutput(output, client)
    raise PermanentProviderError(
        f"replicate prediction output is not an image URL ({type(output).__name__})",
        provider="replicate",
    )
