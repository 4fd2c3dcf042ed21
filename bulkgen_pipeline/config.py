"""Settings read from the environment, with the embedded defaults a newcomer needs no set-up for.

pydantic-settings does the parsing; a malformed value raises SettingsError naming the variable.
Provider settings (tokens, models, concurrency) are in providers/settings.py, on the same base.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from .storage.retrying import DEFAULT_WRITE_RETRY_S

DEFAULT_HOME = "./.bulkgen"


class SettingsError(ValueError):
    """One or more environment variables are malformed; the message names each of them."""


class EnvSettings(BaseSettings):
    """Read from the process environment, or from the mapping given to `from_env`.

    Each field names its variable with `validation_alias`; no .env or secret files are read."""

    model_config = SettingsConfigDict(
        case_sensitive=True,  # BULKGEN_HOME, not bulkgen_home: POSIX names are case-sensitive
        env_ignore_empty=True,  # an empty variable means "use the default", as it always did
        extra="ignore",
        allow_inf_nan=False,
        str_strip_whitespace=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: Any,
        env_settings: Any,
        dotenv_settings: Any,
        file_secret_settings: Any,
    ) -> tuple[Any, ...]:
        env = _given_env.get()
        return (init_settings, env_settings if env is None else _mapping_source(settings_cls, env))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """Settings from `env` (default: os.environ); SettingsError names every bad variable."""
        token = _given_env.set(env)
        try:
            return cls()
        except ValidationError as exc:
            raise SettingsError(_describe(cls, exc)) from None
        finally:
            _given_env.reset(token)


class Settings(EnvSettings):
    home: Path = Field(default=Path(DEFAULT_HOME), validation_alias="BULKGEN_HOME")
    # May carry a password: kept out of repr (the Dagster UI gets it as an EnvVar).
    database_url: str = Field(default="", validation_alias="BULKGEN_DATABASE_URL", repr=False)
    storage_url: str = Field(default="", validation_alias="BULKGEN_STORAGE_URL")
    dagster_home: Path | None = Field(default=None, validation_alias="DAGSTER_HOME")
    max_active_jobs_per_user: int = Field(
        default=10, ge=1, le=10_000, validation_alias="BULKGEN_MAX_ACTIVE_JOBS_PER_USER"
    )
    webhook_allow_private: bool = Field(
        default=False, validation_alias="BULKGEN_WEBHOOK_ALLOW_PRIVATE"
    )
    lease_seconds: float = Field(
        default=120.0, gt=0, le=86_400, validation_alias="BULKGEN_LEASE_SECONDS"
    )
    max_resumes: int = Field(default=3, ge=0, le=100, validation_alias="BULKGEN_MAX_RESUMES")
    store_retry_seconds: float = Field(
        default=DEFAULT_WRITE_RETRY_S, ge=0, le=3600, validation_alias="BULKGEN_STORE_RETRY_SECONDS"
    )
    api_base_url: str | None = Field(default=None, validation_alias="BULKGEN_API_BASE_URL")
    # Hash bits within which two images are near-duplicates; None: the measured default
    # (inspection.similarity.DEFAULT_THRESHOLD).
    near_duplicate_bits: int | None = Field(
        default=None, ge=0, le=32, validation_alias="BULKGEN_NEAR_DUPLICATE_BITS"
    )
    # Signs the console's session cookies. Unset: a random secret kept in BULKGEN_HOME (set it
    # when several machines serve the console, so each accepts the others' cookies).
    console_secret: SecretStr | None = Field(
        default=None, validation_alias="BULKGEN_CONSOLE_SECRET", repr=False
    )

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _embedded_defaults(self) -> Settings:
        # Everything not configured lives under BULKGEN_HOME.
        self.home = self.home.expanduser().resolve()
        # Quoted: SQLAlchemy decodes %XX in the path, so a home named "a%20b" would otherwise
        # get its database in "a b".
        embedded = quote(str(self.home / "bulkgen.db"))
        self.database_url = self.database_url or f"sqlite:///{embedded}"
        self.storage_url = self.storage_url or str(self.home / "storage")
        self.dagster_home = (self.dagster_home or self.home / "dagster_home").expanduser().resolve()
        return self


class SensorIntervals(EnvSettings):
    """How often the daemon evaluates its slower sensors (the lease watch, the analytics
    refresh, the run-failure and run-cancellation sensors, the scheduled starts), in seconds;
    the queue sensor is not one of them. Read when the Dagster definitions are loaded.
    Operators seldom change it; the tests of `bulkgen dev` shorten it rather than wait half a
    minute for a tick."""

    seconds: int = Field(
        default=30, ge=1, le=3600, validation_alias="BULKGEN_SENSOR_INTERVAL_SECONDS"
    )


_given_env: ContextVar[Mapping[str, str] | None] = ContextVar("bulkgen_settings_env", default=None)


def _mapping_source(settings_cls: type[BaseSettings], env: Mapping[str, str]) -> Any:
    """The env source over a given mapping instead of os.environ (tests, subprocess envs)."""
    source = EnvSettingsSource(settings_cls)
    # Case-sensitive, empty values ignored: the same view the source takes of os.environ.
    source.env_vars = {name: value for name, value in env.items() if value != ""}
    return source


def _describe(cls: type[EnvSettings], exc: ValidationError) -> str:
    """One clause per problem, naming the variable; never a secret's value."""
    aliases = {str(f.validation_alias): f for f in cls.model_fields.values() if f.validation_alias}
    parts = []
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        if not error["loc"]:  # a check across variables: its message names them
            parts.append(message)
            continue
        name = str(error["loc"][0])
        field = cls.model_fields.get(name) or aliases.get(name)
        variable = (field.validation_alias if field else None) or name
        secret = field is not None and "SecretStr" in str(field.annotation)
        shown = "" if secret else f" {error.get('input')!r}"
        parts.append(f"{variable}:{shown} is not valid: {message}")
    return "; ".join(parts)


__all__ = ["EnvSettings", "Settings", "SettingsError"]
