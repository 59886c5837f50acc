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
from mind.readers import DataError, Limits, file_format, read_items
from mind.shapes import Mapping, guess

MAX_REPORTED_ERRORS = 20
GUESS_RECORDS = 50
SAVED_DATASET = "zip"  # a zipped datasets.save_to_disk folder (app/datasets/archive.py)


def source_format(filename: str) -> str | None:
    if Path(filename).suffix.lower() == f".{SAVED_DATASET}":
        return SAVED_DATASET
    return file_format(filename)


def columns_and_guess(src: Path, kind: str, limits: Limits) -> tuple[list[str], Mapping]:
    """The source columns of the first records (in order) and the mapping they suggest."""
    sample: list[dict[str, Any]] = []
    try:
        for _, item in read_items(src, limits):
            if isinstance(item, dict):
                sample.append(item)
            if len(sample) >= GUESS_RECORDS:
                break
    except DataError:
        pass  # ingest reports it, located
    columns = list(dict.fromkeys(k for record in sample for k in record))
    return columns, guess(sample, kind)


def _error(exc: DataError) -> dict[str, Any]:
    """The report entry: line, field and message, never the server path or the data."""
    return {"line": exc.line, "field": exc.field, "message": exc.message}


def ingest(
    src: Path, kind: str, dest: Path, limits: Limits, mapping: Mapping | None = None
) -> tuple[dict[str, Any], str | None]:
    """Validate `src` (its records mapped to the canonical schema by `mapping`) and write
    them to `dest` as JSONL: (report, answer type).

    The report has `ok`, `rows`, `error_count` (every bad record), `errors` (the first 20:
    line, field, message), `mapping` and, for rationales, `perspectives`; the answer type
    is that of a questions file. Reading stops only at a fatal error (a limit passed, an
    unreadable file).
    """
    errors: list[dict[str, Any]] = []
    error_count = rows = 0
    types: Counter[str] = Counter()
    perspectives: Counter[str] = Counter()
    with dest.open("w", encoding="utf-8") as out:
        try:
            for _, record, parsed in check_records(src, kind, limits, mapping):
                if isinstance(parsed, DataError):
                    error_count += 1
                    if len(errors) < MAX_REPORTED_ERRORS:
                        errors.append(_error(parsed))
                    continue
                rows += 1
                if isinstance(parsed, Question):
                    types[answer_type(parsed)] += 1
                elif isinstance(parsed, Rationale):
                    perspectives[parsed.perspective] += 1
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        except DataError as exc:
            error_count += 1
            errors.append(_error(exc))
    report: dict[str, Any] = {
        "ok": not errors,
        "rows": rows,
        "error_count": error_count,
        "errors": errors,
        "mapping": mapping.as_dict() if mapping else None,
    }
    if not errors and not rows:
        no_records = [{"line": 0, "field": None, "message": "no records"}]
        report |= {"ok": False, "error_count": 1, "errors": no_records}
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
