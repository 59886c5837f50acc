"""Scoring free-text outputs against a benchmark: the evaluator's, `mind score`'s and the
studio's rescore path, so all three read answers the same way (`mind.answers.judge`)."""

from __future__ import annotations

from typing import Any

from mind.answers import AnswerType, detect_answer_type, judge
from mind.data import Question


def score(
    questions: list[Question], outputs: list[str], answer_type: AnswerType | None = None
) -> tuple[int, float, list[dict[str, Any]]]:
    """(n, accuracy, per-example rows); the answer type is detected when not given."""
    if len(questions) != len(outputs):
        raise ValueError(f"{len(questions)} questions but {len(outputs)} outputs")
    kind = answer_type or detect_answer_type(questions)
    rows = []
    for q, output in zip(questions, outputs, strict=True):
        judged = judge(output, q, kind)
        rows.append(
            {
                "id": q.id,
                "question": q.question,
                "gold": q.answer,
                "output": output,
                "prediction": judged.prediction,
                "correct": judged.correct,
            }
        )
    n = len(rows)
    return n, (sum(r["correct"] for r in rows) / n if n else 0.0), rows
