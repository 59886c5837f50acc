"""docs/results.md is rendered from a study's stored results by a Jinja2 template."""

from __future__ import annotations

from pathlib import Path

from experiments.study_report import write_report
from mind.comparison import CellScores, compare


def test_report_carries_intervals_paired_tests_and_the_notes(tmp_path: Path) -> None:
    cells = [
        CellScores("zero_shot", None, {"svamp": "id"}, {"svamp": [True, False] * 5}),
        CellScores("mind", 0, {"svamp": "id"}, {"svamp": [True] * 8 + [False] * 2}),
    ]
    analysis = compare(cells, "zero_shot")
    spec = {
        "config": {"student": "s", "perspectives": ["a", "b"], "train": {"max_steps": 4}},
        "methods": [{"label": "zero_shot", "overrides": {}}, {"label": "mind", "overrides": {}}],
        "seeds": [0],
        "token_budget_reference": "mind",
    }
    cell = {"budget": "steps", "label": "mind", "seed": 0, "status": "succeeded"}
    study = {
        "id": "abc",
        "name": "tiny",
        "status": "succeeded",
        "progress": 1.0,
        "spec": spec,
        "cells": [cell | {"max_steps": 4, "tokens_trained": 1234}],
    }
    results = {
        "budgets": {"steps": analysis, "tokens": analysis},
        "latent": [
            {"label": "mind", "seed": 0, "n_points": 8, "n_clusters": 2}
            | {"purity": 0.5, "nmi": 0.25}
        ],
        "curves": [
            {
                "label": "mind",
                "seed": 0,
                "budget": "steps",
                "points": [{"step": 2, "accuracy": 0.5}],
            }
        ],
    }
    notes, doc = tmp_path / "notes.md", tmp_path / "results.md"
    notes.write_text("MIND wins here, within seed noise.")
    write_report(study, results, doc, notes)
    text = doc.read_text()
    assert "| mind | 80.0 [49.0, 94.3] |" in text
    assert "| zero_shot | mind | svamp | 0 | 1 | 4 | -30.0 |" in text
    assert "1,234" in text and "2: 50.0" in text
    assert text.rstrip().endswith("MIND wins here, within seed noise.")
