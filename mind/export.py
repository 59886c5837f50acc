"""Exports of a trained student that load anywhere, without the studio's code.

- `write_adapter`: the LoRA adapter with `base_model_name_or_path` rewritten to a portable
  reference (a bundled name or Hugging Face id, never a server path) and a real model card.
- `write_merged`: the adapter merged into the base (or the fully fine-tuned weights): a
  plain transformers folder (safetensors, config, generation config, tokenizer with its
  chat template) that `AutoModelForCausalLM.from_pretrained` loads as it is.
- `render_card`: the model card (README.md) from `CardFacts`, through a Jinja2 template;
  `summarise_perspectives` condenses MetaNet's per-step weights for it.

GGUF is not offered: see docs/service.md, "Exports".
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mind.bundled import BUNDLED_ORIGINS, BUNDLED_STUDENTS
from mind.config import RunConfig
from mind.step_record import PerspectiveStats

TEMPLATES = Path(__file__).with_name("templates")
CARD = "model_card.md.j2"
Z95 = 1.959964


@dataclass
class Evaluation:
    benchmark: str
    kind: str
    n: int
    trained: float
    base: float | None = None


@dataclass(frozen=True)
class PerspectiveSummary:
    """How one perspective was weighted over a run's joint steps. Means are over every
    question that had the perspective (each step counts by its `present` questions), so a
    perspective absent from the last step is reported like any other.

    `selected`: the share of those questions whose selected set held it; `steps`: the
    joint steps it appeared in; `last_weight`: its weight at the last joint step (None if
    it was absent then).
    """

    mean_weight: float | None
    selected: float | None
    steps: int
    last_weight: float | None


def _weighted_mean(pairs: list[tuple[float | None, float]]) -> float | None:
    known = [(value, n) for value, n in pairs if value is not None]
    total = sum(n for _, n in known)
    return sum(value * n for value, n in known) / total if total else None


def summarise_perspectives(
    steps: Mapping[int, Mapping[str, PerspectiveStats]],
) -> dict[str, PerspectiveSummary]:
    """Per perspective, its weighting over the joint steps given (step -> perspective ->
    stats); the highest mean weight first."""
    last = max(steps, default=None)
    seen: dict[str, list[PerspectiveStats]] = {}
    for step in sorted(steps):
        for name, stats in steps[step].items():
            seen.setdefault(name, []).append(stats)
    out = {
        name: PerspectiveSummary(
            mean_weight=_weighted_mean([(s.weight, s.present or 1) for s in rows]),
            selected=_weighted_mean([(s.selected, s.present or 1) for s in rows]),
            steps=len(rows),
            last_weight=getattr(steps[last].get(name), "weight", None),
        )
        for name, rows in seen.items()
    }
    ranked = sorted(out, key=lambda name: -(out[name].mean_weight or 0.0))
    return {name: out[name] for name in ranked}


@dataclass
class CardFacts:
    """What a model card says about one exported checkpoint of a run."""

    name: str
    config: RunConfig
    step: int | None
    status: str
    perspectives: dict[str, PerspectiveSummary] = field(default_factory=dict)
    datasets: list[dict[str, Any]] = field(default_factory=list)  # name, role, rows, licences
    evaluations: list[Evaluation] = field(default_factory=list)
    run_id: str | None = None


def portable_base(student: str) -> str:
    """The base model as another machine can name it: a bundled name or hub id as given,
    a local folder by its folder name only (the card says it must be supplied)."""
    if student in BUNDLED_STUDENTS or not is_local(student):
        return student
    return Path(student).name


def public_config(frozen: dict[str, Any]) -> dict[str, Any]:
    """A frozen config fit to show or ship: every local path reduced to its file name."""
    out = json.loads(json.dumps(frozen))
    out["student"] = portable_base(str(out.get("student", "")))
    data = out.get("data") or {}
    for key in ("questions", "rationales"):
        if data.get(key):
            data[key] = Path(data[key]).name
    for bench in (out.get("eval") or {}).get("benchmarks", []):
        if bench.get("path"):
            bench["path"] = Path(bench["path"]).name
    return out


def is_local(student: str) -> bool:
    return student.startswith(("/", ".", "~")) or Path(student).exists()


def wilson(correct: float, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (sound near 0 and 1 and for small n)."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _weight(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _interval(accuracy: float | None, n: int) -> str:
    if accuracy is None:
        return "–"
    low, high = wilson(accuracy * n, n)
    return f"{low:.1%}–{high:.1%}"


def render_card(facts: CardFacts, kind: str) -> str:
    """README.md of an export; `kind` is `adapter` or `merged` (how to load it differs)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML
    )
    env.filters.update(percent=_percent, weight=_weight)
    env.globals.update(interval=_interval)
    student = facts.config.student
    return env.get_template(CARD).render(
        f=facts,
        c=facts.config,
        kind=kind,
        base=portable_base(student),
        base_origin=BUNDLED_ORIGINS.get(student),
        base_is_local=student not in BUNDLED_STUDENTS and is_local(student),
    )


def write_adapter(adapter_dir: Path, out_dir: Path, facts: CardFacts) -> Path:
    """Copy a peft adapter folder with a portable base reference, the tokenizer (its chat
    template is the prompt format) and a model card."""
    from mind.student import load_tokenizer

    staging = _staging(out_dir)
    shutil.copytree(adapter_dir, staging)
    load_tokenizer(facts.config.student).save_pretrained(staging)
    config_path = staging / "adapter_config.json"
    adapter_config = json.loads(config_path.read_text(encoding="utf-8"))
    adapter_config["base_model_name_or_path"] = portable_base(facts.config.student)
    config_path.write_text(json.dumps(adapter_config, indent=2) + "\n", encoding="utf-8")
    (staging / "README.md").write_text(render_card(facts, "adapter"), encoding="utf-8")
    return _publish(staging, out_dir)


def write_merged(weights: tuple[str, str | None], out_dir: Path, facts: CardFacts) -> Path:
    """Save `(model, adapter)` merged as a plain transformers model with a model card.

    The generation config stops where the studio stops (the chat turn's end) and decodes
    greedily, so `model.generate` on the chat-formatted prompt answers as the studio does."""
    from mind.inference import stop_ids
    from mind.student import load_for_inference, load_tokenizer

    train = facts.config.train.model_copy(update={"finetune": "full", "device": "cpu"})
    model = load_for_inference(weights[0], weights[1], train)
    tokenizer = load_tokenizer(facts.config.student)
    model.generation_config.eos_token_id = stop_ids(model, tokenizer)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.do_sample = False
    model.config.name_or_path = facts.name
    staging = _staging(out_dir)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    (staging / "README.md").write_text(render_card(facts, "merged"), encoding="utf-8")
    return _publish(staging, out_dir)


def _staging(out_dir: Path) -> Path:
    staging = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    return staging


def _publish(staging: Path, out_dir: Path) -> Path:
    """Rename into place, so a half-written export never looks finished."""
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir
