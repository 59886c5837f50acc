"""Final answers: detect a benchmark's answer type, extract a model's answer, compare to gold.

Four answer types cover the benchmarks of the method spec: `number` (GSM8K, SVAMP), `letter`
(CommonsenseQA, GPQA), `yesno` (StrategyQA) and `latex` (MATH-500). Extraction reads the
canonical line `The answer is X.` first, because training teaches the student to end with it,
and only then falls back to what each task's texts usually do (boxes, last number, `(B)`).
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

from latex2sympy2_extended.math_normalization import extract_boxed_content
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

from mind.data import Question
from mind.errors import InputError

AnswerType = Literal["number", "letter", "yesno", "latex"]
ANSWER_TYPES: tuple[str, ...] = ("number", "letter", "yesno", "latex")

REL_TOL = 1e-4
DEFAULT_LETTERS = "ABCDE"

_CANONICAL = re.compile(r"\bthe (?:final )?answer is\b:?[ \t]*([^\n]*)", re.IGNORECASE)
_ANSWER_PHRASE = re.compile(r"\banswer\b[^\n.]{0,40}?(?:\bis\b|:)[ \t]*:?[ \t]*([^\n]*)", re.I)
_HEDGE = re.compile(
    r"^(?:(?:most |very )?likely|probably|clearly|definitely|option|choice)\s+", re.I
)
_NUMBER = re.compile(r"(?<![\w)])-?\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|(?<![\w)])-?\d+(?:\.\d+)?")
_PLAIN_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+")
_ARITHMETIC = re.compile(r"[\d\s.()+\-*/]+")
_OPERATOR = re.compile(r"[\d)]\s*[+\-*/]")
_YESNO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_MATH_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


def answer_type(question: Question) -> AnswerType:
    """The answer type one question implies, from its choices and its gold answer."""
    gold = question.answer.strip()
    if question.choices or re.fullmatch(r"\(?[A-J]\)?", gold):
        return "letter"
    if gold.lower() in ("yes", "no"):
        return "yesno"
    if _to_float(gold) is not None:
        return "number"
    return "latex"


def detect_answer_type(questions: Iterable[Question]) -> AnswerType:
    """One type for a whole benchmark; a few LaTeX golds make a numeric set `latex` (MATH)."""
    counts = Counter(answer_type(q) for q in questions)
    if not counts:
        raise InputError("cannot detect the answer type of an empty benchmark")
    if "latex" in counts:
        return "latex"
    return counts.most_common(1)[0][0]


def _to_float(text: str) -> float | None:
    """`$1,234.50` -> 1234.5; None unless the whole text is one number (units $ and % aside)."""
    cleaned = text.strip().rstrip(".").strip().replace("$", "").replace("%", "").strip()
    if not _PLAIN_NUMBER.fullmatch(cleaned):
        return None
    return float(cleaned.replace(",", ""))


def _strip_math(text: str) -> str:
    """Drop a trailing full stop, bold markers and one pair of math delimiters."""
    text = text.strip().rstrip(".").strip().strip("*").strip()
    for left, right in _MATH_DELIMS:
        if len(text) > len(left) + len(right) and text.startswith(left) and text.endswith(right):
            return text[len(left) : -len(right)].strip()
    return text


def _last_boxed(text: str) -> str | None:
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    return extract_boxed_content(text, mode="last").strip() or None


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


def _canonical(text: str) -> str | None:
    """What follows the last `The answer is`, up to the end of its line."""
    match = _last(_CANONICAL, text)
    return match.group(1).strip() if match and match.group(1).strip() else None


def _number_in(candidate: str) -> str | None:
    """A number from an answer phrase: `$51`, `6 * 5 = 30`, or an expression like `(76 - 25)`."""
    candidate = _strip_math(candidate)
    if _to_float(candidate) is not None:
        return _clean_number(candidate)
    if _ARITHMETIC.fullmatch(candidate) and _OPERATOR.search(candidate):
        value = _evaluate(candidate)
        if value is not None:
            return value
    tail = candidate.rsplit("=", 1)[-1]
    match = _NUMBER.search(tail) or _NUMBER.search(candidate)
    return _clean_number(match.group(0)) if match else None


def _clean_number(text: str) -> str:
    return text.strip().rstrip(".").replace("$", "").replace("%", "").replace(",", "").strip()


def _evaluate(expression: str) -> str | None:
    """Plain arithmetic through math-verify's LaTeX parser (sympy; never Python's eval)."""
    parsed = _parse_latex(expression)
    try:
        value = float(parsed[0]) if parsed else math.nan
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(value):
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def _extract_number(text: str) -> str | None:
    for candidate in (_canonical(text), _last_boxed(text)):
        if candidate and (number := _number_in(candidate)):
            return number
    match = _last(_NUMBER, text)
    return _clean_number(match.group(0)) if match else None


def _letter_in(candidate: str, letters: str, choices: Sequence[str]) -> str | None:
    """`(B)`, `B)`, `B.`, `**B**` or a bare capital at the start, else a choice's own text."""
    candidate = candidate.strip().lstrip("*").strip()
    match = re.match(rf"\(([{letters}])\)|([{letters}])(?:\)|\.|,|:|\*|\s|$)", candidate, re.I)
    if match and (match.group(1) or match.group(2).isupper() or len(candidate) == 1):
        return (match.group(1) or match.group(2)).upper()
    return _choice_named(candidate, letters, choices)


