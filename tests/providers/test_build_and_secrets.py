"""build_router from the environment, and the promise that secrets never leak."""

from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from bulkgen_pipeline.providers.base import GenerationFailed, ImageRequest
from bulkgen_pipeline.providers.router import build_router
from bulkgen_pipeline.providers.settings import ProviderSettings
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.replicate_server import FakeReplicate


def test_build_router_from_env_enables_providers_with_credentials(
    provider_env: dict[str, str], fake_replicate: FakeReplicate, fake_gemini: FakeGemini
) -> None:
    router = build_router(ProviderSettings.from_env(provider_env))
    assert router.provider_names == ["replicate", "google"]
    assert router.max_parallel == 16
    bucket = router.lane("replicate").bucket
    assert bucket is not None and bucket.rate == pytest.approx(10.0)  # 600 creates/minute
    assert router.lane("google").bucket is None
    results = [
        router.generate(ImageRequest(prompt="p", seed=s, aspect_ratio="1:1")) for s in range(4)
    ]
    assert [r.provider for r in results] == ["replicate", "google"] * 2
    assert fake_replicate.counts["create"] == fake_gemini.counts["generate"] == 2


def test_build_router_honours_limits_and_provider_list(provider_env: dict[str, str]) -> None:
    env = {
        **provider_env,
        "BULKGEN_REPLICATE_CONCURRENCY": "3",
        "BULKGEN_PROVIDERS": "replicate,local",
        "BULKGEN_LOCAL_CONCURRENCY": "2",
    }
    router = build_router(ProviderSettings.from_env(env))
    assert router.provider_names == ["replicate", "local"]
    assert router.max_parallel == 5
    assert router.lane("replicate").concurrency == 3
    assert router.breaker_max_wait_seconds == 60  # the default


def test_build_router_passes_the_breaker_and_deadline_settings_through(
    provider_env: dict[str, str],
) -> None:
    env = {
        **provider_env,
        "BULKGEN_BREAKER_FAILURES": "2",
        "BULKGEN_BREAKER_REST_SECONDS": "12",
        "BULKGEN_BREAKER_MAX_WAIT_SECONDS": "0",
        "BULKGEN_PROVIDER_IMAGE_DEADLINE_SECONDS": "42",
    }
    router = build_router(ProviderSettings.from_env(env))
    assert router.breaker_max_wait_seconds == 0
    assert router.image_deadline_seconds == 42
    breaker = router.lane("google").breaker
    assert (breaker.failures, breaker.rest_seconds) == (2, 12)


def test_without_credentials_the_router_is_the_local_preview() -> None:
    router = build_router(ProviderSettings.from_env({}))
    assert router.provider_names == ["local"]
    assert router.max_parallel == 4
    result = router.generate(ImageRequest(prompt="p", seed=1, width=300, height=200))
    assert (result.provider, result.attempts) == ("local", 1)


def test_secrets_never_reach_logs_errors_or_results(
    provider_env: dict[str, str],
    fake_replicate: FakeReplicate,
    fake_gemini: FakeGemini,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, SDKs and httpx included
    secrets = (fake_replicate.token, fake_gemini.api_key)
    # Careless upstreams: every error body echoes the credential back.
    fake_replicate.echo_auth = fake_gemini.echo_auth = True
    env = {
        **provider_env,
        "BULKGEN_PROVIDER_MAX_ATTEMPTS": "2",
        "BULKGEN_PROVIDER_BACKOFF_BASE_SECONDS": "0",
        "BULKGEN_BREAKER_FAILURES": "100",
    }
    settings = ProviderSettings.from_env(env)
    router = build_router(settings, rng=random.Random(0))

    texts: list[str] = [repr(settings), str(settings), repr(router.stats())]
    fake_gemini.failures.fail_next(3, 500)
    fake_replicate.failures.fail_next(1, 429, retry_after=0)
    fake_replicate.reject_input = "rejected"
    with pytest.raises(GenerationFailed) as info:
        router.generate(ImageRequest(prompt="p", seed=1, aspect_ratio="1:1"))
    failure = info.value
    texts += [str(failure), repr(failure), failure.reason, repr(failure.__context__)]
    assert "***" in failure.reason  # the echo arrived and was redacted

    fake_replicate.reject_input = None
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                router.generate,
                [ImageRequest(prompt="p", seed=s, aspect_ratio="1:1") for s in range(6)],
            )
        )
    for result in results:
        texts += [repr({k: v for k, v in vars(result).items() if k != "image_bytes"})]
        assert not any(s.encode() in result.image_bytes for s in secrets)
    texts.append(caplog.text)
    texts += [repr(r.args) + str(r.exc_info) for r in caplog.records]

    assert caplog.records, "the failures above should have been logged"
    for text in texts:
        for secret in secrets:
            assert secret not in text
