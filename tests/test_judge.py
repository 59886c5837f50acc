"""The rule judge, checked against hand-made rationales and the shared `correct` flags."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mind.data import Question, Rationale, read_questions, read_rationales
from mind.judge import rule_judge

# Styles whose answer never appears in the text: programs run by the authors' executor, and
# Plan-and-Solve, whose answer came from a second extraction prompt. The flag cannot be
# recovered from the rationale text there, so agreement is measured on the other styles.
ANSWER_NOT_IN_TEXT = {
    "faithful_cot:NL+SL",
    "faithful_cot:noNL",
    "pot:few-shot",
    "pot:zero-shot",
    "plan_and_solve:PS+",
}


def _rationale(text: str, rationale_answer: str | None = None) -> Rationale:
    return Rationale("q1", "intuitive", text, rationale_answer=rationale_answer)


class TestRuleJudge:
    """Accept exactly the rationales whose stated answer equals the gold."""

    def test_accepts_equal_number(self) -> None:
        q = Question("q1", "How many?", "1234")
        assert rule_judge(_rationale("So $1,234.00 in all.\nThe answer is 1,234."), q)

    def test_rejects_wrong_letter(self) -> None:
        q = Question("q1", "Pick", "B", ("cat", "dog"))
        assert not rule_judge(_rationale("The answer is (A) cat."), q)

    def test_latex_by_equivalence(self) -> None:
        q = Question("q1", "Solve", r"\frac{1}{2}")
        assert rule_judge(_rationale(r"Hence $x = \boxed{0.5}$."), q)

    def test_no_stated_answer_falls_back_to_record(self) -> None:
        """A record whose source derived the answer elsewhere keeps that answer."""
        q = Question("q1", "Is it?", "yes")
        assert rule_judge(_rationale("It is likely, given the facts.", "yes"), q)
        assert not rule_judge(_rationale("It is likely, given the facts."), q)

    @pytest.mark.parametrize(
        ("name", "sample"),
        [
            pytest.param("svamp_test", 500, id="svamp"),
            pytest.param("strategyqa_dev", 300, id="strategyqa"),
            pytest.param("commonsenseqa_dev", 300, id="csqa"),
        ],
    )
    def test_agrees_with_shared_flags(self, shared: Path, name: str, sample: int) -> None:
        """On text rationales the judge reproduces the published correctness flags."""
        dataset, split = name.rsplit("_", 1)
        questions = {
            q.id: q for q in read_questions(shared / "datasets" / dataset / f"{split}.jsonl")
        }
        records = [
            r
            for r in read_rationales(shared / "teacher_rationales" / f"{name}.jsonl")
            if r.extra.get("style") not in ANSWER_NOT_IN_TEXT
        ]
        picked = random.Random(0).sample(records, sample)
        agree = sum(rule_judge(_without_answer(r), questions[r.id]) == r.correct for r in picked)
        assert agree / sample >= 0.97, f"{name}: {agree}/{sample} agree"


def _without_answer(r: Rationale) -> Rationale:
    """Judge the text alone, as for a fresh rationale with no recorded answer."""
    return Rationale(r.id, r.perspective, r.rationale, r.question, r.answer)