def _choice_named(text: str, letters: str, choices: Sequence[str]) -> str | None:
    """The letter of the choice whose text is mentioned last (longest wins a tie)."""
    lowered = text.lower()
    best: tuple[int, int, str] | None = None
    for letter, choice in zip(letters, choices, strict=False):
        position = lowered.rfind(choice.lower().strip()) if choice.strip() else -1
        if position >= 0 and (best is None or (position, len(choice)) > best[:2]):
            best = (position, len(choice), letter)
    return best[2] if best else None


def _answer_phrases(text: str) -> list[str]:
    """What follows each `answer ... is` / `answer:`, the last first, hedges dropped."""
    phrases = [m.group(1) for m in _ANSWER_PHRASE.finditer(text)]
    return [_HEDGE.sub("", _strip_math(p).lstrip("*").strip()) for p in reversed(phrases)]


def _extract_letter(text: str, choices: Sequence[str]) -> str | None:
    """Answer statements first, then a bold `**(B)` (the pick), then the last `(B)`/`B)`."""
    letters = "ABCDEFGHIJ"[: len(choices)] if choices else DEFAULT_LETTERS
    for candidate in (_canonical(text), _last_boxed(text)):
        if candidate and (letter := _letter_in(_strip_math(candidate), letters, choices)):
            return letter
    for phrase in _answer_phrases(text):
        if letter := _letter_in(phrase, letters, ()):
            return letter
    match = (
        re.search(rf"\*\*\(([{letters}])\)", text)
        or _last(re.compile(rf"\(([{letters}])\)", re.I), text)
        or _last(re.compile(rf"\b([{letters}])\)"), text)
    )
    if match:
        return match.group(1).upper()
    return _choice_named(text, letters, choices)


def _extract_yesno(text: str) -> str | None:
    """The last answer statement, then a leading Yes/No, then the last yes/no in the text."""
    phrases = _answer_phrases(text)
    if phrases and (found := _YESNO.match(phrases[0])):
        return found.group(1).lower()
    leading = re.match(r"\s*(yes|no)\b", text, re.IGNORECASE)
    last = leading or _last(_YESNO, text)
    return last.group(1).lower() if last else None


def _extract_latex(text: str) -> str | None:
    candidate = _canonical(text)
    if candidate:
        return _last_boxed(candidate) or _strip_math(candidate) or None
    return _last_boxed(text)


def extract_answer(text: str, answer_type: AnswerType, choices: Sequence[str] = ()) -> str | None:
    """The final answer a text states, as a string, or None when it states none.

    `choices` (multiple choice only) lets an answer given by the option's text count.
    """
    if answer_type == "number":
        return _extract_number(text)
    if answer_type == "letter":
        return _extract_letter(text, choices)
    if answer_type == "yesno":
        return _extract_yesno(text)
    if answer_type == "latex":
        return _extract_latex(text)
    raise ValueError(f"unknown answer type {answer_type!r}; expected one of {ANSWER_TYPES}")


def answers_match(pred: str | None, gold: str, answer_type: AnswerType) -> bool:
    """Whether a predicted answer equals the gold one under the type's notion of equality."""
    if pred is None or not pred.strip():
        return False
    if answer_type == "number":
        p, g = _to_float(pred), _to_float(gold)
        if p is None or g is None:
            return pred.strip() == gold.strip()
        return math.isclose(p, g, rel_tol=REL_TOL)
    if answer_type in ("letter", "yesno"):
        return _strip_math(pred).strip("()").lower() == _strip_math(gold).strip("()").lower()
    if answer_type == "latex":
        return latex_equal(pred, gold)
    raise ValueError(f"unknown answer type {answer_type!r}; expected one of {ANSWER_TYPES}")


def latex_equal(pred: str, gold: str) -> bool:
    """Mathematical equivalence by math-verify; a gold solution ending in \\boxed{} counts."""
    gold = _last_boxed(gold) or gold
    pred, gold = _strip_math(pred), _strip_math(gold)
    if pred.replace(" ", "") == gold.replace(" ", ""):
        return True
    parsed_gold, parsed_pred = _parse_latex(gold), _parse_latex(pred)
    if not parsed_gold or not parsed_pred:
        return False
    return verify(list(parsed_gold), list(parsed_pred), timeout_seconds=_timeout())


@lru_cache(maxsize=4096)
def _parse_latex(text: str) -> tuple[object, ...]:
    """Parsed once per distinct string: a benchmark's golds repeat across runs and checks."""
    config = [LatexExtractionConfig(), ExprExtractionConfig()]
    return tuple(parse(f"${text}$", config, parsing_timeout=_timeout()))


def _timeout() -> int | None:
    """math-verify times out with SIGALRM, which only the main thread may use."""
    return 5 if threading.current_thread() is threading.main_thread() else None
