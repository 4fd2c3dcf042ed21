"""Provider settings read from the environment (see docs/providers.md for the table)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TypeVar

from .limits import DEFAULT_BREAKER_FAILURES

KNOWN_PROVIDERS = ("replicate", "google", "local")

DEFAULT_REPLICATE_EXACT_MODEL = "black-forest-labs/flux-1.1-pro"
DEFAULT_REPLICATE_FAST_MODEL = "black-forest-labs/flux-schnell"
DEFAULT_GOOGLE_MODEL = "gemini-2.5-flash-image"

_SECRET_FIELDS = frozenset({"replicate_api_token", "google_api_key"})

T = TypeVar("T", int, float)


@dataclass(frozen=True, repr=False)
class ProviderSettings:
    """Everything the router and the providers need; secrets never appear in repr()."""

    providers: tuple[str, ...] = ("local",)
    replicate_api_token: str | None = None
    replicate_base_url: str | None = None
    replicate_exact_model: str = DEFAULT_REPLICATE_EXACT_MODEL
    replicate_fast_model: str = DEFAULT_REPLICATE_FAST_MODEL
    google_api_key: str | None = None
    google_base_url: str | None = None
    google_model: str = DEFAULT_GOOGLE_MODEL
    replicate_concurrency: int = 8
    google_concurrency: int = 8
    local_concurrency: int = 4
    # Replicate allows 600 prediction creates per minute per account.
    replicate_creates_per_minute: float = 600.0
    # Failed attempts per provider, before failing over to the next one. A 429 or a response
    # with Retry-After is the provider asking to wait, not a failure: it spends none of them.
    max_attempts: int = 3
    # How long one image may keep trying (backoffs, Retry-After waits, waiting out a rest) before
    # it gives up; it bounds the waits that spend no attempt.
    image_deadline_seconds: float = 300.0
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 20.0
    max_retry_after_seconds: float = 30.0
    request_timeout_seconds: float = 120.0
    replicate_poll_seconds: float = 0.5
    breaker_failures: int = DEFAULT_BREAKER_FAILURES
    breaker_rest_seconds: float = 30.0
    # When every capable provider is resting, how long an image waits for one to take a probe
    # call again before failing (0: fail at once).
    breaker_max_wait_seconds: float = 60.0

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            shown = ("'***'" if value else "None") if f.name in _SECRET_FIELDS else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"ProviderSettings({', '.join(parts)})"

    __str__ = __repr__

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProviderSettings:
        """Read settings; a malformed value raises ValueError naming the variable."""
        env = os.environ if env is None else env

        def text(name: str) -> str | None:
            value = (env.get(name) or "").strip()
            return value or None

        token = text("REPLICATE_API_TOKEN")
        key = text("GOOGLE_API_KEY")
        providers = _parse_providers(text("BULKGEN_PROVIDERS"), token=token, key=key)

        return cls(
            providers=providers,
            replicate_api_token=token,
            replicate_base_url=_url(text("REPLICATE_BASE_URL"), "REPLICATE_BASE_URL"),
            replicate_exact_model=_model(
                text("BULKGEN_REPLICATE_EXACT_MODEL"),
                "BULKGEN_REPLICATE_EXACT_MODEL",
                DEFAULT_REPLICATE_EXACT_MODEL,
            ),
            replicate_fast_model=_model(
                text("BULKGEN_REPLICATE_FAST_MODEL"),
                "BULKGEN_REPLICATE_FAST_MODEL",
                DEFAULT_REPLICATE_FAST_MODEL,
            ),
            google_api_key=key,
            google_base_url=_url(text("GOOGLE_GEMINI_BASE_URL"), "GOOGLE_GEMINI_BASE_URL"),
            google_model=text("BULKGEN_GOOGLE_MODEL") or DEFAULT_GOOGLE_MODEL,
            replicate_concurrency=_number(env, "BULKGEN_REPLICATE_CONCURRENCY", 8, int, 1, 256),
            google_concurrency=_number(env, "BULKGEN_GOOGLE_CONCURRENCY", 8, int, 1, 256),
            local_concurrency=_number(env, "BULKGEN_LOCAL_CONCURRENCY", 4, int, 1, 256),
            replicate_creates_per_minute=_number(
                env, "BULKGEN_REPLICATE_CREATES_PER_MINUTE", 600.0, float, 1.0, 100_000.0
            ),
            max_attempts=_number(env, "BULKGEN_PROVIDER_MAX_ATTEMPTS", 3, int, 1, 20),
            image_deadline_seconds=_number(
                env, "BULKGEN_PROVIDER_IMAGE_DEADLINE_SECONDS", 300.0, float, 1.0, 86_400.0
            ),
            backoff_base_seconds=_number(
                env, "BULKGEN_PROVIDER_BACKOFF_BASE_SECONDS", 1.0, float, 0.0, 600.0
            ),
            backoff_max_seconds=_number(
                env, "BULKGEN_PROVIDER_BACKOFF_MAX_SECONDS", 20.0, float, 0.0, 3600.0
            ),
            max_retry_after_seconds=_number(
                env, "BULKGEN_PROVIDER_MAX_RETRY_AFTER_SECONDS", 30.0, float, 0.0, 3600.0
            ),
            request_timeout_seconds=_number(
                env, "BULKGEN_PROVIDER_TIMEOUT_SECONDS", 120.0, float, 1.0, 3600.0
            ),
            replicate_poll_seconds=_number(
                env, "BULKGEN_REPLICATE_POLL_SECONDS", 0.5, float, 0.01, 60.0
            ),
            breaker_failures=_number(
                env, "BULKGEN_BREAKER_FAILURES", DEFAULT_BREAKER_FAILURES, int, 1, 1000
            ),
            breaker_rest_seconds=_number(
                env, "BULKGEN_BREAKER_REST_SECONDS", 30.0, float, 0.0, 3600.0
            ),
            breaker_max_wait_seconds=_number(
                env, "BULKGEN_BREAKER_MAX_WAIT_SECONDS", 60.0, float, 0.0, 3600.0
            ),
        )

    def concurrency_for(self, provider: str) -> int:
        return {
            "replicate": self.replicate_concurrency,
            "google": self.google_concurrency,
            "local": self.local_concurrency,
        }[provider]


def _parse_providers(raw: str | None, *, token: str | None, key: str | None) -> tuple[str, ...]:
    if raw is None:
        # Default: every provider we hold credentials for; the offline preview otherwise.
        found = tuple(name for name, secret in (("replicate", token), ("google", key)) if secret)
        return found or ("local",)
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name not in KNOWN_PROVIDERS:
            raise ValueError(
                f"BULKGEN_PROVIDERS: unknown provider {name!r} "
                f"(choose from {', '.join(KNOWN_PROVIDERS)})"
            )
        if name not in names:
            names.append(name)
    if not names:
        raise ValueError("BULKGEN_PROVIDERS: no provider named")
    if "replicate" in names and not token:
        raise ValueError("BULKGEN_PROVIDERS names replicate but REPLICATE_API_TOKEN is not set")
    if "google" in names and not key:
        raise ValueError("BULKGEN_PROVIDERS names google but GOOGLE_API_KEY is not set")
    return tuple(names)


def _number(
    env: Mapping[str, str],
    name: str,
    default: T,
    kind: Callable[[str], T],
    low: float,
    high: float,
) -> T:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not a valid {kind.__name__}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name}: {raw!r} is not a finite number")
    if not low <= value <= high:
        raise ValueError(f"{name}: {value} is outside {low:g}..{high:g}")
    return value


def _url(raw: str | None, name: str) -> str | None:
    if raw is not None and not raw.startswith(("http://", "https://")):
        raise ValueError(f"{name}: {raw!r} must start with http:// or https://")
    return raw


def _model(raw: str | None, name: str, default: str) -> str:
    if raw is None:
        return default
    owner, sep, model = raw.partition("/")
    if not sep or not owner or not model or "/" in model:
        raise ValueError(f"{name}: {raw!r} must look like owner/model")
    return raw
