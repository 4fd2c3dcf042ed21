"""What a run's stored images are, looked at: does each open at the size the run asked for,
which pairs look alike (near-duplicates), and does each show the colour its generation asked
for. One read and one decode per image; the findings are kept beside the run's metadata
(`metadata/looks.json`) for its summary, analytics.json and the console's run page."""

from __future__ import annotations

import io
import json
import logging
import statistics
import threading
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from PIL import Image

from .. import db
from ..domain.layout import RunLayout
from ..domain.specs import GenerationSpec
from ..inspection import (
    LOOK_SIDE,
    Looks,
    NearDuplicate,
    look_at_image,
    near_duplicates,
    reduced,
)
from ..inspection.colour import ColourMeasure
from ..inspection.similarity import DEFAULT_THRESHOLD
from ..providers.common import parse_aspect_ratio
from ..storage.base import ObjectNotFound, ObjectStore
from .control import find_owned_job

log = logging.getLogger(__name__)

ASPECT_TOLERANCE = 0.02  # providers round ratios to their pixel grid
# A run whose measured images show their colour less often than this gets a warning.
ADHERENCE_WARN_BELOW = 0.8


@dataclass(frozen=True)
class ImageFindings:
    threshold: int  # hash bits within which two images are near-duplicates
    looks: dict[int, Looks] = field(default_factory=dict)  # by generation_index
    pairs: list[NearDuplicate] = field(default_factory=list)
    size_problems: dict[str, str] = field(default_factory=dict)
    # Each image decoded once and reduced (LOOK_SIDE): the contact sheet is made from these.
    thumbnails: dict[int, Image.Image] = field(default_factory=dict, repr=False, compare=False)

    def alike(self, index: int) -> list[int]:
        """The images that `index` is a near-duplicate of."""
        return sorted(
            {p.second for p in self.pairs if p.first == index}
            | {p.first for p in self.pairs if p.second == index}
        )

    @property
    def colours(self) -> dict[int, ColourMeasure]:
        return {i: look.colour for i, look in self.looks.items() if look.colour is not None}

    def colour_summary(self) -> dict[str, Any]:
        measured = self.colours
        adherent = sum(1 for c in measured.values() if c.adherent)
        return {
            "measured": len(measured),
            "adherent": adherent,
            "share": round(adherent / len(measured), 3) if measured else None,
            "median_delta_e": round(statistics.median(c.delta_e for c in measured.values()), 2)
            if measured
            else None,
        }

    @property
    def adherence_is_low(self) -> bool:
        share = self.colour_summary()["share"]
        return share is not None and share < ADHERENCE_WARN_BELOW

    def run_fields(self) -> dict[str, Any]:
        """What a run's summary and analytics.json say of its images as a whole."""
        return {
            "near_duplicate_bits": self.threshold,
            "near_duplicates": [p.to_dict() for p in self.pairs],
            "colour_adherence": self.colour_summary(),
        }

    def image_fields(self, index: int) -> dict[str, Any]:
        """What analytics.json says of image `index` (nothing for an image not looked at)."""
        look = self.looks.get(index)
        if look is None:
            return {}
        fields: dict[str, Any] = {
            "perceptual_hash": look.perceptual_hash,
            "near_duplicate_of": self.alike(index),
        }
        if look.colour is not None:
            fields["colour_adherence"] = look.colour.to_dict()
        return fields

    def to_json(self) -> dict[str, Any]:
        return {
            **self.run_fields(),
            "images": {str(i): look.to_dict() for i, look in sorted(self.looks.items())},
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ImageFindings:
        looks = {}
        for index, look in document.get("images", {}).items():
            colour = look.get("colour")
            measure = (
                ColourMeasure(
                    colour["requested"], colour["nearest"], colour["delta_e"], colour["share"]
                )
                if colour
                else None
            )
            looks[int(index)] = Looks(look["perceptual_hash"], measure)
        pairs = [NearDuplicate(**p) for p in document.get("near_duplicates", [])]
        return cls(int(document.get("near_duplicate_bits", DEFAULT_THRESHOLD)), looks, pairs)


@dataclass(frozen=True)
class ImageLook:
    """One stored image looked at: what is wrong with its size (or that it does not open), its
    reduced picture and what it looks like (None where it could not be looked at)."""

    size_problem: str | None
    thumbnail: Image.Image | None = field(default=None, repr=False, compare=False)
    looks: Looks | None = None


def look_at_stored(spec: GenerationSpec, data: bytes, run_id: str) -> ImageLook:
    """Look at one image's bytes as stored. Never raises: looking is a check, and a picture it
    cannot read fails nothing."""
    problem = _size_problem(data, spec.dimensions)
    if problem is not None and problem.startswith("does not open"):
        return ImageLook(problem)
    try:
        thumbnail = reduced(data, LOOK_SIDE)
        return ImageLook(
            problem, thumbnail, look_at_image(thumbnail, spec.config.get("color") or None)
        )
    except Exception:
        log.warning("could not look at image %s of run %s", spec.generation, run_id)
        log.debug("why", exc_info=True)
        return ImageLook(problem)


class LookingAsStored:
    """Looks at each image handed over (generate_images' `on_stored`) on a thread of its own, so
    that the threads making images go straight back to their provider: looked at in those
    threads, the 50-image run's generation step took as long as before, each thread's next
    image waiting for its look. A context manager; `looked` once it has ended."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulkgen-look")
        self._pending: dict[int, Future[ImageLook]] = {}
        self._lock = threading.Lock()

    def hand_over(self, spec: GenerationSpec, data: bytes) -> None:
        future = self._pool.submit(look_at_stored, spec, data, self.run_id)
        with self._lock:
            self._pending[spec.generation] = future

    @property
    def looked(self) -> dict[int, ImageLook]:
        return {generation: future.result() for generation, future in self._pending.items()}

    def __enter__(self) -> LookingAsStored:
        return self

    def __exit__(self, *_: object) -> None:
        self._pool.shutdown(wait=True)


def inspect_images(
    store: ObjectStore,
    layout: RunLayout,
    specs: list[GenerationSpec],
    generations: list[int],
    threshold: int = DEFAULT_THRESHOLD,
    looked: Mapping[int, ImageLook] | None = None,
) -> ImageFindings:
    """Look at each of `generations`' stored image and store the findings in looks.json.
    `looked`: the images looked at already, as they were stored (LookingAsStored);
    the others (stored by an earlier attempt) are read back from the store. The images are made
    and charged already: a picture that cannot be looked at, or a store that refuses
    looks.json, is logged and fails nothing."""
    by_generation = {spec.generation: spec for spec in specs}
    problems: dict[str, str] = {}
    looks: dict[int, Looks] = {}
    thumbnails: dict[int, Image.Image] = {}
    for generation in generations:
        look = (looked or {}).get(generation)
        if look is None:
            data = store.get_bytes(layout.image_key(generation))
            look = look_at_stored(by_generation[generation], data, layout.run_id)
        if look.size_problem is not None:
            problems[str(generation)] = look.size_problem
        if look.looks is not None and look.thumbnail is not None:
            looks[generation], thumbnails[generation] = look.looks, look.thumbnail
    # One generation in several sizes is one picture: its images are meant to look alike.
    sizes_of: dict[int, list[int]] = defaultdict(list)
    for spec in specs:
        sizes_of[spec.prompt_generation].append(spec.generation)
    same_picture = [
        frozenset(pair) for images in sizes_of.values() for pair in combinations(images, 2)
    ]
    pairs = near_duplicates(
        {i: look.perceptual_hash for i, look in looks.items()}, threshold, same_picture
    )
    findings = ImageFindings(threshold, looks, pairs, problems, thumbnails)
    try:
        store.put_bytes(
            layout.looks_key, json.dumps(findings.to_json(), indent=2).encode(), "application/json"
        )
    except Exception:  # the checks still report them; only the outputs go without
        log.warning("could not store what run %s's images were found to be", layout.run_id)
        log.debug("why", exc_info=True)
    return findings


def read_findings(store: ObjectStore, layout: RunLayout) -> ImageFindings | None:
    """The run's findings as its generation step stored them (None before it has)."""
    try:
        return ImageFindings.from_json(json.loads(store.get_bytes(layout.looks_key)))
    except ObjectNotFound:
        return None


def _size_problem(data: bytes, wanted: dict[str, Any]) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            width, height = image.size
    except Exception as exc:
        return f"does not open as an image: {exc}"
    if "width" in wanted and (width, height) != (wanted["width"], wanted["height"]):
        return f"is {width}x{height}, wanted {wanted['width']}x{wanted['height']}"
    if "aspect_ratio" in wanted:
        ratio_w, ratio_h = parse_aspect_ratio(wanted["aspect_ratio"])
        if abs(width / height - ratio_w / ratio_h) > ASPECT_TOLERANCE:
            return f"is {width}x{height}, not {wanted['aspect_ratio']}"
    return None


def run_findings(
    database: db.Database,
    store: ObjectStore,
    user_id: str,
    run_id: str,
    *,
    test: bool | None = None,
) -> dict[str, Any]:
    """What the caller's run's pictures were found to be (looks.json), for the API: NotFound
    for anyone else's run (or one of the other mode than `test`), and `{"looked_at": false}`
    before its images are made."""
    job = find_owned_job(database, user_id, run_id, test=test)
    findings = read_findings(store, RunLayout.of(job))
    if findings is None:
        return {"looked_at": False}
    return {"looked_at": True, **findings.to_json()}
