"""docs/results.md from a study's stored results (the studio's `/studies/{id}/results`).

Only numbers are generated, through the Jinja2 template `templates/study_report.md`; the
hand-written analysis lives in docs/results_notes.md and is copied in, so a rebuild never
erases it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE = "study_report.md"
NO_NOTES = "_No analysis yet: write it in `docs/results_notes.md`; every rebuild copies it here._"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _signed(value: float) -> str:
    return f"{100 * value:+.1f}"


def render(study: dict[str, Any], results: dict[str, Any], notes: str) -> str:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=_pct, signed=_signed)
    return env.get_template(TEMPLATE).render(
        study=study,
        results=results,
        notes=notes,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        unfinished=[c for c in study["cells"] if c["status"] != "succeeded"],
    )


def write_report(study: dict[str, Any], results: dict[str, Any], doc: Path, notes: Path) -> None:
    text = notes.read_text().strip() if notes.exists() else NO_NOTES
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(render(study, results, text))
