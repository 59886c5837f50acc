"""Checkpoints that resume exactly: weights, optimizers, schedule, MetaNet, RNG, data position.

Layout of `checkpoints/step-N/`: `adapter/` (LoRA, loadable by peft) or `model/` (full
fine-tuning, loadable by transformers), `trainer.pt` (everything else) and `manifest.json`.
A checkpoint is written to a temporary folder and renamed, so a crash never leaves a
half-written one that looks complete.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mind.errors import InputError

MANIFEST = "manifest.json"


def rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _is_lora(model: Any) -> bool:
    return hasattr(model, "peft_config")


def save(
    root: Path,
    step: int,
    model: Any,
    trainer_state: dict[str, Any],
    manifest: dict[str, Any],
    keep: int,
    weights: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write checkpoints/step-N atomically and prune all but the newest `keep`.

    `weights` are the full weights of a sharded model (else the model's own are saved).
    """
    final = root / f"step-{step}"
    tmp = root / f".step-{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        model.save_pretrained(tmp / ("adapter" if _is_lora(model) else "model"), state_dict=weights)
        torch.save({**trainer_state, "rng": rng_state()}, tmp / "trainer.pt")
        (tmp / MANIFEST).write_text(json.dumps({"step": step, **manifest}, indent=2))
    except BaseException:  # e.g. a full disk: no half-written folder stays behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in list_checkpoints(root)[:-keep]:
        shutil.rmtree(old)
    return final


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    done = [p for p in root.glob("step-*") if (p / MANIFEST).exists()]
    return sorted(done, key=lambda p: int(p.name.removeprefix("step-")))


def latest(root: Path) -> Path | None:
    found = list_checkpoints(root)
    return found[-1] if found else None


def load_weights(model: Any, checkpoint_dir: Path) -> None:
    """Load the trained weights of a checkpoint into a freshly built student."""
    from safetensors.torch import load_file

    if _is_lora(model):
        from peft import set_peft_model_state_dict

        state = load_file(checkpoint_dir / "adapter" / "adapter_model.safetensors")
        result = set_peft_model_state_dict(model, state)
        if result.unexpected_keys:
            raise InputError(f"{checkpoint_dir}: adapter does not fit this student")
        return
    model.load_state_dict(full_weights(checkpoint_dir, model.dtype))


def full_weights(checkpoint_dir: Path, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The full fine-tune's weights of a checkpoint, by parameter name, on the CPU."""
    from transformers import AutoModelForCausalLM

    saved = AutoModelForCausalLM.from_pretrained(checkpoint_dir / "model", dtype=dtype)
    return saved.state_dict()


def load_trainer_state(checkpoint_dir: Path) -> dict[str, Any]:
    return torch.load(checkpoint_dir / "trainer.pt", weights_only=False)


def read_manifest(checkpoint_dir: Path) -> dict[str, Any]:
    return json.loads((checkpoint_dir / MANIFEST).read_text())
