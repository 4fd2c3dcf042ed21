from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bulkgen_pipeline.providers.base import ImageProvider, ImageRequest, PermanentProviderError
from bulkgen_pipeline.providers.preview import LocalPreviewProvider
from bulkgen_pipeline.providers.router import ImageRouter


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture
def preview() -> LocalPreviewProvider:
    return LocalPreviewProvider()


def test_the_router_serves_its_images_under_the_name_local(
    preview: LocalPreviewProvider,
) -> None:
    # What being an ImageProvider is for: the router routes to it and reports its name.
    provider: ImageProvider = preview
    router = ImageRouter([provider])
    assert router.provider_names == ["local"]
    request = ImageRequest(prompt="a tote bag", seed=7, width=64, height=48)
    result = router.generate(request)
    assert (result.provider, result.seed) == ("local", 7)
    assert result.image_bytes == preview.generate(request).image_bytes
    assert _open(result.image_bytes).size == (64, 48)


def test_same_request_gives_byte_identical_png(preview: LocalPreviewProvider) -> None:
    request = ImageRequest(
        prompt="a tote bag", seed=7, width=512, height=384, key_attributes={"type": "tote"}
    )
    first = preview.generate(request).image_bytes
    assert first.startswith(b"\x89PNG")
    assert LocalPreviewProvider().generate(request).image_bytes == first


def test_seed_and_prompt_change_the_image(preview: LocalPreviewProvider) -> None:
    base = ImageRequest(prompt="a tote bag", seed=7, width=256, height=256)
    other_seed = ImageRequest(prompt="a tote bag", seed=8, width=256, height=256)
    other_prompt = ImageRequest(prompt="a backpack", seed=7, width=256, height=256)
    images = {preview.generate(r).image_bytes for r in (base, other_seed, other_prompt)}
    assert len(images) == 3


@settings(max_examples=15, deadline=None)
@given(width=st.integers(1, 1500), height=st.integers(1, 1500))
def test_exact_size_is_honoured(width: int, height: int) -> None:
    result = LocalPreviewProvider().generate(
        ImageRequest(prompt="p", seed=1, width=width, height=height)
    )
    assert _open(result.image_bytes).size == (width, height)


@pytest.mark.parametrize(
    ("ratio", "size"),
    [("1:1", (1024, 1024)), ("16:9", (1024, 576)), ("9:16", (576, 1024)), ("4:5", (819, 1024))],
)
def test_aspect_ratio_renders_long_side_1024(
    preview: LocalPreviewProvider, ratio: str, size: tuple[int, int]
) -> None:
    result = preview.generate(ImageRequest(prompt="p", seed=1, aspect_ratio=ratio))
    assert _open(result.image_bytes).size == size


def test_key_attributes_are_drawn(preview: LocalPreviewProvider) -> None:
    plain = ImageRequest(prompt="p", seed=3, width=400, height=400)
    labelled = ImageRequest(
        prompt="p",
        seed=3,
        width=400,
        height=400,
        key_attributes={"material": "leather", "type": "tote"},
    )
    a = _open(preview.generate(plain).image_bytes).convert("RGB")
    b = _open(preview.generate(labelled).image_bytes).convert("RGB")
    # Labels go in the top-left corner; the rest of the picture is the same.
    corner = (0, 0, 200, 100)
    assert a.crop(corner).tobytes() != b.crop(corner).tobytes()
    assert a.crop((0, 300, 400, 400)).tobytes() == b.crop((0, 300, 400, 400)).tobytes()


def test_preview_word_is_drawn_in_the_middle(preview: LocalPreviewProvider) -> None:
    image = _open(
        preview.generate(ImageRequest(prompt="p", seed=3, width=600, height=600)).image_bytes
    ).convert("RGB")
    middle = image.crop((100, 250, 500, 350))
    white = sum(1 for px in middle.getdata() if px == (255, 255, 255))
    assert white > 500  # the big white "PREVIEW" lettering


def test_result_metadata(preview: LocalPreviewProvider) -> None:
    result = preview.generate(ImageRequest(prompt="p", seed=99, aspect_ratio="3:2"))
    assert (result.provider, result.model, result.seed, result.attempts) == (
        "local",
        "local-preview-v1",
        99,
        1,
    )
    assert result.mime_type == "image/png"
    assert result.latency_seconds >= 0


def test_supports_every_valid_request_and_rejects_garbage(preview: LocalPreviewProvider) -> None:
    assert preview.supports(ImageRequest(prompt="p", seed=1, width=1, height=1))
    assert preview.supports(ImageRequest(prompt="p", seed=1, aspect_ratio="21:9"))
    assert not preview.supports(ImageRequest(prompt="p", seed=1, aspect_ratio="wide"))
    assert not preview.supports(ImageRequest(prompt="p", seed=1, width=0, height=10))
    with pytest.raises(PermanentProviderError):
        preview.generate(ImageRequest(prompt="p", seed=1, aspect_ratio="wide"))


def test_seconds_per_image_is_the_whole_time_an_image_takes_rendering_included(monkeypatch):
    """A stand-in for a provider's latency: rendering counts towards it, so an image takes
    `seconds_per_image` in all, not that plus a render that waited for the interpreter lock."""
    from bulkgen_pipeline.providers import preview as module

    clock = [50.0]
    slept: list[float] = []
    render = module.render_preview

    def slow_render(*args, **kwargs):
        clock[0] += 0.4  # the render itself
        return render(*args, **kwargs)

    monkeypatch.setattr(module.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(module.time, "sleep", lambda seconds: slept.append(seconds))
    monkeypatch.setattr(module, "render_preview", slow_render)
    request = ImageRequest(prompt="a tote bag", seed=7, width=64, height=48)
    LocalPreviewProvider(seconds_per_image=1.0).generate(request)
    assert slept == [pytest.approx(0.6)]
    clock[0] += 1.0  # a render slower than the whole budget waits no more
    LocalPreviewProvider(seconds_per_image=0.3).generate(request)
    assert slept[-1] == 0.0
