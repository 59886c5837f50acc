"""Answer extraction and equivalence, on hand-checked texts of every answer type."""

from __future__ import annotations

import pytest

from mind.answers import answer_type, answers_match, detect_answer_type, extract_answer
from mind.data import Question

CHOICES = ("ignore", "enforce", "authoritarian", "yell at", "avoid")


class TestAnswerType:
    """Each benchmark family maps to its type, so scoring needs no per-benchmark setting."""

    @pytest.mark.parametrize(
        ("gold", "choices", "expected"),
        [
            pytest.param("51", (), "number", id="svamp"),
            pytest.param("-3.5", (), "number", id="negative-decimal"),
            pytest.param("C", CHOICES, "letter", id="csqa"),
            pytest.param("D", (), "letter", id="gpqa-no-choices"),
            pytest.param("yes", (), "yesno", id="strategyqa"),
            pytest.param(r"\frac{14}{3}", (), "latex", id="math-fraction"),
            pytest.param(r"(3, \frac{\pi}{2})", (), "latex", id="math-tuple"),
        ],
    )
    def test_single_question(self, gold: str, choices: tuple[str, ...], expected: str) -> None:
        assert answer_type(Question("q", "?", gold, choices)) == expected

    def test_math_benchmark_with_numeric_golds_is_latex(self) -> None:
        """MATH-500 mixes plain numbers with LaTeX: the whole set must use math equivalence."""
        golds = ["5", "12", r"\frac{14}{3}", "7"]
        assert detect_answer_type(Question(str(i), "?", g) for i, g in enumerate(golds)) == "latex"

    def test_empty_benchmark_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="empty"):
            detect_answer_type([])


class TestExtractAnswer:
    """The canonical line wins; task-type fallbacks apply only when it is missing."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param("So 3 + 4 = 7.\nThe answer is 7.", "7", id="canonical"),
            pytest.param("The answer is 5.\nWait, 6.\nThe answer is 6.", "6", id="last-canonical"),
            pytest.param("It costs $1,234.50 in total.", "1234.50", id="money-fallback"),
            pytest.param("The answer is $51.", "51", id="canonical-dollars"),
            pytest.param("The answer is 6 * 5 = 30.", "30", id="after-equals"),
            pytest.param("The answer is ((3 + 2) + 5).", "10", id="expression"),
            pytest.param("Therefore, the answer (arabic numerals) is: 51", "51", id="zero-shot"),
            pytest.param(r"Thus \boxed{42} apples.", "42", id="boxed"),
            pytest.param("We lose 76-25 = -3 points", "-3", id="negative"),
            pytest.param("I do not know.", None, id="none"),
        ],
    )
    def test_number(self, text: str, expected: str | None) -> None:
        assert extract_answer(text, "number") == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param("The answer is (B).", "B", id="canonical-paren"),
            pytest.param("So the answer is (e) defecating.", "E", id="lowercase-paren"),
            pytest.param("The answer is C", "C", id="bare"),
            pytest.param("The answer is **(D) yell at**.", "D", id="bold"),
            pytest.param("Answer: A) ignore", "A", id="answer-colon"),
            pytest.param("B) looks fine, but (A) fits better.", "A", id="last-paren"),
            pytest.param("The answer is a pencil.", None, id="article-is-not-a-letter"),
            pytest.param("The answer is to enforce the rules.", "B", id="choice-text"),
            pytest.param(
                "The most likely answer is **(C) authoritarian**. The others, (A) ignore and "
                "(E) avoid, are too weak.",
                "C",
                id="pick-before-eliminations",
            ),
        ],
    )
    def test_letter(self, text: str, expected: str | None) -> None:
        assert extract_answer(text, "letter", CHOICES) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param("Facts...\nThe answer is yes.", "yes", id="canonical"),
            pytest.param(
                "the answer is yes. \nTherefore, the answer (Yes or No) is No.",
                "no",
                id="last-statement",
            ),
            pytest.param("No, sharks are fish. Yes, really a fish.", "no", id="leading"),
            pytest.param("Sharks are fish, so yes.", "yes", id="last-word"),
            pytest.param("Sharks are fish.", None, id="none"),
        ],
    )
    def test_yesno(self, text: str, expected: str | None) -> None:
        assert extract_answer(text, "yesno") == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param(r"The answer is $\frac{14}{3}$.", r"\frac{14}{3}", id="canonical-math"),
            pytest.param(
                r"so $x = \boxed{(3, \frac{\pi}{2})}$.", r"(3, \frac{\pi}{2})", id="boxed"
            ),
            pytest.param(r"The answer is \boxed{[-2, 7]}.", "[-2, 7]", id="canonical-boxed"),
            pytest.param("no final answer", None, id="none"),
        ],
    )
    def test_latex(self, text: str, expected: str | None) -> None:
        assert extract_answer(text, "latex") == expected

    def test_unknown_type_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="unknown answer type"):
            extract_answer("The answer is 3.", "date")  # type: ignore[arg-type]


class TestAnswersMatch:
    """Equality per type: numeric tolerance, case-insensitive labels, math equivalence."""

    @pytest.mark.parametrize(
        ("pred", "gold", "kind", "expected"),
        [
            pytest.param("1,234.50", "1234.5", "number", True, id="commas"),
            pytest.param("$51", "51", "number", True, id="dollars"),
            pytest.param("50%", "50", "number", True, id="percent"),
            pytest.param("51.004", "51", "number", True, id="within-1e-4"),
            pytest.param("51.01", "51", "number", False, id="beyond-1e-4"),
            pytest.param("b", "B", "letter", True, id="letter-case"),
            pytest.param("(C)", "C", "letter", True, id="letter-paren"),
            pytest.param("A", "B", "letter", False, id="letter-wrong"),
            pytest.param("Yes", "yes", "yesno", True, id="yes-case"),
            pytest.param("no", "yes", "yesno", False, id="yesno-wrong"),
            pytest.param("0.5", r"\frac{1}{2}", "latex", True, id="half"),
            pytest.param(r"\dfrac{14}{3}", r"\frac{14}{3}", "latex", True, id="dfrac"),
            pytest.param(
                r"\left(3, \frac{\pi}{2}\right)", r"(3, \frac{\pi}{2})", "latex", True, id="tuple"
            ),
            pytest.param("[-2,7]", "[-2, 7]", "latex", True, id="interval"),
            pytest.param("(-2, 7)", "[-2, 7]", "latex", False, id="open-vs-closed"),
            pytest.param(r"\sqrt{8}", r"2\sqrt{2}", "latex", True, id="radical"),
            pytest.param(r"$\frac{15}{4}$", r"\frac{14}{3}", "latex", False, id="latex-wrong"),
            pytest.param(None, "5", "number", False, id="no-prediction"),
        ],
    )
    def test_pairs(self, pred: str | None, gold: str, kind: str, expected: bool) -> None:
        assert answers_match(pred, gold, kind) is expected  # type: ignore[arg-type]

    def test_gold_solution_ending_in_boxed(self) -> None:
        """MATH reference solutions end in \\boxed{...}: that box is the gold answer."""
        solution = r"Divide both sides: $x = \frac{28}{6}$, so $x = \boxed{\frac{14}{3}}$."
        assert answers_match("14/3", solution, "latex")
        assert not answers_match("28", solution, "latex")
