from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Student = Literal["trained", "base"]


class Ask(BaseModel):
    question: str = Field(min_length=1, max_length=8000, description="Asked as in training.")
    temperature: float = Field(0.0, ge=0, le=2, description="0 = greedy (the evaluation's).")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling when sampled.")
    seed: int = Field(0, ge=0, description="Seed of a sampled answer: same seed, same answer.")
    max_new_tokens: int | None = Field(
        None, gt=0, description="Default: the run's eval.max_new_tokens, capped by the studio."
    )
    step: int | None = Field(None, gt=0, description="Checkpoint step; default the latest.")
    answer_type: Literal["number", "letter", "yesno", "latex"] | None = Field(
        None, description="How to read the final answer; default the run's benchmarks' type."
    )
    choices: list[str] = Field(default_factory=list, description="Option texts (letter type).")
