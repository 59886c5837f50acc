"""Scoring free-text outputs against a benchmark: the evaluator's, `mind score`'s and the
studio's rescore path, so all three read answers the same way (`mind.answers.judge`).

An output cut off at `eval.max_new_tokens` (`mind.generation.Completion.truncated`) scores
as wrong whatever it reads as: its last number may be an item of an unfinished list. Its
extracted answer is still recorded, for inspection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mind.answers import AnswerType, detect_answer_type, judge
from mind.data import Question


def score(
    questions: list[Question],
    outputs: list[str],
    answer_type: AnswerType | None = None,
    truncated: Sequence[bool] | None = None,
) -> tuple[int, float, list[dict[str, Any]]]:
    """(n, accuracy, per-example rows); the answer type is detected when not given.

    `truncated[i]` marks output i as cut off (none is when not given); each row records it.
    """
    if len(questions) != len(outputs):
        raise ValueError(f"{len(questions)} questions but {len(outputs)} outputs")
    cut = list(truncated) if truncated is not None else [False] * len(outputs)
    if len(cut) != len(outputs):
        raise ValueError(f"{len(outputs)} outputs but {len(cut)} truncated flags")
    kind = answer_type or detect_answer_type(questions)
    rows = []
    for q, output, was_cut in zip(questions, outputs, cut, strict=True):
        judged = judge(output, q, kind)
        rows.append(
            {
                "id": q.id,
                "question": q.question,
                "gold": q.answer,
                "output": output,
                "prediction": judged.prediction,
                "correct": judged.correct and not was_cut,
                "truncated": was_cut,
            }
        )
    n = len(rows)
    return n, (sum(r["correct"] for r in rows) / n if n else 0.0), rows
