"""Uploaded files to canonical JSONL, and the validation report of that JSONL.

CSV and Parquet carry the same schema as the JSONL files (one column per field); list
fields such as `choices` are JSON text in CSV. Validation reuses the core readers, so the
studio accepts exactly what `mind` can read.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from mind.data import DataError, read_questions, read_rationales

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
MAX_REPORTED_ERRORS = 20


def source_format(filename: str) -> str | None:
    return FORMATS.get(Path(filename).suffix.lower())


def _csv_value(value: Any) -> Any:
    """JSON lists arrive in CSV as text; everything else keeps pyarrow's inferred type."""
    if isinstance(value, str) and value.startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def to_jsonl(src: Path, fmt: str, dest: Path) -> None:
    """Write `src` (jsonl/csv/parquet) as JSONL at `dest`; ValueError if it cannot be read."""
    if fmt == "jsonl":
        src.replace(dest)
        return
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        table = pacsv.read_csv(src) if fmt == "csv" else pq.read_table(src)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"cannot read the {fmt} file: {exc}") from None
    with dest.open("w", encoding="utf-8") as out:
        for row in table.to_pylist():
            record = {k: _csv_value(v) if fmt == "csv" else v for k, v in row.items()}
            record = {k: v for k, v in record.items() if v is not None}
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    src.unlink()


def _blank_line(path: Path, number: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1] = "\n"
    path.write_text("".join(lines), encoding="utf-8")


def validate(path: Path, kind: str) -> tuple[list[Any], dict[str, Any]]:
    """(records, report). The core readers stop at the first bad line, so each bad line is
    blanked (blank lines keep numbering) and the file read again, up to 20 errors."""
    reader = read_questions if kind == "questions" else read_rationales
    scratch = path.with_suffix(".check")
    scratch.write_bytes(path.read_bytes())
    errors: list[dict[str, Any]] = []
    try:
        while True:
            try:
                records = reader(scratch)
                break
            except DataError as exc:
                errors.append({"line": exc.line, "field": exc.field, "message": exc.message})
                if exc.line == 0 or len(errors) >= MAX_REPORTED_ERRORS:
                    records = []
                    break
                _blank_line(scratch, exc.line)
    finally:
        scratch.unlink(missing_ok=True)
    report: dict[str, Any] = {"ok": not errors, "rows": len(records), "errors": errors}
    if not errors and not records:
        report |= {"ok": False, "errors": [{"line": 0, "field": None, "message": "no records"}]}
    if kind == "rationales" and records:
        report["perspectives"] = dict(Counter(r.perspective for r in records))
    return records, report


def preview(path: Path, rows: int) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        out = []
        for line in handle:
            if line.strip():
                out.append(json.loads(line))
            if len(out) >= rows:
                break
    return out
