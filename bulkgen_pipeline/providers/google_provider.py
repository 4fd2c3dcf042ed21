"""Google Gemini image generation through the official `google-genai` SDK (3.x).

One `generate_content` call per image (`POST {base}/{version}/models/{model}:generateContent`),
image bytes come back inline as base64. Gemini takes fixed aspect ratios only, never exact
pixel sizes, so `supports()` says no to those and the router sends them elsewhere.
"""

from __future__ import annotations

import time

import httpx
from google import genai
from google.genai import errors, types

from bulkgen_pipeline.tls import shared_ssl_context

from .base import (
    ImageRequest,
    ImageResult,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)
from .common import RateLimitedError, check_image, redact, short
from .models import ModelSpec, ordered_ratios
from .replicate_provider import parse_retry_after
from .settings import DEFAULT_GOOGLE_MODEL, GoogleSettings

# The aspect ratios gemini-2.5-flash-image accepts in image_config.aspect_ratio.
GEMINI_RATIOS = frozenset({"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"})
_SEED_MASK = 0x7FFFFFFF  # the API takes an int32 seed


class GoogleProvider:
    name = "google"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        model: str = DEFAULT_GOOGLE_MODEL,
        timeout_seconds: float = 120.0,
    ) -> None:
        if not api_key:
            raise ValueError("GoogleProvider needs an API key (GOOGLE_API_KEY)")
        self._key = api_key
        self.model = model
        # Our own httpx client: the SDK would otherwise pick httpx2 when installed, and we want
        # one known set of transport exceptions to classify.
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds, connect=10.0), verify=shared_ssl_context()
        )
        self._client = genai.Client(
            vertexai=False,  # never let GOOGLE_GENAI_USE_VERTEXAI flip us to another API
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=base_url,
                timeout=int(timeout_seconds * 1000),
                # One attempt only: the router owns retries, failover and the breaker.
                retry_options=types.HttpRetryOptions(attempts=1),
                httpx_client=self._http,
                # The SDK builds an async client and a websocket context as well, each with a
                # context of its own unless handed one (`ssl` is the websockets' name for it).
                async_client_args={"verify": shared_ssl_context(), "ssl": shared_ssl_context()},
            ),
        )

    @classmethod
    def from_settings(cls, settings: GoogleSettings) -> GoogleProvider:
        if not settings.google_api_key:
            raise ValueError("GOOGLE_API_KEY is not set")
        return cls(
            settings.google_api_key.get_secret_value(),
            base_url=settings.google_base_url,
            model=settings.google_model,
            timeout_seconds=settings.request_timeout_seconds,
        )

    def __repr__(self) -> str:  # never show the key
        return f"GoogleProvider(model={self.model!r})"

    def models(self) -> tuple[ModelSpec, ...]:
        return (
            ModelSpec(
                id=self.model,
                provider=self.name,
                description="Google Gemini: aspect ratios only, no negative prompt",
                aspect_ratios=ordered_ratios(GEMINI_RATIOS),
            ),
        )

    def supports(self, request: ImageRequest) -> bool:
        if request.model is not None and request.model != self.model:
            return False
        return not request.wants_exact_size and request.aspect_ratio in GEMINI_RATIOS

    def config_for(self, request: ImageRequest) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=request.aspect_ratio),
            seed=request.seed & _SEED_MASK,
            candidate_count=1,
            # Exactly one HTTP call per image: no function-calling or continuation loops.
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            automatic_continuation=False,
        )

    def generate(self, request: ImageRequest) -> ImageResult:
        if not self.supports(request):
            raise PermanentProviderError(
                "google takes only fixed aspect ratios "
                f"({', '.join(sorted(GEMINI_RATIOS))}), not this size",
                provider=self.name,
            )
        started = time.perf_counter()
        try:
            response = self._client.models.generate_content(
                model=self.model, contents=request.prompt, config=self.config_for(request)
            )
        except errors.APIError as exc:
            raise self._from_api_error(exc) from None
        except httpx.TimeoutException:
            raise TransientProviderError(
                "google did not answer in time", provider=self.name
            ) from None
        except httpx.TransportError:
            raise TransientProviderError(
                "could not connect to google (connection error)", provider=self.name
            ) from None

        data = self._image_from(response)
        checked = check_image(data, provider=self.name)
        return ImageResult(
            image_bytes=data,
            provider=self.name,
            model=self.model,
            seed=request.seed,
            latency_seconds=time.perf_counter() - started,
            attempts=1,
            mime_type=checked.mime_type,
        )

    def _image_from(self, response: types.GenerateContentResponse) -> bytes:
        """The first inline image, or a permanent error that says why there is none."""
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            why = _enum_name(feedback.block_reason)
            message = self._clean(feedback.block_reason_message or "")
            raise PermanentProviderError(
                f"google blocked the prompt ({why}){': ' + message if message else ''}",
                provider=self.name,
            )
        if not response.candidates:
            raise PermanentProviderError("google returned no candidates", provider=self.name)
        candidate = response.candidates[0]
        texts: list[str] = []
        for part in (candidate.content.parts if candidate.content else None) or []:
            blob = part.inline_data
            if blob is not None and blob.data and (blob.mime_type or "").startswith("image/"):
                return blob.data
            if part.text:
                texts.append(part.text)
        finish = _enum_name(candidate.finish_reason) if candidate.finish_reason else "unknown"
        said = self._clean(" ".join(texts))
        raise PermanentProviderError(
            f"google returned no image (finish reason {finish})" + (f": {said}" if said else ""),
            provider=self.name,
        )

    def _clean(self, text: str) -> str:
        return redact(short(text), [self._key])

    def _from_api_error(self, exc: errors.APIError) -> ProviderError:
        code = int(exc.code or 0)
        message = self._clean(str(exc.message or exc.status or ""))
        headers = getattr(exc.response, "headers", None) or {}
        retry_after = parse_retry_after(headers.get("Retry-After") if headers else None)
        if code == 429:
            return RateLimitedError(
                f"google rate limited (HTTP 429): {message}",
                provider=self.name,
                retry_after=retry_after,
            )
        if code >= 500 or code == 408:
            return TransientProviderError(
                f"google HTTP {code}: {message}", provider=self.name, retry_after=retry_after
            )
        if code in (401, 403) or "API key" in message:
            return PermanentProviderError(
                f"google rejected the credentials (HTTP {code}); check GOOGLE_API_KEY",
                provider=self.name,
            )
        return PermanentProviderError(
            f"google rejected the request (HTTP {code}): {message}", provider=self.name
        )


def _enum_name(value: object) -> str:
    return str(getattr(value, "name", None) or value)
