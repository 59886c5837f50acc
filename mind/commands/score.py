"""`mind score`: accuracy of saved outputs (JSONL of {"id", "output"}) on a benchmark file.

A record may say `"truncated": true` (as `mind eval`'s predictions do for an output cut off
at max_new_tokens): it then scores as wrong, as it did in the evaluation.
"""

from __future__ import annotations

import argparse
import json
import sys

from mind.data import Question, read_questions
from mind.readers import DataError, iter_records


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score saved model outputs", description=__doc__)
    p.add_argument("--benchmark", required=True, help="benchmark JSONL (datasets schema)")
    p.add_argument("--predictions", required=True, help='JSONL of {"id": ..., "output": ...}')
    p.set_defaults(func=run)


def read_predictions(
    path: str, questions: dict[str, Question], benchmark: str
) -> list[tuple[Question, str, bool]]:
    """(question, output, truncated) per record; an id absent from the benchmark or repeated
    is an error."""
    records, seen = [], set()
    for line, obj in iter_records(path):
        qid, output, cut = obj.get("id"), obj.get("output"), obj.get("truncated", False)
        if not isinstance(qid, str) or qid not in questions:
            raise DataError(path, line, "id", f"unknown id {qid!r} (not in {benchmark})")
        if qid in seen:
            raise DataError(path, line, "id", f"duplicate id {qid!r}")
        if not isinstance(output, str):
            raise DataError(path, line, "output", "missing or not a string")
        if not isinstance(cut, bool):
            raise DataError(path, line, "truncated", "must be true, false or absent")
        seen.add(qid)
        records.append((questions[qid], output, cut))
    return records


def run(args: argparse.Namespace) -> int:
    from mind.answers import detect_answer_type
    from mind.scoring import score

    questions = read_questions(args.benchmark)
    by_id = {q.id: q for q in questions}
    records = read_predictions(args.predictions, by_id, args.benchmark)
    if not records:
        raise DataError(args.predictions, 0, None, "no predictions")
    asked, outputs, cut = zip(*records, strict=True)
    n, accuracy, _ = score(list(asked), list(outputs), detect_answer_type(questions), cut)
    if n < len(questions):
        print(
            f"mind score: {len(questions) - n} benchmark questions have no output", file=sys.stderr
        )
    print(json.dumps({"n": n, "accuracy": accuracy}))
    return 0
