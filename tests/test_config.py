"""Settings from the environment: embedded defaults, the new knobs, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkgen_pipeline.config import Settings, SettingsError


def test_embedded_defaults_live_under_bulkgen_home(tmp_path):
    settings = Settings.from_env({"BULKGEN_HOME": str(tmp_path / "h")})
    home = (tmp_path / "h").resolve()
    assert settings.home == home
    assert settings.database_url == f"sqlite:///{home / 'bulkgen.db'}"
    assert settings.storage_url == str(home / "storage")
    assert settings.dagster_home == home / "dagster_home"
    assert (
        settings.max_active_jobs_per_user,
        settings.webhook_allow_private,
        settings.lease_seconds,
        settings.max_resumes,
        settings.api_base_url,
    ) == (10, False, 120.0, 3, None)


def test_every_variable_is_read_and_empty_means_default(tmp_path):
    settings = Settings.from_env(
        {
            "BULKGEN_HOME": str(tmp_path),
            "BULKGEN_DATABASE_URL": "postgresql://bulk:s3cret@db:5432/bulkgen",
            "BULKGEN_STORAGE_URL": "s3://bucket/prefix",
            "DAGSTER_HOME": str(tmp_path / "dh"),
            "BULKGEN_MAX_ACTIVE_JOBS_PER_USER": "4",
            "BULKGEN_WEBHOOK_ALLOW_PRIVATE": "true",
            "BULKGEN_LEASE_SECONDS": "30.5",
            "BULKGEN_MAX_RESUMES": "0",
            "BULKGEN_API_BASE_URL": "https://bulkgen.example/",
            "bulkgen_max_resumes": "9",  # names are case-sensitive, as the shell's are
        }
    )
    assert settings.database_url == "postgresql://bulk:s3cret@db:5432/bulkgen"
    assert settings.storage_url == "s3://bucket/prefix"
    assert settings.dagster_home == (tmp_path / "dh").resolve()
    assert (settings.max_active_jobs_per_user, settings.webhook_allow_private) == (4, True)
    assert (settings.lease_seconds, settings.max_resumes) == (30.5, 0)
    assert settings.api_base_url == "https://bulkgen.example"
    # A database URL may carry a password: never in repr (logs, tracebacks).
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings)
    empty = Settings.from_env({"BULKGEN_HOME": str(tmp_path), "BULKGEN_MAX_RESUMES": ""})
    assert empty.max_resumes == 3


def test_os_environ_is_the_default_source(monkeypatch, tmp_path):
    monkeypatch.setenv("BULKGEN_HOME", str(tmp_path))
    monkeypatch.setenv("BULKGEN_LEASE_SECONDS", "7")
    settings = Settings.from_env()
    assert (settings.home, settings.lease_seconds) == (tmp_path.resolve(), 7.0)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("BULKGEN_MAX_ACTIVE_JOBS_PER_USER", "eight", "valid integer"),
        ("BULKGEN_MAX_ACTIVE_JOBS_PER_USER", "0", "greater than or equal to 1"),
        ("BULKGEN_WEBHOOK_ALLOW_PRIVATE", "maybe", "valid boolean"),
        ("BULKGEN_LEASE_SECONDS", "nan", "finite number"),
        ("BULKGEN_LEASE_SECONDS", "-1", "greater than 0"),
        ("BULKGEN_MAX_RESUMES", "2.5", "valid integer"),
        ("BULKGEN_API_BASE_URL", "ftp://x", "http:// or https://"),
    ],
)
def test_a_malformed_variable_is_named_with_its_problem(variable, value, says):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"BULKGEN_HOME": str(Path.cwd()), variable: value})
    message = str(info.value)
    assert message.startswith(f"{variable}: {value!r}") and says in message


def test_all_malformed_variables_are_named_at_once():
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"BULKGEN_MAX_RESUMES": "x", "BULKGEN_LEASE_SECONDS": "y"})
    assert "BULKGEN_MAX_RESUMES" in str(info.value) and "BULKGEN_LEASE_SECONDS" in str(info.value)


def test_provider_settings_share_the_rules_and_keep_secrets_secret():
    from bulkgen_pipeline.providers.settings import ProviderSettings

    token = "r8_do_not_print_me"
    with pytest.raises(SettingsError) as info:
        ProviderSettings.from_env(
            {"REPLICATE_API_TOKEN": token, "BULKGEN_REPLICATE_CONCURRENCY": "eight"}
        )
    assert str(info.value).startswith("BULKGEN_REPLICATE_CONCURRENCY: 'eight' is not valid")
    # A check across variables reports its own message, not the values it looked at.
    with pytest.raises(SettingsError) as info:
        ProviderSettings.from_env({"REPLICATE_API_TOKEN": token, "BULKGEN_PROVIDERS": "google"})
    assert "GOOGLE_API_KEY is not set" in str(info.value) and token not in str(info.value)
    settings = ProviderSettings.from_env({"REPLICATE_API_TOKEN": f" {token} "})
    assert settings.providers == ("replicate",)
    assert settings.replicate_api_token.get_secret_value() == token
    assert token not in repr(settings) and token not in str(settings.model_dump())


def test_the_daemons_slower_sensors_tick_every_30_s_unless_told_otherwise(monkeypatch):
    from bulkgen_pipeline.config import SensorIntervals

    assert SensorIntervals.from_env({}).seconds == 30
    assert SensorIntervals.from_env({"BULKGEN_SENSOR_INTERVAL_SECONDS": "2"}).seconds == 2
    with pytest.raises(SettingsError, match="BULKGEN_SENSOR_INTERVAL_SECONDS"):
        SensorIntervals.from_env({"BULKGEN_SENSOR_INTERVAL_SECONDS": "0"})
    monkeypatch.delenv("BULKGEN_SENSOR_INTERVAL_SECONDS", raising=False)
    from bulkgen_pipeline.definitions import defs

    assert {sensor.name: sensor.minimum_interval_seconds for sensor in defs.sensors} == {
        "queued_bulk_jobs": 1,
        "bulk_run_failures": 30,
        "bulk_run_cancellations": 30,
        "stranded_jobs": 30,
        "settled_runs_to_analytics": 30,
        "scheduled_starts": 30,
    }
