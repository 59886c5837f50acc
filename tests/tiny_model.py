"""The tiny student of the fast tests: a randomly initialised Llama of real shape, small."""

from __future__ import annotations

from typing import Any


def tiny_llama(max_position_embeddings: int) -> tuple[Any, Any]:
    """(model, tokenizer): 2 layers of width 64 with SmolLM2's real tokenizer, seed 0."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from mind.student import load_tokenizer

    tokenizer = load_tokenizer("smollm2-135m-instruct")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config), tokenizer
