"""Final answers: detect a benchmark's answer type, extract a model's answer, compare to gold.

Four answer types cover the benchmarks of the method spec: `number` (GSM8K, SVAMP), `letter`
(CommonsenseQA, GPQA), `yesno` (StrategyQA) and `latex` (MATH-500). Extraction reads the
canonical line `The answer is X.` first, because training teaches the student to end with it,
and only then falls back to what each task's texts usually do (boxes, last number, `(B)`).

Policies (each tested in tests/test_answers.py):
- Text is normalised first: full-width forms (NFKC), every script's digits, Unicode minus
  signs and thousands separators of any notation (`mind.numerals`).
- Run-on outputs: when a model has stated an answer and then starts a question of its own
  (a line `Question:`, `Q:`, `User:`, ...), only the text before that line is read, so the
  answer is the one to the question asked.
- A boxed or stated expression (`\\frac{3}{4}`, `1.5 \\times 10^3`) is evaluated against a
  numeric gold; `\\text{}` wrappers are unwrapped everywhere.
- Choice texts match as whole words; where one choice's text lies inside another's
  (`cat` / `category`) the longer match wins.
- `true`/`false` (and `correct`, `incorrect`, ... where an answer is stated) are yes/no.

`EXTRACTOR_VERSION` names this behaviour; stored evaluations record it, so a change here
never silently rescores old results. Bump it whenever an extraction result can change.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from latex2sympy2_extended.math_normalization import extract_boxed_content
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

from mind.data import Question
from mind.errors import InputError
from mind.numerals import normalize_number_answer, normalize_numerals

AnswerType = Literal["number", "letter", "yesno", "latex"]
ANSWER_TYPES: tuple[str, ...] = ("number", "letter", "yesno", "latex")
EXTRACTOR_VERSION = "2"

REL_TOL = 1e-4
DEFAULT_LETTERS = "ABCDE"
ALL_LETTERS = "ABCDEFGHIJ"

_CANONICAL = re.compile(
    r"(?:\bthe\s+(?:final\s+|correct\s+|right\s+)?answer\s+(?:is|would\s+be|should\s+be)"
    r"|\bfinal\s+answer\s*(?:is\b)?)\s*:?[ \t]*([^\n]*)",
    re.IGNORECASE,
)
_ANSWER_PHRASE = re.compile(r"\banswer\b[^\n.]{0,40}?(?:\bis\b|:)[ \t]*:?[ \t]*([^\n]*)", re.I)
_HEDGE = re.compile(
    r"^(?:(?:most |very )?likely|probably|clearly|definitely|option|choice)\s+", re.I
)
_NUMBER = re.compile(r"(?<![\w)])-?\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|(?<![\w)])-?\d+(?:\.\d+)?")
_PLAIN_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+")
_ARITHMETIC = re.compile(r"[\d\s.()+\-*/]+")
_OPERATOR = re.compile(r"[\d)]\s*[+\-*/]")
_MATH_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_TEXT_WRAPPER = re.compile(
    r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mbox|operatorname)\s*\{([^{}]*)\}"
)
_LATEX_NOISE = re.compile(r"\\(?:left|right|displaystyle)\b|\\[!,;: ]")
_MARKER = (
    r"(?:(?:next|new|another)\s+)?"
    r"(?:question|q|problem|exercise|example|human|user|instruction|input)[ \t]*\d*[ \t]*"
)
_RUN_ON = re.compile(
    rf"\n[ \t]*(?:#+[ \t]*)?{_MARKER}[:.]|(?<=[.!?])[ \t]+{_MARKER}:", re.IGNORECASE
)
_ANSWERED = re.compile(r"\banswer\b[^\n]{0,40}?(?:\bis\b|:)|\\boxed|\\fbox", re.IGNORECASE)

_YESNO_WORDS = {
    **dict.fromkeys(("yes", "true", "correct", "yep", "yeah", "affirmative"), "yes"),
    **dict.fromkeys(("no", "false", "incorrect", "nope", "negative", "wrong"), "no"),
}
_YESNO_ANY = re.compile(
    rf"(not\s+)?({'|'.join(sorted(_YESNO_WORDS, key=len, reverse=True))})\b", re.IGNORECASE
)
_YESNO_STRONG = re.compile(r"\b(not\s+)?(yes|no|true|false)\b", re.IGNORECASE)
_LEADING_MARKUP = re.compile(r"^[\s*_#>\"'`(\[]*")
# Phrases that name the picked option: `I would pick B`, `option (c)`, `B is correct`.
# `{L}` is a bare capital or a parenthesised letter of either case.
_LETTER_CUES = (
    r"(?i:\b(?:pick|choose|select|go\s+with|opt\s+for))\s+(?i:(?:option|choice)\s+)?{L}",
    r"(?i:\b(?:option|choice))\s+{L}",
    r"(?i:\b(?:is|be|it'?s))\s+{L}(?=\s*(?:[.,;:!\u2014\u2013-]|$|(?i:\s+(?:because|since)\b)))",
    r"{L}\s+(?i:(?:is|seems)\s+(?:the\s+)?(?:correct|right|best)\b)",
)


@dataclass(frozen=True)
class Judged:
    """A text's extracted answer and whether it equals the gold."""

    prediction: str | None
    correct: bool


