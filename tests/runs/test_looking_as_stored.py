"""A run's images are looked at (size, pHash, colour) in the thread that stored each, while the
others still wait on their provider; only images stored by an earlier attempt are read back."""

from __future__ import annotations

import threading
from pathlib import Path

from bulkgen_pipeline.domain.layout import RunLayout
from bulkgen_pipeline.domain.specs import GenerationSpec
from bulkgen_pipeline.providers.base import GenerationFailed, ImageRequest, ImageResult
from bulkgen_pipeline.providers.preview import LocalPreviewProvider
from bulkgen_pipeline.runs.generation import generate_images
from bulkgen_pipeline.runs.image_checks import (
    ImageLook,
    LookingAsStored,
    inspect_images,
    look_at_stored,
)
from bulkgen_pipeline.runs.packaging import RunContext
from bulkgen_pipeline.storage.local import LocalObjectStore
from tests.runs.test_generation_passes import RecordingTracker

RUN = RunContext(RunLayout("user-1", "bags", "run-looks", "preset-1"), "looks", {})
FAILING = 3


def _specs(count: int) -> list[GenerationSpec]:
    return [
        GenerationSpec(
            generation=g,
            prompt=f"studio photo of a leather tote bag, variant {g}",
            seed=500 + g,
            config={"color": "#C81E1E"},
            attribute_resolution={},
            dimensions={"width": 96, "height": 64},
        )
        for g in range(1, count + 1)
    ]


def _preview_failing_one(request: ImageRequest) -> ImageResult:
    if request.seed == 500 + FAILING:
        raise GenerationFailed("refused", attempts=1, providers_tried=["local"])
    return LocalPreviewProvider().generate(request)


class CountingStore(LocalObjectStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.read: list[str] = []
        self._lock = threading.Lock()

    def get_bytes(self, key: str) -> bytes:
        with self._lock:
            self.read.append(key)
        return super().get_bytes(key)


def _generate(store, specs, handed, looking=None):
    def on_stored(spec: GenerationSpec, data: bytes) -> None:
        handed[spec.generation] = data
        if looking is not None:
            looking.hand_over(spec, data)

    return generate_images(
        specs,
        generate=_preview_failing_one,
        store=store,
        run=RUN,
        tracker=RecordingTracker(),
        max_workers=3,
        on_stored=on_stored,
    )


def test_each_image_made_is_handed_over_once_as_stored_and_a_failed_one_never(tmp_path):
    store = LocalObjectStore(tmp_path)
    handed: dict[int, bytes] = {}
    with LookingAsStored("run-looks") as looking:
        outcomes, _ = _generate(store, _specs(4), handed, looking)
    assert sorted(looking.looked) == [1, 2, 4]  # each looked at on the looking thread
    assert all(look.looks is not None for look in looking.looked.values())
    assert [o.generation for o in outcomes if o.succeeded] == [1, 2, 4]
    assert sorted(handed) == [1, 2, 4]
    for generation, data in handed.items():
        assert data == store.get_bytes(RUN.layout.image_key(generation))
    # A resumed attempt finds 1, 2 and 4 stored: only what it makes now is handed over.
    again: dict[int, bytes] = {}
    _generate(store, _specs(5), again)
    assert sorted(again) == [5]


def test_findings_from_images_looked_at_as_stored_equal_those_read_back(tmp_path):
    store = CountingStore(tmp_path)
    specs = _specs(4)
    handed: dict[int, bytes] = {}
    _generate(store, specs, handed)
    made = sorted(handed)
    looked: dict[int, ImageLook] = {
        g: look_at_stored(specs[g - 1], data, "run-looks") for g, data in handed.items() if g != 4
    }
    store.read.clear()
    as_stored = inspect_images(store, RUN.layout, specs, made, looked=looked)
    # Only image 4, not looked at as it was stored, is read back.
    assert store.read == [RUN.layout.image_key(4)]
    read_back = inspect_images(store, RUN.layout, specs, made)
    assert as_stored.to_json() == read_back.to_json()
    assert set(as_stored.looks) == {1, 2, 4} and set(as_stored.thumbnails) == {1, 2, 4}
    assert all(
        look.colour is not None and look.colour.adherent for look in as_stored.looks.values()
    )
