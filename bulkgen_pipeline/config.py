"""Settings read from the environment, with the embedded defaults a newcomer needs no set-up for."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    storage_url: str
    dagster_home: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("BULKGEN_HOME") or "./.bulkgen").expanduser().resolve()
        return cls(
            home=home,
            database_url=env.get("BULKGEN_DATABASE_URL") or f"sqlite:///{home / 'bulkgen.db'}",
            storage_url=env.get("BULKGEN_STORAGE_URL") or str(home / "storage"),
            dagster_home=Path(env.get("DAGSTER_HOME") or home / "dagster_home").resolve(),
        )
