"""The batch form: explicit prompt rows (text, negative prompt, seed) or variations (one
prompt, N seeds), with shared settings; posted fields to a batch document and the validator's
problems back next to their rows and fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from ..domain.errors import FieldProblem
from .preset_form import (
    dimensions_from_form,
    form_number,
    optional_decimal,
    optional_number,
    optional_text,
    size_problem_message,
)

MODES = ("prompts", "variations")


@dataclass
class BatchForm:
    values: dict[str, Any]
    rows: list[dict[str, str]]
    errors: dict[str, list[str]] = field(default_factory=dict)
    other_errors: list[str] = field(default_factory=list)


def blank_batch_form() -> BatchForm:
    values = {
        "name": "",
        "mode": "prompts",
        "var_text": "",
        "var_negative": "",
        "var_count": 5,
        "dimension_mode": "exact",
        "width": 1024,
        "height": 1024,
        "aspect_ratio": "1:1",
        "more_sizes": "",
        "shared_negative": "",
        "image_model": "",
        "steps": "",
        "guidance_scale": "",
    }
    return BatchForm(values, [{"text": "", "negative": "", "seed": ""}])


def batch_from_form(form: FormData) -> tuple[dict[str, Any], BatchForm, list[int]]:
    """The batch document, the form as posted, and which posted row each prompt came from."""
    texts = [str(v) for v in form.getlist("prompt_text")]
    negatives = [str(v) for v in form.getlist("prompt_negative")]
    seeds = [str(v) for v in form.getlist("prompt_seed")]
    rows = [
        {
            "text": text,
            "negative": negatives[i] if i < len(negatives) else "",
            "seed": seeds[i] if i < len(seeds) else "",
        }
        for i, text in enumerate(texts)
    ]
    mode = str(form.get("mode") or "prompts")
    values = {
        "name": str(form.get("name") or ""),
        "mode": mode if mode in MODES else "prompts",
        "var_text": str(form.get("var_text") or ""),
        "var_negative": str(form.get("var_negative") or ""),
        "var_count": str(form.get("var_count") or ""),
        "dimension_mode": str(form.get("dimension_mode") or "exact"),
        "width": str(form.get("width") or ""),
        "height": str(form.get("height") or ""),
        "aspect_ratio": str(form.get("aspect_ratio") or ""),
        "more_sizes": str(form.get("more_sizes") or ""),
        "shared_negative": str(form.get("shared_negative") or ""),
        "image_model": str(form.get("image_model") or ""),
        "steps": str(form.get("steps") or ""),
        "guidance_scale": str(form.get("guidance_scale") or ""),
    }
    shared: dict[str, Any] = {"dimensions": dimensions_from_form(form)}
    if optional_text(values["shared_negative"]):
        shared["negative_prompt"] = values["shared_negative"]
    model_choice = {
        "model": optional_text(values["image_model"]),
        "steps": optional_number(values["steps"]),
        "guidance_scale": optional_decimal(values["guidance_scale"]),
    }
    shared.update({name: value for name, value in model_choice.items() if value is not None})
    document: dict[str, Any] = {"shared_settings": shared}
    if values["name"].strip():
        document["name"] = values["name"]
    used_rows: list[int] = []
    if values["mode"] == "prompts":
        prompts = []
        for index, row in enumerate(rows):
            if not any(v.strip() for v in row.values()):
                continue  # a row left empty is no prompt
            item: dict[str, Any] = {"text": row["text"]}
            if optional_text(row["negative"]):
                item["negative_prompt"] = row["negative"]
            seed = optional_number(row["seed"])
            if seed is not None:
                item["seed"] = seed
            prompts.append(item)
            used_rows.append(index)
        document["prompts"] = prompts
    else:
        prompt: dict[str, Any] = {"text": values["var_text"]}
        if optional_text(values["var_negative"]):
            prompt["negative_prompt"] = values["var_negative"]
        document["variations"] = {"prompt": prompt, "count": form_number(values["var_count"])}
    shown = BatchForm(values, rows or blank_batch_form().rows)
    return document, shown, used_rows


def form_field(problem_field: str, used_rows: list[int]) -> str | None:
    parts = problem_field.split(".")
    head = parts[0]
    if head == "name":
        return "name"
    if head == "prompts":
        if len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) < len(used_rows):
            row = used_rows[int(parts[1])]
            column = {"text": "text", "negative_prompt": "negative", "seed": "seed"}.get(parts[2])
            return f"row.{row}.{column}" if column else f"row.{row}.text"
        return "prompts"
    if head == "variations":
        if len(parts) >= 3 and parts[1] == "prompt":
            return "var_negative" if parts[2] == "negative_prompt" else "var_text"
        return "var_count"
    if head == "shared_settings":
        setting = parts[1] if len(parts) > 1 else ""
        named = {"negative_prompt": "shared_negative", "model": "image_model"}
        if setting in ("steps", "guidance_scale"):
            return setting
        return named.get(setting, "dimensions")
    return None


def place_problems(form: BatchForm, problems: list[FieldProblem], used_rows: list[int]) -> None:
    for problem in problems:
        target = form_field(problem.field, used_rows)
        message = size_problem_message(problem.field, problem.message)
        if target is None:
            form.other_errors.append(message)
        else:
            form.errors.setdefault(target, []).append(message)
