"""An uploaded file to canonical JSONL and its validation report, in one streaming pass.

Any format `mind.readers` reads (JSONL, a JSON array, CSV, Parquet) is read record by record
under the upload limits, each record validated by the core parser (so the studio accepts
exactly what `mind` can read), and written as one JSON line. Memory stays bounded by one
record; nothing is re-read or rewritten per bad line.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from mind.answers import answer_type, type_of_benchmark
from mind.data import Question, Rationale, check_records
from mind.readers import DataError, Limits, file_format

MAX_REPORTED_ERRORS = 20


def source_format(filename: str) -> str | None:
    return file_format(filename)


def _error(exc: DataError) -> dict[str, Any]:
    """The report entry: line, field and message, never the server path or the data."""
    return {"line": exc.line, "field": exc.field, "message": exc.message}


def ingest(src: Path, kind: str, dest: Path, limits: Limits) -> tuple[dict[str, Any], str | None]:
    """Validate `src` and write its records to `dest` as JSONL: (report, answer type).

    The report has `ok`, `rows`, `errors` (up to 20: line, field, message) and, for
    rationales, `perspectives`; the answer type is that of a questions file. Reading stops
    at the 20th error or at the first fatal one (a limit passed, an unreadable file).
    """
    errors: list[dict[str, Any]] = []
    rows = 0
    types: Counter[str] = Counter()
    perspectives: Counter[str] = Counter()
    with dest.open("w", encoding="utf-8") as out:
        try:
            for _, record, parsed in check_records(src, kind, limits):
                if isinstance(parsed, DataError):
                    errors.append(_error(parsed))
                    if len(errors) >= MAX_REPORTED_ERRORS:
                        break
                    continue
                rows += 1
                if isinstance(parsed, Question):
                    types[answer_type(parsed)] += 1
                elif isinstance(parsed, Rationale):
                    perspectives[parsed.perspective] += 1
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        except DataError as exc:
            errors.append(_error(exc))
    report: dict[str, Any] = {"ok": not errors, "rows": rows, "errors": errors}
    if not errors and not rows:
        report |= {"ok": False, "errors": [{"line": 0, "field": None, "message": "no records"}]}
    if kind == "rationales" and rows:
        report["perspectives"] = dict(perspectives)
    return report, type_of_benchmark(types) if types else None


def preview(path: Path, rows: int) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        out = []
        for line in handle:
            if line.strip():
                out.append(json.loads(line))
            if len(out) >= rows:
                break
    return out
