"""Shared fixtures: paths into ../shared and a tiny random student with the real tokenizer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tiny_model import tiny_llama

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED = Path(os.environ.get("MIND_SHARED", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "datasets").is_dir():
        pytest.fail(f"shared data not found at {SHARED} (set MIND_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def tiny_student(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer randomly initialised Llama saved with SmolLM2's real tokenizer."""
    model, tokenizer = tiny_llama(max_position_embeddings=1024)
    path = tmp_path_factory.mktemp("tiny-student")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)
