"""What the pictures say about randomization: which random attributes do not change the picture
(pairs of generations of one run that differ in that attribute only, yet look alike), and how
often images show the colour they asked for, by provider, model and colour strategy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .facts import Source

_DRAWN = (Source.RANDOM.value, Source.DISTRIBUTED.value)
ATTRIBUTE_COLUMNS = ["category", "attribute", "pairs", "near_duplicates", "share"]
COLOUR_COLUMNS = ["provider", "model", "strategy", "images", "adherent", "share", "median_delta_e"]


def _one_image_per_generation(facts: pd.DataFrame) -> pd.DataFrame:
    """The looked-at images, one per generation (a run in several sizes: its first size)."""
    looked = facts[facts["perceptual_hash"].notna()]
    return looked[~looked.duplicated(["run_id", "generation_index", "attribute"])]


def attribute_near_duplicates(facts: pd.DataFrame) -> pd.DataFrame:
    """Per category and random attribute: how many pairs of generations of one run differ in
    that attribute alone, and how many of those pairs are near-duplicates anyway (an attribute
    whose share is high hardly changes the picture)."""
    if "perceptual_hash" not in facts or not len(facts):
        return pd.DataFrame(columns=ATTRIBUTE_COLUMNS)
    images = _one_image_per_generation(facts)
    drawn = images[images["source"].isin(_DRAWN) & images["near_duplicate_bits"].notna()]
    if not len(drawn):
        return pd.DataFrame(columns=ATTRIBUTE_COLUMNS)
    # One pivot for every run (a pivot per run cost 7 s for 1,000 runs): a row per image, a
    # column per attribute, each value as a code (-1 where the run's category has no such
    # attribute, which then never differs within the run).
    values = drawn.pivot_table(
        index=["run_id", "generation_index"],
        columns="attribute",
        values="value",
        aggfunc="first",
        observed=True,
    )
    codes = np.stack([pd.factorize(values[c])[0] for c in values.columns], axis=1)
    per_image = drawn.groupby(["run_id", "generation_index"], observed=True).agg(
        perceptual_hash=("perceptual_hash", "first"),
        category=("category", "first"),
        bits=("near_duplicate_bits", "first"),
    )
    per_image = per_image.reindex(values.index)
    hashes = np.array([int(str(h), 16) for h in per_image["perceptual_hash"]], dtype=np.uint64)
    runs = values.index.get_level_values(0)
    starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]])
    ends = np.r_[starts[1:], len(runs)]
    attributes = [str(c) for c in values.columns]
    counts: dict[tuple[str, str], list[int]] = {}
    for start, end in zip(starts, ends, strict=True):
        if end - start < 2:
            continue
        category = str(per_image["category"].iloc[start])
        threshold = int(per_image["bits"].iloc[start])
        block = codes[start:end]
        first, second = np.triu_indices(end - start, k=1)
        differ = block[first] != block[second]
        alone = differ.sum(axis=1) == 1
        if not alone.any():
            continue
        which = differ[alone].argmax(axis=1)
        distance = np.bitwise_count(
            hashes[start:end][first[alone]] ^ hashes[start:end][second[alone]]
        )
        pairs = np.bincount(which, minlength=len(attributes))
        alike = np.bincount(which, weights=distance <= threshold, minlength=len(attributes))
        for index in np.flatnonzero(pairs):
            tally = counts.setdefault((category, attributes[index]), [0, 0])
            tally[0] += int(pairs[index])
            tally[1] += int(alike[index])
    table = pd.DataFrame(
        [(c, a, n, alike) for (c, a), (n, alike) in counts.items()], columns=ATTRIBUTE_COLUMNS[:4]
    )
    table["share"] = (table["near_duplicates"] / table["pairs"]).round(3)
    return table.sort_values(["share", "pairs"], ascending=[False, False]).reset_index(drop=True)


def colour_adherence(facts: pd.DataFrame) -> pd.DataFrame:
    """Images that asked for a colour: how many show it, by provider, model and colour
    strategy, with the median CIEDE2000 to the nearest dominant colour."""
    if "colour_adherent" not in facts or not len(facts):
        return pd.DataFrame(columns=COLOUR_COLUMNS)
    colour = facts[(facts["attribute"] == "color") & facts["colour_adherent"].notna()]
    colour = colour[~colour.duplicated(["run_id", "generation_index", "size"])]
    if not len(colour):
        return pd.DataFrame(columns=COLOUR_COLUMNS)
    frame = colour.assign(
        provider=colour["provider"].astype(str),
        model=colour["model"].astype(str),
        # A colour the merchant fixed has no colour strategy of its own: "fixed".
        strategy=np.where(
            colour["source"] == Source.DISTRIBUTED.value, colour["strategy"].astype(str), "fixed"
        ),
        adherent=colour["colour_adherent"].astype(bool),
    )
    table = (
        frame.groupby(["provider", "model", "strategy"])
        .agg(
            images=("adherent", "size"),
            adherent=("adherent", "sum"),
            median_delta_e=("colour_delta_e", "median"),
        )
        .reset_index()
    )
    table["share"] = (table["adherent"] / table["images"]).round(3)
    table["median_delta_e"] = table["median_delta_e"].astype(float).round(2)
    return table[COLOUR_COLUMNS].sort_values("share").reset_index(drop=True)
