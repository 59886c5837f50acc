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


class TestNumberFamilies:
    """Numbers in every notation a model writes: separators, scripts, signs, expressions."""

    @pytest.mark.parametrize(
        ("text", "gold"),
        [
            pytest.param(r"So she pays \boxed{\$9{,}500}", "9500", id="latex-brace-comma"),
            pytest.param("The answer is $9{,}500$.", "9500", id="inline-brace-comma"),
            pytest.param(r"The answer is 9\,500.", "9500", id="latex-thin-space"),
            pytest.param(r"\boxed{1\,234\,567}", "1234567", id="latex-thin-space-groups"),
            pytest.param("The answer is 9\u202f500.", "9500", id="narrow-nbsp"),
            pytest.param("The answer is 9\u00a0500 dollars.", "9500", id="nbsp"),
            pytest.param("The answer is 1 234 567.", "1234567", id="plain-space-groups"),
            pytest.param("The answer is 9'500.", "9500", id="swiss-apostrophe"),
            pytest.param("The answer is 1.234.567,5.", "1234567.5", id="european"),
            pytest.param("The answer is 3,5.", "3.5", id="decimal-comma"),
            pytest.param("The answer is 9,500.", "9500", id="comma-thousands"),
            pytest.param("The answer is ９５００.", "9500", id="full-width"),
            pytest.param("The answer is ٩٥٠٠.", "9500", id="arabic-indic"),
            pytest.param("The answer is ۹۵۰۰.", "9500", id="persian"),
            pytest.param("The answer is ९५००.", "9500", id="devanagari"),
            pytest.param("The answer is ٩٬٥٠٠.", "9500", id="arabic-thousands-sign"),
            pytest.param("The answer is ٣٫٥.", "3.5", id="arabic-decimal-sign"),
            pytest.param("The answer is −5.", "-5", id="unicode-minus"),
            pytest.param("Net change: −12", "-12", id="unicode-minus-last-number"),
            pytest.param("The answer is –7.", "-7", id="en-dash-minus"),
            pytest.param("The answer is \u2212\u00a05.", "-5", id="minus-then-nbsp"),
            pytest.param("The answer is －３.", "-3", id="full-width-minus"),
            pytest.param(r"Each gets \boxed{\frac{3}{4}} of a pie.", "0.75", id="boxed-frac"),
            pytest.param(r"The answer is $\dfrac{3}{4}$.", "0.75", id="canonical-dfrac"),
            pytest.param("The answer is 3/4.", "0.75", id="slash-fraction"),
            pytest.param(r"\boxed{-\frac{1}{2}}", "-0.5", id="negative-frac"),
            pytest.param(r"\boxed{1.5 \times 10^{3}}", "1500", id="scientific"),
            pytest.param(r"\boxed{75\%}", "75", id="latex-percent"),
            pytest.param(r"\boxed{\text{12 apples}}", "12", id="text-wrapper"),
            pytest.param("**Final answer:** 42", "42", id="final-answer-bold"),
            pytest.param("The answer is ½.", "0.5", id="vulgar-fraction"),
        ],
    )
    def test_number(self, text: str, gold: str) -> None:
        prediction = extract_answer(text, "number")
        assert answers_match(prediction, gold, "number"), prediction

    def test_gold_in_other_notation(self) -> None:
        """The gold is normalised the same way: a full-width or Unicode-minus gold matches."""
        assert answers_match("-5", "−5", "number")
        assert answers_match("9500", "９，５００", "number")

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param(
                "She makes 9 * 2 = 18 dollars. The answer is 18.\n\nQuestion: Tom has 3 apples "
                "and buys 4 more. How many?\nAnswer: 3 + 4 = 7. The answer is 7.",
                "18",
                id="invented-question",
            ),
            pytest.param(
                "So 20 in all. The answer is 20.\nQ: What is 2 + 2?\nA: The answer is 4.",
                "20",
                id="invented-q",
            ),
            pytest.param(
                "Total: \\boxed{12}\n\nUser: and now double it?\nAssistant: \\boxed{24}",
                "12",
                id="invented-user-turn",
            ),
            pytest.param(
                "That makes 18. The answer is 18. Question: And 3 + 4? The answer is 7.",
                "18",
                id="invented-question-same-line",
            ),
            pytest.param(
                "The answer is 6.\n\nNext question: how many legs? The answer is 4.",
                "6",
                id="next-question",
            ),
            pytest.param(
                "Q1. How many at first?\n5 at first.\nQ2. How many now?\n5 + 3 = 8.\n"
                "The answer is 8.",
                "8",
                id="sub-questions-are-not-run-on",
            ),
        ],
    )
    def test_run_on_policy(self, text: str, expected: str) -> None:
        """The answer to the question asked: text after an answer and a new question is
        not read; sub-questions before any answer are."""
        assert extract_answer(text, "number") == expected


