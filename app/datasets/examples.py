"""The downloadable examples of the format guide: one small file per accepted shape."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

QA = [
    ("Tom has 3 apples and buys 4 more. How many apples does he have?", "7"),
    ("A book costs 12 dollars. How much do 3 books cost?", "36"),
]
COT = [
    "3 + 4 = 7.\nThe answer is 7.",
    "Each book costs 12, so 3 books cost 3 x 12 = 36.\nThe answer is 36.",
]


@dataclass(frozen=True)
class Example:
    filename: str
    kind: str
    shape: str
    media_type: str
    build: Callable[[], bytes]


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def _canonical() -> list[dict[str, Any]]:
    return [{"id": f"q{i}", "question": q, "answer": a} for i, (q, a) in enumerate(QA, 1)]


def _rationales() -> list[dict[str, Any]]:
    return [
        {"id": f"q{i}", "question": q, "answer": a, "perspective": p, "rationale": r}
        for i, ((q, a), r) in enumerate(zip(QA, COT, strict=True), 1)
        for p in ("decomposition", "formal_symbolic")
    ]


def _alpaca() -> list[dict[str, Any]]:
    return [{"instruction": q, "input": "", "output": r} for (q, _), r in zip(QA, COT, strict=True)]


def _chat() -> list[dict[str, Any]]:
    return [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": r}]}
        for (q, _), r in zip(QA, COT, strict=True)
    ]


def _sharegpt() -> list[dict[str, Any]]:
    return [
        {"conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": r}]}
        for (q, _), r in zip(QA, COT, strict=True)
    ]


EXAMPLES: dict[str, Example] = {
    e.filename: e
    for e in (
        Example("questions.jsonl", "questions", "canonical", "application/x-ndjson",
                lambda: _jsonl(_canonical())),
        Example("questions_no_ids.csv", "questions", "question/answer columns", "text/csv",
                lambda: _csv([{"question": q, "answer": a} for q, a in QA])),
        Example("questions.parquet", "questions", "canonical", "application/vnd.apache.parquet",
                lambda: _parquet(_canonical())),
        Example("rationales.jsonl", "rationales", "canonical", "application/x-ndjson",
                lambda: _jsonl(_rationales())),
        Example("alpaca.jsonl", "questions or rationales", "Alpaca", "application/x-ndjson",
                lambda: _jsonl(_alpaca())),
        Example("chat_openai.jsonl", "questions or rationales", "chat (OpenAI roles)",
                "application/x-ndjson", lambda: _jsonl(_chat())),
        Example("chat_sharegpt.json", "questions or rationales", "chat (ShareGPT), JSON array",
                "application/json", lambda: json.dumps(_sharegpt(), indent=2).encode("utf-8")),
    )
}  # fmt: skip
