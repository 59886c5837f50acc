"""Questions and rationales: JSONL records, read and validated with file/line/field errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mind.errors import MindError


class DataError(MindError, ValueError):
    """A bad record, located by file, line (1-based) and field."""

    def __init__(self, path: str | Path, line: int, field_name: str | None, message: str):
        where = f"{path}:{line}" + (f": field '{field_name}'" if field_name else "")
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.field, self.message = str(path), line, field_name, message


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


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; DataError on bad JSON."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise DataError(path, 0, None, f"cannot open: {exc.strerror}") from exc
    with handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(path, number, None, f"invalid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise DataError(path, number, None, "expected a JSON object")
            yield number, obj


def _text(obj: dict[str, Any], name: str, path: Path, line: int, required: bool = True) -> str:
    value = obj.get(name)
    if value is None and not required:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or (required and not value.strip()):
        raise DataError(path, line, name, "missing or not a non-empty string")
    return value


def read_questions(path: str | Path) -> list[Question]:
    """Questions in the schema of shared/datasets: id, question, answer[, choices]."""
    path = Path(path)
    questions, seen = [], set()
    for line, obj in iter_jsonl(path):
        qid = _text(obj, "id", path, line)
        if qid in seen:
            raise DataError(path, line, "id", f"duplicate id {qid!r}")
        seen.add(qid)
        choices = obj.get("choices") or []
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise DataError(path, line, "choices", "must be a list of strings")
        questions.append(
            Question(
                qid,
                _text(obj, "question", path, line),
                _text(obj, "answer", path, line),
                tuple(choices),
            )
        )
    return questions


def read_rationales(path: str | Path) -> list[Rationale]:
    """Rationales in the schema of shared/teacher_rationales (one per line)."""
    path = Path(path)
    out = []
    known = {
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
    for line, obj in iter_jsonl(path):
        correct = obj.get("correct")
        if correct is not None and not isinstance(correct, bool):
            raise DataError(path, line, "correct", "must be true, false or absent")
        source_split = obj.get("source_split")
        rationale_answer = obj.get("rationale_answer")
        out.append(
            Rationale(
                id=_text(obj, "id", path, line),
                perspective=_text(obj, "perspective", path, line),
                rationale=_text(obj, "rationale", path, line),
                question=_text(obj, "question", path, line, required=False),
                answer=_text(obj, "answer", path, line, required=False),
                correct=correct,
                teacher=_text(obj, "teacher", path, line, required=False),
                rationale_answer=None if rationale_answer is None else str(rationale_answer),
                source_split=source_split if isinstance(source_split, str) else None,
                extra={k: v for k, v in obj.items() if k not in known},
            )
        )
    return out


def questions_from_rationales(rationales: list[Rationale]) -> list[Question]:
    """Questions implied by rationale records (first occurrence of each id)."""
    seen: dict[str, Question] = {}
    for r in rationales:
        if r.id not in seen and r.question and r.answer:
            seen[r.id] = Question(r.id, r.question, r.answer)
    return list(seen.values())
