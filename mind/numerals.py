"""Numbers as people and models write them, brought to plain ASCII before extraction.

Covers full-width and other scripts' digits (Arabic-Indic, Persian, Devanagari, ...: every
Unicode decimal digit), a standalone vulgar fraction (`½` -> 0.5), minus signs other than
`-`, and thousands separators in the notations of prose, LaTeX and typesetting (`9,500`,
`9{,}500`, `9\\,500`, `9 500` with a thin or no-break space, `9'500`, Arabic `٬`). A
decimal comma is read only where it cannot be a thousands separator (`1.234,5`, or `3,5`
as a whole answer).
"""

from __future__ import annotations

import re
import unicodedata

_MINUS = "\u2212\u2796\u2012\u2013\u2010\u2011\ufe63\uff0d"
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")
_VULGAR_FRACTION = re.compile(r"(?<!\d)[\u00bc-\u00be\u2150-\u215e]")
_SIGN_BEFORE_DIGIT = re.compile(rf"(?<![\w)])[{_MINUS}]\s?(?=\d)")
_LATEX_SEPARATOR = re.compile(r"(?<=\d)(?:\{,\}|\\[,!;: ]|~|\{\\,\}|\\thinspace\s?)(?=\d{3})")
_SPACE_SEPARATOR = re.compile(r"(?<=\d)[\u00a0\u2007\u2009\u202f\u200a](?=\d{3}(?!\d))")
_APOSTROPHE_SEPARATOR = re.compile(r"(?<=\d)['\u2019](?=\d{3}(?!\d))")
_GROUPED_WITH_SPACES = re.compile(r"-?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_EUROPEAN = re.compile(r"(-?\d{1,3}(?:\.\d{3})+),(\d+)")
_DECIMAL_COMMA = re.compile(r"-?\d+,(?:\d{1,2}|\d{4,})")

ARABIC_DECIMAL, ARABIC_THOUSANDS = "\u066b", "\u066c"


def _ascii_digit(match: re.Match[str]) -> str:
    return str(unicodedata.decimal(match.group(0)))


def _fraction_value(match: re.Match[str]) -> str:
    return repr(unicodedata.numeric(match.group(0)))


def normalize_numerals(text: str) -> str:
    """Every digit ASCII, every minus `-`, thousands separators as `,`; other text kept."""
    text = _NON_ASCII_DIGIT.sub(_ascii_digit, text)
    text = _VULGAR_FRACTION.sub(_fraction_value, text)
    text = text.replace("\uff0c", ",").replace("\uff0e", ".").replace("\uff04", "$")
    text = text.replace(ARABIC_THOUSANDS, ",").replace(ARABIC_DECIMAL, ".")
    text = _SIGN_BEFORE_DIGIT.sub("-", text)
    text = _LATEX_SEPARATOR.sub(",", text)
    text = _SPACE_SEPARATOR.sub(",", text)
    return _APOSTROPHE_SEPARATOR.sub(",", text)


def normalize_number_answer(text: str) -> str:
    """A whole candidate answer: also digit groups split by plain spaces and a decimal comma.

    Only for text already known to be one answer (after `The answer is`, inside a box),
    where `9 500` or `3,5` cannot be two numbers of a sentence.
    """
    text = normalize_numerals(text).strip()
    if _GROUPED_WITH_SPACES.fullmatch(text):
        return text.replace(" ", "")
    if match := _EUROPEAN.fullmatch(text):
        return f"{match.group(1).replace('.', '')}.{match.group(2)}"
    if _DECIMAL_COMMA.fullmatch(text):
        return text.replace(",", ".")
    return text
