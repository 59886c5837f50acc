"""What every teacher backend takes and gives.

A backend turns chat requests into texts and yields each result as soon as it has it (in
any order), so the caller can cache it before the next one arrives.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mind.config import TeacherConfig
from mind.teacher.prompts import Messages


@dataclass(frozen=True)
class Sampling:
    temperature: float
    max_tokens: int
    seed: int

    @classmethod
    def from_config(cls, cfg: TeacherConfig, seed: int) -> Sampling:
        return cls(cfg.temperature, cfg.max_tokens, seed)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def as_dict(self) -> dict[str, Any]:
        """The request's sampling fields; greedy decoding ignores the seed, so it is left out."""
        out: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if not self.greedy:
            out["seed"] = self.seed
        return out


@dataclass(frozen=True)
class Request:
    key: str  # cache key, echoed in the Result
    messages: Messages


@dataclass(frozen=True)
class Result:
    key: str
    text: str
    elapsed_s: float


class TeacherBackend(Protocol):
    def generate(self, requests: Sequence[Request]) -> Generator[Result, None, None]:
        """Results in any order; closing the generator early cancels what is in flight."""
        ...
