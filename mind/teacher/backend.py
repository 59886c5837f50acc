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
    """One reply; `finish_reason` as the server gave it (`length`: cut off by max_tokens)."""

    key: str
    text: str
    elapsed_s: float
    finish_reason: str | None = None

    @property
    def problem(self) -> str | None:
        """Why the reply cannot be used as a rationale (`empty`, `truncated`), else None."""
        if not self.text.strip():
            return "empty"
        if self.finish_reason == "length":
            return "truncated"
        return None


class TeacherBackend(Protocol):
    def generate(self, requests: Sequence[Request]) -> Generator[Result, None, None]:
        """Results in any order; closing the generator early cancels what is in flight."""
        ...
