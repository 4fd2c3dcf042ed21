"""Fixtures for the provider tests: fake Replicate / Gemini servers on 127.0.0.1 and providers
built on the real SDKs pointed at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bulkgen_pipeline.providers.google_provider import GoogleProvider
from bulkgen_pipeline.providers.replicate_provider import ReplicateProvider
from tests.fakes.clock import FakeClock  # noqa: F401  (the fixtures' clock)
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.replicate_server import FakeReplicate


@pytest.fixture
def fake_replicate() -> Iterator[FakeReplicate]:
    with FakeReplicate() as server:
        yield server


@pytest.fixture
def fake_gemini() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def replicate_provider(fake_replicate: FakeReplicate) -> ReplicateProvider:
    return ReplicateProvider(
        fake_replicate.token,
        base_url=fake_replicate.base_url,
        timeout_seconds=5.0,
        poll_seconds=0.01,
    )


@pytest.fixture
def google_provider(fake_gemini: FakeGemini) -> GoogleProvider:
    return GoogleProvider(fake_gemini.api_key, base_url=fake_gemini.base_url, timeout_seconds=5.0)


@pytest.fixture
def provider_env(fake_replicate: FakeReplicate, fake_gemini: FakeGemini) -> dict[str, str]:
    """An environment that switches both real providers on, pointed at the fakes."""
    return {
        "REPLICATE_API_TOKEN": fake_replicate.token,
        "REPLICATE_BASE_URL": fake_replicate.base_url,
        "GOOGLE_API_KEY": fake_gemini.api_key,
        "GOOGLE_GEMINI_BASE_URL": fake_gemini.base_url,
        "BULKGEN_REPLICATE_POLL_SECONDS": "0.01",
        "BULKGEN_PROVIDER_TIMEOUT_SECONDS": "5",
    }