class TestLetterFamilies:
    """Letters in any case, behind cue phrases or wrappers, and choices by whole words."""

    CHOICES4 = ("red", "blue", "green", "cyan")

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param("d", "D", id="bare-lowercase"),
            pytest.param("(c)", "C", id="bare-paren"),
            pytest.param("**B**", "B", id="bare-bold"),
            pytest.param("Ｂ", "B", id="full-width"),
            pytest.param("I would pick B — a safe choice.", "B", id="pick"),
            pytest.param("I'd go with C since it fits.", "C", id="go-with"),
            pytest.param("Let me choose option (d).", "D", id="choose-option-paren"),
            pytest.param("My choice: option A, clearly.", "A", id="option"),
            pytest.param("Hmm, it's B.", "B", id="its"),
            pytest.param("C is correct because cyan is not primary.", "C", id="x-is-correct"),
            pytest.param(r"Final answer: \boxed{\text{B}}", "B", id="boxed-text"),
            pytest.param(r"\boxed{\text{(C)}}", "C", id="boxed-text-paren"),
            pytest.param(r"\boxed{\textbf{D}}", "D", id="boxed-textbf"),
            pytest.param("The answer is d.", "D", id="canonical-lowercase"),
            pytest.param("The correct answer is B.", "B", id="correct-answer-is"),
            pytest.param("答案是 B", "B", id="other-language-lone-letter"),
            pytest.param("I think the best is D here", "D", id="lone-letter"),
        ],
    )
    def test_letter(self, text: str, expected: str) -> None:
        assert extract_answer(text, "letter", self.CHOICES4) == expected

    def test_two_lone_letters_are_no_answer(self) -> None:
        assert extract_answer("Between B and C, hard to say.", "letter", self.CHOICES4) is None

    def test_text_wrapper_is_not_a_choice(self) -> None:
        """`\\text` holds the letter x, a choice's text: the box's letter wins."""
        assert extract_answer(r"\boxed{\text{(B)}}", "letter", ("x", "y", "z")) == "B"

    @pytest.mark.parametrize(
        ("text", "choices", "expected"),
        [
            pytest.param("The answer is category.", ("cat", "category", "dog"), "B", id="longer"),
            pytest.param("It must be the cat.", ("cat", "category", "dog"), "A", id="shorter"),
            pytest.param("We sit on the river bank.", ("bank", "river bank"), "B", id="nested"),
            pytest.param("A concatenation.", ("cat", "dog"), None, id="no-substring"),
            pytest.param("Surely a Dog.", ("cat", "dog"), "B", id="case"),
        ],
    )
    def test_choice_text_by_whole_words(
        self, text: str, choices: tuple[str, ...], expected: str | None
    ) -> None:
        assert extract_answer(text, "letter", choices) == expected


class TestYesNoFamilies:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param("True. Cats are mammals, so the answer is true.", "yes", id="true"),
            pytest.param("False. Penguins cannot fly.", "no", id="false"),
            pytest.param("**Yes**, they do.", "yes", id="bold-yes"),
            pytest.param("TRUE", "yes", id="upper"),
            pytest.param("Answer: False", "no", id="answer-false"),
            pytest.param("The answer is correct.", "yes", id="correct"),
            pytest.param("Incorrect: fish are not mammals.", "no", id="incorrect"),
            pytest.param("Not true; whales breathe air.", "no", id="not-true"),
            pytest.param("The statement is false.", "no", id="last-false"),
            pytest.param("Nope.", "no", id="nope"),
        ],
    )
    def test_yesno(self, text: str, expected: str) -> None:
        assert extract_answer(text, "yesno") == expected

    def test_true_false_golds_are_yes_no(self) -> None:
        """A CSV keeps `true`/`false` as text: such golds are yes/no and match synonyms."""
        assert answer_type(Question("q", "?", "true")) == "yesno"
        assert answers_match("yes", "true", "yesno")
        assert answers_match("no", "False", "yesno")
        assert not answers_match("no", "true", "yesno")
