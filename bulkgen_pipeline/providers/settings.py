"""Provider settings read from the environment (see docs/providers.md for the table), and the
provider registry `PROVIDERS`: the one place that says which providers exist.

pydantic-settings parses them (the base in config.py); a malformed value raises SettingsError,
a ValueError naming the variable and never echoing a token or key, which are SecretStr.

Adding a provider: its module (the ImageProvider), and here its settings class and its
ProviderEntry in `PROVIDERS`. Validation, routing and the shared router's cache read the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from ..config import EnvSettings
from .limits import DEFAULT_BREAKER_FAILURES
from .models import parse_model_credits
from .registry import ProviderEntry, ProviderRegistry, has_secret

if TYPE_CHECKING:
    from .base import ImageProvider

DEFAULT_REPLICATE_EXACT_MODEL = "black-forest-labs/flux-1.1-pro"
DEFAULT_REPLICATE_FAST_MODEL = "black-forest-labs/flux-schnell"
DEFAULT_GOOGLE_MODEL = "gemini-2.5-flash-image"


def _count(default: int, variable: str, high: int = 256) -> Any:
    return Field(default=default, ge=1, le=high, validation_alias=variable)


def _seconds(default: float, variable: str, low: float, high: float) -> Any:
    return Field(default=default, ge=low, le=high, validation_alias=variable)


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


class SharedProviderSettings(EnvSettings):
    """What every provider's calls share."""

    request_timeout_seconds: float = _seconds(
        120.0, "BULKGEN_PROVIDER_TIMEOUT_SECONDS", 1.0, 3600.0
    )


