"""Answering one question with a student, streamed token by token (the playground).

The prompt is the one training and evaluation use (`mind.student_prompt`), so the student is
asked exactly as it was taught; greedy decoding gives the evaluation's answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from transformers import TextIteratorStreamer

from mind.student_prompt import prompt_text

_SAMPLING = threading.Lock()


@dataclass(frozen=True)
class Sampling:
    """Greedy when `temperature` is 0; otherwise sampled, reproducibly from `seed`."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0


def stop_ids(model: Any, tokenizer: Any) -> list[int]:
    """Stop at the tokenizer's EOS (the chat turn end) and at any the model config names."""
    configured = model.generation_config.eos_token_id
    ids = configured if isinstance(configured, list) else [configured]
    return sorted({i for i in [tokenizer.eos_token_id, *ids] if i is not None})


def _generate_kwargs(model: Any, tokenizer: Any, sampling: Sampling) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "max_new_tokens": sampling.max_new_tokens,
        "eos_token_id": stop_ids(model, tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "do_sample": sampling.temperature > 0,
    }
    if sampling.temperature > 0:
        kwargs |= {"temperature": sampling.temperature, "top_p": sampling.top_p}
    else:  # silence the sampling defaults a model's generation_config may carry
        kwargs |= {"temperature": None, "top_p": None, "top_k": None}
    return kwargs


def stream_answer(
    model: Any, tokenizer: Any, question: str, instruction: str, sampling: Sampling
) -> Iterator[str]:
    """Text pieces of the answer as they are generated; joined they are the whole answer.

    Generation runs in a thread feeding transformers' `TextIteratorStreamer`; the caller
    must drain the iterator (an abandoned one stops at `max_new_tokens`). Sampled answers
    hold a lock on torch's global RNG while they generate, so a seed always gives the
    same answer even with other requests in flight."""
    prompt = prompt_text(tokenizer, question, instruction)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = _generate_kwargs(model, tokenizer, sampling)

    def work() -> None:
        with torch.no_grad():
            if not kwargs["do_sample"]:
                model.generate(**inputs, streamer=streamer, **kwargs)
                return
            with _SAMPLING:  # the global RNG: one seeded sampler at a time
                torch.manual_seed(sampling.seed)
                model.generate(**inputs, streamer=streamer, **kwargs)

    thread = threading.Thread(target=work, name="generate", daemon=True)
    thread.start()
    yield from streamer
    thread.join()
