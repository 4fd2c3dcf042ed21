"""The model catalogue and a merchant's choice of model, through the real SDKs against the
fake Replicate and Gemini servers."""

from __future__ import annotations

import pytest

from bulkgen_pipeline.providers.base import GenerationFailed, ImageRequest
from bulkgen_pipeline.providers.models import parse_model_credits
from bulkgen_pipeline.providers.router import build_router
from bulkgen_pipeline.providers.settings import PROVIDERS
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.replicate_server import FakeReplicate

FAST = "black-forest-labs/flux-schnell"
EXACT = "black-forest-labs/flux-1.1-pro"


def _router(env: dict[str, str]):
    return build_router(PROVIDERS.settings.from_env(env))


def test_the_catalogue_lists_the_models_of_the_enabled_providers_only(provider_env) -> None:
    offline = _router({"BULKGEN_PROVIDERS": "local"}).catalogue
    assert offline.ids == ["local-preview-v1"]

    everything = _router({**provider_env, "BULKGEN_PROVIDERS": "replicate,google,local"})
    catalogue = everything.catalogue
    assert catalogue.ids == [EXACT, FAST, "gemini-2.5-flash-image", "local-preview-v1"]
    exact, fast, gemini, preview = catalogue.as_json()
    assert exact["exact_sizes"] == {"min_side": 256, "max_side": 1440, "step": 32}
    assert exact["largest_size"] == {"width": 1440, "height": 1440}
    assert fast["exact_sizes"] is None and "16:9" in fast["aspect_ratios"]
    assert fast["steps"] == {"min": 1, "max": 4, "default": 4} and fast["guidance_scale"] is None
    assert gemini["provider"] == "google" and gemini["negative_prompt"] is False
    assert preview["negative_prompt"] is True and preview["guidance_scale"]["max"] == 20.0
    assert {entry["credits_per_image"] for entry in catalogue.as_json()} == {1}


def test_credits_per_image_come_from_the_operator_setting(provider_env) -> None:
    router = _router(
        {**provider_env, "BULKGEN_PROVIDERS": "replicate", "BULKGEN_MODEL_CREDITS": f"{EXACT}=3"}
    )
    assert {spec.id: spec.credits_per_image for spec in router.catalogue.models} == {
        EXACT: 3,
        FAST: 1,
    }


@pytest.mark.parametrize("value", ["flux=0", "flux=abc", "flux", "=2", "flux=1001"])
def test_a_malformed_credits_setting_names_the_entry(value: str) -> None:
    with pytest.raises(ValueError, match="is not model=credits"):
        parse_model_credits(value)
    with pytest.raises(ValueError, match="BULKGEN_MODEL_CREDITS"):
        PROVIDERS.settings.from_env({"BULKGEN_MODEL_CREDITS": value})


def test_a_chosen_model_and_its_steps_reach_replicate(
    provider_env, fake_replicate: FakeReplicate
) -> None:
    router = _router({**provider_env, "BULKGEN_PROVIDERS": "replicate"})
    result = router.generate(
        ImageRequest(prompt="a tote", seed=7, aspect_ratio="4:5", model=FAST, steps=2)
    )
    assert (result.provider, result.model) == ("replicate", FAST)
    create = fake_replicate.recorded("POST", "/predictions")[0]
    assert create.path == f"/v1/models/{FAST}/predictions"
    assert create.body["input"]["num_inference_steps"] == 2
    assert create.body["input"]["aspect_ratio"] == "4:5"

    # The exact model asked for by name renders an aspect ratio with its own enum.
    result = router.generate(ImageRequest(prompt="a tote", seed=8, aspect_ratio="3:2", model=EXACT))
    assert result.model == EXACT
    create = fake_replicate.recorded("POST", "/predictions")[-1]
    assert create.path == f"/v1/models/{EXACT}/predictions"
    assert create.body["input"]["aspect_ratio"] == "3:2"
    assert "num_inference_steps" not in create.body["input"]


def test_a_model_goes_only_to_the_provider_that_serves_it(
    provider_env, fake_replicate: FakeReplicate, fake_gemini: FakeGemini
) -> None:
    router = _router({**provider_env, "BULKGEN_PROVIDERS": "replicate,google"})
    for seed in range(4):  # the router would otherwise spread ratio requests over both
        result = router.generate(
            ImageRequest(
                prompt="a tote", seed=seed, aspect_ratio="1:1", model="gemini-2.5-flash-image"
            )
        )
        assert result.provider == "google"
    assert fake_replicate.recorded("POST", "/predictions") == []
    assert len(fake_gemini.recorded("POST")) == 4


def test_a_model_no_enabled_provider_serves_fails_without_calling_anyone(
    provider_env, fake_replicate: FakeReplicate
) -> None:
    router = _router({**provider_env, "BULKGEN_PROVIDERS": "replicate"})
    with pytest.raises(GenerationFailed):
        router.generate(ImageRequest(prompt="a tote", seed=1, aspect_ratio="1:1", model="nope"))
    # An exact size the fast model cannot render.
    with pytest.raises(GenerationFailed):
        router.generate(ImageRequest(prompt="a tote", seed=1, width=512, height=512, model=FAST))
    assert fake_replicate.recorded("POST", "/predictions") == []


def test_the_catalogue_explains_what_a_model_cannot_do() -> None:
    (preview,) = _router({"BULKGEN_PROVIDERS": "local"}).catalogue.models
    assert preview.size_problem({"width": 1024, "height": 768}) is None
    assert preview.parameter_problems(steps=30, guidance_scale=7.5) == {}
    assert preview.parameter_problems(steps=0, guidance_scale=21) == {
        "steps": "must be from 1 to 100, got 0 for model local-preview-v1",
        "guidance_scale": "must be from 0 to 20, got 21 for model local-preview-v1",
    }
    assert "whole number" in preview.parameter_problems(steps=2.5)["steps"]
