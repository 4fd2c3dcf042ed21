from __future__ import annotations

import pytest

from bulkgen_pipeline.providers.settings import ProviderSettings

TOKEN = "r8_secret_token_value_123"
KEY = "AIza_secret_key_value_456"


def test_defaults_without_credentials_are_local_only() -> None:
    settings = ProviderSettings.from_env({})
    assert settings.providers == ("local",)
    assert settings.replicate_concurrency == 8
    assert settings.google_concurrency == 8
    assert settings.local_concurrency == 4
    assert settings.replicate_exact_model == "black-forest-labs/flux-1.1-pro"
    assert settings.replicate_fast_model == "black-forest-labs/flux-schnell"
    assert settings.google_model == "gemini-2.5-flash-image"
    assert settings.replicate_creates_per_minute == 600
    assert (settings.breaker_failures, settings.breaker_rest_seconds) == (10, 30)
    assert settings.breaker_max_wait_seconds == 60
    assert (settings.max_attempts, settings.image_deadline_seconds) == (3, 300)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"REPLICATE_API_TOKEN": TOKEN}, ("replicate",)),
        ({"GOOGLE_API_KEY": KEY}, ("google",)),
        ({"REPLICATE_API_TOKEN": TOKEN, "GOOGLE_API_KEY": KEY}, ("replicate", "google")),
        ({"REPLICATE_API_TOKEN": TOKEN, "BULKGEN_PROVIDERS": "local"}, ("local",)),
        (
            {"GOOGLE_API_KEY": KEY, "BULKGEN_PROVIDERS": " Google , local,google"},
            ("google", "local"),
        ),
    ],
)
def test_enabled_providers(env: dict[str, str], expected: tuple[str, ...]) -> None:
    assert ProviderSettings.from_env(env).providers == expected


