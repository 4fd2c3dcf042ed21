"""Helpers for the analytics tests: facts from analytics documents, as the report reads them."""

from __future__ import annotations

import pandas as pd

from bulkgen_pipeline.analytics.facts import concat, run_facts


def facts_from(documents: list[dict]) -> pd.DataFrame:
    """generation_facts of these runs, one DataFrame with shared categoricals."""
    table = concat(run_facts(d) for d in documents)
    return table.unify_dictionaries().combine_chunks().to_pandas()
