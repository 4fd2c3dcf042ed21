"""`bulkgen`: users and presets, bulk runs, the API and the Dagster UI, one command each.

Each sub-module registers its commands on `main`; a command imports what it needs when it runs,
so that a quick command (`bulkgen status`) does not pay for loading Dagster.
"""

from __future__ import annotations

from . import (  # noqa: E402,F401  (registers the commands)
    accounts,
    analytics,
    listing,
    production,
    runs,
    schedules,
    servers,
)
from .common import main
from .runs import run_now, summary_of  # noqa: E402

__all__ = ["main", "run_now", "summary_of"]
