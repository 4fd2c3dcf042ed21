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
    drawn = images[images["source"].isin(_DRAWN)]
    counts: dict[tuple[str, str], list[int]] = {}
    for (_run, category), rows in drawn.groupby(["run_id", "category"], observed=True):
        _count_run(rows, str(category), counts)
    table = pd.DataFrame(
        [(c, a, pairs, alike) for (c, a), (pairs, alike) in counts.items()],
        columns=ATTRIBUTE_COLUMNS[:4],
    )
    table["share"] = (table["near_duplicates"] / table["pairs"]).round(3)
    return table.sort_values(["share", "pairs"], ascending=[False, False]).reset_index(drop=True)


def _count_run(rows: pd.DataFrame, category: str, counts: dict[tuple[str, str], list[int]]) -> None:
    values = rows.pivot_table(
        index="generation_index",
        columns="attribute",
        values="value",
        aggfunc="first",
        observed=True,
    )
    if len(values) < 2 or values.shape[1] == 0:
        return
    hashes = rows.groupby("generation_index", observed=True)["perceptual_hash"].first()
    bits = rows["near_duplicate_bits"].dropna()
    threshold = int(bits.iloc[0]) if len(bits) else None
    if threshold is None:
        return
    codes = np.stack([pd.factorize(values[c])[0] for c in values.columns], axis=1)
    numbers = np.array([int(str(h), 16) for h in hashes.reindex(values.index)], dtype=np.uint64)
    differ = codes[:, None, :] != codes[None, :, :]
    differing = differ.sum(axis=2)
    distance = np.bitwise_count(numbers[:, None] ^ numbers[None, :])
    first, second = np.triu_indices(len(values), k=1)
    alone = differing[first, second] == 1
    which = differ[first, second].argmax(axis=1)
    for pair in np.flatnonzero(alone):
        key = (category, str(values.columns[which[pair]]))
        tally = counts.setdefault(key, [0, 0])
        tally[0] += 1
        tally[1] += int(distance[first[pair], second[pair]] <= threshold)


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
