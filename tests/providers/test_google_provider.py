"""GoogleProvider through the real `google-genai` SDK against the fake Gemini server."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bulkgen_pipeline.providers.base import (
    ImageRequest,
    PermanentProviderError,
    TransientProviderError,
)
from bulkgen_pipeline.providers.common import RateLimitedError
from bulkgen_pipeline.providers.google_provider import GoogleProvider
from bulkgen_pipeline.providers.settings import ProviderSettings
from tests.fakes.gemini_server import FakeGemini

RATIO = ImageRequest(prompt="a leather tote bag on marble", seed=42, aspect_ratio="4:5")


def test_happy_path_uses_generate_content_with_image_config(
    google_provider: GoogleProvider, fake_gemini: FakeGemini
) -> None:
    result = google_provider.generate(RATIO)
    assert (result.provider, result.model, result.seed, result.attempts) == (
        "google",
        "gemini-2.5-flash-image",
        42,
        1,
    )
    assert result.mime_type == "image/png" and result.latency_seconds > 0
    assert Image.open(io.BytesIO(result.image_bytes)).size == (51, 64)  # 4:5

    request = fake_gemini.recorded("POST")[0]
    assert request.path == "/v1/models/gemini-2.5-flash-image:generateContent"
    assert request.headers["x-goog-api-key"] == fake_gemini.api_key
    assert request.body["contents"] == [{"parts": [{"text": RATIO.prompt}], "role": "user"}]
    config = request.body["generationConfig"]
    assert config["responseModalities"] == ["IMAGE"]
    assert config["imageConfig"] == {"aspectRatio": "4:5"}
    assert config["seed"] == 42


def test_base_url_and_model_come_from_the_environment(fake_gemini: FakeGemini) -> None:
    settings = ProviderSettings.from_env(
        {
            "GOOGLE_API_KEY": fake_gemini.api_key,
            "GOOGLE_GEMINI_BASE_URL": fake_gemini.base_url,
            "BULKGEN_GOOGLE_MODEL": "gemini-3-pro-image-preview",
        }
    )
    result = GoogleProvider.from_settings(settings).generate(RATIO)
    assert result.model == "gemini-3-pro-image-preview"
    assert fake_gemini.recorded()[0].path == (
        "/v1/models/gemini-3-pro-image-preview:generateContent"
    )


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        ("prompt", "blocked the prompt (SAFETY)"),
        ("candidate", "no image (finish reason IMAGE_SAFETY)"),
        ("text_only", "no image (finish reason STOP): I can't create that image."),
        ("no_candidates", "no candidates"),
    ],
)
def test_blocks_and_imageless_answers_are_permanent_with_the_reason(
    google_provider: GoogleProvider, fake_gemini: FakeGemini, block: str, reason: str
) -> None:
    fake_gemini.block = block
    with pytest.raises(PermanentProviderError) as info:
        google_provider.generate(RATIO)
    assert reason in info.value.reason
    assert info.value.provider == "google"


def test_non_image_bytes_are_permanent(
    google_provider: GoogleProvider, fake_gemini: FakeGemini
) -> None:
    fake_gemini.not_image = True
    with pytest.raises(PermanentProviderError, match="not a PNG, JPEG or WebP"):
        google_provider.generate(RATIO)


def test_429_is_rate_limited_with_retry_after_and_sdk_does_not_retry(
    google_provider: GoogleProvider, fake_gemini: FakeGemini
) -> None:
    fake_gemini.failures.fail_next(1, 429, retry_after=4)
    with pytest.raises(RateLimitedError) as info:
        google_provider.generate(RATIO)
    assert info.value.retry_after == 4
    assert fake_gemini.counts["generate"] == 1


@pytest.mark.parametrize("status", [500, 503, 504])
def test_5xx_is_transient_and_sdk_does_not_retry(
    google_provider: GoogleProvider, fake_gemini: FakeGemini, status: int
) -> None:
    fake_gemini.failures.fail_next(1, status)
    with pytest.raises(TransientProviderError) as info:
        google_provider.generate(RATIO)
    assert not isinstance(info.value, RateLimitedError)
    assert f"HTTP {status}" in info.value.reason
    assert fake_gemini.counts["generate"] == 1


def test_bad_request_is_permanent(google_provider: GoogleProvider, fake_gemini: FakeGemini) -> None:
    fake_gemini.failures.fail_next(1, 400)
    with pytest.raises(PermanentProviderError, match="HTTP 400"):
        google_provider.generate(RATIO)


def test_wrong_key_is_permanent_and_not_echoed(fake_gemini: FakeGemini) -> None:
    fake_gemini.echo_auth = True
    provider = GoogleProvider("AIza-wrong-key-987654", base_url=fake_gemini.base_url)
    with pytest.raises(PermanentProviderError, match="GOOGLE_API_KEY") as info:
        provider.generate(RATIO)
    assert "AIza-wrong-key-987654" not in str(info.value)


def test_hang_times_out_as_transient(fake_gemini: FakeGemini) -> None:
    fake_gemini.hang_seconds = 5
    provider = GoogleProvider(
        fake_gemini.api_key, base_url=fake_gemini.base_url, timeout_seconds=0.3
    )
    with pytest.raises(TransientProviderError, match="did not answer in time"):
        provider.generate(RATIO)


def test_supports_only_fixed_aspect_ratios(google_provider: GoogleProvider) -> None:
    assert google_provider.supports(RATIO)
    assert google_provider.supports(ImageRequest(prompt="p", seed=1, aspect_ratio="21:9"))
    assert not google_provider.supports(ImageRequest(prompt="p", seed=1, aspect_ratio="9:21"))
    assert not google_provider.supports(ImageRequest(prompt="p", seed=1, width=1024, height=1024))
    with pytest.raises(PermanentProviderError, match="only fixed aspect ratios"):
        google_provider.generate(ImageRequest(prompt="p", seed=1, width=1024, height=1024))


def test_key_never_in_errors_or_repr(fake_gemini: FakeGemini) -> None:
    fake_gemini.echo_auth = True  # injected failures echo the key back
    provider = GoogleProvider(fake_gemini.api_key, base_url=fake_gemini.base_url)
    fake_gemini.failures.fail_next(1, 500)
    with pytest.raises(TransientProviderError) as info:
        provider.generate(RATIO)
    assert "for key ***" in info.value.reason
    assert fake_gemini.api_key not in str(info.value) + repr(info.value) + repr(provider)