class RouterSettings(SharedProviderSettings):
    """Which providers are on and how the router retries, rests and waits; the registry's
    settings class (`ProviderSettings`) adds every provider's own variables to these."""

    registry: ClassVar[ProviderRegistry]

    # Default: every provider there are credentials for; the offline preview otherwise.
    providers: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias="BULKGEN_PROVIDERS"
    )
    # Failed attempts per provider, before failing over to the next one. A 429 or a response
    # with Retry-After is the provider asking to wait, not a failure: it spends none of them.
    max_attempts: int = _count(3, "BULKGEN_PROVIDER_MAX_ATTEMPTS", high=20)
    # How long one image may keep trying (backoffs, Retry-After waits, waiting out a rest) before
    # it gives up; it bounds the waits that spend no attempt.
    image_deadline_seconds: float = _seconds(
        300.0, "BULKGEN_PROVIDER_IMAGE_DEADLINE_SECONDS", 1.0, 86_400.0
    )
    backoff_base_seconds: float = _seconds(1.0, "BULKGEN_PROVIDER_BACKOFF_BASE_SECONDS", 0.0, 600.0)
    backoff_max_seconds: float = _seconds(20.0, "BULKGEN_PROVIDER_BACKOFF_MAX_SECONDS", 0.0, 3600.0)
    max_retry_after_seconds: float = _seconds(
        30.0, "BULKGEN_PROVIDER_MAX_RETRY_AFTER_SECONDS", 0.0, 3600.0
    )
    breaker_failures: int = _count(DEFAULT_BREAKER_FAILURES, "BULKGEN_BREAKER_FAILURES", 1000)
    breaker_rest_seconds: float = _seconds(30.0, "BULKGEN_BREAKER_REST_SECONDS", 0.0, 3600.0)
    # When every capable provider is resting, how long an image waits for one to take a probe
    # call again before failing (0: fail at once).
    breaker_max_wait_seconds: float = _seconds(
        60.0, "BULKGEN_BREAKER_MAX_WAIT_SECONDS", 0.0, 3600.0
    )

    # Credits one image of a model costs, where more than 1: "model=credits,model=credits".
    model_credits: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict, validation_alias="BULKGEN_MODEL_CREDITS"
    )

    @field_validator("model_credits", mode="before")
    @classmethod
    def _model_credits(cls, value: Any) -> Any:
        return parse_model_credits(value) if isinstance(value, str) else value

    @field_validator("providers", mode="before")
    @classmethod
    def _provider_names(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        known = cls.registry.names
        names: list[str] = []
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in known:
                raise ValueError(f"unknown provider {name!r} (choose from {', '.join(known)})")
            if name not in names:
                names.append(name)
        if not names:
            raise ValueError("no provider named")
        return tuple(names)

    @model_validator(mode="after")
    def _credentials_for_providers(self) -> RouterSettings:
        needing = [entry for entry in self.registry if entry.secret is not None]
        if not self.providers:
            with_credentials = [e.name for e in needing if has_secret(self, str(e.secret))]
            fallback = [entry.name for entry in self.registry if entry.fallback]
            self.providers = tuple(with_credentials or fallback)
            return self
        for entry in needing:
            if entry.name in self.providers and not has_secret(self, str(entry.secret)):
                variable = self.registry.secret_variable(entry)
                raise ValueError(f"BULKGEN_PROVIDERS names {entry.name} but {variable} is not set")
        return self

    def __repr__(self) -> str:
        secrets = self.registry.secret_fields()
        parts = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            shown = ("'***'" if value else "None") if name in secrets else repr(value)
            parts.append(f"{name}={shown}")
        return f"ProviderSettings({', '.join(parts)})"

    __str__ = __repr__

    def concurrency_for(self, provider: str) -> int:
        return int(getattr(self, self.registry[provider].concurrency))

    def creates_per_minute_for(self, provider: str) -> float | None:
        """The provider's call-rate limit, or None when it has none."""
        field = self.registry[provider].creates_per_minute
        return None if field is None else float(getattr(self, field))


# -- the providers ----------------------------------------------------------------------------


class ReplicateSettings(SharedProviderSettings):
    replicate_api_token: SecretStr | None = Field(
        default=None, validation_alias="REPLICATE_API_TOKEN"
    )
    replicate_base_url: str | None = Field(default=None, validation_alias="REPLICATE_BASE_URL")
    replicate_exact_model: str = Field(
        default=DEFAULT_REPLICATE_EXACT_MODEL, validation_alias="BULKGEN_REPLICATE_EXACT_MODEL"
    )
    replicate_fast_model: str = Field(
        default=DEFAULT_REPLICATE_FAST_MODEL, validation_alias="BULKGEN_REPLICATE_FAST_MODEL"
    )
    replicate_concurrency: int = _count(8, "BULKGEN_REPLICATE_CONCURRENCY")
    # Replicate allows 600 prediction creates per minute per account.
    replicate_creates_per_minute: float = _seconds(
        600.0, "BULKGEN_REPLICATE_CREATES_PER_MINUTE", 1.0, 100_000.0
    )
    replicate_poll_seconds: float = _seconds(0.5, "BULKGEN_REPLICATE_POLL_SECONDS", 0.01, 60.0)

    @field_validator("replicate_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("replicate_exact_model", "replicate_fast_model")
    @classmethod
    def _owner_slash_model(cls, value: str) -> str:
        owner, sep, model = value.partition("/")
        if not sep or not owner or not model or "/" in model:
            raise ValueError("must look like owner/model")
        return value


def _replicate(settings: Any) -> ImageProvider:
    from .replicate_provider import ReplicateProvider  # the SDK only when it is used

    return ReplicateProvider.from_settings(settings)


class GoogleSettings(SharedProviderSettings):
    google_api_key: SecretStr | None = Field(default=None, validation_alias="GOOGLE_API_KEY")
    google_base_url: str | None = Field(default=None, validation_alias="GOOGLE_GEMINI_BASE_URL")
    google_model: str = Field(default=DEFAULT_GOOGLE_MODEL, validation_alias="BULKGEN_GOOGLE_MODEL")
    google_concurrency: int = _count(8, "BULKGEN_GOOGLE_CONCURRENCY")

    @field_validator("google_base_url")
    @classmethod
    def _gemini_base_url(cls, value: str | None) -> str | None:
        return _http_url(value)


def _google(settings: Any) -> ImageProvider:
    from .google_provider import GoogleProvider

    return GoogleProvider.from_settings(settings)


class LocalSettings(SharedProviderSettings):
    local_concurrency: int = _count(4, "BULKGEN_LOCAL_CONCURRENCY")
    # The preview renders in milliseconds; a pause per image makes it behave like a real
    # provider for demos (progress to watch) and for crash tests (a run to kill mid-way).
    local_seconds_per_image: float = _seconds(0.0, "BULKGEN_LOCAL_SECONDS_PER_IMAGE", 0.0, 600.0)


def _local(settings: Any) -> ImageProvider:
    from .preview import LocalPreviewProvider

    return LocalPreviewProvider(seconds_per_image=settings.local_seconds_per_image)


PROVIDERS = ProviderRegistry(
    [
        ProviderEntry(
            name="replicate",
            settings=ReplicateSettings,
            build=_replicate,
            secret="replicate_api_token",
            concurrency="replicate_concurrency",
            creates_per_minute="replicate_creates_per_minute",
        ),
        ProviderEntry(
            name="google",
            settings=GoogleSettings,
            build=_google,
            secret="google_api_key",
            concurrency="google_concurrency",
        ),
        ProviderEntry(
            name="local",
            settings=LocalSettings,
            build=_local,
            concurrency="local_concurrency",
            fallback=True,  # the offline preview: on when no provider has credentials
        ),
    ],
    base=RouterSettings,
)

# Every provider setting in one class: RouterSettings plus each entry's settings.
ProviderSettings = PROVIDERS.settings
KNOWN_PROVIDERS = PROVIDERS.names
