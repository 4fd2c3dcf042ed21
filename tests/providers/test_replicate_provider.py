"""ReplicateProvider through the real `replicate` SDK against the fake Replicate server."""

from __future__ import annotations

import io
import socket
import time

import pytest
from PIL import Image
from replicate.helpers import FileOutput

from bulkgen_pipeline.providers.base import (
    ImageRequest,
    PermanentProviderError,
    TransientProviderError,
)
from bulkgen_pipeline.providers.common import RateLimitedError
from bulkgen_pipeline.providers.replicate_provider import (
    ReplicateProvider,
    _first_file,
    parse_retry_after,
)
from tests.fakes.replicate_server import FakeReplicate

EXACT = ImageRequest(prompt="a leather tote bag", seed=42, width=1024, height=768)
RATIO = ImageRequest(prompt="a leather tote bag", seed=42, aspect_ratio="16:9")


def _size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_exact_size_goes_to_the_width_height_model(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    result = replicate_provider.generate(EXACT)
    assert (result.provider, result.model, result.seed, result.attempts) == (
        "replicate",
        "black-forest-labs/flux-1.1-pro",
        42,
        1,
    )
    assert result.mime_type == "image/png" and result.latency_seconds > 0
    assert _size(result.image_bytes) == (1024, 768)
    create = fake_replicate.recorded("POST", "/predictions")[0]
    assert create.path == "/v1/models/black-forest-labs/flux-1.1-pro/predictions"
    assert create.body["input"] == {
        "prompt": "a leather tote bag",
        "seed": 42,
        "output_format": "png",
        "aspect_ratio": "custom",
        "width": 1024,
        "height": 768,
    }
    assert create.headers["Prefer"].startswith("wait")
    assert create.headers["Authorization"] == f"Bearer {fake_replicate.token}"
    # Prefer: wait answered with the finished prediction: no poll needed.
    assert fake_replicate.counts == {"create": 1, "download": 1}


def test_sizes_off_the_32_grid_are_resized_to_exact_pixels(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    result = replicate_provider.generate(ImageRequest(prompt="p", seed=1, width=1000, height=700))
    assert fake_replicate.created_inputs()[0]["width"] == 992  # what the model can do
    assert _size(result.image_bytes) == (1000, 700)  # what the preset asked for


def test_aspect_ratio_goes_to_the_fast_model_with_list_output(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    result = replicate_provider.generate(RATIO)
    assert result.model == "black-forest-labs/flux-schnell"
    create = fake_replicate.recorded("POST", "/predictions")[0]
    assert create.path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert create.body["input"]["aspect_ratio"] == "16:9"
    assert create.body["input"]["output_format"] == "png"
    assert _size(result.image_bytes) == (64, 36)


@pytest.mark.parametrize("output", ["url", "url_list", "data_uri"])
def test_every_output_shape_is_read(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate, output: str
) -> None:
    fake_replicate.output = output
    result = replicate_provider.generate(RATIO)
    assert result.image_bytes.startswith(b"\x89PNG")
    assert fake_replicate.counts["download"] == (0 if output == "data_uri" else 1)


def test_file_output_objects_are_read_through_the_sdk_client(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    replicate_provider.generate(RATIO)  # leaves a finished prediction on the fake
    url = f"{fake_replicate.base_url}/files/fake000001.png"
    client = replicate_provider._client
    for output in (FileOutput(url, client), [FileOutput(url, client)]):
        assert _first_file(output, client).read().startswith(b"\x89PNG")
    assert fake_replicate.counts["download"] == 3


def test_custom_model_names(fake_replicate: FakeReplicate) -> None:
    provider = ReplicateProvider(
        fake_replicate.token,
        base_url=fake_replicate.base_url,
        exact_model="acme/exact",
        fast_model="acme/fast",
        poll_seconds=0.01,
    )
    assert provider.generate(EXACT).model == "acme/exact"
    assert provider.generate(RATIO).model == "acme/fast"
    paths = [r.path for r in fake_replicate.recorded("POST")]
    assert paths == ["/v1/models/acme/exact/predictions", "/v1/models/acme/fast/predictions"]


def test_polls_until_the_prediction_finishes(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    fake_replicate.max_wait = 0  # answer the create at once with "starting"
    fake_replicate.latency = 0.15
    result = replicate_provider.generate(RATIO)
    assert result.image_bytes.startswith(b"\x89PNG")
    assert fake_replicate.counts["poll"] >= 3
    assert fake_replicate.counts["create"] == 1


def test_a_failed_poll_or_download_is_retried_in_place_not_recreated(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    fake_replicate.max_wait = 0
    fake_replicate.latency = 0.05
    fake_replicate.poll_failures.fail_next(1, 503)
    fake_replicate.download_failures.fail_next(1, 500)
    replicate_provider.generate(RATIO)
    assert fake_replicate.counts["create"] == 1  # a new create would be billed again
    assert fake_replicate.counts["download"] == 2


def test_429_is_rate_limited_with_retry_after(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    fake_replicate.failures.fail_next(1, 429, retry_after=7)
    with pytest.raises(RateLimitedError) as info:
        replicate_provider.generate(RATIO)
    assert info.value.retry_after == 7
    assert fake_replicate.counts["create"] == 1  # the SDK did not retry the POST itself


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate, status: int
) -> None:
    fake_replicate.failures.fail_next(1, status)
    with pytest.raises(TransientProviderError) as info:
        replicate_provider.generate(RATIO)
    assert not isinstance(info.value, RateLimitedError)
    assert str(status) in info.value.reason


def test_bad_input_is_permanent(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    fake_replicate.reject_input = "width must be <= 1440"
    with pytest.raises(PermanentProviderError, match="width must be <= 1440"):
        replicate_provider.generate(EXACT)


def test_wrong_token_is_permanent(fake_replicate: FakeReplicate) -> None:
    provider = ReplicateProvider("r8_wrong", base_url=fake_replicate.base_url)
    with pytest.raises(PermanentProviderError, match="REPLICATE_API_TOKEN"):
        provider.generate(RATIO)


def test_nsfw_failure_is_a_permanent_safety_block(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    fake_replicate.safety_block = True
    with pytest.raises(PermanentProviderError, match="safety filter") as info:
        replicate_provider.generate(RATIO)
    assert "NSFW" in info.value.reason


def test_other_model_failures_are_transient(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    fake_replicate.prediction_error = "CUDA out of memory"
    with pytest.raises(TransientProviderError, match="CUDA out of memory"):
        replicate_provider.generate(RATIO)


def test_non_image_body_is_permanent(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    fake_replicate.output = "not_image"
    with pytest.raises(PermanentProviderError, match="not a PNG, JPEG or WebP"):
        replicate_provider.generate(RATIO)


def test_hanging_create_times_out_as_transient(fake_replicate: FakeReplicate) -> None:
    fake_replicate.hang_seconds = 5
    provider = ReplicateProvider(
        fake_replicate.token, base_url=fake_replicate.base_url, timeout_seconds=1
    )
    with pytest.raises(TransientProviderError, match="did not answer in time"):
        provider.generate(RATIO)


def test_prediction_over_the_deadline_is_cancelled(fake_replicate: FakeReplicate) -> None:
    fake_replicate.max_wait = 0
    fake_replicate.latency = 30
    ticks = iter(range(0, 1000, 10))  # each clock read jumps 10 s
    provider = ReplicateProvider(
        fake_replicate.token,
        base_url=fake_replicate.base_url,
        timeout_seconds=15,
        poll_seconds=0.01,
        clock=lambda: float(next(ticks)),
    )
    with pytest.raises(TransientProviderError, match="still starting"):
        provider.generate(RATIO)
    assert fake_replicate.counts["cancel"] == 1


def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = ReplicateProvider("r8_x_token", base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(TransientProviderError, match="could not connect to replicate"):
        provider.generate(RATIO)


def test_supports_exact_sizes_in_range_and_known_ratios(
    replicate_provider: ReplicateProvider,
) -> None:
    ok = [
        EXACT,
        RATIO,
        ImageRequest(prompt="p", seed=1, aspect_ratio="9:21"),
        ImageRequest(prompt="p", seed=1, width=256, height=1440),
    ]
    no = [
        ImageRequest(prompt="p", seed=1, width=1920, height=1080),
        ImageRequest(prompt="p", seed=1, width=100, height=100),
        ImageRequest(prompt="p", seed=1, aspect_ratio="7:5"),
    ]
    assert all(replicate_provider.supports(r) for r in ok)
    assert not any(replicate_provider.supports(r) for r in no)


def test_token_never_in_errors_or_repr(fake_replicate: FakeReplicate) -> None:
    fake_replicate.echo_auth = True  # a careless upstream that echoes the header back
    provider = ReplicateProvider(fake_replicate.token, base_url=fake_replicate.base_url)
    fake_replicate.reject_input = "bad input"
    with pytest.raises(PermanentProviderError) as info:
        provider.generate(RATIO)
    assert "auth was" in info.value.reason  # the echo reached us ...
    assert fake_replicate.token not in str(info.value)  # ... and was redacted
    assert fake_replicate.token not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is not None
    assert fake_replicate.token not in repr(provider)


@pytest.mark.parametrize(
    ("value", "seconds"), [("7", 7.0), ("0.5", 0.5), ("-3", 0.0), (None, None), ("soon", None)]
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_sdk_poll_retry_with_unbounded_retry_after_is_replaced_by_ours(
    fake_replicate: FakeReplicate,
) -> None:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # record, but only ever really wait 10 ms
        sleeps.append(seconds)
        time.sleep(0.01)

    provider = ReplicateProvider(
        fake_replicate.token, base_url=fake_replicate.base_url, sleep=sleep, poll_seconds=0.01
    )
    fake_replicate.max_wait = 0  # the create answers "starting": the client must poll
    fake_replicate.latency = 0.1
    fake_replicate.poll_failures.fail_next(1, 429, retry_after=100)
    started = time.monotonic()
    assert provider.generate(RATIO).image_bytes.startswith(b"\x89PNG")
    assert time.monotonic() - started < 3  # the SDK's own retry would have slept 100 s
    assert 5.0 in sleeps  # our in-place poll retry: Retry-After honoured, but bounded
    assert fake_replicate.counts["create"] == 1


def test_nth_request_failure_knob(
    replicate_provider: ReplicateProvider, fake_replicate: FakeReplicate
) -> None:
    fake_replicate.failures.fail_nth(2, 502)
    replicate_provider.generate(RATIO)
    with pytest.raises(TransientProviderError, match="502"):
        replicate_provider.generate(RATIO)
    replicate_provider.generate(RATIO)
    assert fake_replicate.counts["create"] == 3
