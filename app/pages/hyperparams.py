"""The new-run form's hyperparameters, generated from the `mind` config models.

Every field of a config section becomes one input with its default and a short help text
(the field's description, or `HELP` where the model has none), so a new config field shows
up on the form without touching a template. Empty inputs mean "the default".
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mind.config import (
    AnalysisConfig,
    DataConfig,
    EvalConfig,
    MindConfig,
    RunConfig,
    TeacherConfig,
    TrainConfig,
)

SECTIONS: dict[str, type[BaseModel]] = {
    "train": TrainConfig,
    "mind": MindConfig,
    "data": DataConfig,
    "eval": EvalConfig,
    "analysis": AnalysisConfig,
    "teacher": TeacherConfig,
}
TITLES = {
    "train": "Training",
    "mind": "MIND (MetaNet, selection, consistency)",
    "data": "Data curation",
    "eval": "Evaluation",
    "analysis": "Latent analysis",
    "teacher": "Teacher (only to generate missing rationales)",
}
SET_ELSEWHERE = {"data.questions", "data.rationales", "eval.benchmarks"}
HELP = {
    "train.lr": "Student learning rate (AdamW).",
    "train.weight_decay": "AdamW weight decay.",
    "train.lr_schedule": "How the learning rate decays over max_steps.",
    "train.max_grad_norm": "Gradient-norm clipping.",
    "train.finetune": "Train LoRA adapters or every weight.",
    "train.lora_r": "LoRA rank.",
    "train.lora_alpha": "LoRA scale numerator (scale = alpha / r).",
    "train.lora_dropout": "Dropout on the LoRA inputs.",
    "train.dtype": "Training precision.",
    "train.keep_checkpoints": "Checkpoints kept on disk; older ones are removed.",
    "eval.max_new_tokens": "Longest generated answer, in tokens.",
    "eval.batch_size": "Questions answered per generation batch.",
    "analysis.probe_questions": "Questions whose rationales are embedded for the latent map.",
    "analysis.pca_components": "PCA dimensions kept before clustering.",
    "teacher.backend": "openai = any OpenAI-compatible server; hf = a local model.",
    "teacher.model": "Teacher model name; empty = no teacher (rationales must be given).",
    "teacher.base_url": "Server address for the openai backend.",
    "teacher.api_key_env": "Environment variable of the worker holding the API key.",
    "teacher.temperature": "Sampling temperature (0 = greedy).",
    "teacher.max_tokens": "Longest rationale, in tokens.",
    "teacher.max_concurrency": "Requests in flight at once.",
    "teacher.timeout_s": "Seconds before a request is retried.",
    "teacher.max_retries": "Retries of a failed request.",
    "seed": "Seeds data order, sampling and initialisation.",
}


@dataclass(frozen=True)
class Param:
    key: str
    kind: Literal["number", "text", "textarea", "select", "list"]
    default: str
    help: str
    options: tuple[str, ...] = ()


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _param(key: str, annotation: Any, default: Any, description: str | None) -> Param:
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    default = None if default is PydanticUndefined else default
    help_text = HELP.get(key) or description or ""
    if annotation is bool:
        return Param(key, "select", as_text(default), help_text, ("true", "false"))
    if get_origin(annotation) is Literal:
        return Param(key, "select", as_text(default), help_text, get_args(annotation))
    if get_origin(annotation) is list:
        return Param(key, "list", "", help_text + " (comma-separated)")
    if annotation in (int, float):
        return Param(key, "number", as_text(default), help_text)
    long_text = isinstance(default, str) and len(default) > 60
    return Param(key, "textarea" if long_text else "text", as_text(default), help_text)


def params() -> dict[str, list[Param]]:
    """{section: its inputs}, in form order; `seed` goes with training."""
    out: dict[str, list[Param]] = {}
    for section, model in SECTIONS.items():
        out[section] = [
            _param(f"{section}.{name}", f.annotation, f.default, f.description)
            for name, f in model.model_fields.items()
            if f"{section}.{name}" not in SET_ELSEWHERE
        ]
    seed = RunConfig.model_fields["seed"]
    out["train"].append(_param("seed", seed.annotation, seed.default, None))
    return out


def form_values(config: Mapping[str, Any]) -> dict[str, str]:
    """A run config (e.g. a frozen one to clone) as the form's text values."""
    values = {"seed": as_text(config.get("seed"))}
    for section in SECTIONS:
        for name, value in (config.get(section) or {}).items():
            values[f"{section}.{name}"] = as_text(value)
    return values


def config_sections(form: Mapping[str, str]) -> dict[str, Any]:
    """The non-empty inputs as config sections; pydantic converts the text when it validates.
    The teacher section counts only when a teacher model is named."""
    out: dict[str, Any] = {}
    for section, items in params().items():
        if section == "teacher" and not form.get("teacher.model", "").strip():
            continue
        for p in items:
            text = form.get(p.key, "").strip()
            if not text:
                continue
            value: Any = (
                [v.strip() for v in text.split(",") if v.strip()] if p.kind == "list" else text
            )
            if p.key == "seed":
                out["seed"] = value
            else:
                out.setdefault(section, {})[p.key.split(".", 1)[1]] = value
    return out
