"""`make demo` until the pipeline lands: the resolved generations of the sample preset."""

from __future__ import annotations

import json

from .domain.requests import preset_request

SAMPLE = {
    "name": "Professional Bags",
    "category": "bags",
    "config": {
        "type": "__RANDOM__", "material": "leather", "size": "__RANDOM__", "use_model": True,
        "model_attributes": {"model_sex": "Female", "model_age": "__RANDOM__",
                             "model_ethnicity": "__RANDOM__"},
        "background": "__RANDOM__", "color_palette": ["#FF0000", "#000000"],
        "generation_count": 5, "dimensions": {"width": 1024, "height": 1024},
    },
}


def main() -> int:
    result = preset_request(SAMPLE).resolve(run_seed="demo")
    for generation in result.generations:
        print(json.dumps({"generation": generation.generation, "prompt": generation.prompt,
                          "attribute_resolution": generation.attribute_resolution}, indent=2))
    print(json.dumps(result.summary(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