def answer_type(question: Question) -> AnswerType:
    """The answer type one question implies, from its choices and its gold answer."""
    gold = question.answer.strip()
    if question.choices or re.fullmatch(r"\(?[A-J]\)?", gold):
        return "letter"
    if gold.lower().rstrip(".") in ("yes", "no", "true", "false"):
        return "yesno"
    if _to_float(gold) is not None:
        return "number"
    return "latex"


def detect_answer_type(questions: Iterable[Question]) -> AnswerType:
    """One type for a whole benchmark; a few LaTeX golds make a numeric set `latex` (MATH)."""
    return type_of_benchmark(Counter(answer_type(q) for q in questions))


def type_of_benchmark(counts: Counter[str]) -> AnswerType:
    """The benchmark's type from how many questions imply each type."""
    if not counts:
        raise InputError("cannot detect the answer type of an empty benchmark")
    if "latex" in counts:
        return "latex"
    return counts.most_common(1)[0][0]  # type: ignore[return-value]


def judge(text: str, question: Question, kind: AnswerType) -> Judged:
    """The one extraction and comparison shared by the evaluator and the rationale judge."""
    prediction = extract_answer(text, kind, question.choices)
    return Judged(prediction, answers_match(prediction, question.answer, kind))


def _to_float(text: str) -> float | None:
    """`$1,234.50` -> 1234.5; None unless the whole text is one number (units $ and % aside)."""
    cleaned = text.strip().rstrip(".").strip().replace("$", "").replace("%", "").strip()
    cleaned = normalize_number_answer(cleaned)
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


def _unwrap(text: str) -> str:
    """`\\text{(B)}` -> `(B)`, `\\$` -> `$`, spacing commands and `\\left`/`\\right` dropped."""
    previous = None
    while previous != text:
        previous, text = text, _TEXT_WRAPPER.sub(r"\1", text)
    text = _LATEX_NOISE.sub("", text)
    return text.replace("\\$", "$").replace("\\%", "%").strip()


def _clean(candidate: str) -> str:
    return _strip_math(_unwrap(_strip_math(candidate)))


def _last_boxed(text: str) -> str | None:
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    return extract_boxed_content(text, mode="last").strip() or None


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


def _canonical(text: str) -> str | None:
    """What follows the last `The answer is` (or `Final answer:`), up to the end of its line."""
    match = _last(_CANONICAL, text)
    return match.group(1).strip() if match and match.group(1).strip() else None


def _cut_run_on(text: str) -> str:
    """The text up to the first invented follow-up question that comes after an answer."""
    for marker in _RUN_ON.finditer(text):
        if _ANSWERED.search(text, 0, marker.start()):
            return text[: marker.start()]
    return text


def _prepare(text: str, kind: AnswerType) -> str:
    """Normalised text: LaTeX keeps its symbols, other types also fold full-width forms."""
    text = normalize_numerals(text)
    if kind != "latex":
        text = unicodedata.normalize("NFKC", text)
    return _cut_run_on(text)


def _number_in(candidate: str) -> str | None:
    """A number from an answer phrase: `$51`, `6 * 5 = 30`, `(76 - 25)` or `\\frac{3}{4}`."""
    candidate = normalize_number_answer(_clean(candidate))
    if _to_float(candidate) is not None:
        return _clean_number(candidate)
    if _ARITHMETIC.fullmatch(candidate) and _OPERATOR.search(candidate):
        value = _evaluate(candidate)
        if value is not None:
            return value
    tail = candidate.rsplit("=", 1)[-1].strip()
    if "\\" in tail and (value := _evaluate(tail.rstrip("."))) is not None:
        return value
    match = _NUMBER.search(tail) or _NUMBER.search(candidate)
    return _clean_number(match.group(0)) if match else None


def _clean_number(text: str) -> str:
    return text.strip().rstrip(".").replace("$", "").replace("%", "").replace(",", "").strip()


def _evaluate(expression: str) -> str | None:
    """Arithmetic or LaTeX through math-verify's parser (sympy; never Python's eval)."""
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
    """The letter of the choice named last, by whole words; a match inside a longer choice's
    match (`cat` in `category`, `bank` in `river bank`) does not count."""
    spans: list[tuple[int, int, str]] = []
    for letter, choice in zip(letters, choices, strict=False):
        words = choice.strip()
        if not words:
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(words)}(?!\w)", re.IGNORECASE)
        spans += [(m.start(), m.end(), letter) for m in pattern.finditer(text)]
    outer = [
        s
        for s in spans
        if not any(
            o != s and o[0] <= s[0] and s[1] <= o[1] and o[1] - o[0] > s[1] - s[0] for o in spans
        )
    ]
    return max(outer, key=lambda s: (s[0], s[1] - s[0]))[2] if outer else None


