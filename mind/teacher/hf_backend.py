"""Teacher as a local transformers model: batched generation with the chat template.

Prompts are left-padded so every sequence in a batch ends where generation starts. Sampling
(temperature > 0) draws from a forked RNG seeded per batch, so it leaves no global state
behind and the same requests give the same texts.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import torch

from mind.config import TeacherConfig, TrainConfig
from mind.student import load_student, load_tokenizer
from mind.teacher.backend import Request, Result, Sampling


class HFBackend:
    def __init__(self, cfg: TeacherConfig, train: TrainConfig, sampling: Sampling):
        self.batch_size = cfg.batch_size
        self.sampling = sampling
        self.tokenizer = load_tokenizer(cfg.model)
        self.tokenizer.padding_side = "left"
        self.model = load_student(cfg.model, train, trainable=False)

    def generate(self, requests: Sequence[Request]) -> Generator[Result, None, None]:
        """Yield a batch's results together; each gets an equal share of the batch's time."""
        for start in range(0, len(requests), self.batch_size):
            batch = requests[start : start + self.batch_size]
            began = time.perf_counter()
            replies = self._generate_batch(
                [r.messages for r in batch], seed=self.sampling.seed + start
            )
            share = (time.perf_counter() - began) / len(batch)
            for request, (text, finish) in zip(batch, replies, strict=True):
                yield Result(request.key, text, share, finish)

    @torch.inference_mode()
    def _generate_batch(self, chats: list[Any], seed: int) -> list[tuple[str, str]]:
        """(text, finish reason) per chat: `stop` at EOS, `length` when max_tokens ran out."""
        prompts = [
            self.tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
            for c in chats
        ]
        inputs = self.tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.model.device)
        options: dict[str, Any] = {"do_sample": False}
        if not self.sampling.greedy:
            options = {"do_sample": True, "temperature": self.sampling.temperature}
        scope = nullcontext() if self.sampling.greedy else _seeded(seed, self.model.device)
        with scope:
            out = self.model.generate(
                **inputs,
                max_new_tokens=self.sampling.max_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                **options,
            )
        new_tokens = out[:, inputs["input_ids"].shape[1] :]  # (B, T_new)
        stopped = (new_tokens == self.tokenizer.eos_token_id).any(dim=1).tolist()
        texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        full = new_tokens.shape[1] >= self.sampling.max_tokens
        return [
            (text, "length" if full and not done else "stop")
            for text, done in zip(texts, stopped, strict=True)
        ]


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed sampling inside a forked RNG, so the caller's RNG state is left untouched."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield
