"""Teacher prompts: one chat per (question, perspective), and the hash that identifies it.

The student never sees these prompts; they only ask the teacher to reason in a given style
and to finish with the line the judge and curation rely on: `The answer is <answer>.`
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from mind.data import Question
from mind.perspectives import Perspective

Messages = list[dict[str, str]]

# Recorded as `style` on every generated rationale; bump it whenever the wording changes.
PROMPT_STYLE = "mind-teacher-v1"

SYSTEM = (
    "You are an expert teacher writing a worked solution that a student will learn from. "
    "Follow the requested reasoning style closely."
)


def final_line_rule(question: Question) -> str:
    """How the last line must look; multiple-choice questions are answered by letter."""
    if question.choices:
        letters = ", ".join(chr(ord("A") + i) for i in range(len(question.choices)))
        return (
            "Finish with a final line of exactly this form: 'The answer is <letter>.' "
            f"where <letter> is one of {letters}."
        )
    return (
        "Finish with a final line of exactly this form: 'The answer is <answer>.' "
        "where <answer> is only the final answer, with no units or extra words."
    )


def build_messages(question: Question, perspective: Perspective) -> Messages:
    """The chat sent to the teacher for one question written from one perspective."""
    user = (
        f"Reasoning style: {perspective.name}. {perspective.instruction}\n\n"
        f"Problem:\n{question.question}\n\n{final_line_rule(question)}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def prompt_sha256(messages: Messages, sampling: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of what the teacher is sent (messages and sampling)."""
    canonical = json.dumps(
        {"messages": messages, "sampling": dict(sampling)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