def _answer_phrases(text: str) -> list[str]:
    """What follows each `answer ... is` / `answer:`, the last first, hedges dropped."""
    phrases = [m.group(1) for m in _ANSWER_PHRASE.finditer(text)]
    return [_HEDGE.sub("", _clean(p).lstrip("*").strip()) for p in reversed(phrases)]


def _cued_letter(text: str, letters: str) -> str | None:
    """The last option named by a cue phrase such as `I would pick B` or `(c) is correct`."""
    token = rf"(?:\(([{letters}{letters.lower()}])\)|\b([{letters}])\b)"
    found: list[tuple[int, str]] = []
    for cue in _LETTER_CUES:
        for m in re.finditer(cue.replace("{L}", token), text):
            found.append((m.start(), (m.group(1) or m.group(2)).upper()))
    return max(found)[1] if found else None


def _extract_letter(text: str, choices: Sequence[str]) -> str | None:
    """Answer statements first, then cue phrases, a bold `**(B)` (the pick), the last
    `(B)`/`B)`, a reply that is only a letter, and last a choice's text."""
    letters = ALL_LETTERS[: len(choices)] if choices else DEFAULT_LETTERS
    for candidate in (_canonical(text), _last_boxed(text)):
        if candidate and (letter := _letter_in(_clean(candidate), letters, choices)):
            return letter
    for phrase in _answer_phrases(text):
        if letter := _letter_in(phrase, letters, ()):
            return letter
    if letter := _cued_letter(text, letters):
        return letter
    match = (
        re.search(rf"\*\*\(([{letters}])\)", text)
        or _last(re.compile(rf"\(([{letters}])\)", re.I), text)
        or _last(re.compile(rf"\b([{letters}])\)"), text)
        or re.fullmatch(rf"[\W_]*([{letters}])[\W_]*", text, re.I)
    )
    if match:
        return match.group(1).upper()
    return _lone_letter(text, letters) or _choice_named(_unwrap(text), letters, choices)


def _lone_letter(text: str, letters: str) -> str | None:
    """The one option letter standing alone in the text (`答案是 B`), if exactly one does;
    `A` or `I` before a lowercase word (`A safe bet`, `I think`) is prose, not an option."""
    found = {
        m.group(1)
        for m in re.finditer(rf"(?<![\w'’])([{letters}])(?![\w'’])", text)
        if not (m.group(1) in "AI" and re.match(r"\s+[a-z]", text[m.end() :]))
    }
    return found.pop() if len(found) == 1 else None


def _yesno_word(match: re.Match[str] | None) -> str | None:
    """`yes`/`no` from a matched synonym; a preceding `not` flips it (`not true` -> no)."""
    if match is None:
        return None
    value = _YESNO_WORDS[match.group(2).lower()]
    if match.group(1):
        return "no" if value == "yes" else "yes"
    return value


def _extract_yesno(text: str) -> str | None:
    """The last answer statement, then a leading Yes/No/True/False, then the last of those."""
    phrases = _answer_phrases(text)
    if phrases and (found := _yesno_word(_YESNO_ANY.match(_LEADING_MARKUP.sub("", phrases[0])))):
        return found
    if leading := _yesno_word(_YESNO_ANY.match(_LEADING_MARKUP.sub("", text))):
        return leading
    return _yesno_word(_last(_YESNO_STRONG, text))


def _yesno_value(text: str) -> str | None:
    """`yes`/`no` for a whole answer such as `Yes`, `true` or `False.`; None otherwise."""
    return _YESNO_WORDS.get(_strip_math(text).lower())


def _extract_latex(text: str) -> str | None:
    candidate = _canonical(text)
    if candidate:
        return _last_boxed(candidate) or _strip_math(candidate) or None
    return _last_boxed(text)


def extract_answer(text: str, answer_type: AnswerType, choices: Sequence[str] = ()) -> str | None:
    """The final answer a text states, as a string, or None when it states none.

    `choices` (multiple choice only) lets an answer given by the option's text count.
    """
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"unknown answer type {answer_type!r}; expected one of {ANSWER_TYPES}")
    text = _prepare(text, answer_type)
    if answer_type == "number":
        return _extract_number(text)
    if answer_type == "letter":
        return _extract_letter(text, choices)
    if answer_type == "yesno":
        return _extract_yesno(text)
    return _extract_latex(text)


def answers_match(pred: str | None, gold: str, answer_type: AnswerType) -> bool:
    """Whether a predicted answer equals the gold one under the type's notion of equality."""
    if pred is None or not pred.strip():
        return False
    if answer_type == "number":
        p, g = _to_float(normalize_numerals(pred)), _to_float(normalize_numerals(gold))
        if p is None or g is None:
            return pred.strip() == gold.strip()
        return math.isclose(p, g, rel_tol=REL_TOL)
    if answer_type == "yesno":
        return _yesno_value(pred) is not None and _yesno_value(pred) == _yesno_value(gold)
    if answer_type == "letter":
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