def test_every_variable_is_read() -> None:
    env = {
        "REPLICATE_API_TOKEN": TOKEN,
        "REPLICATE_BASE_URL": "http://127.0.0.1:9/",
        "BULKGEN_REPLICATE_EXACT_MODEL": "acme/exact",
        "BULKGEN_REPLICATE_FAST_MODEL": "acme/fast",
        "GOOGLE_API_KEY": KEY,
        "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:10",
        "BULKGEN_GOOGLE_MODEL": "gemini-3-pro-image-preview",
        "BULKGEN_REPLICATE_CONCURRENCY": "3",
        "BULKGEN_GOOGLE_CONCURRENCY": "5",
        "BULKGEN_LOCAL_CONCURRENCY": "2",
        "BULKGEN_REPLICATE_CREATES_PER_MINUTE": "120",
        "BULKGEN_PROVIDER_MAX_ATTEMPTS": "4",
        "BULKGEN_PROVIDER_BACKOFF_BASE_SECONDS": "0.5",
        "BULKGEN_PROVIDER_BACKOFF_MAX_SECONDS": "9",
        "BULKGEN_PROVIDER_MAX_RETRY_AFTER_SECONDS": "12",
        "BULKGEN_PROVIDER_TIMEOUT_SECONDS": "45",
        "BULKGEN_REPLICATE_POLL_SECONDS": "0.25",
        "BULKGEN_BREAKER_FAILURES": "7",
        "BULKGEN_BREAKER_REST_SECONDS": "60",
        "BULKGEN_BREAKER_MAX_WAIT_SECONDS": "0",
        "BULKGEN_PROVIDER_IMAGE_DEADLINE_SECONDS": "90",
    }
    s = ProviderSettings.from_env(env)
    assert s.replicate_base_url == "http://127.0.0.1:9/"
    assert (s.replicate_exact_model, s.replicate_fast_model) == ("acme/exact", "acme/fast")
    assert s.google_base_url == "http://127.0.0.1:10"
    assert s.google_model == "gemini-3-pro-image-preview"
    assert (s.replicate_concurrency, s.google_concurrency, s.local_concurrency) == (3, 5, 2)
    assert s.replicate_creates_per_minute == 120
    assert (s.max_attempts, s.backoff_base_seconds, s.backoff_max_seconds) == (4, 0.5, 9)
    assert (s.max_retry_after_seconds, s.request_timeout_seconds) == (12, 45)
    assert s.replicate_poll_seconds == 0.25
    assert (s.breaker_failures, s.breaker_rest_seconds) == (7, 60)
    assert s.breaker_max_wait_seconds == 0
    assert s.image_deadline_seconds == 90
    assert s.concurrency_for("google") == 5


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"BULKGEN_REPLICATE_CONCURRENCY": "eight"}, "BULKGEN_REPLICATE_CONCURRENCY"),
        ({"BULKGEN_GOOGLE_CONCURRENCY": "0"}, "BULKGEN_GOOGLE_CONCURRENCY"),
        ({"BULKGEN_LOCAL_CONCURRENCY": "-1"}, "BULKGEN_LOCAL_CONCURRENCY"),
        ({"BULKGEN_PROVIDER_MAX_ATTEMPTS": "2.5"}, "BULKGEN_PROVIDER_MAX_ATTEMPTS"),
        ({"BULKGEN_PROVIDER_BACKOFF_BASE_SECONDS": "nan"}, "BULKGEN_PROVIDER_BACKOFF_BASE_SECONDS"),
        ({"BULKGEN_BREAKER_REST_SECONDS": "soon"}, "BULKGEN_BREAKER_REST_SECONDS"),
        ({"BULKGEN_BREAKER_MAX_WAIT_SECONDS": "forever"}, "BULKGEN_BREAKER_MAX_WAIT_SECONDS"),
        ({"BULKGEN_BREAKER_MAX_WAIT_SECONDS": "-1"}, "BULKGEN_BREAKER_MAX_WAIT_SECONDS"),
        ({"BULKGEN_BREAKER_MAX_WAIT_SECONDS": "inf"}, "BULKGEN_BREAKER_MAX_WAIT_SECONDS"),
        (
            {"BULKGEN_PROVIDER_IMAGE_DEADLINE_SECONDS": "0"},
            "BULKGEN_PROVIDER_IMAGE_DEADLINE_SECONDS",
        ),
        (
            {"BULKGEN_PROVIDERS": "replicate,midjourney", "REPLICATE_API_TOKEN": TOKEN},
            "BULKGEN_PROVIDERS",
        ),
        ({"BULKGEN_PROVIDERS": " , "}, "BULKGEN_PROVIDERS"),
        ({"BULKGEN_PROVIDERS": "replicate"}, "REPLICATE_API_TOKEN"),
        ({"BULKGEN_PROVIDERS": "google"}, "GOOGLE_API_KEY"),
        ({"REPLICATE_BASE_URL": "api.replicate.com"}, "REPLICATE_BASE_URL"),
        ({"GOOGLE_GEMINI_BASE_URL": "ftp://x"}, "GOOGLE_GEMINI_BASE_URL"),
        ({"BULKGEN_REPLICATE_FAST_MODEL": "flux-schnell"}, "BULKGEN_REPLICATE_FAST_MODEL"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ValueError, match=variable):
        ProviderSettings.from_env(env)


def test_error_for_bad_value_does_not_echo_secrets() -> None:
    env = {"REPLICATE_API_TOKEN": TOKEN, "GOOGLE_API_KEY": KEY, "BULKGEN_PROVIDERS": "nope"}
    with pytest.raises(ValueError) as info:
        ProviderSettings.from_env(env)
    assert TOKEN not in str(info.value) and KEY not in str(info.value)


def test_repr_and_str_hide_secrets() -> None:
    s = ProviderSettings.from_env({"REPLICATE_API_TOKEN": TOKEN, "GOOGLE_API_KEY": KEY})
    for text in (repr(s), str(s), f"{s}"):
        assert TOKEN not in text and KEY not in text
        assert "replicate_api_token='***'" in text
    assert "google_api_key=None" in repr(ProviderSettings.from_env({}))
