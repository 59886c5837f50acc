"""Model shapes for benchmarks, written out so nothing comes from a hub.

Weights are random: throughput depends on the shape, not on what the model knows.
"""

from __future__ import annotations

from typing import Any

from transformers import LlamaConfig, Qwen2Config


def smollm2_135m() -> Any:
    return LlamaConfig(
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        max_position_embeddings=8192,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )


def qwen25_1_5b() -> Any:
    return Qwen2Config(
        vocab_size=151936,
        hidden_size=1536,
        intermediate_size=8960,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        bos_token_id=151643,
        eos_token_id=151645,
        pad_token_id=151643,
    )


SHAPES = {"smollm2-135m": smollm2_135m, "qwen2.5-1.5b": qwen25_1_5b}
