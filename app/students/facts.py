"""What the Models page shows about a model on disk, read without loading it (no torch).

Parameters are counted from the tensor shapes in the safetensors (or GGUF) headers; dtype is
the one `config.json` declares (or the GGUF file type); a chat template is present when the
tokenizer config carries one or a `chat_template.jinja` file sits beside it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class ModelFacts:
    parameters: int | None
    dtype: str | None
    size_bytes: int
    chat_template: bool
    architecture: str | None


def _json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _safetensors_parameters(folder: Path) -> int | None:
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with safe_open(file, framework="numpy") as handle:
            total += sum(math.prod(handle.get_slice(k).get_shape()) for k in handle.keys())  # noqa: SIM118
    return total


def _has_chat_template(folder: Path) -> bool:
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    return bool(_json(folder / "tokenizer_config.json").get("chat_template"))


def folder_facts(folder: Path) -> ModelFacts:
    """Facts of a `save_pretrained` folder (symlinks into a hub cache are followed)."""
    return _folder_facts(str(folder), folder.stat().st_mtime_ns)


@lru_cache(maxsize=256)
def _folder_facts(folder: str, _mtime_ns: int) -> ModelFacts:
    path = Path(folder)
    config = _json(path / "config.json")
    architectures = config.get("architectures") or [None]
    return ModelFacts(
        parameters=_safetensors_parameters(path),
        dtype=config.get("dtype") or config.get("torch_dtype"),
        size_bytes=sum(f.stat().st_size for f in path.rglob("*") if f.is_file()),
        chat_template=_has_chat_template(path),
        architecture=architectures[0],
    )


@lru_cache(maxsize=8)
def gguf_facts(file: Path) -> ModelFacts:
    """Facts of a GGUF file (the bundled student ships as one)."""
    from gguf import GGUFReader, LlamaFileType

    reader = GGUFReader(file)
    file_type = reader.get_field("general.file_type")
    arch = reader.get_field("general.architecture")
    return ModelFacts(
        parameters=sum(int(t.n_elements) for t in reader.tensors),
        dtype=LlamaFileType(int(file_type.contents())).name.removeprefix("MOSTLY_")
        if file_type
        else None,
        size_bytes=file.stat().st_size,
        chat_template=reader.get_field("tokenizer.chat_template") is not None,
        architecture=str(arch.contents()) if arch else None,
    )
