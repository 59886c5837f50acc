"""The rule-based judge: a rationale is accepted when the answer it states equals the gold.

It has the signature of `mind.curation.Judge`, so curation can use it for rationales whose
record carries no `correct` flag (e.g. freshly generated ones).
"""

from __future__ import annotations

from mind.answers import answer_type, answers_match, judge
from mind.data import Question, Rationale


def rule_judge(rationale: Rationale, question: Question) -> bool:
    """Extract the rationale's final answer (type from the question) and compare to the gold.

    A rationale that states no answer falls back to its record's `rationale_answer`, the
    answer its source obtained elsewhere (e.g. by executing a program); none means rejected.
    """
    kind = answer_type(question)
    judged = judge(rationale.rationale, question, kind)
    if judged.prediction is None:
        return answers_match(rationale.rationale_answer, question.answer, kind)
    return judged.correct
