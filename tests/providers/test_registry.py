"""The provider registry is the one table validation, routing and the router cache read: a
provider registered in a test-local table is checked, built, limited and cached with no other
change anywhere."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field, SecretStr

from bulkgen_pipeline.config import EnvSettings, SettingsError
from bulkgen_pipeline.providers import settings as provider_settings
from bulkgen_pipeline.providers.base import ImageRequest, ImageResult
from bulkgen_pipeline.providers.registry import ProviderEntry, ProviderRegistry
from bulkgen_pipeline.providers.router import build_router, shared_router
from bulkgen_pipeline.providers.settings import PROVIDERS, ProviderSettings, RouterSettings
from bulkgen_pipeline.resources.images import ImageGenerationResource


class PaintSettings(EnvSettings):
    paint_key: SecretStr | None = Field(default=None, validation_alias="PAINT_KEY")
    paint_concurrency: int = Field(default=2, ge=1, le=64, validation_alias="PAINT_CONCURRENCY")
    paint_calls_per_minute: float = Field(default=120.0, gt=0, validation_alias="PAINT_RATE")


class PaintProvider:
    """Makes any aspect-ratio image; records the key it was built with."""

    name = "paint"

    def __init__(self, key: str) -> None:
        self.key = key

    def supports(self, request: ImageRequest) -> bool:
        return request.aspect_ratio is not None

    def generate(self, request: ImageRequest) -> ImageResult:
        return ImageResult(b"png", self.name, "paint-1", request.seed, 0.0)


def _paint(settings: Any) -> PaintProvider:
    return PaintProvider(settings.paint_key.get_secret_value())


PAINT = ProviderEntry(
    "paint",
    PaintSettings,
    _paint,
    concurrency="paint_concurrency",
    secret="paint_key",
    creates_per_minute="paint_calls_per_minute",
)


@pytest.fixture
def registry() -> ProviderRegistry:
    return ProviderRegistry([*PROVIDERS, PAINT], base=RouterSettings)


def test_validation_reads_the_table(registry: ProviderRegistry) -> None:
    settings = registry.settings.from_env({"PAINT_KEY": "pk_secret_1"})
    assert settings.providers == ("paint",)  # on because its credential is set
    assert registry.settings.from_env({}).providers == ("local",)
    both = registry.settings.from_env({"PAINT_KEY": "pk_secret_1", "GOOGLE_API_KEY": "AIza_k"})
    assert both.providers == ("google", "paint")  # in the table's order
    with pytest.raises(SettingsError, match="BULKGEN_PROVIDERS names paint but PAINT_KEY is not"):
        registry.settings.from_env({"BULKGEN_PROVIDERS": "paint"})
    with pytest.raises(SettingsError, match="PAINT_CONCURRENCY"):
        registry.settings.from_env({"PAINT_CONCURRENCY": "0"})
    assert "pk_secret_1" not in repr(settings) and "paint_key='***'" in repr(settings)
    # The production table knows nothing of it.
    with pytest.raises(SettingsError, match="unknown provider 'paint'"):
        ProviderSettings.from_env({"BULKGEN_PROVIDERS": "paint"})


def test_routing_reads_the_table(registry: ProviderRegistry) -> None:
    settings = registry.settings.from_env({"PAINT_KEY": "pk", "BULKGEN_PROVIDERS": "paint,local"})
    router = build_router(settings)
    assert router.provider_names == ["paint", "local"]
    lane = router.lane("paint")
    assert lane.concurrency == 2 and lane.provider.key == "pk"  # type: ignore[attr-defined]
    assert lane.bucket is not None and lane.bucket.rate == pytest.approx(2.0)
    assert router.lane("local").bucket is None
    result = router.generate(ImageRequest(prompt="p", seed=3, aspect_ratio="1:1"))
    assert result.provider == "paint"


def test_the_router_cache_reads_the_tables_variables(registry: ProviderRegistry) -> None:
    env = {"PAINT_KEY": "pk", "BULKGEN_PROVIDERS": "paint"}
    router = shared_router(env, registry)
    assert router.provider_names == ["paint"]
    assert shared_router({**env, "UNRELATED": "x"}, registry) is router
    # A variable of the new provider, with no BULKGEN_ prefix, makes another router.
    other = shared_router({**env, "PAINT_RATE": "60"}, registry)
    assert other is not router and other.lane("paint").bucket.rate == pytest.approx(1.0)


def test_the_dagster_resource_uses_the_production_table(
    registry: ProviderRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(provider_settings, "PROVIDERS", registry)
    monkeypatch.setenv("PAINT_KEY", "pk")
    router = ImageGenerationResource(providers="paint").get_router()
    assert router.provider_names == ["paint"]
    monkeypatch.setenv("PAINT_CONCURRENCY", "5")
    again = ImageGenerationResource(providers="paint").get_router()
    assert again is not router and again.lane("paint").concurrency == 5


def test_a_provider_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        ProviderRegistry([PAINT, PAINT], base=RouterSettings)
