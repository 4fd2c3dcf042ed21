"""The provider registry: one table of what every image provider is, read by everything that
needs to know which providers exist.

Settings validation (which names BULKGEN_PROVIDERS may hold, which credential each needs),
routing (how to build each provider, its concurrency and call rate) and the shared router's
cache (which variables make two configurations different) all come from a ProviderRegistry, so
a new provider is its module plus one entry in the table (providers/settings.py, `PROVIDERS`).

Plain Python: no Dagster, FastAPI or SQL here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .base import ImageProvider

if TYPE_CHECKING:
    from ..config import EnvSettings


@dataclass(frozen=True)
class ProviderEntry:
    """One provider: its name, its own variables and how to build it from them.

    `settings` is an EnvSettings class with the provider's variables; it becomes one of the
    bases of the registry's settings class, so its fields are read and checked with every
    other provider setting. The other fields name fields of it: `secret` its credential (the
    provider is on by default when that is set, and naming it in BULKGEN_PROVIDERS without it
    is an error; None: it needs none), `concurrency` its calls in flight, `creates_per_minute`
    its call rate (None: unlimited); `fallback` providers are the ones on when no provider
    has credentials. `build` makes the provider from the settings; it imports its SDK there,
    so reading settings never pays for an SDK it does not use.
    """

    name: str
    settings: type[EnvSettings]
    build: Callable[[Any], ImageProvider]
    concurrency: str
    secret: str | None = None
    creates_per_minute: str | None = None
    fallback: bool = False


class ProviderRegistry:
    """The table of providers, in the order the router tries them by default, and the settings
    class made from them (`settings`: the shared `base` plus every entry's variables)."""

    def __init__(self, entries: Iterable[ProviderEntry], *, base: type[EnvSettings]) -> None:
        self._entries: dict[str, ProviderEntry] = {}
        for entry in entries:
            if entry.name in self._entries:
                raise ValueError(f"provider {entry.name!r} is registered twice")
            self._entries[entry.name] = entry
        bases = (base, *(entry.settings for entry in self._entries.values()))
        namespace = {"__module__": base.__module__, "registry": self}
        self.settings: type[Any] = type("ProviderSettings", bases, namespace)
        self.variables = frozenset(
            str(field.validation_alias)
            for field in self.settings.model_fields.values()
            if field.validation_alias
        )

    def __iter__(self) -> Iterator[ProviderEntry]:
        return iter(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> ProviderEntry:
        return self._entries[name]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def secret_variable(self, entry: ProviderEntry) -> str:
        """The environment variable of an entry's credential (for error messages)."""
        assert entry.secret is not None
        alias = self.settings.model_fields[entry.secret].validation_alias
        return str(alias or entry.secret)

    def secret_fields(self) -> frozenset[str]:
        """Every settings field that holds a secret (kept out of repr)."""
        return frozenset(
            name
            for name, field in self.settings.model_fields.items()
            if "SecretStr" in str(field.annotation)
        )

    def settings_key(self, env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        """The part of `env` the registry's settings read: two environments with the same key
        make the same router."""
        return tuple(sorted((k, v) for k, v in env.items() if k in self.variables))


def has_secret(settings: Any, field: str) -> bool:
    value = getattr(settings, field)
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)


__all__ = ["ProviderEntry", "ProviderRegistry", "has_secret"]
