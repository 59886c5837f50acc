"""Records in the shapes people already have, mapped to the canonical schema.

Canonical questions are `{id, question, answer[, choices]}` and canonical rationales
`{id, perspective, rationale[, question, answer, ...]}` (shared/datasets and
shared/teacher_rationales). A `Mapping` says where each canonical field comes from:

- `chat`: `messages` (OpenAI roles `system`/`user`/`assistant`) or `conversations`
  (ShareGPT `from`: `human`/`gpt`): the question is the last user turn before the last
  assistant turn, which is the answer (questions) or the rationale (rationales).
- `alpaca`: `instruction` (+ `input`, after a blank line) is the question, `output` the
  answer or rationale.
- `columns`: one source column per canonical field (guessed from common names, editable).

Without an id column, the id is derived from the question text (`q-` + 12 hex digits of
its SHA-256), so the same question gets the same id in a questions file and a rationales
file. Without an answer, a rationale's answer is its final answer (`#### X`, `The answer
is X`, `\\boxed{X}`); a long answer cell (a worked solution) is shortened the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mind.readers import DataError

SHAPES = ("columns", "alpaca", "chat")
ROLES = ("id", "question", "answer", "rationale", "perspective", "choices")
REQUIRED = {"questions": ("question", "answer"), "rationales": ("question", "rationale")}
DEFAULT_PERSPECTIVE = "other:standard_cot"
FIELDS = {"questions": ("id", "question", "answer", "choices"), "rationales": ROLES}
SHAPE_KEYS = {
    "columns": (),
    "alpaca": ("instruction", "input", "output"),
    "chat": ("messages", "conversations"),
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "uid", "qid", "question_id", "idx", "_id", "example_id"),
    "question": ("question", "query", "prompt", "problem", "instruction", "input", "text"),
    "answer": ("answer", "final_answer", "gold", "label", "target", "output", "response"),
    "rationale": (
        "rationale",
        "reasoning",
        "chain_of_thought",
        "cot",
        "explanation",
        "solution",
        "completion",
        "response",
        "output",
    ),
    "perspective": ("perspective", "style", "strategy"),
    "choices": ("choices", "options"),
}
USER_ROLES = {"user", "human"}
ASSISTANT_ROLES = {"assistant", "gpt", "model", "bot"}
SHORT_ANSWER_CHARS = 100
_FINAL = (
    re.compile(r"####\s*(.+?)\s*$", re.M),
    re.compile(r"answer is[:\s]*\$?(.+?)\$?\s*\.?\s*$", re.I | re.M),
)
_BOXED = re.compile(r"\\boxed\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")


class ShapeError(ValueError):
    """A record that does not fit its mapping; `field` names the source field at fault."""

    def __init__(self, field_name: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field_name, message


@dataclass(frozen=True)
class Mapping:
    shape: str = "columns"
    columns: dict[str, str] = field(default_factory=dict)  # canonical role -> source column
    perspective: str | None = None  # every rationale's perspective when no column names one

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Mapping:
        """A mapping sent by a client; ShapeError (field `mapping.<key>`) when malformed."""
        shape = raw.get("shape", "columns")
        if shape not in SHAPES:
            raise ShapeError("mapping.shape", f"{shape!r} is not one of {list(SHAPES)}")
        columns = raw.get("columns") or {}
        if not isinstance(columns, dict) or not all(
            isinstance(v, str) and v for v in columns.values()
        ):
            raise ShapeError("mapping.columns", "must map fields to column names")
        unknown = sorted(set(columns) - set(ROLES))
        if unknown:
            raise ShapeError("mapping.columns", f"unknown field(s) {unknown}; fields: {ROLES}")
        perspective = raw.get("perspective")
        if perspective is not None and (not isinstance(perspective, str) or not perspective):
            raise ShapeError("mapping.perspective", "must be a perspective id")
        return cls(shape, dict(columns), perspective)

    def as_dict(self) -> dict[str, Any]:
        return {"shape": self.shape, "columns": self.columns, "perspective": self.perspective}


def content_id(question: str) -> str:
    """A stable id for a record without one: from the question text alone."""
    return "q-" + hashlib.sha256(question.strip().encode("utf-8")).hexdigest()[:12]


def final_answer(text: str) -> str:
    """The final answer a solution states (`#### X`, `The answer is X`, `\\boxed{X}`), or
    the last non-empty line when it states none."""
    for pattern in _FINAL:
        found = pattern.findall(text)
        if found:
            return found[-1].strip()
    boxed = _BOXED.findall(text)
    if boxed:
        return boxed[-1].strip()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def guess(records: Iterable[dict[str, Any]], kind: str) -> Mapping:
    """The mapping the first records suggest: chat, Alpaca, else columns by common names."""
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    if "messages" in keys or "conversations" in keys:
        return Mapping("chat")
    if "instruction" in keys and "output" in keys:
        return Mapping(
            "alpaca", _guess_columns(keys, kind, taken={"instruction", "output", "input"})
        )
    return Mapping("columns", _guess_columns(keys, kind))


def _guess_columns(
    keys: dict[str, None], kind: str, taken: set[str] | None = None
) -> dict[str, str]:
    """Role -> column: an exact canonical name first, then synonyms in order of preference."""
    lower = {k.lower(): k for k in keys}
    used = set(taken or ())
    roles = ROLES if kind == "rationales" else ("id", "question", "answer", "choices")
    out: dict[str, str] = {}
    for role in roles:
        for name in SYNONYMS[role]:
            column = lower.get(name)
            if column is not None and column not in used:
                out[role] = column
                used.add(column)
                break
    return out


def apply(record: dict[str, Any], mapping: Mapping, kind: str) -> dict[str, Any]:
    """The canonical record; ShapeError names the source field at fault."""
    fields: dict[str, Any] = {}
    if mapping.shape in ("chat", "alpaca"):
        question, reply = _chat(record) if mapping.shape == "chat" else _alpaca(record)
        reply_role = "rationale" if kind == "rationales" else "answer"
        fields = {"question": question, reply_role: reply}
    for role, column in mapping.columns.items():
        if column in record and record[column] is not None and role not in fields:
            fields[role] = record[column]
    if kind == "rationales":
        fields.setdefault("perspective", mapping.perspective or DEFAULT_PERSPECTIVE)
        if "answer" not in fields and isinstance(fields.get("rationale"), str):
            fields["answer"] = final_answer(fields["rationale"])
    elif "answer" in fields:
        fields["answer"] = _short_answer(fields["answer"])
    for role in REQUIRED[kind]:  # the core parser's words, for the source column
        value = fields.get(role)
        if value is None or (isinstance(value, str) and not value.strip()):
            message = "missing" if value is None else "empty"
            raise ShapeError(mapping.columns.get(role, role), message)
    if fields.get("id") in (None, ""):
        fields["id"] = content_id(str(fields["question"]))
    consumed = {*mapping.columns.values(), *SHAPE_KEYS[mapping.shape], *ROLES}
    extras = {k: v for k, v in record.items() if k not in consumed}
    return extras | {k: v for k, v in fields.items() if k in FIELDS[kind]}


def _short_answer(value: Any) -> Any:
    """A worked solution in the answer column (or a chat or Alpaca reply) is cut to the final
    answer it states: any text that states one (`The answer is no.`), and any long or
    multi-line text. A short gold such as `42` or `Paris` is kept as it is."""
    if not isinstance(value, str):
        return value
    states_one = any(p.search(value) for p in _FINAL) or _BOXED.search(value) is not None
    if states_one or len(value) > SHORT_ANSWER_CHARS or "\n" in value.strip():
        return final_answer(value)
    return value


def _alpaca(record: dict[str, Any]) -> tuple[str, str]:
    """(question, output): the instruction, then its input after a blank line."""
    instruction, extra = record.get("instruction"), record.get("input")
    if not isinstance(instruction, str) or not instruction.strip():
        raise ShapeError("instruction", "missing or not text")
    output = record.get("output")
    if not isinstance(output, str) or not output.strip():
        raise ShapeError("output", "missing or not text")
    question = instruction.strip()
    if isinstance(extra, str) and extra.strip():
        question += "\n\n" + extra.strip()
    return question, output.strip()


def _chat(record: dict[str, Any]) -> tuple[str, str]:
    """The last assistant turn and the user turn before it, from OpenAI or ShareGPT turns."""
    name = "messages" if "messages" in record else "conversations"
    turns = record.get(name)
    if not isinstance(turns, list) or not turns:
        raise ShapeError(name, "must be a non-empty list of turns")
    normalised = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise ShapeError(f"{name}[{i}]", "each turn must be an object")
        role = str(turn.get("role", turn.get("from", ""))).lower()
        content = turn.get("content", turn.get("value"))
        if not isinstance(content, str):
            raise ShapeError(f"{name}[{i}]", "a turn needs text in content (or value)")
        normalised.append((role, content.strip()))
    last = max((i for i, (role, _) in enumerate(normalised) if role in ASSISTANT_ROLES), default=-1)
    if last < 0:
        raise ShapeError(name, "no assistant (or gpt) turn")
    asked = [c for role, c in normalised[:last] if role in USER_ROLES]
    if not asked:
        raise ShapeError(name, "no user (or human) turn before the last assistant turn")
    return asked[-1], normalised[last][1]


def mapped_items(
    items: Iterable[tuple[int, Any]], mapping: Mapping, kind: str, path: str
) -> Iterator[tuple[int, Any]]:
    """A reader's `(line, record or DataError)` stream with each record mapped to the
    canonical schema; a record that does not fit becomes a DataError naming its field."""
    for line, item in items:
        if isinstance(item, dict):
            try:
                item = apply(item, mapping, kind)
            except ShapeError as exc:
                item = DataError(path, line, exc.field, exc.message)
        yield line, item
