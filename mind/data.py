"""Questions and rationales: records of any readable format (`mind.readers`), validated
with file/line/field errors.

Text fields take strings; a JSON number is taken as its decimal text, and a JSON boolean
`answer` as `yes`/`no` (StrategyQA's files store them as booleans). Any other type is
refused with a message naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mind.readers import DataError, Limits, read_items
from mind.shapes import Mapping, mapped_items


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rationale:
    id: str
    perspective: str
    rationale: str
    question: str = ""
    answer: str = ""
    correct: bool | None = None
    teacher: str = ""
    rationale_answer: str | None = None
    source_split: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def _text(obj: dict[str, Any], name: str, path: Path, line: int, required: bool = True) -> str:
    value = obj.get(name)
    if value is None and not required:
        return ""
    if isinstance(value, bool) and name == "answer":
        value = "yes" if value else "no"
    elif isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if value is None:
        raise DataError(path, line, name, "missing")
    if not isinstance(value, str):
        raise DataError(path, line, name, f"expected text, got {_type_name(value)}")
    if required and not value.strip():
        raise DataError(path, line, name, "empty")
    if "\x00" in value:
        raise DataError(path, line, name, "contains a NUL character (a binary file?)")
    return value


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", list: "a list", dict: "an object", bytes: "bytes"}
    return names.get(type(value), type(value).__name__)


def parse_question(obj: dict[str, Any], path: Path, line: int) -> Question:
    """One question record: id, question, answer[, choices]."""
    choices = obj.get("choices") or []
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise DataError(path, line, "choices", "must be a list of strings")
    return Question(
        _text(obj, "id", path, line),
        _text(obj, "question", path, line),
        _text(obj, "answer", path, line),
        tuple(choices),
    )


RATIONALE_FIELDS = frozenset(
    {
        "id",
        "perspective",
        "rationale",
        "question",
        "answer",
        "correct",
        "teacher",
        "rationale_answer",
        "source_split",
    }
)


def parse_rationale(obj: dict[str, Any], path: Path, line: int) -> Rationale:
    """One rationale record in the schema of shared/teacher_rationales."""
    correct = obj.get("correct")
    if correct is not None and not isinstance(correct, bool):
        raise DataError(path, line, "correct", "must be true, false or absent")
    source_split = obj.get("source_split")
    rationale_answer = obj.get("rationale_answer")
    return Rationale(
        id=_text(obj, "id", path, line),
        perspective=_text(obj, "perspective", path, line),
        rationale=_text(obj, "rationale", path, line),
        question=_text(obj, "question", path, line, required=False),
        answer=_text(obj, "answer", path, line, required=False),
        correct=correct,
        teacher=_text(obj, "teacher", path, line, required=False),
        rationale_answer=None if rationale_answer is None else str(rationale_answer),
        source_split=source_split if isinstance(source_split, str) else None,
        extra={k: v for k, v in obj.items() if k not in RATIONALE_FIELDS},
    )


Parsed = Question | Rationale
PARSERS: dict[str, Callable[[dict[str, Any], Path, int], Parsed]] = {
    "questions": parse_question,
    "rationales": parse_rationale,
}


def check_records(
    path: str | Path, kind: str, limits: Limits | None = None, mapping: Mapping | None = None
) -> Iterator[tuple[int, dict[str, Any], Parsed | DataError]]:
    """(line, raw record, parsed record or its DataError) for every record of a file.

    Reading goes on after a bad record, so one pass finds every error; a duplicate
    question id is an error of the later line. Fatal errors (a limit passed, a broken
    file) are raised. With a `mapping`, records of another shape (Alpaca, chat, other
    column names) are first mapped to the canonical schema (mind.shapes).
    """
    path, parser, seen = Path(path), PARSERS[kind], set()
    items = read_items(path, limits)
    for line, item in mapped_items(items, mapping, kind, str(path)) if mapping else items:
        if isinstance(item, DataError):
            yield line, {}, item
            continue
        try:
            parsed = parser(item, path, line)
        except DataError as exc:
            yield line, item, exc
            continue
        if kind == "questions":
            if parsed.id in seen:
                yield line, item, DataError(path, line, "id", f"duplicate id {parsed.id!r}")
                continue
            seen.add(parsed.id)
        yield line, item, parsed


def _read(path: str | Path, kind: str) -> list[Any]:
    out = []
    for _, _, parsed in check_records(path, kind):
        if isinstance(parsed, DataError):
            raise parsed
        out.append(parsed)
    return out


def read_questions(path: str | Path) -> list[Question]:
    """Questions in the schema of shared/datasets (JSONL, JSON array, CSV or Parquet)."""
    return _read(path, "questions")


def read_rationales(path: str | Path) -> list[Rationale]:
    """Rationales in the schema of shared/teacher_rationales (one per record)."""
    return _read(path, "rationales")


def questions_from_rationales(rationales: list[Rationale]) -> list[Question]:
    """Questions implied by rationale records (first occurrence of each id)."""
    seen: dict[str, Question] = {}
    for r in rationales:
        if r.id not in seen and r.question and r.answer:
            seen[r.id] = Question(r.id, r.question, r.answer)
    return list(seen.values())
